/**
 * Where alerts go: Alertmanager's configuration, rendered from the stage's `edp:alerting`
 * (receivers) and `edp:alertingSecrets` (the SMTP password and the URLs, which carry tokens).
 * Credentials never enter the configuration: Alertmanager reads them from files of the Secret
 * `alertmanager-receivers`, mounted by the operator (alertmanagerSpec.secrets).
 *
 * The dead man's switch: kube-prometheus-stack's `Watchdog` alert always fires; it is routed,
 * and only it, to an external heartbeat URL every repeat interval. When the heartbeats stop,
 * the external service pages: Prometheus, Alertmanager or the route to them is broken.
 */
import type { StageInput } from "../../config/schema";

/** The Secret the credentials live in, its keys, and where the operator mounts it. */
export const RECEIVER_SECRET = {
  name: "alertmanager-receivers",
  smtpPassword: "smtp-password",
  webhookUrl: "webhook-url",
  deadMansSwitchUrl: "deadmansswitch-url",
} as const;
export const secretFile = (key: string) => `/etc/alertmanager/secrets/${RECEIVER_SECRET.name}/${key}`;

export type Alerting = NonNullable<StageInput["alerting"]>;

export const DEFAULT_RECEIVER = "edp-operators";
export const DEADMANS_RECEIVER = "deadmans-switch";

/** Alertmanager's configuration (alertmanager.config of kube-prometheus-stack). */
export function alertmanagerConfig(alerting: Alerting, stage: string) {
  const operators: Record<string, unknown> = { name: DEFAULT_RECEIVER };
  if (alerting.email) {
    const e = alerting.email;
    operators.email_configs = [
      {
        to: e.to.join(", "),
        from: e.from,
        smarthost: e.smarthost,
        require_tls: true,
        send_resolved: true,
        headers: { Subject: `[EDP ${stage}] {{ .Status | toUpper }} {{ .CommonLabels.alertname }}` },
        ...(e.username ? { auth_username: e.username, auth_password_file: secretFile(RECEIVER_SECRET.smtpPassword) } : {}),
      },
    ];
  }
  if (alerting.webhook) {
    operators.webhook_configs = [{ url_file: secretFile(RECEIVER_SECRET.webhookUrl), send_resolved: alerting.webhook.sendResolved }];
  }
  const receivers: Record<string, unknown>[] = [operators, { name: "null" }];
  const routes: Record<string, unknown>[] = [];
  if (alerting.deadMansSwitch) {
    receivers.push({ name: DEADMANS_RECEIVER, webhook_configs: [{ url_file: secretFile(RECEIVER_SECRET.deadMansSwitchUrl), send_resolved: false }] });
    routes.push({ receiver: DEADMANS_RECEIVER, matchers: ['alertname="Watchdog"'], group_wait: "0s", group_interval: "1m", repeat_interval: alerting.deadMansSwitch.repeatInterval });
  } else {
    routes.push({ receiver: "null", matchers: ['alertname="Watchdog"'] });
  }
  // The chart's InfoInhibitor only silences info alerts; it is not for people.
  routes.push({ receiver: "null", matchers: ['alertname="InfoInhibitor"'] });
  return {
    global: { resolve_timeout: "5m" },
    route: { receiver: DEFAULT_RECEIVER, group_by: ["alertname", "namespace", "job"], group_wait: "30s", group_interval: "5m", repeat_interval: "4h", routes },
    inhibit_rules: [{ source_matchers: ['severity="critical"'], target_matchers: ['severity=~"warning|info"'], equal: ["alertname", "namespace"] }],
    receivers,
    templates: ["/etc/alertmanager/config/*.tmpl"],
  };
}

/** Which secret values a stage's alerting needs, by key of edp:alertingSecrets. */
export function requiredAlertingSecrets(alerting: Alerting): ("smtpPassword" | "webhookUrl" | "deadMansSwitchUrl")[] {
  return [
    ...(alerting.email?.username ? (["smtpPassword"] as const) : []),
    ...(alerting.webhook ? (["webhookUrl"] as const) : []),
    ...(alerting.deadMansSwitch ? (["deadMansSwitchUrl"] as const) : []),
  ];
}
