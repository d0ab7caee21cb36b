/**
 * Throw-away certificates for config tests, made with the openssl CLI (.ci/debian-packages.txt)
 * once per process: no key material is checked in.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface TestPki {
  /** A CA valid for 100 years, and its key. */
  ca: { crt: string; key: string };
  /** A CA valid for 30 days. */
  shortCa: { crt: string; key: string };
  /** A certificate that is not a CA, and its key. */
  leaf: { crt: string; key: string };
  /** A key that belongs to none of them. */
  otherKey: string;
}

let made: TestPki | undefined;

export function testPki(): TestPki {
  if (made) return made;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-pki-"));
  try {
    const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    const key = (name: string) => {
      openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`);
      return fs.readFileSync(path.join(dir, `${name}.key`), "utf8");
    };
    const selfSigned = (name: string, days: number, ca: boolean) => {
      const k = key(name);
      const ext = ca ? ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"] : ["-addext", "basicConstraints=critical,CA:FALSE"];
      openssl("req", "-x509", "-new", "-key", `${name}.key`, "-subj", `/CN=edp-test-${name}`, "-days", String(days), ...ext, "-out", `${name}.crt`);
      return { crt: fs.readFileSync(path.join(dir, `${name}.crt`), "utf8"), key: k };
    };
    made = { ca: selfSigned("ca", 36500, true), shortCa: selfSigned("short", 30, true), leaf: selfSigned("leaf", 365, false), otherKey: key("other") };
    return made;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A kubeconfig with an embedded token, as the Vault bootstrap needs it; `edit` changes the parsed document. */
export function testKubeconfig(edit?: (doc: Record<string, unknown>) => void): string {
  const doc: Record<string, unknown> = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "central", cluster: { server: "https://api.central.example-edp.net:6443", "certificate-authority-data": Buffer.from(testPki().ca.crt).toString("base64") } }],
    users: [{ name: "deployer", user: { token: "stand-in-token" } }],
    contexts: [{ name: "central", context: { cluster: "central", user: "deployer" } }],
    "current-context": "central",
  };
  edit?.(doc);
  return JSON.stringify(doc); // JSON is YAML
}
