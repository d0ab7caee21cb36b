/**
 * RRSA (issue 13, item 7): the central cluster's cloud-facing Jobs assume RAM roles with their
 * ServiceAccount tokens where the cluster supports it, and hold no access key then. Checked over
 * every stage's whole program (each creates its ACK cluster, so each has RRSA), and for an
 * adopted cluster with and without edp:cluster.rrsa.
 */
import assert from "node:assert/strict";
import { STAGES } from "../../config";
import { RRSA_AUDIENCE, RRSA_MAX_SESSION_SECONDS, RRSA_PATHS, RRSA_VOLUMES, type TrustPolicyDocument, WORKLOAD_SERVICE_ACCOUNTS } from "../../components/shared/rrsa";
import { mockId, mockKubeconfig, RESOURCE_OUTPUTS } from "../../scripts/lib/mock-outputs";
import { fullExisting } from "../fixtures/existing";
import { beforeStage, runStage, type StageRun } from "../harness/stage";
import { identitiesOf, type Pod, podsOf, RAM, roleArnOf } from "../harness/workload-identity";

const ACK = "alicloud:cs/managedKubernetes:ManagedKubernetes";
/** The foundation's workload identities (resource id suffix) and the ServiceAccounts that use each. */
const ROLE_IDENTITIES = {
  "pg-backup-writer": WORKLOAD_SERVICE_ACCOUNTS.backupWriter,
  "pg-backup-reader": WORKLOAD_SERVICE_ACCOUNTS.backupReader,
  "vault-snapshot-writer": WORKLOAD_SERVICE_ACCOUNTS.vaultSnapshots,
} as const;

/** An adopted cluster (the options foundation.test.ts uses), optionally with edp:cluster set (its rrsa). */
const adopted = (stage: string, cluster?: Record<string, unknown>) => {
  const existing = fullExisting(stage);
  return {
    unset: cluster ? [] : ["edp:cluster"],
    secrets: { "edp:clusterKubeconfig": mockKubeconfig("adopted-central") },
    config: { "edp:existing": { vpc: existing.vpc, vswitches: existing.vswitches }, ...(cluster ? { "edp:cluster": cluster } : {}) },
  };
};

/** The OIDC provider the mock ACK reports for the created cluster. */
function ackProvider(run: StageRun): { arn: string; issuer: string } {
  const [ack] = run.ofType(ACK);
  const m = RESOURCE_OUTPUTS[ACK](ack.name, ack.inputs).rrsaMetadata as { ramOidcProviderArn: string; rrsaOidcIssuerUrl: string };
  return { arn: m.ramOidcProviderArn, issuer: m.rrsaOidcIssuerUrl };
}

/** The roles ServiceAccounts assume (an OIDC provider is their principal); E3's ECS instance role is not one. */
const rrsaRoles = (run: StageRun) =>
  run.ofType(RAM.role).filter((r) => {
    const doc = r.inputs.assumeRolePolicyDocument ?? r.inputs.document;
    return typeof doc === "string" && (JSON.parse(doc) as TrustPolicyDocument).Statement.some((st) => (st.Principal?.Federated ?? []).some((f) => f.includes(":oidc-provider/")));
  });

const trustOf = (run: StageRun, id: string) => JSON.parse(String(run.get(RAM.role, `edp-${id}`).inputs.assumeRolePolicyDocument)) as TrustPolicyDocument;

/** Every Secret value in the cluster, with where it is. */
function secretValues(run: StageRun): { where: string; value: string }[] {
  return run.ofType("kubernetes:core/v1:Secret").flatMap((s) => {
    const meta = s.inputs.metadata as { name: string; namespace?: string };
    const where = `${meta.namespace}/${meta.name}`;
    const data = Object.values((s.inputs.data ?? {}) as Record<string, string>).map((v) => Buffer.from(v, "base64").toString("utf8"));
    const plain = Object.values((s.inputs.stringData ?? {}) as Record<string, string>).map(String);
    return [...data, ...plain].map((value) => ({ where, value }));
  });
}

