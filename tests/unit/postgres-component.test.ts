/**
 * The PostgreSQL component under Pulumi's mocks, per stage, through the fixture program on the
 * fake foundation. Every Kubernetes object is validated against its schema; the CloudNativePG
 * objects (Cluster, Database, Pooler) have no schema package, so their shape is asserted here.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { STAGES, type Stage } from "../../config";
import { validateObject } from "../harness/k8s-schema";
import { beforeStage, ROOT, type RecordedResource, runStage, type StageRun } from "../harness/stage";

const PROGRAM = path.join(ROOT, "tests/fixtures/programs/postgres.ts");
const run = (stage: string, options: Parameters<typeof runStage>[1] = {}) => runStage(stage, { program: PROGRAM, ...options });
const EXPECTED = { testing: { instances: 1, storage: "20Gi" }, staging: { instances: 2, storage: "50Gi" }, production: { instances: 3, storage: "200Gi" } };

interface Env {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Container {
  name: string;
  image: string;
  command: string[];
  env?: Env[];
  volumeMounts?: { name: string; mountPath: string }[];
}
interface CronJob {
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: {
    schedule: string;
    suspend: boolean;
    concurrencyPolicy: string;
    startingDeadlineSeconds: number;
    jobTemplate: {
      spec: {
        backoffLimit: number;
        activeDeadlineSeconds: number;
        template: { spec: { containers: Container[]; initContainers: Container[]; automountServiceAccountToken: boolean; volumes: { name: string }[] } };
      };
    };
  };
}

const cronJob = (r: StageRun, name: string) => r.get("kubernetes:batch/v1:CronJob", `postgres-${name}`).inputs as unknown as CronJob;
const cnpg = (r: StageRun, kind: string) => r.ofType(`kubernetes:postgresql.cnpg.io/v1:${kind}`);
const spec = (res: RecordedResource) => res.inputs.spec as Record<string, unknown>;

/** Every secret value of the run: generated passwords and the access key secrets. */
function secretValues(r: StageRun): string[] {
  const values = [String(r.output("postgresAdminPassword").value)];
  for (const role of Object.values(r.output("postgresRoles").value as Record<string, { password: string }>)) values.push(role.password);
  values.push("mock-secret-backup");
  return values;
}

