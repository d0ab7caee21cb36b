"use strict";
// RRSA token exchange (components/shared/rrsa.ts): run once as an init container, before the
// container that runs rclone. Alibaba's credentials library (@alicloud/credentials, bundled
// into this file by sts-client.ts) calls STS AssumeRoleWithOIDC with the pod's projected
// ServiceAccount token; this file writes the temporary credentials as the credential keys of
// one rclone remote, in a file only the pod's containers see (a memory-backed emptyDir).
// It never prints a credential: the log says which role and until when, or why not.
//
// Environment: ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN,
// ALIBABA_CLOUD_OIDC_TOKEN_FILE, ALIBABA_CLOUD_ROLE_SESSION_NAME (read by the library),
// EDP_STS_ENDPOINT (host[:port] of STS), EDP_STS_DURATION_SECONDS, EDP_RCLONE_REMOTE,
// EDP_RCLONE_CONFIG_OUT.
const fs = require("node:fs");
const path = require("node:path");
const { OIDCRoleArnCredentialsProvider } = require("@alicloud/credentials");

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error("environment variable " + name + " is not set");
  return v;
}

/** An rclone config value must be one line; STS values are base64-like, anything else is refused. */
function configValue(what, v) {
  if (typeof v !== "string" || v === "" || !/^[A-Za-z0-9+/=._:-]+$/.test(v)) throw new Error("STS returned no usable " + what);
  return v;
}

async function main() {
  const roleArn = need("ALIBABA_CLOUD_ROLE_ARN");
  const durationSeconds = Number(need("EDP_STS_DURATION_SECONDS"));
  if (!Number.isInteger(durationSeconds) || durationSeconds < 900) throw new Error("EDP_STS_DURATION_SECONDS must be a whole number of seconds, at least 900");
  const remote = need("EDP_RCLONE_REMOTE");
  if (!/^[a-z][a-z0-9_]*$/.test(remote)) throw new Error("EDP_RCLONE_REMOTE must be an rclone remote name");
  const out = need("EDP_RCLONE_CONFIG_OUT");
  const provider = OIDCRoleArnCredentialsProvider.builder()
    .withStsEndpoint(need("EDP_STS_ENDPOINT"))
    .withDurationSeconds(durationSeconds)
    .build();
  const started = Date.now();
  const c = await provider.getCredentials();
  const body =
    "[" + remote + "]\n" +
    "access_key_id = " + configValue("AccessKeyId", c.accessKeyId) + "\n" +
    "secret_access_key = " + configValue("AccessKeySecret", c.accessKeySecret) + "\n" +
    "session_token = " + configValue("SecurityToken", c.securityToken) + "\n";
  // Written whole or not at all: a reader never sees half a file.
  const tmp = path.join(path.dirname(out), "." + path.basename(out) + ".tmp");
  fs.writeFileSync(tmp, body, { mode: 0o600 });
  fs.renameSync(tmp, out);
  const until = new Date(started + durationSeconds * 1000).toISOString().replace(/\.\d+Z$/, "Z");
  console.log("sts-exchange: assumed " + roleArn + " with the ServiceAccount token; credentials for rclone remote " + remote + " valid until about " + until);
}

main().catch((e) => {
  // The library's messages carry STS's answer (code and message), never the token or a key.
  console.error("sts-exchange: " + (e && e.message ? e.message : String(e)));
  process.exit(1);
});