/**
 * The rule over a whole program: no Secret in the cluster carries a RAM access key of an
 * identity that has a role, and no identity that has a role has an access key at all.
 */
function assertNoKeyForRoles(run: StageRun): void {
  const roles = new Set(rrsaRoles(run).map((r) => String(r.inputs.roleName)));
  for (const key of run.ofType(RAM.accessKey)) {
    assert.ok(!roles.has(String(key.inputs.userName)), `${key.inputs.userName} has a role and an access key`);
  }
  for (const user of run.ofType(RAM.user)) assert.ok(!roles.has(String(user.inputs.name)), `${user.inputs.name} is a role and a user`);
  const keyOfUser = new Map(run.ofType(RAM.accessKey).map((k) => [String(k.inputs.userName), { id: mockId(k.type, k.name), secret: String(RESOURCE_OUTPUTS[RAM.accessKey](k.name, k.inputs).secret) }]));
  for (const role of roles) {
    // A role's identity never had a user: so neither its key id nor its secret can be anywhere.
    assert.equal(keyOfUser.get(role), undefined, role);
  }
  const roleKeys = [...keyOfUser.entries()].filter(([user]) => roles.has(user));
  for (const { where, value } of secretValues(run)) {
    for (const [user, k] of roleKeys) assert.ok(!value.includes(k.id) && !value.includes(k.secret), `Secret ${where} holds the access key of ${user}, which has a role`);
  }
}

/** The checks of a pod that assumes a role: token, exchange step, credentials, and the role's trust in its ServiceAccount. */
function assertRrsaPod(run: StageRun, pod: Pod, provider: { arn: string; issuer: string }): string {
  const ids = identitiesOf(run, pod);
  assert.equal(ids.length, 1, `${pod.workload}: uses ${ids.length} identities`);
  const [id] = ids;
  assert.equal(id.kind, "rrsa", `${pod.workload} holds an access key though the cluster has RRSA`);
  if (id.kind !== "rrsa") return "";
  const spec = pod.spec;
  // The token: projected, audience STS, short-lived.
  const token = (spec.volumes ?? []).find((v) => v.name === RRSA_VOLUMES.token) as
    | { projected: { sources: { serviceAccountToken?: { audience: string; expirationSeconds: number; path: string } }[] } }
    | undefined;
  assert.ok(token, `${pod.workload}: no projected token volume`);
  const sat = token.projected.sources.map((s) => s.serviceAccountToken).filter((s) => s !== undefined);
  assert.equal(sat.length, 1);
  assert.equal(sat[0].audience, RRSA_AUDIENCE, `${pod.workload}: token audience`);
  assert.ok(sat[0].expirationSeconds <= 3600, `${pod.workload}: token lives ${sat[0].expirationSeconds}s`);
  const inits = spec.initContainers ?? [];
  const exchange = id.container;
  const env = Object.fromEntries((exchange.env ?? []).map((e) => [e.name, e.value]));
  assert.equal(env.ALIBABA_CLOUD_OIDC_PROVIDER_ARN, provider.arn);
  assert.equal(env.EDP_STS_ENDPOINT, "sts-vpc.eu-central-1.aliyuncs.com");
  assert.equal(env.ALIBABA_CLOUD_OIDC_TOKEN_FILE, RRSA_PATHS.token);
  assert.ok(exchange.volumeMounts?.some((m) => m.name === RRSA_VOLUMES.token && m.mountPath === RRSA_PATHS.tokenDir && m.readOnly), `${pod.workload}: token not mounted where ${exchange.name} reads it`);
  for (const c of [...inits, ...spec.containers]) {
    for (const e of c.env ?? []) assert.ok(!/ACCESS_KEY|SECRET_ACCESS|SESSION_TOKEN/.test(e.name), `${pod.workload}: ${c.name} has ${e.name}`);
  }
  if (spec.containers.includes(exchange)) {
    // In-process (the fleet-status exporter): the library assumes the role and renews the session itself.
    return trustedRole(run, pod, id.roleName);
  }
  // The exchange: the last init container, before anything that runs rclone, reading that token.
  assert.equal(inits[inits.length - 1], exchange, `${pod.workload}: the exchange is not the last init container`);
  assert.ok(Number(env.EDP_STS_DURATION_SECONDS) >= 900 && Number(env.EDP_STS_DURATION_SECONDS) <= RRSA_MAX_SESSION_SECONDS);
  for (const c of inits.slice(0, -1)) assert.ok(!JSON.stringify(c.command ?? []).includes("rclone copy"), `${pod.workload}: ${c.name} runs rclone before the exchange`);
  // The credentials: a memory-backed emptyDir, read by rclone through RCLONE_CONFIG, no key in any env.
  const creds = (spec.volumes ?? []).find((v) => v.name === RRSA_VOLUMES.credentials) as { emptyDir?: { medium?: string } } | undefined;
  assert.equal(creds?.emptyDir?.medium, "Memory", `${pod.workload}: credentials not in memory`);
  for (const c of spec.containers) {
    const cenv = Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));
    assert.equal(cenv.RCLONE_CONFIG?.value, RRSA_PATHS.rcloneConfig, `${pod.workload}: ${c.name} does not read the exchanged credentials`);
    assert.ok(c.volumeMounts?.some((m) => m.name === RRSA_VOLUMES.credentials && m.readOnly), `${pod.workload}: ${c.name} does not mount the credentials read-only`);
  }
  return trustedRole(run, pod, id.roleName);
}

