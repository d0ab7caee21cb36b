/**
 * The EdgeClusters component under Pulumi's mocks (fake foundation), per stage with its own
 * stack file and with overrides for several clusters in both bootstrap modes.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import YAML from "yaml";
import { clusterUuid, deploymentUuid } from "../../components/edge/uuid";
import { STAGES } from "../../config";
import { mockKubeconfig } from "../../scripts/lib/mock-outputs";
import { validateObject } from "../harness/k8s-schema";
import { ROOT, type RecordedResource, runStage, type StageRun } from "../harness/stage";

const PROGRAM = path.join(ROOT, "tests/fixtures/programs/edge.ts");

const MIXED = {
  config: {
    // Edge clusters only: the stack file's KubeEdge deployments name templates this case replaces.
    "edp:kubeEdge": {},
    "edp:edgeClusters": [
      { name: "site-a", bootstrap: "direct", hosts: ["a-01", "a-02"] },
      { name: "site-b", bootstrap: "direct", hosts: ["b-01"], sealedSecretsKeyVersion: 2, syncInterval: "2m" },
      { name: "site-c", bootstrap: "script", hosts: ["c-01"] },
      { name: "site-d", bootstrap: "script" },
    ],
    "edp:chartTemplates": {
      collector: {
        chart: "opcua-collector",
        repository: "https://charts.example-edp.net/edge",
        version: "0.9.2",
        values: { deviceId: "{{uuid}}", instance: "{{name}}", collector: { node: "{{hostname}}" } },
      },
      floating: { chart: "opcua-collector", repository: "https://charts.example-edp.net/edge", version: "0.9.2", values: { deviceId: "{{uuid}}" } },
      modbus: { chart: "modbus-rest", repository: "oci://registry.example-edp.net/charts", version: "1.2.0", values: { name: "{{name}}" } },
    },
    "edp:deployments": [
      { name: "press-1", template: "collector", cluster: "site-a", hostname: "a-02" },
      { name: "line", template: "floating", cluster: "site-a" },
      { name: "modbus", template: "modbus", cluster: "site-b", hostname: "b-01" },
      { name: "press-1", template: "collector", cluster: "site-c", hostname: "c-01" },
    ],
  },
  secrets: { "edp:edgeKubeconfigs": { "site-a": mockKubeconfig("site-a"), "site-b": mockKubeconfig("site-b") } },
};
const REMOVED = {
  config: { ...MIXED.config, "edp:edgeClusters": [MIXED.config["edp:edgeClusters"][0], MIXED.config["edp:edgeClusters"][2]], "edp:deployments": [MIXED.config["edp:deployments"][0], MIXED.config["edp:deployments"][1], MIXED.config["edp:deployments"][3]] },
  secrets: { "edp:edgeKubeconfigs": { "site-a": mockKubeconfig("site-a") } },
};

const SCRIPT_TYPES = [
  "edp:edge:EdgeCluster",
  "alicloud:oss/bucketObject:BucketObject",
  "alicloud:ram/user:User",
  "alicloud:ram/policy:Policy",
  "alicloud:ram/userPolicyAttachment:UserPolicyAttachment",
  "alicloud:ram/accessKey:AccessKey",
  "tls:index/privateKey:PrivateKey",
  "tls:index/selfSignedCert:SelfSignedCert",
];

/** The cluster component and every resource below it. */
function clusterResources(run: StageRun, cluster: string): RecordedResource[] {
  const root = run.get("edp:edge:EdgeCluster", `edge-${cluster}`);
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...run.childrenOf(out[i].urn));
  return out;
}

const parseDocs = (text: string) =>
  YAML.parseAllDocuments(text)
    .map((d) => d.toJS() as Record<string, unknown> | null)
    .filter((o): o is Record<string, unknown> => o !== null);

/** The documents inside a script's here-documents. */
function scriptDocuments(script: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const m of script.matchAll(/<<'(EDP_[A-Z]+_[0-9a-f]{12})'\n([\s\S]*?)\n\1\n/g)) out.push(...parseDocs(m[2]));
  return out;
}

function desiredState(run: StageRun, cluster: string): Record<string, unknown>[] {
  return parseDocs(String(run.get("alicloud:oss/bucketObject:BucketObject", `edge-${cluster}-desired-state`).inputs.content));
}

