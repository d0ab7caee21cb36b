import { alertmanagerConfig, DEADMANS_RECEIVER, DEFAULT_RECEIVER, RECEIVER_SECRET, requiredAlertingSecrets, secretFile } from "../../../components/monitoring/alerting";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { GRAFANA_ROLE_PATH, kubePrometheusStackValues, lokiValues, MANUAL_DASHBOARDS, programDashboards } from "../../../components/monitoring";
import { CHARTS } from "../../../components/versions";
import { STAGES } from "../../../config";
import { ROOT } from "../../harness/stage";
import { meta, runPlatform } from "./run";

type Obj = Record<string, unknown>;
const stageMonitoring = (stage: string) =>
  (YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stage}.yaml`), "utf8")) as { config: Record<string, Obj> }).config["edp:monitoring"] as {
    prometheusRetention: string;
    prometheusStorageGb: number;
    lokiStorageGb: number;
    lokiRetentionHours: number;
  };

describe("monitoring values", () => {
  it("accounts for every dashboard of the manual (§3.9.5)", () => {
    const manual = [
      "Spring Boot Applications",
      "Pod Metrics + Logs",
      "Hashicorp Vault",
      "Keycloak Metrics",
      "Flux Cluster Stats",
      "Flux Control Plane",
      "Kubernetes Cluster (Prometheus)",
      "Kubernetes Cluster Monitoring",
      "Kubernetes Ingress Controller Dashboard",
      "Kyverno",
      "NGINX Ingress controller",
      "Prometheus 2.0 Overview",
      "Alerts",
      "Loki",
      "Grafana Internals",
      "State of the Deployment",
    ];
    assert.deepEqual(MANUAL_DASHBOARDS.map((d) => d.name).sort(), manual.sort());
  });

  it("ships its own dashboards as ConfigMaps, each once, in its manual folder; Grafana downloads none", () => {
    const d = programDashboards();
    assert.deepEqual(d.map((x) => [x.name, x.folder, x.file]), [
      ["dashboard-ingress-nginx", "k8s", "ingress-nginx.json"],
      ["dashboard-spring-boot", "apps", "spring-boot.json"],
    ]);
    for (const x of d) {
      const model = JSON.parse(x.json) as { uid: string; panels: { targets: { expr: string }[] }[] };
      assert.ok(model.panels.length >= 6, `${x.name} has ${model.panels.length} panels`);
      for (const p of model.panels) assert.ok(p.targets[0].expr.length > 0);
    }
    const grafana = kubePrometheusStackValues(input).grafana as Record<string, unknown>;
    assert.equal(grafana.dashboards, undefined, "grafana.dashboards makes Grafana download from grafana.com");
    assert.equal(grafana.dashboardProviders, undefined);
  });

  const input = {
    stage: "production" as const,
    monitoring: { prometheusRetention: "30d", prometheusStorageGb: 200, lokiStorageGb: 10, lokiRetentionHours: 720 },
    grafanaHost: "grafana.api.production.example.net",
    lokiNamespace: "loki",
    oidc: { issuerUrl: "https://keycloak.example.net/realms/edp", clientId: "grafana" },
    alerting: {
      email: { to: ["ops@example.net", "oncall@example.net"], from: "am@example.net", smarthost: "smtp.example.net:587", username: "am" },
      webhook: { sendResolved: true },
      deadMansSwitch: { repeatInterval: "5m" },
    },
  };

  it("routes alerts to the stage's receivers, credentials only as files of the receivers Secret", () => {
    const v = kubePrometheusStackValues(input);
    const am = v.alertmanager.config;
    assert.equal(am.route.receiver, DEFAULT_RECEIVER);
    const operators = am.receivers.find((r) => r.name === DEFAULT_RECEIVER) as { email_configs: Record<string, unknown>[]; webhook_configs: Record<string, unknown>[] };
    assert.equal(operators.email_configs[0].to, "ops@example.net, oncall@example.net");
    assert.equal(operators.email_configs[0].auth_password_file, secretFile(RECEIVER_SECRET.smtpPassword));
    assert.equal(operators.webhook_configs[0].url_file, secretFile(RECEIVER_SECRET.webhookUrl));
    assert.deepEqual(v.alertmanager.alertmanagerSpec.secrets, [RECEIVER_SECRET.name]);
    // No password or URL in the values themselves.
    const text = JSON.stringify(am);
    assert.ok(!/"(auth_password|url)"\s*:/.test(text), text);
  });

  it("sends the always-firing Watchdog to the dead man's switch, and only there", () => {
    const am = kubePrometheusStackValues(input).alertmanager.config;
    const watchdog = am.route.routes.find((r) => JSON.stringify(r.matchers) === JSON.stringify(['alertname="Watchdog"'])) as { receiver: string; repeat_interval?: string };
    assert.equal(watchdog.receiver, DEADMANS_RECEIVER);
    assert.equal(watchdog.repeat_interval, "5m");
    const dms = am.receivers.find((r) => r.name === DEADMANS_RECEIVER) as { webhook_configs: { url_file: string }[] };
    assert.equal(dms.webhook_configs[0].url_file, secretFile(RECEIVER_SECRET.deadMansSwitchUrl));
    // Without a dead man's switch the Watchdog is dropped rather than mailed every few minutes.
    const without = alertmanagerConfig({ email: input.alerting.email }, "testing");
    assert.equal((without.route.routes[0] as { receiver: string }).receiver, "null");
    assert.deepEqual(requiredAlertingSecrets({ email: input.alerting.email }), ["smtpPassword"]);
    assert.deepEqual(requiredAlertingSecrets({ webhook: { sendResolved: true }, deadMansSwitch: { repeatInterval: "1m" } }), ["webhookUrl", "deadMansSwitchUrl"]);
  });

  it("signs Grafana in through the platform realm, with the client secret only from its Secret", () => {
    const v = kubePrometheusStackValues(input);
    const oauth = v.grafana["grafana.ini"]["auth.generic_oauth"];
    assert.equal(oauth.auth_url, "https://keycloak.example.net/realms/edp/protocol/openid-connect/auth");
    assert.equal(oauth.token_url, "https://keycloak.example.net/realms/edp/protocol/openid-connect/token");
    assert.equal(oauth.client_id, "grafana");
    assert.ok(!("client_secret" in oauth));
    assert.deepEqual(v.grafana.envValueFrom.GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET, { secretKeyRef: { name: "grafana-credentials", key: "oauth-client-secret" } });
    assert.equal(v.grafana.admin.existingSecret, "grafana-credentials");
    assert.equal(v.grafana["grafana.ini"].server.root_url, "https://grafana.api.production.example.net/");
    assert.match(GRAFANA_ROLE_PATH, /grafana-admin.*'Admin'/);
  });

  it("sizes Prometheus and Loki from the stage, never below a cloud disk's minimum", () => {
    const v = kubePrometheusStackValues(input);
    assert.equal(v.prometheus.prometheusSpec.retention, "30d");
    assert.equal(v.prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage, "200Gi");
    assert.equal(v.prometheus.prometheusSpec.retentionSize, "170GB");
    const l = lokiValues({ stage: "production", monitoring: input.monitoring, dashboardNamespace: "monitoring" });
    assert.equal(l.loki.limits_config.retention_period, "720h");
    assert.equal(l.singleBinary.persistence.size, "20Gi");
  });
});

describe("monitoring per stage", function () {
  this.timeout(300_000);

  for (const stage of STAGES) {
    it(`${stage}: pinned charts sized from the stage's edp:monitoring`, async () => {
      const run = await runPlatform(stage);
      assert.equal(run.error, undefined, run.error);
      const releases = run.ofType("kubernetes:helm.sh/v3:Release");
      const byChart = (chart: string) => {
        const r = releases.find((x) => x.inputs.chart === chart);
        assert.ok(r, `no ${chart} release`);
        return r;
      };
      const m = stageMonitoring(stage);
      const stack = byChart("kube-prometheus-stack");
      assert.equal(stack.inputs.version, CHARTS.kubePrometheusStack.version);
      const prom = ((stack.inputs.values as Obj).prometheus as Obj).prometheusSpec as Obj;
      assert.equal(prom.retention, m.prometheusRetention);
      assert.equal(JSON.stringify(prom.storageSpec).includes(`"${Math.max(20, m.prometheusStorageGb)}Gi"`), true);
      const loki = byChart("loki");
      assert.equal(loki.inputs.version, CHARTS.loki.version);
      assert.equal((((loki.inputs.values as Obj).loki as Obj).limits_config as Obj).retention_period, `${m.lokiRetentionHours}h`);
      assert.equal(byChart("promtail").inputs.version, CHARTS.promtail.version);
      assert.equal(byChart("promtail").inputs.namespace, "loki");
    });

    it(`${stage}: Grafana at grafana.api.${stage} and edp-portal/grafana, Loki behind basic auth`, async () => {
      const run = await runPlatform(stage);
      const ingresses = Object.fromEntries(run.ofType("kubernetes:networking.k8s.io/v1:Ingress").map((i) => [`${meta(i.inputs).namespace}/${meta(i.inputs).name}`, i.inputs]));
      const rule = (i: Obj) => ((i.spec as Obj).rules as Obj[])[0];
      assert.equal(rule(ingresses["monitoring/grafana"]).host, `grafana.api.${stage}.example-edp.net`);
      const portal = ingresses["monitoring/grafana-portal-path"];
      assert.equal(rule(portal).host, `edp-portal.api.${stage}.example-edp.net`);
      assert.equal(((rule(portal).http as Obj).paths as Obj[])[0].path, "/grafana");
      assert.equal(meta(portal).annotations?.["nginx.ingress.kubernetes.io/permanent-redirect"], `https://grafana.api.${stage}.example-edp.net/`);
      const loki = ingresses["loki/loki"];
      assert.equal(meta(loki).annotations?.["nginx.ingress.kubernetes.io/auth-type"], "basic");
      assert.equal(meta(loki).annotations?.["nginx.ingress.kubernetes.io/auth-secret"], "loki-basic-auth");
      const authSecret = run.ofType("kubernetes:core/v1:Secret").find((s) => meta(s.inputs).name === "loki-basic-auth");
      assert.equal(authSecret && meta(authSecret.inputs).namespace, "loki", "the auth Secret must share the Ingress's namespace");
      assert.equal(run.output("grafanaUrl").value, `https://grafana.api.${stage}.example-edp.net/`);
    });
  }

  it("keeps every generated secret out of the chart values", async () => {
    const run = await runPlatform("staging");
    const values = JSON.stringify(run.ofType("kubernetes:helm.sh/v3:Release").map((r) => r.inputs.values));
    for (const s of run.ofType("kubernetes:core/v1:Secret")) {
      for (const [key, value] of Object.entries((s.inputs.stringData ?? {}) as Record<string, string>)) {
        if (value.length >= 12) assert.ok(!values.includes(value), `${meta(s.inputs).name}.${key} appears in chart values`);
      }
    }
  });
});