/** The role trusts this pod's ServiceAccount, which the pod names (the default account is no one's). */
function trustedRole(run: StageRun, pod: Pod, roleName: string): string {
  const role = run.ofType(RAM.role).find((r) => String(r.inputs.roleName) === roleName);
  assert.ok(role);
  assert.ok(pod.spec.serviceAccountName, `${pod.workload} runs as the default ServiceAccount`);
  const trust = JSON.parse(String(role.inputs.assumeRolePolicyDocument)) as TrustPolicyDocument;
  const sub = `system:serviceaccount:${pod.namespace}:${pod.spec.serviceAccountName}`;
  assert.ok(trust.Statement[0].Condition.StringEquals["oidc:sub"].includes(sub), `${pod.workload}: role ${roleName} does not trust ${sub}`);
  const sa = run
    .ofType("kubernetes:core/v1:ServiceAccount")
    .find((r) => (r.inputs.metadata as { name: string }).name === pod.spec.serviceAccountName && (r.inputs.metadata as { namespace: string }).namespace === pod.namespace);
  assert.ok(sa, `${pod.workload}: ServiceAccount ${sub} is not created`);
  // Its own account, with no API token mounted by default (the restore projects one into its script's container alone).
  assert.equal(sa.inputs.automountServiceAccountToken, false, `${pod.workload}: ${sub} automounts its token`);
  assert.equal(pod.spec.automountServiceAccountToken, false, `${pod.workload}: automountServiceAccountToken`);
  return roleName;
}

