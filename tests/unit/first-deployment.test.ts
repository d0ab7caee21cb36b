/**
 * The rules a first real `pulumi up` depends on, over every stage's whole program (index.ts under
 * mocks, options recorded by tests/harness/stage.ts). The mock runtime accepts a custom resource
 * before its CRD, an Ingress without a controller or a 5 GiB disk; the engine, the API server and
 * Alibaba Cloud do not. Each rule here is one a first deployment stopped on.
 */
import assert from "node:assert/strict";
import { testKubeconfig } from "../harness/pki";
import { STAGES } from "../../config";
import { CHARTS } from "../../components/versions";
import { DependencyGraph } from "../harness/graph";
import { type RecordedResource, runStage, type StageRun } from "../harness/stage";

/** API groups Kubernetes serves itself; every other group's objects need a CRD first. */
const BUILT_IN_GROUPS = new Set([
  "core",
  "apps",
  "batch",
  "policy",
  "autoscaling",
  "networking.k8s.io",
  "storage.k8s.io",
  "rbac.authorization.k8s.io",
  "admissionregistration.k8s.io",
  "apiextensions.k8s.io",
  "scheduling.k8s.io",
  "coordination.k8s.io",
  "helm.sh", // Pulumi's Helm release, not a Kubernetes object
]);

/**
 * The chart whose release installs each API group's CRDs (read from the pinned charts: their
 * crds/ directories or CRD templates). A group missing here fails the test until it is named.
 */
const CRD_CHART: Record<string, string> = {
  "monitoring.coreos.com": CHARTS.kubePrometheusStack.chart,
  "cert-manager.io": CHARTS.certManager.chart,
  "acme.cert-manager.io": CHARTS.certManager.chart,
  "kyverno.io": CHARTS.kyverno.chart,
  "postgresql.cnpg.io": CHARTS.cloudnativePg.chart,
  "source.toolkit.fluxcd.io": CHARTS.flux2.chart,
  "kustomize.toolkit.fluxcd.io": CHARTS.flux2.chart,
  "helm.toolkit.fluxcd.io": CHARTS.flux2.chart,
  "bitnami.com": CHARTS.sealedSecrets.chart,
};

/** Alibaba Cloud disks (ESSD PL1, the platform's class) are at least 20 GiB; a smaller claim never binds. */
const MIN_DISK_GIB = 20;

/** `kubernetes:<group>/<version>:<Kind>` → group ("core" for the legacy group). */
function groupOf(type: string): string | undefined {
  const m = /^kubernetes:([^:]+):([^:]+)$/.exec(type);
  if (!m || type.startsWith("pulumi:")) return undefined;
  const apiVersion = m[1];
  return apiVersion.includes("/") ? apiVersion.split("/")[0] : apiVersion;
}

const releases = (run: StageRun, chart: string) => run.ofType("kubernetes:helm.sh/v3:Release").filter((r) => r.inputs.chart === chart);
const label = (r: RecordedResource) => `${r.type.split(":").pop()} ${r.name}`;
const annotations = (r: RecordedResource) => ((r.inputs.metadata as { annotations?: Record<string, string> } | undefined)?.annotations ?? {});

function gib(quantity: string): number {
  const m = /^(\d+(?:\.\d+)?)(Mi|Gi|Ti)$/.exec(quantity);
  if (!m) return Number.NaN;
  return Number(m[1]) * ({ Mi: 1 / 1024, Gi: 1, Ti: 1024 } as const)[m[2] as "Mi" | "Gi" | "Ti"];
}

export interface VolumeRequest {
  owner: RecordedResource;
  path: string;
  size: string;
  storageClass?: string;
}

/**
 * Every persistent volume the program asks for: PVC specs (PersistentVolumeClaims, volume claim
 * templates, in manifests and in chart values) and the charts' and operators' `size` +
 * storage class blocks (Vault's dataStorage, Grafana's and Loki's persistence, CNPG's storage).
 */
