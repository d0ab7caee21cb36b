/** Configuration of Debian's docker-registry (distribution 2.8) behind Apache on the E3 host. */
import { plainYaml } from "../../shared/yaml";

export interface RegistryParams {
  /** Loopback address the registry listens on; Apache is its only client. */
  listen: string;
  /** Where blobs and manifests live (on the data disk in production). */
  storageDir: string;
  /** Key that signs upload state between requests; the same across restarts. */
  httpSecret: string;
}

export function renderRegistryConfig(p: RegistryParams): string {
  const config = {
    version: 0.1,
    log: { level: "info", fields: { service: "registry" } },
    storage: {
      filesystem: { rootdirectory: p.storageDir },
      cache: { blobdescriptor: "inmemory" },
      // Deleting blobs is an operator's job (garbage-collect), not a device's.
      delete: { enabled: false },
      maintenance: { uploadpurging: { enabled: true, age: "168h", interval: "24h", dryrun: false } },
    },
    http: {
      addr: p.listen,
      secret: p.httpSecret,
      // Apache terminates TLS under another host and port; relative Location headers stay right.
      relativeurls: true,
      headers: { "X-Content-Type-Options": ["nosniff"] },
    },
    health: { storagedriver: { enabled: true, interval: "30s", threshold: 3 } },
  };
  return `# Rendered by the EDP Pulumi program (components/e3/render/registry.ts).\n${plainYaml(config)}`;
}

/** systemd drop-in: the registry's storage is on the data disk, which must be mounted first. */
export function renderRegistryDropIn(dataMount: string): string {
  return `[Unit]\nRequiresMountsFor=${dataMount}\n`;
}