describe("RRSA on every stage's created cluster", function () {
  this.timeout(300_000);

  for (const stage of STAGES) {
    describe(stage, () => {
      const run = beforeStage(stage);

      it("enables RRSA on the ACK cluster", () => {
        const [ack] = run.ofType(ACK);
        assert.equal(ack.inputs.enableRrsa, true);
      });

      it("makes the backup writer, the backup reader and the snapshot writer roles without keys, and keeps Vault's unseal a key", () => {
        const roles = rrsaRoles(run).map((r) => String(r.inputs.roleName)).sort();
        // The fleet-status exporter's reader (components/edge) is a role too.
        assert.deepEqual(roles, [...Object.keys(ROLE_IDENTITIES), "edgefleet-status"].map((id) => `edp-${stage}-${id}`).sort());
        const users = new Set(run.ofType(RAM.user).map((u) => String(u.inputs.name)));
        const keyed = new Set(run.ofType(RAM.accessKey).map((k) => String(k.inputs.userName)));
        for (const id of Object.keys(ROLE_IDENTITIES)) {
          assert.ok(!users.has(`edp-${stage}-${id}`) && !keyed.has(`edp-${stage}-${id}`), `${id} still has a user or key`);
          const attach = run.get(RAM.roleAttach, `edp-${id}`).inputs;
          assert.deepEqual([attach.roleName, attach.policyName, attach.policyType], [`edp-${stage}-${id}`, `edp-${stage}-${id}`, "Custom"]);
          assert.equal(run.get(RAM.role, `edp-${id}`).inputs.maxSessionDuration, RRSA_MAX_SESSION_SECONDS);
        }
        assert.ok(users.has(`edp-${stage}-vault-unseal`) && keyed.has(`edp-${stage}-vault-unseal`), "Vault's KMS unseal must keep its key");
        assert.equal(run.ofType(RAM.roleAttach).filter((a) => roles.includes(String(a.inputs.roleName))).length, 4);
      });

      it("trusts in each role exactly its ServiceAccounts, through the cluster's OIDC provider, for STS only", () => {
        const provider = ackProvider(run);
        assert.match(provider.arn, /^acs:ram::\d{16}:oidc-provider\/ack-rrsa-/);
        for (const [id, accounts] of Object.entries(ROLE_IDENTITIES)) {
          const trust = trustOf(run, id);
          assert.equal(trust.Version, "1");
          assert.equal(trust.Statement.length, 1, id);
          const [st] = trust.Statement;
          assert.equal(st.Effect, "Allow");
          assert.deepEqual(st.Action, ["sts:AssumeRole"]);
          assert.deepEqual(st.Principal, { Federated: [provider.arn] });
          assert.deepEqual(Object.keys(st.Condition), ["StringEquals"]);
          assert.deepEqual(st.Condition.StringEquals, {
            "oidc:iss": provider.issuer,
            "oidc:aud": "sts.aliyuncs.com",
            "oidc:sub": accounts.map((a) => `system:serviceaccount:${a.namespace}:${a.name}`),
          });
        }
        // The writer's role trusts the backup alone; the drill and the restore only the reader's.
        assert.deepEqual(trustOf(run, "pg-backup-writer").Statement[0].Condition.StringEquals["oidc:sub"], ["system:serviceaccount:postgres:pgbackup"]);
      });

      it("runs every pod that assumes a role with an STS-audience token and the exchange before rclone; restore and drill assume the reader", () => {
        const provider = ackProvider(run);
        const byWorkload = new Map<string, string>();
        for (const pod of podsOf(run)) {
          if (identitiesOf(run, pod).length === 0) continue;
          byWorkload.set(`${pod.namespace}/${pod.name}`, assertRrsaPod(run, pod, provider));
        }
        assert.deepEqual(Object.fromEntries(byWorkload), {
          "postgres/pgbackup": `edp-${stage}-pg-backup-writer`,
          "postgres/pgdrill": `edp-${stage}-pg-backup-reader`,
          "postgres/pgrestore": `edp-${stage}-pg-backup-reader`,
          "vault/vault-snapshot": `edp-${stage}-vault-snapshot-writer`,
          "monitoring/edp-edge-fleet-status": `edp-${stage}-edgefleet-status`,
        });
        // Restore and drill have their own ServiceAccounts, which the writer's role does not trust.
        const writerSubs = trustOf(run, "pg-backup-writer").Statement[0].Condition.StringEquals["oidc:sub"];
        for (const pod of podsOf(run).filter((p) => ["pgdrill", "pgrestore"].includes(p.name))) {
          assert.ok(!writerSubs.includes(`system:serviceaccount:${pod.namespace}:${pod.spec.serviceAccountName}`), `${pod.workload} could assume the writer`);
        }
        for (const ns of ["postgres", "vault"]) {
          const cm = run.ofType("kubernetes:core/v1:ConfigMap").find((c) => (c.inputs.metadata as { name: string; namespace: string }).name === "sts-exchange" && (c.inputs.metadata as { namespace: string }).namespace === ns);
          assert.ok(cm, `no exchange client in ${ns}`);
          assert.match(String((cm.inputs.data as Record<string, string>)["sts-exchange.cjs"]), /AssumeRoleWithOIDC/);
        }
        // The ARNs in the pods are the roles' own.
        for (const id of Object.keys(ROLE_IDENTITIES)) assert.match(roleArnOf(run, `edp-${id}`), /^acs:ram::\d+:role\//);
      });

      it("puts no RAM access key of an identity with a role into any Secret of the cluster", () => {
        assertNoKeyForRoles(run);
        const names = run.ofType("kubernetes:core/v1:Secret").map((s) => (s.inputs.metadata as { name: string }).name);
        for (const gone of ["pgbackup-oss-writer", "pgbackup-oss-reader", "vault-snapshot-oss"]) assert.ok(!names.includes(gone), `${gone} still exists`);
        assert.ok(names.includes("vault-kms-unseal"), "Vault's unseal key Secret");
      });
    });
  }
});

describe("RRSA on an adopted cluster", function () {
  this.timeout(300_000);

  it("keeps the access keys when the stage names no OIDC provider", async () => {
    const run = await runStage("staging", adopted("staging"));
    assert.equal(run.error, undefined, run.error);
    assert.deepEqual(rrsaRoles(run), []);
    const users: Record<string, string[]> = {};
    for (const pod of podsOf(run)) {
      const ids = identitiesOf(run, pod);
      if (ids.length > 0) users[`${pod.namespace}/${pod.name}`] = ids.map((i) => (i.kind === "accessKey" ? i.user : `role ${i.roleName}`));
      assert.ok(!(pod.spec.initContainers ?? []).some((c) => c.name === "sts-exchange"), `${pod.workload} exchanges a token without RRSA`);
    }
    assert.deepEqual(users, {
      "postgres/pgbackup": ["edp-staging-pg-backup-writer"],
      "postgres/pgdrill": ["edp-staging-pg-backup-reader"],
      "postgres/pgrestore": ["edp-staging-pg-backup-reader"],
      "vault/vault-snapshot": ["edp-staging-vault-snapshot-writer"],
      "monitoring/edp-edge-fleet-status": ["edp-staging-edgefleet-status"],
    });
  });

  it("uses the OIDC provider edp:cluster.rrsa names, for the same roles", async () => {
    const provider = { arn: "acs:ram::1234567890123456:oidc-provider/ack-rrsa-c0123456789abcdef", issuer: "https://oidc-ack-eu-central-1.oss-eu-central-1.aliyuncs.com/c0123456789abcdef" };
    const run = await runStage("staging", adopted("staging", { rrsa: { oidcProviderArn: provider.arn, issuer: provider.issuer } }));
    assert.equal(run.error, undefined, run.error);
    assert.deepEqual(run.ofType(ACK), []);
    for (const id of Object.keys(ROLE_IDENTITIES)) {
      const st = trustOf(run, id).Statement[0];
      assert.deepEqual(st.Principal.Federated, [provider.arn]);
      assert.equal(st.Condition.StringEquals["oidc:iss"], provider.issuer);
    }
    let pods = 0;
    for (const pod of podsOf(run)) {
      if (identitiesOf(run, pod).length === 0) continue;
      assertRrsaPod(run, pod, provider);
      pods++;
    }
    assert.equal(pods, 5);
    assertNoKeyForRoles(run);
  });
});