export function volumeRequests(resources: RecordedResource[]): VolumeRequest[] {
  const out: VolumeRequest[] = [];
  const walk = (owner: RecordedResource, v: unknown, path: string) => {
    if (Array.isArray(v)) return v.forEach((x, i) => walk(owner, x, `${path}[${i}]`));
    if (!v || typeof v !== "object") return;
    const o = v as Record<string, unknown>;
    if (o.enabled === false) return;
    const storage = (o.resources as { requests?: { storage?: unknown } } | undefined)?.requests?.storage;
    if (typeof storage === "string") {
      out.push({ owner, path, size: storage, storageClass: o.storageClassName as string | undefined });
      return;
    }
    const hasClassKey = "storageClass" in o || "storageClassName" in o;
    if (typeof o.size === "string" && /^\d/.test(o.size) && (hasClassKey || "enabled" in o || "accessMode" in o || "accessModes" in o)) {
      out.push({ owner, path, size: o.size, storageClass: (o.storageClass ?? o.storageClassName) as string | undefined });
      return;
    }
    for (const [k, x] of Object.entries(o)) walk(owner, x, path ? `${path}.${k}` : k);
  };
  for (const r of resources) {
    if (r.type === "kubernetes:core/v1:Secret" || r.type === "kubernetes:core/v1:ConfigMap") continue;
    if (r.type.startsWith("kubernetes:")) walk(r, r.inputs, "");
  }
  return out;
}

