/**
 * Stand-ins for the secret config a stage needs, used where the real values cannot be had:
 * offline synth and tests (stack files hold secrets only as `secure:` ciphertext, which cannot
 * be decrypted without the stack's secrets provider). Values are obviously not real, and synth
 * redacts them like any other secret.
 */
export const STAND_IN_SECRETS = {
  dockerPullJson: JSON.stringify({ auths: { "registry-vpc.eu-central-1.aliyuncs.com": { auth: "c3RhbmQtaW46bm90LXJlYWw=" } } }),
  /** DAIM's GPG values of datadirectormangement-files (manual §3.2.2); the SSH pair is generated. */
  ddmFiles: {
    DDM_REV: "stand-in-rev-1",
    DDM_KEY1: "-----BEGIN PGP PRIVATE KEY BLOCK-----\nstand-in\n-----END PGP PRIVATE KEY BLOCK-----\n",
    DDM_KEY2: "-----BEGIN PGP PUBLIC KEY BLOCK-----\nstand-in\n-----END PGP PUBLIC KEY BLOCK-----\n",
    DDM_GPG_CONF: "use-agent\n",
    DDM_PASSPHRASE: "stand-in-passphrase",
    DDM_PUBRING: "c3RhbmQtaW4tcHVicmluZw==",
    DDM_TRUSTDB: "c3RhbmQtaW4tdHJ1c3RkYg==",
  },
  /** Alertmanager's credentials (edp:alerting): the URLs carry tokens in real life. */
  alertingSecrets: {
    smtpPassword: "stand-in-smtp-password",
    webhookUrl: "https://alerts.example.invalid/hooks/stand-in",
    deadMansSwitchUrl: "https://heartbeat.example.invalid/ping/stand-in",
  },
};

/** The secret keys (full, edp:<name>) every stage requires, with their stand-ins. */
export const REQUIRED_SECRET_STAND_INS: Record<string, unknown> = Object.fromEntries(
  Object.entries(STAND_IN_SECRETS).map(([k, v]) => [`edp:${k}`, v]),
);

/**
 * A kubeconfig stand-in for every edge cluster the config bootstraps directly
 * (`edp:edgeKubeconfigs.<name>`), so synth shows what a change does to such a cluster. Obviously
 * not real: a documentation address and a token that says so.
 */
export function edgeKubeconfigStandIns(edgeClustersJson: string | undefined): Record<string, string> {
  let clusters: unknown;
  try {
    clusters = edgeClustersJson === undefined ? [] : JSON.parse(edgeClustersJson);
  } catch {
    return {};
  }
  if (!Array.isArray(clusters)) return {};
  const direct = clusters.filter((c): c is { name: string } => typeof c?.name === "string" && c?.bootstrap === "direct").map((c) => c.name);
  return Object.fromEntries(
    direct.map((name) => [
      name,
      [
        "apiVersion: v1",
        "kind: Config",
        `clusters: [{name: ${name}, cluster: {server: "https://192.0.2.10:6443", insecure-skip-tls-verify: true}}]`,
        `users: [{name: ${name}-stand-in, user: {token: stand-in-not-a-real-token}}]`,
        `contexts: [{name: ${name}, context: {cluster: ${name}, user: ${name}-stand-in}}]`,
        `current-context: ${name}`,
        "",
      ].join("\n"),
    ]),
  );
}