describe("the PostgreSQL component per stage (mocks)", function () {
  this.timeout(300_000);

  for (const stage of STAGES) {
    describe(stage, () => {
      const r = beforeStage(stage, () => run(stage));

      it("schedules pgbackup as configured, without overlap, retries or an unbounded run", () => {
        const backup = cronJob(r, "pgbackup");
        assert.equal(backup.metadata.namespace, "postgres");
        assert.equal(backup.spec.schedule, "0 */3 * * *");
        assert.equal(backup.spec.suspend, false);
        assert.equal(backup.spec.concurrencyPolicy, "Forbid");
        assert.equal(backup.spec.jobTemplate.spec.backoffLimit, 0);
        assert.ok(backup.spec.jobTemplate.spec.activeDeadlineSeconds > 0 && backup.spec.jobTemplate.spec.activeDeadlineSeconds < 3 * 3600);
        assert.ok(backup.spec.startingDeadlineSeconds > 0);
        assert.deepEqual(backup.spec.jobTemplate.spec.template.spec.containers[0].command, ["bash", "/scripts/pgbackup.sh"]);
      });

      it("schedules the weekly drill and keeps the restore CronJob suspended, all labelled with the stage", () => {
        const drill = cronJob(r, "pgdrill");
        assert.equal(drill.spec.schedule, "30 4 * * 0");
        assert.equal(drill.spec.concurrencyPolicy, "Forbid");
        assert.equal(drill.spec.suspend, false);
        const restore = cronJob(r, "pgrestore");
        assert.equal(restore.spec.suspend, true);
        assert.equal(restore.spec.jobTemplate.spec.backoffLimit, 0);
        assert.equal(restore.spec.jobTemplate.spec.template.spec.containers[0].name, "restore", "restore-pgbackup.sh sets the env of container 'restore'");
        for (const name of ["pgbackup", "pgdrill", "pgrestore"]) assert.equal(cronJob(r, name).metadata.labels["edp.daim.io/stage"], stage);
      });

      it("passes credentials to the Jobs only by Secret reference, and never a secret value as a literal", () => {
        const secrets = secretValues(r);
        for (const name of ["pgbackup", "pgdrill", "pgrestore"]) {
          const pod = cronJob(r, name).spec.jobTemplate.spec.template.spec;
          // Only the restore gets an API token (to pause the pooler), and only in its script's container.
          assert.equal(pod.automountServiceAccountToken, false, `${name}: automounts an API token into every container`);
          const apiAccess = pod.volumes.filter((v) => (v as { projected?: { sources: { serviceAccountToken?: { audience?: string } }[] } }).projected?.sources.some((s) => s.serviceAccountToken && !s.serviceAccountToken.audience));
          const mounting = [...pod.initContainers, ...pod.containers].filter((c) => (c.volumeMounts ?? []).some((m) => apiAccess.some((v) => v.name === m.name)));
          assert.deepEqual(
            mounting.map((c) => [c.name, c.volumeMounts?.find((m) => apiAccess.some((v) => v.name === m.name))?.mountPath]),
            name === "pgrestore" ? [["restore", "/var/run/secrets/kubernetes.io/serviceaccount"]] : [],
            `${name}: containers with an API token`,
          );
          const env = [...pod.initContainers, ...pod.containers].flatMap((c) => c.env ?? []);
          const byName = Object.fromEntries(env.map((e) => [e.name, e]));
          for (const credential of ["PGUSER", "PGPASSWORD", "RCLONE_CONFIG_OSS_ACCESS_KEY_ID", "RCLONE_CONFIG_OSS_SECRET_ACCESS_KEY"]) {
            assert.equal(byName[credential]?.value, undefined, `${name}: ${credential} is a literal`);
            assert.ok(byName[credential]?.valueFrom?.secretKeyRef?.name, `${name}: ${credential} is not from a Secret`);
          }
          for (const e of env) {
            assert.ok(!/PASSWORD|SECRET/.test(e.name) || e.value === undefined, `${name}: ${e.name} has a literal value`);
            for (const s of secrets) assert.ok(!(e.value ?? "").includes(s), `${name}: ${e.name} holds a secret value`);
          }
          const keys = byName.RCLONE_CONFIG_OSS_SECRET_ACCESS_KEY.valueFrom?.secretKeyRef?.name;
          assert.equal(keys, name === "pgbackup" ? "pgbackup-oss-writer" : "pgbackup-oss-reader");
          assert.equal(byName.BACKUP_REMOTE.value, `oss:example-edp-${stage}-pgbackup/${stage}`);
          assert.equal(byName.RCLONE_CONFIG_OSS_PROVIDER.value, "Alibaba");
          assert.equal(byName.RCLONE_CONFIG_OSS_FORCE_PATH_STYLE.value, "false");
          assert.equal(byName.RCLONE_CONFIG_OSS_ENDPOINT.value, "oss-eu-central-1-internal.aliyuncs.com");
        }
      });

      it("tells the backup and the drill the plan's databases, and the drill the age a backup may reach (two backup intervals)", () => {
        const envOf = (name: string) =>
          Object.fromEntries(cronJob(r, name).spec.jobTemplate.spec.template.spec.containers.flatMap((c) => c.env ?? []).map((e) => [e.name, e.value]));
        const databases = r.output("postgresDatabases").value as string[];
        assert.ok(databases.length >= 7);
        for (const name of ["pgbackup", "pgdrill"]) assert.deepEqual(envOf(name).PGBACKUP_DATABASES?.split("\n"), databases, name);
        assert.equal(envOf("pgdrill").PGDRILL_MAX_AGE_SECONDS, String(2 * 3 * 3600));
        assert.equal(envOf("pgrestore").PGBACKUP_DATABASES, undefined, "the restore takes its one database from restore-pgbackup.sh");
      });

      it("lets the restore pause exactly the one Pooler, with kubectl from a pinned image, and nothing else", () => {
        const pod = cronJob(r, "pgrestore").spec.jobTemplate.spec.template.spec as unknown as { serviceAccountName: string; initContainers: Container[]; containers: Container[] };
        assert.equal(pod.serviceAccountName, "pgrestore");
        const kubectl = pod.initContainers.find((c) => c.name === "kubectl");
        assert.ok(kubectl, "no kubectl init container");
        assert.match(kubectl.image, /^ghcr\.io\/fluxcd\/flux-cli:v\d+\.\d+\.\d+$/);
        assert.deepEqual(kubectl.command, ["cp", "/usr/local/bin/kubectl", "/tools/kubectl"]);
        const env = Object.fromEntries((pod.containers[0].env ?? []).map((e) => [e.name, e.value]));
        const pooler = cnpg(r, "Pooler")[0].inputs.metadata as { name: string; namespace: string };
        assert.deepEqual([env.POOLER_NAME, env.POOLER_NAMESPACE, env.KUBECTL], [pooler.name, pooler.namespace, "/tools/kubectl"]);
        for (const name of ["pgbackup", "pgdrill"]) {
          const other = cronJob(r, name).spec.jobTemplate.spec.template.spec as unknown as { serviceAccountName: string; initContainers: Container[] };
          // Each its own account: under RRSA the writer's role trusts pgbackup, the reader's pgdrill.
          assert.equal(other.serviceAccountName, name);
          assert.deepEqual(other.initContainers.map((c) => c.name), ["rclone"]);
        }
        const role = r.get("kubernetes:rbac.authorization.k8s.io/v1:Role", "postgres-restore-role").inputs as { rules: unknown[] };
        assert.deepEqual(role.rules, [{ apiGroups: ["postgresql.cnpg.io"], resources: ["poolers"], resourceNames: [pooler.name], verbs: ["get", "patch"] }]);
        const binding = r.get("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "postgres-restore-binding").inputs as { roleRef: { name: string }; subjects: unknown[] };
        assert.equal(binding.roleRef.name, "pgrestore");
        assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: "pgrestore", namespace: pooler.namespace }]);
      });

      it("keeps the backup key and the passwords in Secrets, as Pulumi secrets", () => {
        const writer = r.get("kubernetes:core/v1:Secret", "postgres-pgbackup-oss-writer");
        assert.deepEqual(writer.inputs.stringData, { accessKeyId: "LTAI5tMockbackup", accessKeySecret: "mock-secret-backup" });
        assert.ok(writer.secretPaths.some((p) => p.startsWith("stringData")), "the access key secret is not a Pulumi secret");
        const superuser = r.get("kubernetes:core/v1:Secret", "postgres-postgres-superuser");
        assert.equal(superuser.inputs.type, "kubernetes.io/basic-auth");
        assert.ok(superuser.secretPaths.some((p) => p.startsWith("stringData")));
        assert.equal(r.output("postgresAdminPassword").secret, true);
        assert.equal(r.output("postgresRoles").secret, true);
      });

      it("ships the scripts in a ConfigMap, as they are in the repository, with no secret in them", () => {
        const data = r.get("kubernetes:core/v1:ConfigMap", "postgres-scripts").inputs.data as Record<string, string>;
        assert.deepEqual(Object.keys(data).sort(), ["pgbackup.sh", "pgdrill.sh", "pglib.sh", "pgrestore.sh"]);
        for (const [file, text] of Object.entries(data)) {
          assert.equal(text, fs.readFileSync(path.join(ROOT, "components/postgres/scripts", file), "utf8"));
          for (const s of secretValues(r)) assert.ok(!text.includes(s), `${file} holds a secret value`);
        }
      });

      it("creates a CloudNativePG Cluster of the configured size with every database, role and the pooler (shape asserted: no schema package)", () => {
        const [cluster] = cnpg(r, "Cluster");
        assert.equal(cluster.inputs.apiVersion, "postgresql.cnpg.io/v1");
        assert.deepEqual(cluster.inputs.metadata, { name: "postgres", namespace: "postgres", labels: { "app.kubernetes.io/part-of": "edp-postgres", "edp.daim.io/stage": stage } });
        const s = spec(cluster) as {
          instances: number;
          imageName: string;
          enableSuperuserAccess: boolean;
          superuserSecret: { name: string };
          storage: { size: string; storageClass: string };
          bootstrap: { initdb: { database: string; owner: string; secret: { name: string } } };
          managed: { roles: { name: string; login: boolean; ensure: string; passwordSecret: { name: string } }[] };
        };
        assert.equal(s.instances, EXPECTED[stage as Stage].instances);
        assert.deepEqual(s.storage, { size: EXPECTED[stage as Stage].storage, storageClass: "edp-postgres" });
        assert.match(s.imageName, /^ghcr\.io\/cloudnative-pg\/postgresql:\d+\.\d+/);
        assert.equal(s.enableSuperuserAccess, true);
        assert.equal(s.superuserSecret.name, "postgres-superuser");
        assert.deepEqual(s.bootstrap.initdb, { database: "masterdata", owner: "masterdata", secret: { name: "postgres-role-masterdata" } });
        const databases = r.output("postgresDatabases").value as string[];
        assert.deepEqual(
          s.managed.roles.map((role) => [role.name, role.login, role.ensure, role.passwordSecret.name]),
          databases.map((d) => [d, true, "present", `postgres-role-${d}`]),
        );
        for (const role of s.managed.roles) {
          const secret = r.get("kubernetes:core/v1:Secret", `postgres-${role.passwordSecret.name}`);
          assert.equal((secret.inputs.stringData as { username: string }).username, role.name);
        }
        assert.deepEqual(
          cnpg(r, "Database").map((d) => spec(d)),
          databases.map((d) => ({ name: d, owner: d, cluster: { name: "postgres" }, ensure: "present", databaseReclaimPolicy: "retain" })),
        );
        const [pooler] = cnpg(r, "Pooler");
        assert.deepEqual((pooler.inputs.metadata as { name: string }).name, "postgres-pooler-rw");
        const ps = spec(pooler) as { cluster: { name: string }; type: string; instances: number; pgbouncer: { poolMode: string } };
        assert.equal(ps.cluster.name, "postgres");
        assert.equal(ps.type, "rw");
        assert.equal(ps.instances, stage === "testing" ? 1 : 2);
        assert.equal(ps.pgbouncer.poolMode, "session");
      });

      it("installs the operator from its upstream chart, pinned", () => {
        const release = r.ofType("kubernetes:helm.sh/v3:Release")[0];
        assert.equal(release.inputs.chart, "cloudnative-pg");
        assert.match(String(release.inputs.version), /^\d+\.\d+\.\d+$/);
        assert.deepEqual(release.inputs.repositoryOpts, { repo: "https://cloudnative-pg.github.io/charts" });
      });

      it(`${stage === "production" ? "protects" : "does not protect"} the data, and retains it in every stage: namespace, storage class, Cluster and Databases`, () => {
        const stateful = [
          r.get("kubernetes:core/v1:Namespace", "postgres-ns"),
          r.get("kubernetes:storage.k8s.io/v1:StorageClass", "postgres-storage"),
          ...cnpg(r, "Cluster"),
          ...cnpg(r, "Database"),
        ];
        for (const res of stateful) {
          assert.equal(res.options.protect, stage === "production", `${res.name}: protect`);
          assert.equal(res.options.retainOnDelete, true, `${res.name}: retainOnDelete`);
        }
        const sc = r.get("kubernetes:storage.k8s.io/v1:StorageClass", "postgres-storage");
        assert.equal(sc.inputs.reclaimPolicy, "Retain");
      });

      it("validates every other Kubernetes object against its schema, the alert rules included", async () => {
        const objects = r.kubernetesObjects();
        const others = objects.filter((o) => !String(o.manifest.apiVersion).startsWith("postgresql.cnpg.io/"));
        assert.ok(others.length >= 15, `only ${others.length} objects`);
        for (const { manifest } of others) await validateObject(manifest);
        const rule = r.get("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "postgres-alerts").inputs as {
          metadata: { labels: Record<string, string> };
          spec: { groups: { rules: { alert: string }[] }[] };
        };
        assert.equal(rule.metadata.labels.release, "kube-prometheus-stack");
        assert.deepEqual(
          rule.spec.groups[0].rules.map((x) => x.alert),
          ["PostgresBackupFailed", "PostgresBackupStale", "PostgresBackupNeverSucceeded", "PostgresBackupSlow", "PostgresRestoreDrillFailed", "PostgresRestoreDrillStale", "PostgresRestoreDrillNeverSucceeded"],
        );
      });

      it("exposes connection info and the stage's restore commands", () => {
        assert.equal(r.output("postgresHost").value, "postgres-rw.postgres.svc");
        assert.equal(r.output("postgresPoolerHost").value, "postgres-pooler-rw.postgres.svc");
        assert.equal(r.output("postgresPort").value, 5432);
        assert.equal(r.output("postgresRestoreCommand").value, `components/postgres/scripts/restore-pgbackup.sh ${stage} <database> [<YYYYmmddTHHMMSSZ>.dump]`);
        const commands = r.output("postgresRestoreCommands").value as Record<string, string>;
        assert.equal(commands.masterdata, `components/postgres/scripts/restore-pgbackup.sh ${stage} masterdata`);
        assert.equal(Object.keys(commands).length, 7);
      });
    });
  }

  it("uses given passwords as they are", async () => {
    const r = await run("testing", { secrets: { "fixture:adminPassword": "Given-admin_password.0123", "fixture:keycloakPassword": "Given-keycloak_password.0123" } });
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.output("postgresAdminPassword").value, "Given-admin_password.0123");
    assert.equal((r.output("postgresRoles").value as Record<string, { password: string }>).keycloak.password, "Given-keycloak_password.0123");
    assert.equal(r.ofType("random:index/randomPassword:RandomPassword").filter((p) => /admin|keycloak/.test(p.name)).length, 0, "a given password was generated anyway");
  });

  it("rejects a given password with a forbidden character before creating anything, without printing it", async () => {
    const r = await run("testing", { config: { "fixture:adminPasswordPlain": "Bad:password@1234567" } });
    assert.match(r.error ?? "", /the admin password contains forbidden character\(s\) "@" ":"/);
    assert.ok(!(r.error ?? "").includes("Bad:password@1234567"));
    assert.equal(r.ofType("kubernetes:core/v1:Secret").length, 0);
  });

  it("fails the program on a secret password with a forbidden character, without printing it", async () => {
    await assert.rejects(run("testing", { secrets: { "fixture:keycloakPassword": "Bad&password?1234567" } }), (e: Error) => {
      assert.match(e.message, /the password of role keycloak contains forbidden character\(s\) "&" "\?"/);
      assert.ok(!e.message.includes("Bad&password?1234567"), "the password is in the error output");
      return true;
    });
  });
});