describe("a first deployment, over every stage's whole program", function () {
  this.timeout(300_000);

  for (const stage of STAGES) {
    describe(stage, () => {
      let run: StageRun;
      let graph: DependencyGraph;
      before(async () => {
        run = await runStage(stage);
        assert.equal(run.error, undefined, run.error);
        graph = new DependencyGraph(run.resources);
      });

      it("creates every custom resource after the release that installs its CRD", () => {
        const problems: string[] = [];
        let checked = 0;
        for (const r of run.resources) {
          const group = groupOf(r.type);
          if (!r.custom || group === undefined || BUILT_IN_GROUPS.has(group)) continue;
          const chart = CRD_CHART[group];
          if (chart === undefined) {
            problems.push(`${label(r)}: no chart is known to serve API group ${group} (add it to CRD_CHART)`);
            continue;
          }
          checked++;
          const provider = graph.providerOf(r);
          const serving = releases(run, chart).filter((rel) => graph.providerOf(rel) === provider);
          if (serving.length === 0) problems.push(`${label(r)}: no ${chart} release on its cluster`);
          else if (graph.waitsForAny(r.urn, serving).length === 0) problems.push(`${label(r)} (${group}) does not wait for the ${chart} release`);
        }
        assert.ok(checked > 5, `only ${checked} custom resources`);
        assert.deepEqual(problems, []);
      });

      it("creates every Ingress after the ingress controller of its class, or skips Pulumi's await with a reason", () => {
        const ingresses = run.ofType("kubernetes:networking.k8s.io/v1:Ingress");
        assert.ok(ingresses.length > 0);
        // Two controllers: the public one and the internal one (intranet load balancer), one class each.
        const controllers = releases(run, CHARTS.ingressNginx.chart);
        const classOf = (rel: RecordedResource) => String(((rel.inputs.values as { controller?: { ingressClass?: string } }).controller ?? {}).ingressClass);
        assert.deepEqual(controllers.map(classOf).sort(), ["nginx", "nginx-internal"]);
        const problems: string[] = [];
        for (const ing of ingresses) {
          const a = annotations(ing);
          if (a["pulumi.com/skipAwait"] === "true") {
            if (!a["edp.daim.io/skip-await-reason"]?.trim()) problems.push(`${label(ing)} skips the await without an edp.daim.io/skip-await-reason`);
            continue;
          }
          const cls = String((ing.inputs.spec as { ingressClassName?: string }).ingressClassName);
          const own = controllers.filter((c) => classOf(c) === cls);
          if (own.length !== 1) problems.push(`${label(ing)}: class ${cls} has ${own.length} controllers`);
          else if (graph.waitsForAny(ing.urn, own).length === 0) problems.push(`${label(ing)} does not wait for the ingress-nginx release of class ${cls}`);
        }
        assert.deepEqual(problems, []);
      });

      it("starts nothing on the central cluster before its node pools exist", () => {
        const pools = run.ofType("alicloud:cs/nodePool:NodePool");
        const central = run.ofType("pulumi:providers:kubernetes").filter((p) => p.name.endsWith("-central"));
        assert.equal(central.length, 1);
        assert.ok(pools.length > 0, "every stage creates its cluster with node pools");
        const missing = pools.filter((p) => !graph.waitsFor(central[0].urn).has(p.urn)).map(label);
        assert.deepEqual(missing, [], "the central provider must wait for every node pool");
        // And every Kubernetes object goes through that provider, except those of a directly
        // bootstrapped edge cluster (testing's lab cluster), which go through that cluster's own
        // provider: a child of its EdgeCluster component, never waiting on the central pools.
        const edgeClusters = new Set(run.ofType("edp:edge:EdgeCluster").map((c) => c.urn));
        const edgeProviders = new Set(run.ofType("pulumi:providers:kubernetes").filter((p) => p.parent !== undefined && edgeClusters.has(p.parent)).map((p) => p.urn));
        const elsewhere = run.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:") && graph.providerOf(r) !== central[0].urn);
        assert.deepEqual(elsewhere.filter((r) => !edgeProviders.has(graph.providerOf(r) ?? "")).map(label), []);
        for (const p of edgeProviders) assert.deepEqual(pools.filter((pool) => graph.waitsFor(p).has(pool.urn)).map(label), [], "an edge cluster does not wait for the central node pools");
      });

      it(`asks only for volumes of at least ${MIN_DISK_GIB} GiB, of a storage class the program creates first`, () => {
        const classes = run.ofType("kubernetes:storage.k8s.io/v1:StorageClass");
        const byName = new Map(classes.map((c) => [(c.inputs.metadata as { name: string }).name, c]));
        const volumes = volumeRequests(run.resources);
        assert.ok(volumes.length >= 5, `only ${volumes.length} volumes found`);
        const problems: string[] = [];
        for (const v of volumes) {
          const where = `${label(v.owner)} ${v.path}`;
          if (!(gib(v.size) >= MIN_DISK_GIB)) problems.push(`${where}: ${v.size} is below ${MIN_DISK_GIB} GiB`);
          if (v.storageClass === undefined) problems.push(`${where}: names no storage class`);
          else {
            const sc = byName.get(v.storageClass);
            if (!sc) problems.push(`${where}: storage class ${v.storageClass} is not one the program creates (${[...byName.keys()].join(", ")})`);
            else if (!graph.waitsFor(v.owner.urn).has(sc.urn)) problems.push(`${where}: does not wait for storage class ${v.storageClass}`);
          }
        }
        assert.deepEqual(problems, []);
      });

      it("keeps data when something is deleted: retained resources and disks, as in production", async () => {
        const production = await runStage("production");
        const retainedInProduction = new Set(production.resources.filter((r) => r.options.retainOnDelete).map((r) => `${r.type}::${r.name}`));
        const notRetained = run.resources.filter((r) => retainedInProduction.has(`${r.type}::${r.name}`) && !r.options.retainOnDelete).map(label);
        assert.deepEqual(notRetained, [], "retention must not depend on the stage");
        // The README's promise, by kind: the E3 data disk, the KMS keys, the database objects.
        const mustRetain = run.resources.filter((r) => ["alicloud:ecs/ecsDisk:EcsDisk", "alicloud:kms/key:Key"].includes(r.type) || r.type.startsWith("kubernetes:postgresql.cnpg.io/v1:Cluster") || r.type === "kubernetes:postgresql.cnpg.io/v1:Database");
        assert.ok(mustRetain.length >= 4);
        assert.deepEqual(mustRetain.filter((r) => !r.options.retainOnDelete).map(label), []);
        // A deleted claim (or namespace, or release) must not delete its cloud disk.
        const deleting = run.ofType("kubernetes:storage.k8s.io/v1:StorageClass").filter((c) => c.inputs.reclaimPolicy !== "Retain");
        assert.deepEqual(deleting.map(label), []);
      });

      it("installs KubeEdge in order: DaemonSet exclusions and namespace, CloudCore, its stream certificate, a restart, then the token; the Service and node deployments after CloudCore", () => {
        const problems: string[] = [];
        for (const ke of run.ofType("edp:kubeedge:KubeEdge")) {
          const mine = run.resources.filter((r) => r.parent === ke.urn);
          const byType = (type: string, name?: string) => mine.filter((r) => r.type === type && (name === undefined || r.name.endsWith(name)));
          const [release] = byType("kubernetes:helm.sh/v3:Release", "-cloudcore");
          const exclusions = mine.filter((r) => r.inputs.kind === "edp:kubeedge:daemonset-exclusion");
          const [namespace] = byType("kubernetes:core/v1:Namespace", "-namespace");
          const [secretPatch] = byType("kubernetes:core/v1:SecretPatch");
          const [restart] = byType("kubernetes:apps/v1:DeploymentPatch");
          const token = mine.find((r) => r.inputs.kind === "edp:kubeedge:token");
          const service = byType("kubernetes:core/v1:Service")[0];
          if (!release || !namespace || !secretPatch || !restart || !token || !service || exclusions.length === 0) {
            problems.push(`${label(ke)}: missing part (release, namespace, stream patch, restart, token, service or exclusions)`);
            continue;
          }
          const waits = (r: RecordedResource, on: RecordedResource, why: string) => {
            if (graph.waitsForAny(r.urn, [on]).length === 0) problems.push(`${label(r)} does not wait for ${label(on)}: ${why}`);
          };
          // No edge node may join while kube-proxy or the CNI could still land on it (the guide's §2.6).
          for (const e of exclusions) waits(release, e, "DaemonSets must exclude edge nodes before CloudCore admits one");
          waits(release, namespace, "CloudCore's namespace");
          waits(secretPatch, release, "the chart's pre-install hook writes the Secret the patch takes over");
          waits(restart, secretPatch, "CloudCore reads its stream certificate at start");
          waits(token, restart, "CloudCore writes tokensecret when it starts");
          waits(service, release, "the load balancer forwards to CloudCore's pods");
          for (const d of byType("kubernetes:helm.sh/v3:Release").filter((r) => r !== release)) waits(d, release, "a deployment on a KubeEdge node needs CloudCore");
        }
        assert.deepEqual(problems, []);
      });

      it("registers every Kubernetes object with an explicit provider (the default one is disabled)", () => {
        const defaulted = run.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:") && !r.providerRef).map(label);
        assert.deepEqual(defaulted, []);
      });
    });
  }

  it("gives every Kubernetes provider a clusterIdentifier, edge clusters' included", async () => {
    const run = await runStage("testing", {
      config: { "edp:edgeClusters": [{ name: "lab-line-1", bootstrap: "script", hosts: ["lab-edge-01", "lab-edge-02"] }, { name: "lab-direct", bootstrap: "direct", hosts: ["lab-direct-01"] }] },
      // A kubeconfig the config checks accept (a CA, a server, a user with credentials).
      secrets: { "edp:edgeKubeconfigs": { "lab-direct": testKubeconfig() } },
    });
    assert.equal(run.error, undefined, run.error);
    const providers = run.ofType("pulumi:providers:kubernetes");
    assert.ok(providers.length >= 2, "the central and the direct edge cluster's provider");
    const missing = providers.filter((p) => typeof p.inputs.clusterIdentifier !== "string" || p.inputs.clusterIdentifier === "").map(label);
    assert.deepEqual(missing, []);
    const ids = providers.map((p) => p.inputs.clusterIdentifier);
    assert.equal(new Set(ids).size, ids.length, "each cluster has its own identifier");
  });
});
