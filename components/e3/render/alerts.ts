/**
 * Alert rules for the E3 host as a PrometheusRule the platform's Prometheus (prometheus-operator)
 * loads. The CRL rules matter most: Apache rejects every device certificate once its CRL has
 * passed nextUpdate, which would cut off every device at once. Every reason the CRL refresh
 * refuses a download alerts on its own, and so does a server certificate close to expiry.
 */

/** Days before the server certificate's notAfter at which the alerts fire (ACME renews at 30). */
export const CERT_WARNING_DAYS = 21;
export const CERT_CRITICAL_DAYS = 7;

const REFUSAL_SEVERITY: Record<CrlRefusal, "warning" | "critical"> = {
  download: "warning",
  not_a_crl: "warning",
  signature: "critical",
  not_yet_valid: "critical",
  expired: "warning",
  older: "critical",
};
import { CERT_METRICS } from "./acme";
import { CRL_METRICS, CRL_REFUSALS, type CrlRefusal } from "./crl-refresh";

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
    ...(Object.keys(CRL_REFUSALS) as CrlRefusal[]).map((reason) => ({
      alert: `EdpE3CrlRefused${reason.replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase())}`,
      expr: `${CRL_METRICS.refused}{reason="${reason}"} == 1`,
      for: "0m",
      labels: { ...stage, severity: REFUSAL_SEVERITY[reason] },
      annotations: {
        summary: `E3 refused a downloaded device CRL: ${CRL_REFUSALS[reason]}`,
        description: "The CRL in force stays until it expires (journalctl -u edp-crl-refresh on E3 says more). A future-dated CRL means E3's clock or Vault's is wrong; an older one means Vault serves a CRL from before a revocation.",
      },
    })),
    {
      alert: "EdpE3ServerCertExpiresSoon",
      expr: `${CERT_METRICS.notAfter} - time() < ${CERT_WARNING_DAYS * 86400}`,
      for: "1h",
      labels: { ...stage, severity: "warning" },
      annotations: {
        summary: "E3's server certificate expires in {{ $value | humanizeDuration }}",
        description: "ACME renews it 30 days ahead (edp-cert-renew.timer); check journalctl -u edp-cert-renew on E3 and that port 80 is reachable for HTTP-01.",
      },
    },
    {
      alert: "EdpE3ServerCertExpiresVerySoon",
      expr: `${CERT_METRICS.notAfter} - time() < ${CERT_CRITICAL_DAYS * 86400}`,
      for: "5m",
      labels: { ...stage, severity: "critical" },
      annotations: {
        summary: "E3's server certificate expires in {{ $value | humanizeDuration }}; devices will refuse E3 after that",
        description: "Renew now: run edp-cert-renew on E3, or `pulumi up` to renew the bootstrap certificate.",
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
