/**
 * Alert rules for the E3 host as a PrometheusRule the platform's Prometheus (prometheus-operator)
 * loads. The CRL rules matter most: Apache rejects every device certificate once its CRL has
 * passed nextUpdate, which would cut off every device at once.
 */
import { CRL_METRICS } from "./crl-refresh";

export interface E3AlertParams {
  /** Namespace the PrometheusRule lives in (the monitoring stack's). */
  namespace: string;
  stage: string;
  /** Minutes between CRL refreshes on E3 (edp:e3.crlRefreshMinutes). */
  crlRefreshMinutes: number;
  /** Hours before the CRL's nextUpdate at which a critical alert fires. */
  crlCriticalHours: number;
  /** Labels the Prometheus ruleSelector matches. */
  labels?: Record<string, string>;
}

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface PrometheusRuleManifest {
  apiVersion: "monitoring.coreos.com/v1";
  kind: "PrometheusRule";
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: { groups: { name: string; rules: Rule[] }[] };
}

export function e3AlertRules(p: E3AlertParams): PrometheusRuleManifest {
  const refreshSeconds = p.crlRefreshMinutes * 60;
  const stage = { stage: p.stage, component: "e3" };
  const rules: Rule[] = [
    {
      alert: "EdpE3CrlExpiresSoon",
      expr: `${CRL_METRICS.nextUpdate} - time() < ${p.crlCriticalHours * 3600}`,
      for: "5m",
      labels: { ...stage, severity: "critical" },
      annotations: {
        summary: "The device CRL on E3 expires in {{ $value | humanizeDuration }}",
        description: `Apache on E3 rejects every device certificate once its CRL has passed nextUpdate. Check that Vault publishes a fresh CRL and that edp-crl-refresh.timer on E3 succeeds (journalctl -u edp-crl-refresh).`,
      },
    },
    {
      alert: "EdpE3CrlRefreshFailing",
      expr: `time() - ${CRL_METRICS.lastSuccess} > ${3 * refreshSeconds}`,
      for: "5m",
      labels: { ...stage, severity: "warning" },
      annotations: {
        summary: "E3 has not installed a new device CRL for three refresh periods",
        description: "edp-crl-refresh on E3 keeps failing (download, signature or nextUpdate check); the current CRL stays in force until it expires.",
      },
    },
    {
      alert: "EdpE3CrlMetricsMissing",
      expr: `absent(${CRL_METRICS.nextUpdate})`,
      for: `${Math.max(30, 3 * p.crlRefreshMinutes)}m`,
      labels: { ...stage, severity: "warning" },
      annotations: {
        summary: "No CRL metrics from E3",
        description: "The node exporter on E3 is not scraped or the CRL refresh has never written its textfile metrics.",
      },
    },
  ];
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: { name: "edp-e3", namespace: p.namespace, labels: { "app.kubernetes.io/part-of": "edp", ...(p.labels ?? {}) } },
    spec: { groups: [{ name: "edp-e3-crl", rules }] },
  };
}