describe("edge: EdgeClusters component under mocks", function () {
  this.timeout(300_000);

  for (const stage of STAGES) {
    it(`${stage}: every edge cluster of the stack file gets its desired state, identity, key and script`, async () => {
      const run = await runStage(stage, { program: PROGRAM });
      assert.equal(run.error, undefined, run.error);
      const scripts = run.output("edgeBootstrapScripts");
      const certs = run.output("edgeSealedSecretsCerts");
      assert.equal(scripts.secret, true, "bootstrap scripts are a secret output");
      assert.equal(certs.secret, false, "certificates are public");
      const clusters = run.ofType("edp:edge:EdgeCluster").map((r) => r.name.replace(/^edge-/, ""));
      assert.ok(clusters.length >= 1);
      for (const c of clusters) {
        assert.deepEqual(clusterResources(run, c).map((r) => r.type).sort(), [...SCRIPT_TYPES].sort());
        const object = run.get("alicloud:oss/bucketObject:BucketObject", `edge-${c}-desired-state`);
        assert.equal(object.inputs.key, `${stage}/clusters/${c}/desired-state.yaml`);
        assert.equal(object.inputs.bucket, `example-edp-${stage}-manifests`);
        for (const o of desiredState(run, c)) await validateObject(o);
        const script = (scripts.value as Record<string, string>)[c];
        assert.ok(script.includes(`readonly EDP_CLUSTER_UUID='${clusterUuid(stage, c)}'`));
        assert.equal(spawnSync("bash", ["-n"], { input: script }).status, 0);
        for (const o of scriptDocuments(script)) await validateObject(o);
        assert.match((certs.value as Record<string, string>)[c], /BEGIN CERTIFICATE/);
      }
    });
  }

  describe("with two direct and two script clusters", () => {
    let run: StageRun;
    before(async () => {
      run = await runStage("testing", { program: PROGRAM, ...MIXED });
      assert.equal(run.error, undefined, run.error);
    });

    it("keeps script clusters to 8 central resources and direct ones to 16", () => {
      for (const c of ["site-c", "site-d"]) assert.deepEqual(clusterResources(run, c).map((r) => r.type).sort(), [...SCRIPT_TYPES].sort());
      for (const c of ["site-a", "site-b"]) {
        const types = clusterResources(run, c).map((r) => r.type);
        assert.equal(types.length, 16, types.join(", "));
        for (const t of ["pulumi:providers:kubernetes", "kubernetes:helm.sh/v3:Release", "kubernetes:core/v1:Secret", "kubernetes:core/v1:ConfigMap"]) {
          assert.ok(types.includes(t), `${c} has no ${t}`);
        }
      }
    });

    it("gives scripts to script clusters only, and certificates to all", () => {
      assert.deepEqual(Object.keys(run.output("edgeBootstrapScripts").value as object).sort(), ["site-c", "site-d"]);
      assert.deepEqual(Object.keys(run.output("edgeSealedSecretsCerts").value as object).sort(), ["site-a", "site-b", "site-c", "site-d"]);
      const commands = run.output("edgeBootstrapCommands");
      assert.equal(commands.secret, false);
      const byCluster = commands.value as Record<string, string>;
      assert.equal(byCluster["site-c"], `pulumi stack output --stack testing --show-secrets --json edgeBootstrapScripts | jq -r '.["site-c"]' | bash -s --`);
      assert.match(byCluster["site-a"], /pulumi up/);
    });

    it("validates every Kubernetes object it applies, in desired states and scripts, against the Kubernetes and Flux schemas", async () => {
      const objects = run.kubernetesObjects();
      assert.ok(objects.length >= 10);
      for (const { manifest } of objects) await validateObject(manifest);
      for (const c of ["site-a", "site-b", "site-c", "site-d"]) for (const o of desiredState(run, c)) await validateObject(o);
      for (const s of Object.values(run.output("edgeBootstrapScripts").value as Record<string, string>)) for (const o of scriptDocuments(s)) await validateObject(o);
    });

    it("applies direct clusters through their own provider, retained on delete", () => {
      for (const c of ["site-a", "site-b"]) {
        const provider = run.get("pulumi:providers:kubernetes", `edge-${c}-k8s`);
        assert.match(String(provider.inputs.kubeconfig), new RegExp(`current-context: ${c}`));
        assert.ok(provider.secretPaths.includes("kubeconfig"));
        const onCluster = clusterResources(run, c).filter((r) => r.type.startsWith("kubernetes:"));
        assert.equal(onCluster.length, 7);
        for (const r of onCluster) {
          assert.ok(r.options.provider?.startsWith(provider.urn), `${r.name} is not applied with ${provider.name}`);
          assert.equal(r.options.retainOnDelete, true, `${r.name} would be deleted from the site`);
        }
      }
    });

    it("installs Flux and the sealed-secrets controller from pinned charts, the controller after its key", () => {
      const flux = run.get("kubernetes:helm.sh/v3:Release", "edge-site-a-flux");
      assert.equal(flux.inputs.chart, "flux2");
      assert.match(String(flux.inputs.version), /^\d+\.\d+\.\d+$/);
      const key = run.get("kubernetes:core/v1:Secret", "edge-site-b-sealed-secrets-key-v2");
      const controller = run.get("kubernetes:helm.sh/v3:Release", "edge-site-b-sealed-secrets");
      assert.ok(controller.options.dependsOn.includes(key.urn));
      assert.match(String(controller.inputs.version), /^\d+\.\d+\.\d+$/);
      assert.equal((controller.inputs.values as { keyrenewperiod: string }).keyrenewperiod, "0");
      const meta = key.inputs.metadata as { name: string; namespace: string; labels: Record<string, string> };
      assert.equal(key.inputs.type, "kubernetes.io/tls");
      assert.equal(meta.namespace, "kube-system");
      assert.equal(meta.labels["sealedsecrets.bitnami.com/sealed-secrets-key"], "active");
      assert.ok(key.secretPaths.some((p) => p.startsWith("data")), "the private key is a secret input");
      const privateKey = run.get("tls:index/privateKey:PrivateKey", "edge-site-b-sealed-secrets-v2");
      assert.equal(privateKey.inputs.algorithm, "RSA");
      assert.equal(privateKey.inputs.rsaBits, 4096);
    });

    it("points each direct cluster's Bucket source at its own prefix, with its own credentials", () => {
      const bucket = run.get("kubernetes:source.toolkit.fluxcd.io/v1:Bucket", "edge-site-b-bucket");
      assert.deepEqual(bucket.inputs.spec, {
        interval: "2m",
        provider: "generic",
        bucketName: "example-edp-testing-manifests",
        endpoint: "oss-eu-central-1.aliyuncs.com",
        region: "eu-central-1",
        prefix: "testing/clusters/site-b/",
        secretRef: { name: "edp-desired-state-credentials" },
      });
      const kustomization = run.get("kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization", "edge-site-b-kustomization");
      assert.equal((kustomization.inputs.spec as { path: string; prune: boolean }).path, "./testing/clusters/site-b");
      assert.equal((kustomization.inputs.spec as { prune: boolean }).prune, true);
      const flux = run.get("kubernetes:helm.sh/v3:Release", "edge-site-b-flux");
      const creds = run.get("kubernetes:core/v1:Secret", "edge-site-b-desired-state-credentials");
      assert.ok(bucket.options.dependsOn.includes(flux.urn) && bucket.options.dependsOn.includes(creds.urn));
      assert.deepEqual(Object.keys(creds.inputs.data as object).sort(), ["accesskey", "secretkey"]);
    });

    it("lets each cluster's access key reach that cluster only", () => {
      const secretOf = (c: string) => String((run.get("kubernetes:core/v1:Secret", `edge-${c}-desired-state-credentials`).inputs.data as { secretkey: string }).secretkey);
      const a = secretOf("site-a");
      const b = secretOf("site-b");
      assert.notEqual(a, b);
      const scripts = run.output("edgeBootstrapScripts").value as Record<string, string>;
      for (const s of Object.values(scripts)) assert.ok(!s.includes(a) && !s.includes(b));
      const keyOf = (c: string) => scriptDocuments(scripts[c]).find((o) => (o.metadata as { name: string }).name === "edp-desired-state-credentials")?.data as { secretkey: string };
      assert.notEqual(keyOf("site-c").secretkey, keyOf("site-d").secretkey);
      assert.ok(!scripts["site-c"].includes(keyOf("site-d").secretkey));
    });

    it("scopes each cluster's RAM policy to its own prefix", () => {
      for (const c of ["site-a", "site-c"]) {
        const doc = JSON.parse(String(run.get("alicloud:ram/policy:Policy", `edge-${c}-reader`).inputs.policyDocument)) as { Statement: { Resource: string[]; Condition?: unknown }[] };
        assert.deepEqual(doc.Statement[0].Resource, [`acs:oss:*:*:example-edp-testing-manifests/testing/clusters/${c}/*`]);
        assert.deepEqual(doc.Statement[1].Condition, { StringLike: { "oss:Prefix": [`testing/clusters/${c}/*`] } });
      }
      const attach = run.get("alicloud:ram/userPolicyAttachment:UserPolicyAttachment", "edge-site-a-reader");
      assert.equal(attach.inputs.policyType, "Custom");
    });

    it("renders deployments into their cluster's desired state: pinned with nodeSelector and toleration, floating without, sealed-secrets only for script clusters", () => {
      const a = desiredState(run, "site-a");
      const releases = a.filter((o) => o.kind === "HelmRelease") as { metadata: { name: string }; spec: { values: Record<string, unknown> } }[];
      assert.deepEqual(releases.map((r) => r.metadata.name).sort(), ["line", "press-1"]);
      const pinned = releases.find((r) => r.metadata.name === "press-1");
      assert.deepEqual(pinned?.spec.values, {
        deviceId: deploymentUuid("testing", "site-a", "press-1"),
        instance: "press-1",
        collector: { node: "a-02" },
        nodeSelector: { "kubernetes.io/hostname": "a-02" },
        tolerations: [{ key: "edp/specialised", operator: "Exists" }],
      });
      const floating = releases.find((r) => r.metadata.name === "line");
      assert.deepEqual(floating?.spec.values, { deviceId: deploymentUuid("testing", "site-a", "line") });
      const b = desiredState(run, "site-b");
      const ociRepo = b.find((o) => o.kind === "HelmRepository" && (o.metadata as { namespace: string }).namespace === "edp-edge");
      assert.ok(ociRepo, "site-b has no HelmRepository for its deployment");
      assert.equal((ociRepo.spec as { type?: string }).type, "oci");
      const hasSealedSecrets = (docs: Record<string, unknown>[]) => docs.some((o) => o.kind === "HelmRelease" && (o.metadata as { name: string }).name === "sealed-secrets-controller");
      assert.equal(hasSealedSecrets(a), false);
      assert.equal(hasSealedSecrets(desiredState(run, "site-c")), true);
      assert.equal(desiredState(run, "site-c").filter((o) => o.kind === "HelmRelease").length, 2);
    });

    it("makes the same desired state and UUIDs on every run", async () => {
      const again = await runStage("testing", { program: PROGRAM, config: MIXED.config, secrets: MIXED.secrets, unset: [] });
      for (const c of ["site-a", "site-b", "site-c", "site-d"]) {
        assert.equal(
          again.get("alicloud:oss/bucketObject:BucketObject", `edge-${c}-desired-state`).inputs.content,
          run.get("alicloud:oss/bucketObject:BucketObject", `edge-${c}-desired-state`).inputs.content,
        );
      }
    });

    it("removing clusters from the stage file removes their identity and desired state, and changes no other cluster", async () => {
      const after = await runStage("testing", { program: PROGRAM, ...REMOVED });
      assert.equal(after.error, undefined, after.error);
      for (const gone of ["site-b", "site-d"]) assert.ok(!after.resources.some((r) => r.name.startsWith(`edge-${gone}-`) || r.name === `edge-${gone}`), `${gone} is still there`);
      for (const kept of ["site-a", "site-c"]) {
        const before = clusterResources(run, kept).map((r) => [r.type, r.name, JSON.stringify(r.inputs)]);
        const now = clusterResources(after, kept).map((r) => [r.type, r.name, JSON.stringify(r.inputs)]);
        assert.deepEqual(now, before);
      }
    });

    it("rotates a sealed-secrets key by version: new key resources, same identity", async () => {
      const clusters = MIXED.config["edp:edgeClusters"].map((c) => (c.name === "site-c" ? { ...c, sealedSecretsKeyVersion: 3 } : c));
      const rotated = await runStage("testing", { program: PROGRAM, config: { ...MIXED.config, "edp:edgeClusters": clusters }, secrets: MIXED.secrets });
      assert.equal(rotated.error, undefined, rotated.error);
      rotated.get("tls:index/privateKey:PrivateKey", "edge-site-c-sealed-secrets-v3");
      assert.ok(!rotated.resources.some((r) => r.name === "edge-site-c-sealed-secrets-v1"));
      const script = (rotated.output("edgeBootstrapScripts").value as Record<string, string>)["site-c"];
      assert.ok(script.includes("edp-sealed-secrets-key-v3"));
      assert.deepEqual(
        rotated.get("alicloud:ram/accessKey:AccessKey", "edge-site-c-reader").inputs,
        run.get("alicloud:ram/accessKey:AccessKey", "edge-site-c-reader").inputs,
      );
    });
  });

  it("stops before any resource when a floating deployment's template needs {{hostname}}", async () => {
    const run = await runStage("testing", {
      program: PROGRAM,
      config: { ...MIXED.config, "edp:deployments": [{ name: "bad", template: "collector", cluster: "site-c" }] },
      secrets: MIXED.secrets,
    });
    assert.match(run.error ?? "", /edp:deployments\[0\]\.hostname: is not set, so deployment bad floats, but \{\{hostname\}\} is used/);
    assert.equal(run.resources.length, 0);
  });
});
