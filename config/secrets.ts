/**
 * Checks of secret config values: parsed as what they are (kubeconfig YAML, Docker config JSON,
 * PEM certificates and keys) so that a value the program cannot use is refused before anything
 * is registered. Every message names what is wrong and never quotes the value or a part of it.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import YAML from "yaml";
import { parseKubeconfig } from "../components/vault/kube";

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

interface KubeconfigDoc {
  clusters?: { name?: unknown; cluster?: { server?: unknown } }[];
  users?: { name?: unknown; user?: unknown }[];
  contexts?: { name?: unknown; context?: { cluster?: unknown; user?: unknown } }[];
  "current-context"?: unknown;
}

/** Parses a kubeconfig's YAML without letting the parser's message quote the text. */
function kubeconfigDoc(text: string): KubeconfigDoc | string {
  let doc: unknown;
  try {
    doc = YAML.parse(text, { prettyErrors: false });
  } catch (e) {
    const line = (e as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    return `is not YAML${line ? ` (error on line ${line})` : ""}`;
  }
  if (!isRecord(doc)) return "is not a kubeconfig (a YAML mapping with clusters, users and contexts)";
  if (doc.kind !== undefined && doc.kind !== "Config") return "is not a kubeconfig (kind is not Config)";
  return doc as KubeconfigDoc;
}

/**
 * A kubeconfig the program can use for a Kubernetes provider: its current context names a
 * cluster with an https server and a user. Exec and auth-provider plugins are allowed here.
 */
export function kubeconfigProblem(text: string): string | undefined {
  const doc = kubeconfigDoc(text);
  if (typeof doc === "string") return doc;
  const current = doc["current-context"];
  if (typeof current !== "string" || current === "") return "has no current-context";
  const context = doc.contexts?.find((c) => c.name === current)?.context;
  if (!context) return "has no context named by its current-context";
  const cluster = doc.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster) return "has no cluster named by its current context";
  if (typeof cluster.server !== "string" || !/^https:\/\/[^\s/]+/.test(cluster.server)) return "names a cluster whose server is not an https:// URL";
  if (!doc.users?.some((u) => u.name === context.user && isRecord(u.user))) return "has no user named by its current context";
  return undefined;
}

/**
 * The central cluster's kubeconfig: also what the Vault bootstrap needs (components/vault/kube.ts),
 * which reaches Vault through the API server with embedded credentials only.
 */
export function clusterKubeconfigProblem(text: string): string | undefined {
  const basic = kubeconfigProblem(text);
  if (basic) return basic;
  try {
    const access = parseKubeconfig(text);
    if (access.ca !== undefined && !access.ca.includes("-----BEGIN CERTIFICATE-----")) return "has certificate-authority-data that is not a base64 PEM certificate";
    if (access.cert !== undefined && !access.cert.includes("-----BEGIN CERTIFICATE-----")) return "has client-certificate-data that is not a base64 PEM certificate";
    return undefined;
  } catch (e) {
    // The bootstrap's own reasons name fields, never credentials.
    return `cannot be used by the Vault bootstrap: ${(e as Error).message.replace(/^kubeconfig: /, "")}`;
  }
}

/** Docker config JSON as `docker login` writes it: { "auths": { "<registry>": { "auth": base64(user:password) } } }. */
export function dockerConfigProblem(text: string): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return "is not JSON (expected Docker config JSON: {\"auths\": {\"<registry>\": {\"auth\": \"…\"}}})";
  }
  if (!isRecord(doc) || !isRecord(doc.auths)) return "has no \"auths\" object (expected Docker config JSON as `docker login` writes it)";
  const entries = Object.entries(doc.auths);
  if (entries.length === 0) return "has no registry under \"auths\"";
  for (const [registry, entry] of entries) {
    const where = `auths[${JSON.stringify(registry.slice(0, 100))}]`;
    if (!isRecord(entry)) return `${where} is not an object`;
    if (typeof entry.auth === "string") {
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(entry.auth)) return `${where}.auth is not base64`;
      const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
      if (!decoded.includes(":") || decoded.startsWith(":")) return `${where}.auth does not decode to user:password`;
    } else if (!(typeof entry.username === "string" && typeof entry.password === "string") && typeof entry.identitytoken !== "string") {
      return `${where} has neither auth nor username and password`;
    }
  }
  return undefined;
}

/** The registry host names a Docker config JSON holds credentials for (scheme and path dropped). */
export function dockerConfigRegistries(text: string): string[] {
  const doc = JSON.parse(text) as { auths: Record<string, unknown> };
  return Object.keys(doc.auths).map((k) => k.replace(/^https?:\/\//, "").split("/")[0].toLowerCase());
}

export interface CaFacts {
  notAfter: Date;
}

/** A CA certificate and its private key in PEM: both parse, the certificate is a valid CA, the key is its key. */
export function caProblems(crt: unknown, key: unknown, now: Date): { field: "crt" | "key"; message: string }[] | CaFacts {
  let cert: X509Certificate;
  if (typeof crt !== "string" || !crt.includes("-----BEGIN CERTIFICATE-----")) return [{ field: "crt", message: "must be a PEM certificate (-----BEGIN CERTIFICATE-----)" }];
  try {
    cert = new X509Certificate(crt);
  } catch {
    return [{ field: "crt", message: "is not a parsable PEM certificate" }];
  }
  const out: { field: "crt" | "key"; message: string }[] = [];
  if (!cert.ca) out.push({ field: "crt", message: "is not a CA certificate (basicConstraints CA:TRUE is missing)" });
  const notAfter = new Date(cert.validTo);
  if (notAfter.getTime() <= now.getTime()) out.push({ field: "crt", message: `expired on ${notAfter.toISOString().slice(0, 10)}` });
  if (new Date(cert.validFrom).getTime() > now.getTime()) out.push({ field: "crt", message: `is not valid before ${new Date(cert.validFrom).toISOString().slice(0, 10)}` });
  if (typeof key !== "string" || !/-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(key)) {
    out.push({ field: "key", message: "must be a PEM private key (-----BEGIN PRIVATE KEY-----)" });
    return out;
  }
  try {
    const k = createPrivateKey(key);
    if (!cert.checkPrivateKey(k)) out.push({ field: "key", message: "is not the private key of this certificate" });
  } catch {
    out.push({ field: "key", message: "is not a parsable, unencrypted PEM private key" });
  }
  return out.length > 0 ? out : { notAfter };
}
