/**
 * The Vault component under Pulumi mocks, per stage, through a fixture program on a fake
 * foundation. Every Kubernetes object is schema-validated; the chart, the seal, the bootstrap,
 * the jobs and the outputs are checked; and no Secret or ConfigMap may hold a key or a token.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import YAML from "yaml";
import { STAGES, type Stage } from "../../config";
import { KEY_SHARES, KEY_THRESHOLD } from "../../components/vault";
import { CHARTS, IMAGES } from "../../components/versions";
import { mockVaultKeys } from "../../scripts/lib/mock-outputs";
import { validateObject } from "../harness/k8s-schema";
import { strings } from "../harness/published";
import { ROOT, runStage, type StageRun } from "../harness/stage";
import { testPki } from "../harness/pki";

const PROGRAM = path.join(ROOT, "tests/fixtures/programs/vault.ts");
const run = (stage: Stage, extra: Parameters<typeof runStage>[1] = {}) => runStage(stage, { program: PROGRAM, ...extra });

const SECRET = "kubernetes:core/v1:Secret";
const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const BOOTSTRAP = "pulumi-nodejs:dynamic:Resource";

interface ReleaseValues {
  server: {
    ha: { enabled: boolean; replicas: number; raft: { enabled: boolean; config: string } };
    dataStorage: { size: string };
    extraSecretEnvironmentVars: { envName: string; secretName: string; secretKey: string }[];
    image: { repository: string; tag: string };
  };
}

const valuesOf = (r: StageRun) => r.get(RELEASE, "vault-chart").inputs.values as ReleaseValues;
const r0 = {} as Record<Stage, { vault: { replicas: number; seal: string; storageGb: number; snapshotSchedule: string } }>;
const stackConfig = (stage: Stage) => r0[stage];

describe("Vault component per stage (mocks)", function () {
  this.timeout(300_000);

  before(async () => {
    const fs = await import("node:fs");
    for (const stage of STAGES) {
      const doc = YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stage}.yaml`), "utf8")) as { config: Record<string, unknown> };
      r0[stage] = { vault: doc.config["edp:vault"] as (typeof r0)[Stage]["vault"] };
    }
  });

  for (const stage of STAGES) {
    describe(stage, () => {
      it("runs without error and every Kubernetes object passes its schema", async () => {
        const r = await run(stage);
        assert.equal(r.error, undefined, r.error);
        const objects = r.kubernetesObjects();
        assert.ok(objects.length >= 13, `only ${objects.length} Kubernetes objects`);
        for (const { manifest } of objects) await validateObject(manifest);
      });

      it("installs the pinned official chart in HA with raft, TLS and the stage's replicas and storage", async () => {
        const r = await run(stage);
        const release = r.get(RELEASE, "vault-chart").inputs;
        assert.equal(release.chart, CHARTS.vault.chart);
        assert.equal(release.version, CHARTS.vault.version);
        assert.deepEqual(release.repositoryOpts, { repo: "https://helm.releases.hashicorp.com" });
        assert.equal(release.namespace, "vault");
        const v = valuesOf(r);
        const want = stackConfig(stage).vault;
        assert.equal(v.server.ha.enabled, true);
        assert.equal(v.server.ha.replicas, want.replicas);
        assert.equal(v.server.ha.raft.enabled, true);
        assert.equal(v.server.dataStorage.size, `${want.storageGb}Gi`);
        assert.equal(`${v.server.image.repository}:${v.server.image.tag}`, IMAGES.vault);
        const hcl = v.server.ha.raft.config;
        assert.match(hcl, /storage "raft"/);
        assert.equal((hcl.match(/retry_join \{/g) ?? []).length, want.replicas);
        assert.match(hcl, /tls_cert_file = "\/vault\/userconfig\/vault-tls\/tls.crt"/);
        assert.doesNotMatch(hcl, /tls_disable\s*=\s*(true|1)/);
      });

      it("seals with alicloudkms outside testing, with credentials only from a Secret", async () => {
        const r = await run(stage);
        const v = valuesOf(r);
        const hcl = v.server.ha.raft.config;
        const kms = stackConfig(stage).vault.seal === "alicloudkms";
        assert.equal(/seal "alicloudkms"/.test(hcl), kms);
        if (kms) {
          assert.match(hcl, /kms_key_id = "key-mock"/);
          assert.doesNotMatch(hcl, /access_key|secret_key|mock-secret/);
          assert.deepEqual(
            v.server.extraSecretEnvironmentVars.map((e) => [e.envName, e.secretName, e.secretKey]),
            [["ALICLOUD_ACCESS_KEY", "vault-kms-unseal", "accessKeyId"], ["ALICLOUD_SECRET_KEY", "vault-kms-unseal", "accessKeySecret"]],
          );
          assert.equal(r.ofType("kubernetes:apps/v1:Deployment").length, 0, "no unsealer with a KMS seal");
        } else {
          const d = r.get("kubernetes:apps/v1:Deployment", "vault-unsealer").inputs as { spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } };
          const env = d.spec.template.spec.containers[0].env;
          assert.ok(env.some((e) => e.name === "UNSEAL_CIPHERTEXTS_FILE"));
          const ciphertexts = r.ofType("alicloud:kms/ciphertext:Ciphertext");
          assert.equal(ciphertexts.length, KEY_THRESHOLD);
          // KMS decrypts a ciphertext only under the context it was made with.
          const context = env.find((e) => e.name === "UNSEAL_ENCRYPTION_CONTEXT")?.value;
          assert.ok(context !== undefined, "the unsealer is given the encryption context");
          for (const c of ciphertexts) assert.deepEqual(JSON.parse(context), c.inputs.encryptionContext);
        }
      });

      it("bootstraps through the API server with the stack's kubeconfig and keeps the keys only as secrets", async () => {
        const r = await run(stage);
        const b = r.get(BOOTSTRAP, "vault-bootstrap");
        assert.equal(b.inputs.kind, "edp:vault:bootstrap");
        assert.ok(b.secretPaths.includes("kubeconfig"));
        assert.equal(b.inputs.seal, stackConfig(stage).vault.seal === "alicloudkms" ? "auto" : "shamir");
        assert.deepEqual(b.inputs.pods, Array.from({ length: stackConfig(stage).vault.replicas }, (_, i) => `vault-${i}`));
        assert.equal(b.inputs.shares, KEY_SHARES);
        assert.ok(b.options.dependsOn.includes(r.get(RELEASE, "vault-chart").urn));
        assert.equal(b.options.protect, stage === "production");
        const keys = r.output("vaultKeys");
        assert.equal(keys.secret, true);
        assert.deepEqual(keys.value, mockVaultKeys("vault-bootstrap", KEY_SHARES));
      });

      it("exposes Vault on the manual's health path of edp-service only after the bootstrap", async () => {
        const r = await run(stage);
        const host = `edp-service.api.${stage}.example-edp.internal`;
        assert.equal(r.output("vaultHealthUrl").value, `https://${host}/vault/v1/sys/health`);
        assert.equal(r.output("vaultCrlUrl").value, `https://${host}/vault/v1/pki-devices/crl`);
        const ing = r.get("kubernetes:networking.k8s.io/v1:Ingress", "vault-ingress");
        const spec = ing.inputs.spec as { rules: { host: string; http: { paths: { path: string; backend: { service: { name: string } } }[] } }[] };
        assert.equal(spec.rules[0].host, host);
        const p = spec.rules[0].http.paths[0];
        assert.equal(p.path, "/vault(/|$)(.*)");
        assert.equal(p.backend.service.name, "vault-active");
        const ann = (ing.inputs.metadata as { annotations: Record<string, string> }).annotations;
        assert.equal(ann["nginx.ingress.kubernetes.io/rewrite-target"], "/$2");
        assert.equal(ann["nginx.ingress.kubernetes.io/backend-protocol"], "HTTPS");
        // The rewrite must turn /vault/v1/sys/health into /v1/sys/health.
        const m = /^\/vault(\/|$)(.*)$/.exec("/vault/v1/sys/health");
        assert.equal(ann["nginx.ingress.kubernetes.io/rewrite-target"].replace("$2", m?.[2] ?? ""), "/v1/sys/health");
        assert.ok(ing.options.dependsOn.includes(r.get(BOOTSTRAP, "vault-bootstrap").urn), "the ingress would expose sys/init before the init");
      });

      it("configures PKI, CRL and auth in a job that runs after the bootstrap with the stage's TTL and CRL expiry", async () => {
        const r = await run(stage);
        const data = r.get(CONFIG_MAP, "vault-configure").inputs.data as Record<string, string>;
        const ttlDays = (await import("node:fs")).readFileSync(path.join(ROOT, `Pulumi.${stage}.yaml`), "utf8");
        const days = Number(/deviceCertTtlDays: (\d+)/.exec(ttlDays)?.[1]);
        const crl = Number(/crlExpiryHours: (\d+)/.exec(ttlDays)?.[1]);
        assert.match(data["configure.sh"], new RegExp(` ttl=${days * 24}h max_ttl=${days * 24}h no_store=false `));
        assert.match(data["configure.sh"], new RegExp(`config/crl' expiry=${crl}h auto_rebuild=true`));
        assert.match(data["configure.sh"], new RegExp(`crl_distribution_points='https://edp-service\\.api\\.${stage}\\.example-edp\\.internal/vault/v1/pki-devices/crl'`));
        assert.equal(data["onboarding.hcl"], 'path "pki-devices/sign/device" {\n  capabilities = ["update"]\n}\n');
        const job = r.ofType("kubernetes:batch/v1:Job").find((j) => j.name === "vault-configure");
        assert.ok(job);
        assert.ok(job.options.dependsOn.includes(r.get(BOOTSTRAP, "vault-bootstrap").urn));
      });

      it("snapshots raft on the stage's schedule to the snapshot bucket with the snapshot identity", async () => {
        const r = await run(stage);
        const cron = r.get("kubernetes:batch/v1:CronJob", "vault-snapshot").inputs as {
          spec: { schedule: string; concurrencyPolicy: string; jobTemplate: { spec: { template: { spec: { containers: { env: { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string } } }[] }[] } } } } };
        };
        assert.equal(cron.spec.schedule, stackConfig(stage).vault.snapshotSchedule);
        assert.equal(cron.spec.concurrencyPolicy, "Forbid");
        const env = cron.spec.jobTemplate.spec.template.spec.containers[0].env;
        assert.equal(env.find((e) => e.name === "RCLONE_CONFIG_OSS_ENDPOINT")?.value, "oss-eu-central-1-internal.aliyuncs.com");
        assert.equal(env.find((e) => e.name === "RCLONE_CONFIG_OSS_ACCESS_KEY_ID")?.valueFrom?.secretKeyRef.name, "vault-snapshot-oss");
        const upload = (r.get(CONFIG_MAP, "vault-snapshot").inputs.data as Record<string, string>)["upload.sh"];
        assert.match(upload, new RegExp(`oss:'example-edp-${stage}-vault-snapshots/${stage}/'`));
        const oss = r.get(SECRET, "vault-snapshot-oss").inputs.stringData as Record<string, string>;
        assert.equal(oss.accessKeyId, "LTAI5tMocksnap");
      });

      it("outputs the device CA certificate, and no Secret or ConfigMap holds a root token, unseal or recovery key", async () => {
        const r = await run(stage);
        const pem = r.output("deviceCaPem");
        assert.match(String(pem.value), /-----BEGIN CERTIFICATE-----/);
        assert.equal(pem.secret, false);
        const keys = mockVaultKeys("vault-bootstrap", KEY_SHARES);
        const stores = [...r.ofType(SECRET), ...r.ofType(CONFIG_MAP)];
        assert.ok(stores.length >= 7);
        for (const s of stores) {
          const values = strings([s.inputs.data, s.inputs.stringData]);
          for (const v of values) {
            const decoded = /^[A-Za-z0-9+/=\s]+$/.test(v) ? Buffer.from(v, "base64").toString("utf8") : "";
            for (const key of keys) assert.ok(!v.includes(key) && !decoded.includes(key), `${s.type} ${s.name} holds a Vault key`);
            assert.doesNotMatch(v, /\bhvs\.[A-Za-z0-9]{20,}|root_token/, `${s.type} ${s.name} holds a Vault token`);
          }
        }
        // The keys do reach the stack (so the scan above is not vacuous): only as bootstrap outputs and KMS plaintexts.
        const holders = r.resources.filter((res) => strings(res.inputs).some((v) => keys.includes(v))).map((res) => res.type);
        const expected = stackConfig(stage).vault.seal === "shamir" ? ["alicloud:kms/ciphertext:Ciphertext"] : [];
        assert.deepEqual([...new Set(holders)].filter((t) => t !== "edp:vault:Vault"), expected);
      });
    });
  }

  it("protects Vault's release and keys in production only", async () => {
    for (const stage of STAGES) {
      const r = await run(stage);
      assert.equal(r.get(RELEASE, "vault-chart").options.protect, stage === "production", stage);
    }
  });

  it("uses the device CA from config when one is set, and makes none", async () => {
    // A real CA: the config parses it and checks the key is its key.
    const { crt, key } = testPki().ca;
    const r = await run("staging", { secrets: { "edp:deviceCa": { crt, key } } });
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.output("deviceCaPem").value, crt);
    assert.ok(!r.ofType("tls:index/selfSignedCert:SelfSignedCert").some((c) => c.name === "vault-device-ca"));
    const bundle = (r.get(SECRET, "vault-device-ca").inputs.stringData as Record<string, string>)["bundle.pem"];
    assert.ok(bundle.includes(crt.trim()) && bundle.includes(key.trim()));
    assert.ok(r.get(SECRET, "vault-device-ca").secretPaths.includes("stringData"));
  });

  it("refuses a Shamir seal outside testing before creating anything of Vault", async () => {
    const r = await run("staging", { config: { "edp:vault": { ...stackConfig("staging").vault, seal: "shamir" } } });
    assert.match(r.error ?? "", /edp:vault\.seal/);
    assert.equal(r.resources.filter((x) => x.type === RELEASE).length, 0);
  });
});
