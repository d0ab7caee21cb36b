/**
 * `npm run seal -- --stage <stage> --cluster <cluster> [--in secret.yaml] [--out sealed.yaml] [--cert cert.pem] [--stack-file <file>]`
 *
 * Seals a Kubernetes Secret for one edge cluster with that cluster's sealed-secrets certificate
 * (the stack output edgeSealedSecretsCerts, read with `pulumi stack output`, or --cert), so it
 * can be committed and referenced from edp:edgeClusters[i].sealedSecrets or
 * edp:deployments[i].sealedSecrets. kubeseal's own format (hybrid RSA-OAEP + AES-GCM) through
 * @linode/kubeseal-encrypt, with namespace-wide scope: the Secret opens only in its namespace.
 * The plaintext is read from the file or stdin and never printed.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { X509Certificate } from "node:crypto";
import { encryptSecretItem } from "@linode/kubeseal-encrypt";
import YAML from "yaml";
import { plainYaml } from "../components/shared/yaml";
import { ConfigError } from "../config";
import { WORKLOAD_NAMESPACE } from "../components/edge/templates";
import { parseFlags, readStageFile, UsageError } from "./lib/stage-file";

const USAGE = "usage: npm run seal -- --stage <stage> --cluster <cluster> [--in secret.yaml] [--out sealed.yaml] [--cert cert.pem] [--stack-file <file>]";
/** kubeseal's annotation for namespace-wide scope: the controller then uses the namespace alone as the OAEP label. */
export const NAMESPACE_WIDE = "sealedsecrets.bitnami.com/namespace-wide";

interface SecretInput {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  type?: string;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

function certificateFor(stage: string, cluster: string, certFile: string | undefined): string {
  if (certFile) return fs.readFileSync(certFile, "utf8");
  const res = spawnSync("pulumi", ["stack", "output", "--stack", stage, "--json", "edgeSealedSecretsCerts"], { encoding: "utf8" });
  if (res.error) throw new UsageError(`cannot run pulumi (${res.error.message}); pass the certificate with --cert (the stack output edgeSealedSecretsCerts["${cluster}"])`);
  if (res.status !== 0) throw new UsageError(`pulumi stack output --stack ${stage} failed: ${res.stderr.trim()}`);
  const certs = JSON.parse(res.stdout) as Record<string, string>;
  const pem = certs[cluster];
  if (!pem) throw new UsageError(`stack ${stage} has no sealed-secrets certificate for ${cluster} (run pulumi up after adding the cluster)`);
  return pem;
}

async function main(argv: string[]): Promise<number> {
  const { flags } = parseFlags(argv, ["help"]);
  if (flags.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { stage, cluster } = flags;
  if (typeof stage !== "string" || typeof cluster !== "string") throw new UsageError(USAGE);
  const cfg = readStageFile(stage, typeof flags["stack-file"] === "string" ? flags["stack-file"] : undefined);
  if (!cfg.edgeClusters.some((c) => c.name === cluster)) {
    throw new UsageError(`${cluster} is not an edge cluster of stage ${stage} (${cfg.edgeClusters.map((c) => c.name).join(", ") || "none"})`);
  }
  const text = typeof flags.in === "string" ? fs.readFileSync(flags.in, "utf8") : fs.readFileSync(0, "utf8");
  const secret = YAML.parse(text) as SecretInput | null;
  if (secret?.kind !== "Secret" || secret.apiVersion !== "v1") throw new UsageError("the input must be one v1 Secret");
  const name = secret.metadata?.name;
  if (!name) throw new UsageError("the Secret has no metadata.name");
  const namespace = secret.metadata?.namespace ?? WORKLOAD_NAMESPACE;
  const values: [string, string][] = [
    ...Object.entries(secret.data ?? {}).map(([k, v]): [string, string] => {
      const bytes = Buffer.from(v, "base64");
      const asText = bytes.toString("utf8");
      // The sealer encrypts text (UTF-8); a binary value would not round-trip.
      if (!Buffer.from(asText, "utf8").equals(bytes)) throw new UsageError(`data.${k} is binary, which this sealer does not support; use kubeseal for it`);
      return [k, asText];
    }),
    ...Object.entries(secret.stringData ?? {}).map(([k, v]): [string, string] => [k, String(v)]),
  ];
  if (values.length === 0) throw new UsageError("the Secret has no data or stringData");

  const pem = certificateFor(stage, cluster, typeof flags.cert === "string" ? flags.cert : undefined);
  let publicKey: string;
  try {
    publicKey = new X509Certificate(pem).publicKey.export({ type: "spki", format: "pem" }).toString();
  } catch (e) {
    throw new UsageError(`the certificate of ${cluster} is not a PEM X.509 certificate: ${(e as Error).message}`);
  }
  const encryptedData: Record<string, string> = {};
  for (const [k, v] of values.sort(([a], [b]) => a.localeCompare(b))) encryptedData[k] = await encryptSecretItem(publicKey, namespace, v);

  const templateMeta = { name, namespace, ...(secret.metadata?.labels ? { labels: secret.metadata.labels } : {}), annotations: { ...(secret.metadata?.annotations ?? {}), [NAMESPACE_WIDE]: "true" } };
  const sealed = {
    apiVersion: "bitnami.com/v1alpha1",
    kind: "SealedSecret",
    metadata: { name, namespace, annotations: { [NAMESPACE_WIDE]: "true" } },
    spec: { encryptedData, template: { metadata: templateMeta, type: secret.type ?? "Opaque" } },
  };
  const out = `# Sealed for edge cluster ${cluster} of stage ${stage} (npm run seal); only that cluster's controller opens it, in namespace ${namespace}.\n${plainYaml(sealed)}`;
  if (typeof flags.out === "string") fs.writeFileSync(flags.out, out);
  else process.stdout.write(out);
  process.stderr.write(`seal: sealed ${values.length} value(s) of Secret ${namespace}/${name} for ${stage}/${cluster}; reference the file from edp:edgeClusters[…].sealedSecrets or edp:deployments[…].sealedSecrets\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError || e instanceof ConfigError) {
      process.stderr.write(`seal: ${e.message}\n`);
      process.exitCode = 64;
      return;
    }
    process.stderr.write(`seal: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
