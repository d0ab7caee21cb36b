"use strict";
// Edge fleet status exporter (components/edge/fleet-exporter.ts bundles this file with the
// pinned Alibaba libraries it requires, ships the bundle in a ConfigMap and runs it in the pinned
// Node image on the central cluster). Every poll it reads each edge cluster's status object from
// the manifests bucket (GET of one key, signed by ali-oss's own OSS V1 signer, the SDK that
// `npm run fleet` uses) and serves, on /metrics, how many clusters are stale, failed, reporting
// or unreadable. Prometheus in the same namespace scrapes it; nothing else can reach it. Node's
// own http and https carry the GET; under RRSA (no OSS_ACCESS_KEY_ID, but ALIBABA_CLOUD_ROLE_ARN)
// Alibaba's credentials library assumes the exporter's RAM role with its projected
// ServiceAccount token and renews the STS credentials before they expire (re-reading the token
// the kubelet rotates).
const { Buffer } = require("node:buffer");
const http = require("node:http");
const https = require("node:https");
const { setTimeout: sleep } = require("node:timers/promises");
const { URL } = require("node:url");
// The signer of ali-oss's client (lib/client.js signs every request with it); the client itself
// is not bundled: with its HTTP stack (urllib, iconv-lite) it minifies to ~0.9 MB, and a
// ConfigMap holds at most 1 MiB.
const signUtils = require("ali-oss/lib/common/signUtils");

function need(name) {
  const v = process.env[name];
  if (!v) {
    console.error("missing environment variable " + name);
    process.exit(64);
  }
  return v;
}

const STATES = ["stale", "failed", "reporting", "unreadable"];

/**
 * The stale and failed rules of `npm run fleet -- status` (scripts/lib/fleet.ts classify), in the
 * same order: no report or an old one is stale; a bad time, a failed read on the cluster, Flux's
 * Bucket or Kustomization or a HelmRelease not Ready, or a node not Ready is failed. "reporting"
 * is in sync or drifting, which only the desired state (not readable here) tells apart.
 */
function classify(status, now, staleAfterMs) {
  if (status === undefined) return { state: "stale", reason: "no status report yet" };
  const t = Date.parse(status.time);
  if (Number.isNaN(t)) return { state: "failed", reason: "status report has no valid time" };
  if (now - t > staleAfterMs) return { state: "stale", reason: "last report at " + status.time };
  const errors = Array.isArray(status.errors) ? status.errors : [];
  if (errors.length > 0) return { state: "failed", reason: String(errors[0]) };
  const flux = status.flux || {};
  if (!(flux.kustomization && flux.kustomization.ready)) return { state: "failed", reason: "Kustomization edp-desired-state not Ready" };
  if (!(flux.bucket && flux.bucket.ready)) return { state: "failed", reason: "Bucket edp-desired-state not Ready" };
  if ((status.helmReleases || []).some((r) => !r.ready)) return { state: "failed", reason: "a HelmRelease is not Ready" };
  if ((status.nodes || []).some((n) => !n.ready)) return { state: "failed", reason: "a node is not Ready" };
  return { state: "reporting", reason: "" };
}

/**
 * The headers of a signed GET of /bucket/key, as ali-oss's client builds them: the time in
 * x-oss-date, the STS session token (RRSA) in x-oss-security-token, and the V1 Authorization
 * over verb, date, the x-oss- headers and the resource, computed by the library.
 */
function signedHeaders(creds, bucket, key, date) {
  const headers = { "x-oss-date": date };
  if (creds.securityToken) headers["x-oss-security-token"] = creds.securityToken;
  const canonical = signUtils.buildCanonicalString("GET", "/" + bucket + "/" + key, { headers });
  headers.authorization = signUtils.authorization(creds.accessKeyId, creds.accessKeySecret, canonical);
  return headers;
}

/** Where the credentials come from: a static key, or the RRSA role (renewed by the library). */
function credentialSource(env) {
  if (env.OSS_ACCESS_KEY_ID) {
    const fixed = { accessKeyId: env.OSS_ACCESS_KEY_ID, accessKeySecret: need("OSS_ACCESS_KEY_SECRET") };
    return async () => fixed;
  }
  need("ALIBABA_CLOUD_ROLE_ARN");
  need("ALIBABA_CLOUD_OIDC_PROVIDER_ARN");
  need("ALIBABA_CLOUD_OIDC_TOKEN_FILE");
  // Required here, not at the top: with a static key the library is never loaded.
  const { OIDCRoleArnCredentialsProvider } = require("@alicloud/credentials");
  const provider = OIDCRoleArnCredentialsProvider.builder().withStsEndpoint(need("EDP_STS_ENDPOINT")).build();
  return async () => {
    const c = await provider.getCredentials();
    return { accessKeyId: c.accessKeyId, accessKeySecret: c.accessKeySecret, securityToken: c.securityToken };
  };
}

