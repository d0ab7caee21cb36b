/**
 * The Shamir unsealer (testing): a small Node.js program, rendered here and run in the cluster
 * from a ConfigMap, that watches every Vault pod and, when one is sealed, decrypts the unseal
 * keys with Alibaba KMS and submits them. The keys are stored only as KMS ciphertext (a
 * Kubernetes Secret holds the ciphertext blobs); the plaintext exists only in the unsealer's
 * memory for the moment of the unseal. This is the bank-vaults model, with KMS as the root of
 * trust just as the alicloudkms seal of staging and production.
 *
 * KMS Decrypt is called with Alibaba's RPC client (@alicloud/pop-core, pinned in versions.ts),
 * which signs the call (signature version 1.0). The image is a plain node image without
 * node_modules: esbuild bundles the script and the client into the one file the ConfigMap holds.
 */
import { bundleScript } from "../shared/bundle";
import { RPC_CLIENT } from "../versions";

/** Environment variables the script reads. */
export const UNSEALER_ENV = {
  servers: "VAULT_SERVERS",
  caFile: "VAULT_CACERT",
  kmsEndpoint: "KMS_ENDPOINT",
  accessKeyId: "ALICLOUD_ACCESS_KEY",
  accessKeySecret: "ALICLOUD_SECRET_KEY",
  ciphertextsFile: "UNSEAL_CIPHERTEXTS_FILE",
  encryptionContext: "UNSEAL_ENCRYPTION_CONTEXT",
  intervalMs: "UNSEAL_INTERVAL_MS",
  once: "UNSEAL_ONCE",
} as const;

/**
 * The encryption context the key ciphertexts are made with. KMS binds a ciphertext to it:
 * Decrypt must present the same context, or KMS refuses.
 */
export const unsealEncryptionContext = (stage: string): Record<string, string> => ({ purpose: "vault-unseal", stage });

/** The unsealer program as the ConfigMap ships it: the script below bundled with the pinned RPC client. */
export function renderUnsealerScript(): string {
  return bundleScript({ contents: unsealerSource(), resolveDir: __dirname, name: "unsealer.js" }, [RPC_CLIENT]);
}

/** The unsealer's source (CommonJS, Node.js ≥ 18), before bundling. */
function unsealerSource(): string {
  const E = UNSEALER_ENV;
  return `"use strict";
// Vault Shamir unsealer: rendered by components/vault/unsealer.ts; do not edit in the cluster.
const fs = require("node:fs");
const http = require("node:http");
const https = require("node:https");
const RPCClient = require("@alicloud/pop-core").RPCClient;

function need(name) {
  const v = process.env[name];
  if (!v) {
    console.error("missing environment variable " + name);
    process.exit(2);
  }
  return v;
}
const servers = need(${JSON.stringify(E.servers)}).split(",").map((s) => s.trim()).filter(Boolean);
const caFile = process.env[${JSON.stringify(E.caFile)}];
const ca = caFile ? fs.readFileSync(caFile) : undefined;
const kmsEndpoint = need(${JSON.stringify(E.kmsEndpoint)}).replace(/\\/+$/, "");
const accessKeyId = need(${JSON.stringify(E.accessKeyId)});
const accessKeySecret = need(${JSON.stringify(E.accessKeySecret)});
const ciphertextsFile = need(${JSON.stringify(E.ciphertextsFile)});
const encryptionContext = need(${JSON.stringify(E.encryptionContext)});
const intervalMs = Number(process.env[${JSON.stringify(E.intervalMs)}] || "10000");
const once = process.env[${JSON.stringify(E.once)}] === "true";

function log(message) {
  console.log(new Date().toISOString() + " " + message);
}

function call(url, method, body, headers) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === "https:" ? https : http;
    const h = Object.assign({ Accept: "application/json" }, headers || {});
    if (body !== undefined) h["Content-Length"] = String(Buffer.byteLength(body));
    const req = lib.request(u, { method, headers: h, ca, timeout: 10000 }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json;
        try { json = text ? JSON.parse(text) : {}; } catch (e) { json = {}; }
        resolve({ status: res.statusCode, json });
      });
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// KMS by its RPC API; the client signs each call. POST keeps the signed parameters (key id,
// signature) out of the URL, which the client's errors quote. Trusts the public roots, not Vault's CA.
const kms = new RPCClient({ endpoint: kmsEndpoint, apiVersion: "2016-01-20", accessKeyId, accessKeySecret });

async function decrypt(blob) {
  let res;
  try {
    res = await kms.request("Decrypt", { CiphertextBlob: blob, EncryptionContext: encryptionContext }, { method: "POST", timeout: 10000 });
  } catch (e) {
    // An API error carries KMS's Code and Message (never the plaintext); anything else is the transport's.
    const status = e && e.entry && e.entry.response ? e.entry.response.statusCode : "";
    if (e && e.code && e.data) throw new Error("KMS Decrypt failed: HTTP " + status + " " + e.code + " " + (e.data.Message || ""));
    throw new Error("KMS Decrypt failed: " + (e && e.message ? e.message : String(e)));
  }
  if (typeof res.Plaintext !== "string") throw new Error("KMS Decrypt failed: the answer has no Plaintext");
  return res.Plaintext;
}

function errorsOf(res) {
  return Array.isArray(res.json.errors) ? res.json.errors.join("; ") : "HTTP " + res.status;
}

async function unseal(server) {
  const status = await call(server + "/v1/sys/seal-status", "GET");
  if (status.status !== 200) throw new Error(server + ": seal-status answered " + errorsOf(status));
  // A standby that has not joined yet reports initialized=false; submitting keys makes it join (retry_join).
  if (!status.json.sealed) return false;
  const blobs = JSON.parse(fs.readFileSync(ciphertextsFile, "utf8"));
  for (let i = 0; i < blobs.length; i++) {
    const res = await call(server + "/v1/sys/unseal", "PUT", JSON.stringify({ key: await decrypt(blobs[i]) }), { "Content-Type": "application/json" });
    if (res.status !== 200) throw new Error(server + ": unseal key " + (i + 1) + " of " + blobs.length + " rejected: " + errorsOf(res));
    if (!res.json.sealed) {
      log(server + ": unsealed");
      return true;
    }
  }
  throw new Error(server + ": still sealed after " + blobs.length + " key(s); the ciphertexts hold fewer keys than the threshold");
}

async function main() {
  let failed = false;
  for (;;) {
    failed = false;
    for (const server of servers) {
      try {
        await unseal(server);
      } catch (e) {
        failed = true;
        log(e && e.message ? e.message : String(e));
      }
    }
    if (once) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  process.exit(failed ? 1 : 0);
}
main();
`;
}
