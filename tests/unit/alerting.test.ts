/**
 * Alerts that can fire and reach someone, in every stage's whole program: every metric an alert
 * rule reads comes from a target Prometheus scrapes, and Alertmanager routes to the stage's
 * receivers with a dead man's switch.
 */
import assert from "node:assert/strict";
import { FLEET_EXPORTER, FLEET_EXPORTER_SCRIPT } from "../../components/edge/fleet-exporter";
import { DEADMANS_RECEIVER, DEFAULT_RECEIVER, RECEIVER_SECRET } from "../../components/monitoring/alerting";
import { STAGES } from "../../config";
import { runStage, type StageRun } from "../harness/stage";

type Obj = Record<string, unknown>;
const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "inf", "nan"]);

/** Metric names a PromQL expression selects (function names, keywords, label matchers and grouping labels removed). */
export function metricsOf(expr: string): { name: string; job?: string }[] {
  const out: { name: string; job?: string }[] = [];
  // Grouping clauses and range selectors name no metric; label matchers are consumed with their metric.
  const cleaned = expr.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ").replace(/\[[^\]]*\]/g, " ");
  const re = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{([^}]*)\})?\s*(\()?/g;
  for (const m of cleaned.matchAll(re)) {
    const [, name, , matchers, call] = m;
    if (call || KEYWORDS.has(name.toLowerCase())) continue;
    out.push({ name, job: matchers ? /\bjob="([^"]+)"/.exec(matchers)?.[1] : undefined });
  }
  return out;
}

interface Source {
  what: string;
  produces(metric: { name: string; job?: string }): boolean;
}

/** What this program's Prometheus scrapes, found in the program's objects (not assumed). */
function scrapedSources(run: StageRun): Source[] {
  const sources: Source[] = [];
  const objects = run.kubernetesObjects().map((o) => o.manifest);
  const stack = run.ofType("kubernetes:helm.sh/v3:Release").find((r) => r.inputs.chart === "kube-prometheus-stack");
  assert.ok(stack, "no kube-prometheus-stack");
  const values = stack.inputs.values as Obj;
  if ((values.kubeStateMetrics as { enabled?: boolean } | undefined)?.enabled !== false) {
    sources.push({ what: "kube-state-metrics (kube-prometheus-stack)", produces: (m) => m.name.startsWith("kube_") && (m.job ?? "kube-state-metrics") === "kube-state-metrics" });
  }
  // Vault: a ServiceMonitor on its nodes' /v1/sys/metrics, and telemetry enabled in the server's configuration.
  const vaultChart = run.ofType("kubernetes:helm.sh/v3:Release").find((r) => r.inputs.chart === "vault");
  const hcl = String((((vaultChart?.inputs.values as Obj)?.server as Obj)?.ha as { raft?: { config?: string } })?.raft?.config ?? "");
  const vaultMonitor = objects.find((o) => o.kind === "ServiceMonitor" && (o.metadata as Obj).namespace === "vault");
  if (vaultMonitor && /unauthenticated_metrics_access = true/.test(hcl) && /prometheus_retention_time/.test(hcl)) {
    const endpoint = ((vaultMonitor.spec as Obj).endpoints as Obj[])[0];
    const selector = ((vaultMonitor.spec as Obj).selector as { matchLabels: Record<string, string> }).matchLabels;
    // The chart labels its headless Service vault-internal so; the job label is the Service's name.
    if (endpoint.path === "/v1/sys/metrics" && selector["vault-internal"] === "true") {
      sources.push({ what: "Vault's ServiceMonitor", produces: (m) => m.job === "vault-internal" && (m.name.startsWith("vault_") || m.name === "up") });
    }
  }
  // E3: a ScrapeConfig on its node exporter (textfile collector: the CRL metrics).
  const e3Port = 9100;
  for (const o of objects.filter((x) => x.kind === "ScrapeConfig")) {
    const spec = o.spec as { jobName?: string; staticConfigs?: { targets: string[] }[] };
    const targets = (spec.staticConfigs ?? []).flatMap((c) => c.targets);
    if (targets.some((t) => t.endsWith(`:${e3Port}`)) && spec.jobName === "e3-node-exporter") {
      sources.push({ what: "E3's node exporter", produces: (m) => m.name.startsWith("edp_e3_") || (m.name === "up" && m.job === "e3-node-exporter") });
    }
  }
  // The edge fleet-status exporter: a PodMonitor selecting its Deployment's Pods on their metrics
  // port; what it serves is read from its own script, not assumed.
  for (const monitor of objects.filter((x) => x.kind === "PodMonitor" && (x.metadata as Obj).name === FLEET_EXPORTER)) {
    const selector = ((monitor.spec as Obj).selector as { matchLabels: Record<string, string> }).matchLabels;
    const exporter = objects.find((x) => x.kind === "Deployment" && (x.metadata as Obj).name === FLEET_EXPORTER);
    const podLabels = (((exporter?.spec as Obj)?.template as Obj)?.metadata as { labels?: Record<string, string> })?.labels ?? {};
    const selects = Object.entries(selector).every(([k, v]) => podLabels[k] === v);
    const served = new Set([...FLEET_EXPORTER_SCRIPT.matchAll(/\b(edp_edge_[a-z_]+)\b/g)].map((m) => m[1]));
    if (exporter && selects) sources.push({ what: "the edge fleet-status exporter", produces: (m) => served.has(m.name) });
  }
  return sources;
}