/** One object: { status: 200, body } | { status: 404 } | { status: other, body } (the error text). */
async function getObject(cfg, key) {
  let creds;
  try {
    creds = await cfg.credentials();
  } catch (e) {
    // The library's message carries STS's answer, never the token or a key.
    return { status: 0, body: "no credentials: " + (e && e.message ? e.message : String(e)) };
  }
  const date = new Date().toUTCString();
  const url = new URL(cfg.baseUrl + "/" + key.split("/").map(encodeURIComponent).join("/"));
  const client = url.protocol === "https:" ? https : http;
  const headers = signedHeaders(creds, cfg.bucket, key, date);
  return new Promise((resolve) => {
    const req = client.request(
      url,
      { method: "GET", timeout: 20000, headers },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", (e) => resolve({ status: 0, body: String(e) }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", (e) => resolve({ status: 0, body: String(e) }));
    req.end();
  });
}

async function pollOnce(cfg) {
  const now = Date.now();
  const results = new Array(cfg.clusters.length);
  let next = 0;
  const worker = async () => {
    while (next < cfg.clusters.length) {
      const i = next++;
      const c = cfg.clusters[i];
      const res = await getObject(cfg, c.key);
      let verdict;
      if (res.status === 404) verdict = classify(undefined, now, cfg.staleAfterMs);
      else if (res.status !== 200) verdict = { state: "unreadable", reason: "GET " + c.key + ": " + (res.status || "") + " " + res.body.slice(0, 200) };
      else {
        let status;
        try {
          status = JSON.parse(res.body);
        } catch {
          status = null;
        }
        if (status === null || typeof status !== "object") verdict = { state: "failed", reason: c.key + " is not JSON" };
        else {
          verdict = classify(status, now, cfg.staleAfterMs);
          const t = Date.parse(status.time);
          if (!Number.isNaN(t)) verdict.reportedAt = t / 1000;
        }
      }
      results[i] = { cluster: c.cluster, ...verdict };
      if (verdict.state === "unreadable") console.error(c.cluster + ": " + verdict.reason);
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, cfg.clusters.length) }, worker));
  return { time: now / 1000, results };
}

const label = (v) => String(v).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

function render(stage, poll) {
  const lines = [];
  const gauge = (name, help) => lines.push("# HELP " + name + " " + help, "# TYPE " + name + " gauge");
  gauge("edp_edge_fleet_up", "1 while the exporter runs; polls may still be pending.");
  lines.push('edp_edge_fleet_up{stage="' + label(stage) + '"} 1');
  if (!poll) return lines.join("\n") + "\n";
  gauge("edp_edge_clusters", "Edge clusters of the stage by the state of their last status report (stale, failed, reporting, unreadable).");
  for (const s of STATES) lines.push('edp_edge_clusters{stage="' + label(stage) + '",state="' + s + '"} ' + poll.results.filter((r) => r.state === s).length);
  gauge("edp_edge_cluster_state", "1 for the state each edge cluster is in.");
  for (const r of poll.results) lines.push('edp_edge_cluster_state{stage="' + label(stage) + '",cluster="' + label(r.cluster) + '",state="' + r.state + '"} 1');
  gauge("edp_edge_cluster_last_report_timestamp_seconds", "Time of the cluster's last status report.");
  for (const r of poll.results) if (r.reportedAt !== undefined) lines.push('edp_edge_cluster_last_report_timestamp_seconds{stage="' + label(stage) + '",cluster="' + label(r.cluster) + '"} ' + r.reportedAt);
  gauge("edp_edge_fleet_last_poll_timestamp_seconds", "When the exporter last read every cluster's status.");
  lines.push('edp_edge_fleet_last_poll_timestamp_seconds{stage="' + label(stage) + '"} ' + poll.time);
  return lines.join("\n") + "\n";
}

async function main() {
  const cfg = {
    stage: need("EDP_STAGE"),
    bucket: need("EDP_BUCKET"),
    baseUrl: need("EDP_OSS_BASE_URL").replace(/\/+$/, ""),
    clusters: JSON.parse(need("EDP_CLUSTERS")),
    staleAfterMs: Number(need("EDP_STALE_AFTER_SECONDS")) * 1000,
    pollMs: Number(need("EDP_POLL_SECONDS")) * 1000,
    port: Number(need("EDP_METRICS_PORT")),
    credentials: credentialSource(process.env),
  };
  let latest;
  const server = http.createServer((req, res) => {
    if (req.method === "GET" && req.url === "/metrics") {
      res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
      res.end(render(cfg.stage, latest));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  server.listen(cfg.port);
  for (;;) {
    latest = await pollOnce(cfg);
    await sleep(cfg.pollMs);
  }
}

if (require.main === module) main();
module.exports = { classify, render };
