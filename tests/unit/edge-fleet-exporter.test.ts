/**
 * The fleet-status exporter (components/edge/fleet-exporter.cjs), bundled as its ConfigMap ships
 * it and run by a real `node` against a loopback HTTP server standing in for OSS (it checks each
 * request's V1 signature with a verifier of its own and answers from a directory laid out like
 * the bucket), and its alert rules; then, over every stage's whole program, what the exporter is
 * given and what its identity may read.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import YAML from "yaml";
import { FLEET_EXPORTER, fleetAlertRules, fleetExporterBundle, fleetExporterObjects, STALE_AFTER_INTERVALS } from "../../components/edge/fleet-exporter";
import type { ClusterStatus } from "../../components/edge/status";
import { edgeFleetStatusReaderPolicy } from "../../components/foundation/policies";
import type { RamPolicyDocument } from "../../components/shared/ram-policy";
import { STAGES } from "../../config";
import { classify } from "../../scripts/lib/fleet";
import { ossV1Signed } from "../harness/alicloud-signatures";
import { validateObject } from "../harness/k8s-schema";
import { isAllowed } from "../harness/ram-eval";
import { runStage } from "../harness/stage";

const EXPORTER = path.resolve(__dirname, "../../components/edge/fleet-exporter.cjs");
const exporter = require(EXPORTER) as { classify: (s: unknown, now: number, staleAfterMs: number) => { state: string } };

const NOW = Date.parse("2026-12-01T12:00:00Z");
const STALE_MS = 15 * 60_000;
const at = (minutesAgo: number) => new Date(NOW - minutesAgo * 60_000).toISOString().replace(/\.\d+Z$/, "Z");

function status(over: Partial<ClusterStatus> = {}): ClusterStatus {
  return {
    schema: 1,
    stage: "testing",
    cluster: "c",
    uuid: "u",
    time: at(1),
    nodes: [{ name: "n1", ready: true, labels: {} }],
    sealedSecretsCertSha256: "ab",
    desiredState: { revision: "sha256:1", sealedSecretsCertSha256: "ab" },
    flux: { bucket: { ready: true, message: "ok", revision: "r" }, kustomization: { ready: true, message: "ok", lastAppliedRevision: "r" } },
    helmReleases: [{ namespace: "edp-edge", name: "opcua", ready: true, message: "ok" }],
    errors: [],
    ...over,
  };
}

/** Reports and the state `npm run fleet -- status` gives each (in sync and drifting are "reporting" to the exporter). */
const CASES: [string, ClusterStatus | undefined][] = [
  ["in sync", status()],
  ["drifting (another revision applied)", status({ desiredState: { revision: "sha256:0", sealedSecretsCertSha256: "ab" } })],
  ["no report", undefined],
  ["last report older than the limit", status({ time: at(16) })],
  ["old and broken: stale wins", status({ time: at(60), errors: ["nodes: forbidden"] })],
  ["a read failed on the cluster", status({ errors: ["HelmReleases: forbidden"] })],
  ["Kustomization not Ready", status({ flux: { bucket: { ready: true, message: "", revision: null }, kustomization: { ready: false, message: "dry-run failed", lastAppliedRevision: null } } })],
  ["Bucket not reported", status({ flux: { bucket: null, kustomization: { ready: true, message: "", lastAppliedRevision: null } } })],
  ["a HelmRelease not Ready", status({ helmReleases: [{ namespace: "edp-edge", name: "opcua", ready: false, message: "install retries exhausted" }] })],
  ["a node not Ready", status({ nodes: [{ name: "n1", ready: false, labels: {} }] })],
  ["no valid time", status({ time: "yesterday" })],
];
const expectedByFleet = (s: ClusterStatus | undefined) => {
  const state = classify("c", s, { revision: "sha256:1", sealedSecretsCertSha256: "ab", helmReleases: ["edp-edge/opcua"] }, NOW, STALE_MS).state;
  return state === "in sync" || state === "drifting" ? "reporting" : state;
};

