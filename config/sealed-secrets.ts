/**
 * SealedSecret manifests referenced from the stage file (edp:edgeClusters[i].sealedSecrets,
 * edp:deployments[i].sealedSecrets): files in the repository, read once here, checked, and
 * handed to the edge component per cluster. They are ciphertext (sealed with the cluster's
 * certificate, `npm run seal`), so they may live in the repository and in the desired state.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import type { ConfigProblem } from "./load";
import type { StageInput } from "./schema";

/** Paths in the stage file are relative to the project root (the folder of Pulumi.yaml). */
export const PROJECT_ROOT = path.resolve(__dirname, "..");

export interface SealedSecretObject {
  apiVersion: "bitnami.com/v1alpha1";
  kind: "SealedSecret";
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { encryptedData: Record<string, string>; template?: Record<string, unknown> };
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Problems of one parsed document, or none; `where` names the file and document. */
export function sealedSecretProblems(doc: unknown): string[] {
  if (!isRecord(doc)) return ["is not a Kubernetes object"];
  if (doc.kind === "Secret") return ["is a plain Secret: seal it first (npm run seal -- --stage <stage> --cluster <cluster>) and commit only the SealedSecret"];
  const out: string[] = [];
  if (doc.apiVersion !== "bitnami.com/v1alpha1" || doc.kind !== "SealedSecret") out.push(`is ${String(doc.apiVersion)}/${String(doc.kind)}, not bitnami.com/v1alpha1 SealedSecret`);
  const meta = isRecord(doc.metadata) ? doc.metadata : {};
  if (typeof meta.name !== "string" || !DNS_SUBDOMAIN.test(meta.name)) out.push("metadata.name is missing or not a DNS subdomain");
  // The namespace is part of what was sealed (the scope): without it the controller cannot open it.
  if (typeof meta.namespace !== "string" || !DNS_SUBDOMAIN.test(meta.namespace)) out.push("metadata.namespace is missing: a SealedSecret is sealed for one namespace");
  const spec = isRecord(doc.spec) ? doc.spec : {};
  const data = spec.encryptedData;
  if (!isRecord(data) || Object.keys(data).length === 0) out.push("spec.encryptedData is missing or empty");
  else {
    for (const [k, v] of Object.entries(data)) {
      if (typeof v !== "string" || !BASE64.test(v)) out.push(`spec.encryptedData.${k} is not base64 ciphertext`);
    }
  }
  return out;
}

export interface SealedSecretRef {
  /** The config key that references the file. */
  key: string;
  file: string;
  object: SealedSecretObject;
}

/** Reads and checks every referenced file; the objects are grouped by the cluster they go to. */
export function readSealedSecretRefs(
  cfg: Pick<StageInput, "edgeClusters" | "deployments">,
  root = PROJECT_ROOT,
): { problems: ConfigProblem[]; byCluster: Record<string, SealedSecretRef[]> } {
  const problems: ConfigProblem[] = [];
  const byCluster: Record<string, SealedSecretRef[]> = {};
  const refs: { key: string; file: string; cluster: string }[] = [
    ...cfg.edgeClusters.flatMap((c, i) => c.sealedSecrets.map((file, j) => ({ key: `edp:edgeClusters[${i}].sealedSecrets[${j}]`, file, cluster: c.name }))),
    ...cfg.deployments.flatMap((d, i) => d.sealedSecrets.map((file, j) => ({ key: `edp:deployments[${i}].sealedSecrets[${j}]`, file, cluster: d.cluster }))),
  ];
  const seen = new Map<string, string>();
  for (const ref of refs) {
    const full = path.resolve(root, ref.file);
    if (path.isAbsolute(ref.file) || !full.startsWith(root + path.sep)) {
      problems.push({ key: ref.key, message: `${JSON.stringify(ref.file)} must be a path inside the project, relative to its root` });
      continue;
    }
    let text: string;
    try {
      text = fs.readFileSync(full, "utf8");
    } catch {
      problems.push({ key: ref.key, message: `${ref.file} cannot be read (it must exist in the repository)` });
      continue;
    }
    let docs: unknown[];
    try {
      docs = YAML.parseAllDocuments(text).map((d) => {
        if (d.errors.length > 0) throw d.errors[0];
        return d.toJS() as unknown;
      }).filter((d) => d !== null);
    } catch (e) {
      problems.push({ key: ref.key, message: `${ref.file} is not valid YAML: ${(e as Error).message.split("\n")[0]}` });
      continue;
    }
    if (docs.length === 0) problems.push({ key: ref.key, message: `${ref.file} holds no object` });
    docs.forEach((doc, n) => {
      const where = docs.length > 1 ? `${ref.file} (document ${n + 1})` : ref.file;
      const issues = sealedSecretProblems(doc);
      if (issues.length > 0) {
        for (const issue of issues) problems.push({ key: ref.key, message: `${where}: ${issue}` });
        return;
      }
      const object = doc as SealedSecretObject;
      const id = `${ref.cluster}/${object.metadata.namespace}/${object.metadata.name}`;
      const other = seen.get(id);
      if (other && other !== ref.file) {
        problems.push({ key: ref.key, message: `${where}: SealedSecret ${object.metadata.namespace}/${object.metadata.name} is also in ${other} for cluster ${ref.cluster}` });
        return;
      }
      if (other) return; // the same file referenced twice (cluster and deployment): one copy
      seen.set(id, ref.file);
      (byCluster[ref.cluster] ??= []).push({ key: ref.key, file: ref.file, object });
    });
  }
  return { problems, byCluster };
}