describe("alerting in every stage", function () {
  this.timeout(300_000);

  for (const stage of STAGES) {
    describe(stage, () => {
      it("reads in every alert rule only metrics that a scraped target produces", async () => {
        const run = await runStage(stage);
        assert.equal(run.error, undefined, run.error);
        const sources = scrapedSources(run);
        const rules = run
          .kubernetesObjects()
          .map((o) => o.manifest)
          .filter((m) => m.kind === "PrometheusRule")
          .flatMap((m) => ((m.spec as { groups: { rules: { alert?: string; expr: string }[] }[] }).groups ?? []).flatMap((g) => g.rules));
        const alerts = rules.filter((r) => r.alert);
        assert.ok(alerts.length >= 10, `only ${alerts.length} alert rules`);
        const names = alerts.map((a) => a.alert);
        for (const a of ["VaultSealed", "VaultNoLeader", "EdpE3CrlExpiresSoon"]) assert.ok(names.includes(a), `no alert ${a}`);
        const orphans: string[] = [];
        for (const r of alerts) {
          const metrics = metricsOf(r.expr);
          assert.ok(metrics.length > 0, `${r.alert}: no metric in ${r.expr}`);
          for (const m of metrics) if (!sources.some((s) => s.produces(m))) orphans.push(`${r.alert}: ${m.name}${m.job ? `{job="${m.job}"}` : ""} comes from no scraped target`);
        }
        assert.deepEqual(orphans, []);
      });

      it("scrapes E3's node exporter at E3's private address on edp:e3.nodeExporterPort", async () => {
        const run = await runStage(stage);
        const scrape = run.kubernetesObjects().find((o) => o.manifest.kind === "ScrapeConfig" && (o.manifest.metadata as Obj).name === "e3-node-exporter");
        assert.ok(scrape, "no ScrapeConfig for E3");
        const targets = ((scrape.manifest.spec as Obj).staticConfigs as { targets: string[] }[])[0].targets;
        assert.equal(targets.length, 1);
        assert.match(targets[0], /^10\.[0-9.]+:9100$/);
        const stack = run.ofType("kubernetes:helm.sh/v3:Release").find((r) => r.inputs.chart === "kube-prometheus-stack");
        assert.equal((((stack?.inputs.values as Obj).prometheus as Obj).prometheusSpec as Obj).scrapeConfigSelectorNilUsesHelmValues, false);
      });

      it("routes alerts to the stage's receivers, with a dead man's switch beyond testing and credentials only in a Secret", async () => {
        const run = await runStage(stage);
        const stack = run.ofType("kubernetes:helm.sh/v3:Release").find((r) => r.inputs.chart === "kube-prometheus-stack");
        const am = (stack?.inputs.values as Obj).alertmanager as { config: { route: { receiver: string; routes: Obj[] }; receivers: Obj[] }; alertmanagerSpec: { secrets: string[] } };
        assert.equal(am.config.route.receiver, DEFAULT_RECEIVER);
        const operators = am.config.receivers.find((r) => r.name === DEFAULT_RECEIVER) as { email_configs?: { to: string }[] };
        assert.equal(operators.email_configs?.[0].to, "platform-ops@example-edp.net");
        const deadMan = am.config.receivers.find((r) => r.name === DEADMANS_RECEIVER);
        assert.equal(deadMan !== undefined, stage !== "testing");
        assert.deepEqual(am.alertmanagerSpec.secrets, [RECEIVER_SECRET.name]);
        const secret = run.ofType("kubernetes:core/v1:Secret").find((r) => (r.inputs.metadata as Obj).name === RECEIVER_SECRET.name);
        assert.ok(secret, "no receivers Secret");
        assert.equal((secret.inputs.metadata as Obj).namespace, "monitoring");
        assert.ok(secret.secretPaths.some((p) => p.startsWith("stringData")), "the receivers Secret is not a Pulumi secret");
        assert.ok(!JSON.stringify(stack?.inputs.values).includes("stand-in-smtp-password"), "a credential is in the chart values");
      });
    });
  }
});
