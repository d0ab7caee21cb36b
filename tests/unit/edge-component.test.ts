/**
 * The EdgeClusters component under Pulumi's mocks (fake foundation), per stage with its own
 * stack file and with overrides for several clusters in both bootstrap modes.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import YAML from "yaml";
import { EDGE_CLUSTERS_PER_WAVE } from "../../components/edge/edge";
import { clusterUuid, deploymentUuid } from "../../components/edge/uuid";
import { STAGES } from "../../config";
import { mockKubeconfig } from "../../scripts/lib/mock-outputs";
import type { RamPolicyDocument } from "../../components/shared/ram-policy";
import { validateObject } from "../harness/k8s-schema";
import { fluxBucketAccessPattern, isAllowed } from "../harness/ram-eval";
import { beforeStage, ROOT, type RecordedResource, runStage, type StageRun } from "../harness/stage";

const PROGRAM = path.join(ROOT, "tests/fixtures/programs/edge.ts");

const SEALED_FIXTURE = "tests/fixtures/sealed-secrets/opcua-credentials.yaml";
const MIXED = {
  config: {
    // Edge clusters only: the stack file's KubeEdge deployments name templates this case replaces.
    "edp:kubeEdge": {},
    "edp:edgeClusters": [
      { name: "site-a", bootstrap: "direct", hosts: ["a-01", "a-02"] },
      { name: "site-b", bootstrap: "direct", hosts: ["b-01"], sealedSecretsKeyVersion: 2, syncInterval: "2m", specialisedHosts: { "b-01": "modbus" } },
      { name: "site-c", bootstrap: "script", hosts: ["c-01"], specialisedHosts: { "c-01": "opcua" }, sealedSecrets: [SEALED_FIXTURE] },
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
  // The status writer's identity: at most 4 more central resources per cluster.
  "alicloud:ram/user:User",
  "alicloud:ram/policy:Policy",
  "alicloud:ram/userPolicyAttachment:UserPolicyAttachment",
  "alicloud:ram/accessKey:AccessKey",
];
const central = (rs: RecordedResource[]) => rs.filter((r) => !r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers:")).map((r) => r.type).sort();

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

/** The manifests a bootstrap script applies: the bodies of its here-documents. */
const scriptBodies = (script: string): string[] => [...script.matchAll(/<<'(EDP_[A-Z]+_[0-9a-f]{12})'\n([\s\S]*?)\n\1\n/g)].map((m) => m[2]);