describe("edge fleet status in Prometheus: the exporter", () => {
  it("classifies every report as `npm run fleet -- status` does for stale and failed", () => {
    const seen = new Set<string>();
    for (const [what, s] of CASES) {
      const want = expectedByFleet(s);
      seen.add(want);
      assert.equal(exporter.classify(s, NOW, STALE_MS).state, want, what);
    }
    assert.deepEqual([...seen].sort(), ["failed", "reporting", "stale"]);
  });

  describe("run by node against a fake OSS", function () {
    this.timeout(30_000);
    const BUCKET = "edp-testing-manifests";
    const KEY_ID = "LTAI-test";
    const KEY_SECRET = "test-secret";
    let dir: string;
    let server: http.Server;
    let child: ChildProcess | undefined;
    const requests: { key: string; signed: boolean }[] = [];
    const clusters: { cluster: string; key: string }[] = [];
    const statuses: Record<string, ClusterStatus | undefined> = {};

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-fleet-exporter-"));
      const now = Date.now();
      const ago = (m: number) => new Date(now - m * 60_000).toISOString().replace(/\.\d+Z$/, "Z");
      const reports: Record<string, ClusterStatus | string | undefined> = {
        "line-1": status({ time: ago(1) }),
        "line-2": status({ time: ago(1), helmReleases: [{ namespace: "edp-edge", name: "opcua", ready: false, message: "failed" }] }),
        "line-3": status({ time: ago(30) }),
        "line-4": undefined,
        "line-5": "{not json",
        "line-6": status({ time: ago(1), nodes: [{ name: "n1", ready: false, labels: {} }] }),
      };
      for (const [name, report] of Object.entries(reports)) {
        const key = `testing/clusters/${name}/status.json`;
        clusters.push({ cluster: name, key });
        if (report === undefined) continue;
        fs.mkdirSync(path.join(dir, path.dirname(key)), { recursive: true });
        fs.writeFileSync(path.join(dir, key), typeof report === "string" ? report : JSON.stringify(report));
        if (typeof report !== "string") statuses[name] = report;
      }
      // line-7's status object is refused (as OSS does for a key the policy does not cover).
      clusters.push({ cluster: "line-7", key: "testing/clusters/line-7/status.json" });
      server = http.createServer((req, res) => {
        const key = decodeURIComponent((req.url ?? "/").slice(1));
        const signed = req.method === "GET" && ossV1Signed("GET", req.headers, `/${BUCKET}/${key}`, { accessKeyId: KEY_ID, accessKeySecret: KEY_SECRET });
        requests.push({ key, signed });
        if (!signed) return void res.writeHead(403).end("<Code>SignatureDoesNotMatch</Code>");
        if (key.includes("line-7")) return void res.writeHead(403).end("<Code>AccessDenied</Code>");
        const file = path.join(dir, key);
        if (!fs.existsSync(file)) return void res.writeHead(404).end("<Code>NoSuchKey</Code>");
        res.writeHead(200, { "Content-Type": "application/json" }).end(fs.readFileSync(file));
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    });

    after(() => {
      child?.kill();
      server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it("reads each status object once per poll, signed, and serves the counts and every cluster's state", async () => {
      const port = (server.address() as AddressInfo).port;
      const metricsPort = await freePort();
      // The bundle the ConfigMap ships, not the source file.
      const bundle = path.join(dir, "exporter.cjs");
      fs.writeFileSync(bundle, fleetExporterBundle());
      child = spawn(process.execPath, ["--no-deprecation", bundle], {
        env: {
          PATH: process.env.PATH ?? "",
          EDP_STAGE: "testing",
          EDP_BUCKET: BUCKET,
          EDP_OSS_BASE_URL: `http://127.0.0.1:${port}`,
          EDP_CLUSTERS: JSON.stringify(clusters),
          EDP_STALE_AFTER_SECONDS: String(15 * 60),
          EDP_POLL_SECONDS: "600",
          EDP_METRICS_PORT: String(metricsPort),
          OSS_ACCESS_KEY_ID: KEY_ID,
          OSS_ACCESS_KEY_SECRET: KEY_SECRET,
        },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr?.on("data", (d) => (stderr += String(d)));
      const text = await waitForMetrics(metricsPort, () => stderr);

      // One signed GET per cluster, nothing else (no listing, no HEAD).
      assert.deepEqual(requests.map((r) => r.key).sort(), clusters.map((c) => c.key).sort());
      assert.ok(requests.every((r) => r.signed), "every request carries a valid OSS V1 signature");
      // Every request is one the reader policy allows.
      const policy = edgeFleetStatusReaderPolicy({ bucket: BUCKET, clustersPrefix: "testing/clusters/", statusFile: "status.json" });
      for (const r of requests) assert.ok(isAllowed(policy, { action: "oss:GetObject", resource: `acs:oss:*:*:${BUCKET}/${r.key}` }), r.key);

      const value = (name: string, labels: string) => {
        const m = new RegExp(`^${name}\\{${labels.replace(/[{}()[\]|.+*?^$\\]/g, "\\$&")}\\} (\\S+)$`, "m").exec(text);
        return m ? Number(m[1]) : undefined;
      };
      assert.equal(value("edp_edge_clusters", 'stage="testing",state="stale"'), 2, text); // line-3 (old), line-4 (none)
      assert.equal(value("edp_edge_clusters", 'stage="testing",state="failed"'), 3, text); // line-2, line-5 (not JSON), line-6
      assert.equal(value("edp_edge_clusters", 'stage="testing",state="reporting"'), 1, text);
      assert.equal(value("edp_edge_clusters", 'stage="testing",state="unreadable"'), 1, text);
      // Per cluster, the same state the fleet command gives (for the reports it can parse).
      for (const [name, s] of Object.entries(statuses)) {
        const want = (() => {
          const v = classify(name, s, { revision: "sha256:1", sealedSecretsCertSha256: "ab", helmReleases: ["edp-edge/opcua"] }, Date.now(), 15 * 60_000).state;
          return v === "in sync" || v === "drifting" ? "reporting" : v;
        })();
        assert.equal(value("edp_edge_cluster_state", `stage="testing",cluster="${name}",state="${want}"`), 1, `${name}: ${want}\n${text}`);
      }
      assert.equal(value("edp_edge_cluster_state", 'stage="testing",cluster="line-4",state="stale"'), 1);
      assert.ok(value("edp_edge_fleet_last_poll_timestamp_seconds", 'stage="testing"') !== undefined);
      assert.match(stderr, /line-7: GET testing\/clusters\/line-7\/status\.json: 403/);
      assert.doesNotMatch(stderr + text, new RegExp(KEY_SECRET));
    });
  });

  it("its alert rules count stale and failed clusters from metrics the exporter serves, and validate", async () => {
    const rules = fleetAlertRules({ stage: "testing", namespace: "monitoring", statusIntervalMinutes: 5 });
    await validateObject(rules);
    const exprs = Object.fromEntries(((rules.spec as { groups: { rules: { alert: string; expr: string }[] }[] }).groups[0].rules).map((r) => [r.alert, r.expr]));
    assert.equal(exprs.EdpEdgeClustersStale, 'max(edp_edge_clusters{stage="testing",state="stale"}) > 0');
    assert.equal(exprs.EdpEdgeClustersFailed, 'max(edp_edge_clusters{stage="testing",state="failed"}) > 0');
    // The exporter stopping must not silence the other alerts: three polls without one fire.
    assert.match(exprs.EdpEdgeFleetStatusMissing, /absent\(edp_edge_fleet_last_poll_timestamp_seconds\{stage="testing"\}\)/);
    assert.match(exprs.EdpEdgeFleetStatusMissing, /> 900\)$/);
    // Every metric an expression names is one the exporter writes.
    const src = fs.readFileSync(EXPORTER, "utf8");
    for (const expr of Object.values(exprs)) for (const m of expr.match(/edp_[a-z_]+/g) ?? []) assert.ok(src.includes(`"${m}`) || src.includes(`'${m}`), `${m} is not written by the exporter`);
  });

  it("its Deployment, ConfigMap and PodMonitor validate, and the PodMonitor scrapes the Pod's named port", async () => {
    const objs = fleetExporterObjects({
      stage: "testing",
      namespace: "monitoring",
      bucket: "b",
      endpoint: "oss-cn-hangzhou-internal.aliyuncs.com",
      clusters: [{ cluster: "a", key: "testing/clusters/a/status.json" }],
      statusIntervalMinutes: 5,
      credentials: { kind: "accessKey", secret: "s" },
    });
    for (const o of objs) await validateObject(o);
    const [, deployment, podMonitor] = objs as unknown as [unknown, { spec: { template: { metadata: { labels: Record<string, string> }; spec: { containers: { ports: { name: string }[]; env: { name: string; value?: string }[] }[] } } } }, { spec: { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: { port: string }[] } }];
    const pod = deployment.spec.template;
    for (const [k, v] of Object.entries(podMonitor.spec.selector.matchLabels)) assert.equal(pod.metadata.labels[k], v);
    assert.equal(podMonitor.spec.podMetricsEndpoints[0].port, pod.spec.containers[0].ports[0].name);
    const env = Object.fromEntries(pod.spec.containers[0].env.map((e) => [e.name, e.value]));
    assert.equal(env.EDP_OSS_BASE_URL, "https://b.oss-cn-hangzhou-internal.aliyuncs.com");
    assert.equal(env.EDP_STALE_AFTER_SECONDS, String(STALE_AFTER_INTERVALS * 5 * 60));
  });
});

describe("edge fleet status in Prometheus, over every stage's whole program", () => {
  for (const stage of STAGES) {
    describe(stage, () => {
      it("reads exactly the stage's status objects, serves them to Prometheus only, and alerts on stale and failed clusters", async () => {
        const run = await runStage(stage);
        const file = YAML.parse(fs.readFileSync(path.resolve(__dirname, `../../Pulumi.${stage}.yaml`), "utf8")) as { config: Record<string, unknown> };
        // K3s sites are edge clusters bootstrapped by their servers' enrolment: they report too.
        const names = [...((file.config["edp:edgeClusters"] ?? []) as { name: string }[]), ...((file.config["edp:sites"] ?? []) as { name: string }[])].map((c) => c.name).sort();
        assert.ok(names.length > 0, `${stage} has edge clusters`);

        const deployment = run.ofType("kubernetes:apps/v1:Deployment").find((d) => (d.inputs.metadata as { name: string }).name === FLEET_EXPORTER);
        assert.ok(deployment, "the exporter runs on the central cluster");
        const container = (deployment.inputs.spec as { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } }).template.spec.containers[0];
        const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
        const listed = JSON.parse(env.EDP_CLUSTERS ?? "[]") as { cluster: string; key: string }[];
        assert.deepEqual(listed.map((c) => c.cluster).sort(), names);
        for (const c of listed) assert.equal(c.key, `${stage}/clusters/${c.cluster}/status.json`);
        const bucket = env.EDP_BUCKET ?? "";

        // The identity: every listed status object, nothing of the desired state, no listing, no writing, no other stage.
        const policies = run.ofType("alicloud:ram/policy:Policy").filter((p) => String(p.inputs.policyName).includes("edgefleet-status"));
        assert.equal(policies.length, 1);
        const doc = JSON.parse(String(policies[0].inputs.policyDocument)) as RamPolicyDocument;
        const arn = (key?: string) => (key === undefined ? `acs:oss:*:*:${bucket}` : `acs:oss:*:*:${bucket}/${key}`);
        for (const c of listed) assert.ok(isAllowed(doc, { action: "oss:GetObject", resource: arn(c.key) }), c.key);
        const refused: [string, string, string | undefined][] = [
          ...names.flatMap((n): [string, string, string | undefined][] => [
            ["oss:GetObject", `${stage}/clusters/${n}/desired-state.yaml`, undefined],
            ["oss:GetObject", `${stage}/clusters/${n}/sealed-secrets.yaml`, undefined],
            ["oss:PutObject", `${stage}/clusters/${n}/status.json`, undefined],
          ]),
          ["oss:GetObject", `other/clusters/${names[0]}/status.json`, undefined],
          ["oss:GetObject", ".sourceignore", undefined],
          ["oss:ListObjects", "", `${stage}/clusters/`],
        ];
        for (const [action, key, prefix] of refused) {
          assert.equal(isAllowed(doc, { action, resource: key === "" ? arn() : arn(key), context: prefix ? { "oss:Prefix": prefix } : undefined }), false, `${action} ${key}`);
        }

        // Reachable by Prometheus only: no Service or Ingress points at it; monitoring denies other namespaces.
        const labels = (deployment.inputs.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
        const selecting = run.ofType("kubernetes:core/v1:Service").filter((s) => {
          const sel = (s.inputs.spec as { selector?: Record<string, string> } | undefined)?.selector ?? {};
          return Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => labels[k] === v);
        });
        assert.deepEqual(selecting.map((s) => s.name), []);
        assert.equal((deployment.inputs.metadata as { namespace: string }).namespace, "monitoring");
        const podMonitor = run.ofType("kubernetes:monitoring.coreos.com/v1:PodMonitor").find((p) => (p.inputs.metadata as { name: string }).name === FLEET_EXPORTER);
        assert.ok(podMonitor, "Prometheus scrapes it");

        const rule = run.ofType("kubernetes:monitoring.coreos.com/v1:PrometheusRule").find((p) => (p.inputs.metadata as { name: string }).name === FLEET_EXPORTER);
        assert.ok(rule);
        const alerts = (rule.inputs.spec as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules);
        assert.ok(alerts.some((a) => a.expr.includes(`stage="${stage}",state="stale"`)));
        assert.ok(alerts.some((a) => a.expr.includes(`stage="${stage}",state="failed"`)));
      });
    });
  }
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = http.createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.on("error", reject);
  });
}

async function waitForMetrics(port: number, stderr: () => string): Promise<string> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const text = await new Promise<string | undefined>((resolve) => {
      http
        .get({ host: "127.0.0.1", port, path: "/metrics" }, (res) => {
          let body = "";
          res.on("data", (d) => (body += String(d)));
          res.on("end", () => resolve(body));
        })
        .on("error", () => resolve(undefined));
    });
    if (text?.includes("edp_edge_fleet_last_poll_timestamp_seconds{")) return text;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no metrics from the exporter within 20 s; stderr: ${stderr()}`);
}