/** The documents inside a script's here-documents. */
const scriptDocuments = (script: string): Record<string, unknown>[] => scriptBodies(script).flatMap(parseDocs);

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
        const direct = run.resources.some((r) => r.name === `edge-${c}-k8s`);
        assert.deepEqual(central(clusterResources(run, c)), [...SCRIPT_TYPES].sort());
        const object = run.get("alicloud:oss/bucketObject:BucketObject", `edge-${c}-desired-state`);
        assert.equal(object.inputs.key, `${stage}/clusters/${c}/desired-state.yaml`);
        assert.equal(object.inputs.bucket, `example-edp-${stage}-manifests`);
        const docs = desiredState(run, c);
        for (const o of docs) await validateObject(o);
        assert.ok(docs.some((o) => o.kind === "CronJob" && (o.metadata as { name: string }).name === "edp-status-writer"), `${c} has no status writer`);
        // The rule issue 15 found broken: Flux's Bucket reconciler must get every request it sends.
        const read = JSON.parse(String(run.get("alicloud:ram/policy:Policy", `edge-${c}-reader`).inputs.policyDocument)) as RamPolicyDocument;
        for (const [what, request] of fluxBucketAccessPattern(`example-edp-${stage}-manifests`, `${stage}/clusters/${c}/`)) {
          assert.ok(isAllowed(read, request), `${stage}/${c}: the read policy refuses Flux's ${what}`);
        }
        const write = JSON.parse(String(run.get("alicloud:ram/policy:Policy", `edge-${c}-status`).inputs.policyDocument)) as RamPolicyDocument;
        assert.deepEqual(write.Statement.map((st) => [st.Action, st.Resource]), [[["oss:PutObject"], [`acs:oss:*:*:example-edp-${stage}-manifests/${stage}/clusters/${c}/status.json`]]]);
        const script = (scripts.value as Record<string, string>)[c];
        assert.equal(script === undefined, direct, `${c}: a script exactly when it bootstraps by script`);
        if (script) {
          assert.ok(script.includes(`readonly EDP_CLUSTER_UUID='${clusterUuid(stage, c)}'`));
          assert.equal(spawnSync("bash", ["-n"], { input: script }).status, 0);
          for (const o of scriptDocuments(script)) await validateObject(o);
        }
        assert.match((certs.value as Record<string, string>)[c], /BEGIN CERTIFICATE/);
      }
      if (stage === "testing") {
        // The lab cluster bootstraps directly (issue 15), with a stand-in kubeconfig in synth.
        assert.ok(run.resources.some((r) => r.name === "edge-lab-line-1-k8s"), "testing's lab cluster is not bootstrapped directly");
        run.get("kubernetes:core/v1:NodePatch", "edge-lab-line-1-node-lab-edge-01");
      }
    });
  }

  describe("with two direct and two script clusters", () => {
    const run = beforeStage("testing", () => runStage("testing", { program: PROGRAM, ...MIXED }));

    it("keeps script clusters to 12 central resources (8 + the status writer's 4; one more object with SealedSecrets), direct ones to 21 (+1 per specialised host)", () => {
      assert.deepEqual(clusterResources(run, "site-d").map((r) => r.type).sort(), [...SCRIPT_TYPES].sort());
      assert.deepEqual(clusterResources(run, "site-c").map((r) => r.type).sort(), [...SCRIPT_TYPES, "alicloud:oss/bucketObject:BucketObject"].sort());
      for (const [c, n] of [["site-a", 21], ["site-b", 22]] as const) {
        const types = clusterResources(run, c).map((r) => r.type);
        assert.equal(types.length, n, types.join(", "));
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
        assert.equal(onCluster.length, c === "site-b" ? 9 : 8);
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
        ignore: "status.json\nsealed-secrets.yaml\n",
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
        const doc = JSON.parse(String(run.get("alicloud:ram/policy:Policy", `edge-${c}-reader`).inputs.policyDocument)) as RamPolicyDocument;
        const other = c === "site-a" ? "site-c" : "site-a";
        assert.ok(isAllowed(doc, { action: "oss:GetObject", resource: `acs:oss:*:*:example-edp-testing-manifests/testing/clusters/${c}/desired-state.yaml` }));
        assert.ok(!isAllowed(doc, { action: "oss:GetObject", resource: `acs:oss:*:*:example-edp-testing-manifests/testing/clusters/${other}/desired-state.yaml` }));
        assert.ok(!isAllowed(doc, { action: "oss:ListObjects", resource: "acs:oss:*:*:example-edp-testing-manifests", context: { "oss:Prefix": `testing/clusters/${other}/` } }));
      }
      const attach = run.get("alicloud:ram/userPolicyAttachment:UserPolicyAttachment", "edge-site-a-reader");
      assert.equal(attach.inputs.policyType, "Custom");
    });

    it("renders deployments into their cluster's desired state: pinned with placement post-renderers, floating without, sealed-secrets only for script clusters", () => {
      const a = desiredState(run, "site-a");
      const releases = a.filter((o) => o.kind === "HelmRelease") as { metadata: { name: string }; spec: { values: Record<string, unknown>; postRenderers?: { kustomize: { patches: { patch: string }[] } }[] } }[];
      assert.deepEqual(releases.map((r) => r.metadata.name).sort(), ["line", "press-1"]);
      const pinned = releases.find((r) => r.metadata.name === "press-1");
      assert.deepEqual(pinned?.spec.values, {
        deviceId: deploymentUuid("testing", "site-a", "press-1"),
        instance: "press-1",
        collector: { node: "a-02" },
      });
      const patch = YAML.parse(pinned?.spec.postRenderers?.[0].kustomize.patches[0].patch ?? "") as { spec: { template: { spec: unknown } } };
      assert.deepEqual(patch.spec.template.spec, {
        nodeSelector: { "kubernetes.io/hostname": "a-02" },
        tolerations: [{ key: "factoryplus.app.amrc.co.uk/specialised", operator: "Exists", effect: "NoSchedule" }],
      });
      assert.equal(releases.find((r) => r.metadata.name === "line")?.spec.postRenderers, undefined);
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

    it("delivers referenced SealedSecrets in their own object, applied by a second Bucket and Kustomization after the main one", () => {
      const object = run.get("alicloud:oss/bucketObject:BucketObject", "edge-site-c-sealed-secrets");
      assert.equal(object.inputs.key, "testing/clusters/site-c/sealed-secrets.yaml");
      const sealed = parseDocs(String(object.inputs.content));
      assert.deepEqual(sealed.map((o) => `${o.kind}/${(o.metadata as { name: string }).name}`), ["SealedSecret/opcua-credentials"]);
      const docs = desiredState(run, "site-c");
      const bucket = docs.find((o) => o.kind === "Bucket" && (o.metadata as { name: string }).name === "edp-sealed-secrets");
      const kustomization = docs.find((o) => o.kind === "Kustomization" && (o.metadata as { name: string }).name === "edp-sealed-secrets");
      assert.equal((bucket?.spec as { ignore: string }).ignore, "*\n!sealed-secrets.yaml\n");
      assert.deepEqual((kustomization?.spec as { dependsOn: unknown }).dependsOn, [{ name: "edp-desired-state" }]);
      assert.ok(!docs.some((o) => o.kind === "SealedSecret"), "a SealedSecret in the main Kustomization would fail before its CRD exists");
      assert.ok(!run.resources.some((r) => r.name === "edge-site-d-sealed-secrets"), "no object for a cluster without SealedSecrets");
    });

    it("taints and labels specialised hosts: NodePatch on a direct cluster, kubectl in a script", () => {
      const patch = run.get("kubernetes:core/v1:NodePatch", "edge-site-b-node-b-01");
      assert.deepEqual((patch.inputs.metadata as { labels: unknown }).labels, { "factoryplus.app.amrc.co.uk/specialised": "modbus" });
      assert.deepEqual((patch.inputs.spec as { taints: unknown }).taints, [{ key: "factoryplus.app.amrc.co.uk/specialised", value: "modbus", effect: "NoSchedule" }]);
      const script = (run.output("edgeBootstrapScripts").value as Record<string, string>)["site-c"];
      assert.ok(script.includes("readonly EDP_SPECIALISED_HOSTS='c-01=opcua'"));
      assert.ok(script.includes("readonly EDP_TAINT_KEY='factoryplus.app.amrc.co.uk/specialised'"));
    });

    it("changes a cluster's published revision when its desired state changes, and only that cluster's", async () => {
      const revision = (r: StageRun, c: string) => (desiredState(r, c).find((o) => o.kind === "ConfigMap" && (o.metadata as { name: string }).name === "edp-desired-state-revision")?.data as { revision: string }).revision;
      const deployments = MIXED.config["edp:deployments"].map((d) => (d.name === "line" ? { ...d, values: { replicas: 2 } } : d));
      const changed = await runStage("testing", { program: PROGRAM, config: { ...MIXED.config, "edp:deployments": deployments }, secrets: MIXED.secrets });
      assert.equal(changed.error, undefined, changed.error);
      assert.notEqual(revision(changed, "site-a"), revision(run, "site-a"));
      for (const c of ["site-b", "site-c", "site-d"]) assert.equal(revision(changed, c), revision(run, c));
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

    it("keeps a cluster named no, and a value on, strings to kubectl: the script's manifests and the desired state read the same as YAML 1.1", async () => {
      // kubectl reads YAML 1.1 (sigs.k8s.io/yaml over go-yaml v2): an unquoted `no` is false.
      const clusters = [...MIXED.config["edp:edgeClusters"], { name: "no", bootstrap: "script", hosts: ["no-01"] }];
      const deployments = [...MIXED.config["edp:deployments"], { name: "press-9", template: "collector", cluster: "no", hostname: "no-01", values: { mode: "on", since: "2026-01-01" } }];
      const tricky = await runStage("testing", { program: PROGRAM, config: { ...MIXED.config, "edp:edgeClusters": clusters, "edp:deployments": deployments }, secrets: MIXED.secrets });
      assert.equal(tricky.error, undefined, tricky.error);
      const script = (tricky.output("edgeBootstrapScripts").value as Record<string, string>).no;
      const bodies = scriptBodies(script);
      const texts = [...bodies, String(tricky.get("alicloud:oss/bucketObject:BucketObject", "edge-no-desired-state").inputs.content)];
      for (const text of texts) {
        const as12 = YAML.parseAllDocuments(text).map((d) => d.toJS() as unknown);
        const as11 = YAML.parseAllDocuments(text, { version: "1.1" }).map((d) => d.toJS() as unknown);
        assert.deepEqual(as11, as12);
      }
      // As kubectl reads it:
      const asKubectl = bodies.flatMap((b) => YAML.parseAllDocuments(b, { version: "1.1" }).map((d) => d.toJS() as Record<string, unknown>));
      const identity = asKubectl.find((o) => o.kind === "ConfigMap" && (o.data as Record<string, unknown> | undefined)?.uuid !== undefined) as { data: Record<string, unknown> };
      assert.equal(identity.data.cluster, "no");
      const release = desiredState(tricky, "no").find((o) => o.kind === "HelmRelease" && (o.metadata as { name: string }).name === "press-9") as { spec: { values: Record<string, unknown> } };
      assert.equal(release.spec.values.mode, "on");
      assert.equal(release.spec.values.since, "2026-01-01");
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

  it(`registers clusters in waves of ${EDGE_CLUSTERS_PER_WAVE}, each after the event loop turned, and exports every cluster once all are in`, async () => {
    const names = Array.from({ length: 2 * EDGE_CLUSTERS_PER_WAVE + 3 }, (_, i) => `wave-${String(i + 1).padStart(2, "0")}`);
    const run = await runStage("testing", {
      program: PROGRAM,
      config: { "edp:kubeEdge": {}, "edp:edgeClusters": names.map((name) => ({ name, bootstrap: "script" })), "edp:deployments": [] },
    });
    assert.equal(run.error, undefined, run.error);
    const byTurn = new Map<number, string[]>();
    for (const r of run.ofType("edp:edge:EdgeCluster")) byTurn.set(r.turn, [...(byTurn.get(r.turn) ?? []), r.name.replace(/^edge-/, "")]);
    const turns = [...byTurn.keys()].sort((a, b) => a - b);
    // In order: the first wave in the program's synchronous pass, then one wave per later turn.
    assert.equal(turns[0], 0, "the first wave registers before the event loop turns");
    assert.deepEqual(
      turns.map((t) => byTurn.get(t)),
      [names.slice(0, EDGE_CLUSTERS_PER_WAVE), names.slice(EDGE_CLUSTERS_PER_WAVE, 2 * EDGE_CLUSTERS_PER_WAVE), names.slice(2 * EDGE_CLUSTERS_PER_WAVE)],
    );
    // Each cluster's resources reach the engine in its own wave's turn, with no dependency on another wave.
    for (const [turn, clusters] of byTurn) {
      for (const c of clusters) {
        for (const r of clusterResources(run, c)) {
          assert.equal(r.turn, turn, `${r.name} registered in turn ${r.turn}, its cluster in ${turn}`);
          assert.deepEqual(r.options.dependsOn, [], `${r.name} depends on ${r.options.dependsOn.join(", ")}`);
        }
      }
    }
    // What the state keeps of the components does not grow with the fleet, and holds no script.
    assert.deepEqual(run.get("edp:edge:EdgeClusters", "edge").registeredOutputs, { clusterCount: names.length });
    for (const c of run.ofType("edp:edge:EdgeCluster")) {
      assert.deepEqual(Object.keys(c.registeredOutputs ?? {}).sort(), ["desiredStateKey", "mode", "sealedSecretsCertificate", "statusKey", "uuid"]);
    }
    assert.deepEqual(Object.keys(run.output("edgeSealedSecretsCerts").value as object).sort(), names);
    assert.deepEqual(Object.keys(run.output("edgeBootstrapScripts").value as object).sort(), names);
    assert.deepEqual(Object.keys(run.output("edgeDesiredStateKeys").value as object).sort(), names);
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
