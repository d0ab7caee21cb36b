/**
 * Every Helm release the program makes, rendered by real Helm (the pinned Helm 3 that
 * helm.v3.Release embeds a version of) from the pinned chart archives, per stage, with exactly the
 * values the program passes (taken from the stage's run under mocks; secret inputs replaced by
 * dummies). The same for the controllers in the edge clusters' desired state and the releases a
 * direct edge bootstrap installs. A failure names the release and what is wrong.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import YAML from "yaml";
import { STAGES } from "../../config";
import { CHARTS, type ChartPin, KUBEEDGE_VERSION } from "../../components/versions";
import { contentDigest, readChart } from "../../scripts/lib/chart-archive";
import { archiveProblem, cachedArchive, DIGESTS_FILE, HELM, helmEnv, parseDigests } from "../../scripts/lib/chart-cache";
import { mockKubeconfig } from "../../scripts/lib/mock-outputs";
import { type ChartDefaults, chartDefaults, unknownValuePaths } from "../harness/chart-values";
import { desiredStateReleases, type ProgramRelease, programReleases, renderRelease, type RenderedObject } from "../harness/helm";
import { validateObject } from "../harness/k8s-schema";
import { EDGE_ROLE_LABEL, keepsOffEdgeNodes } from "../../components/kubeedge";
import { blockingDisruptionBudgets, edgePlacementProblems, floatingImages, missingLimits, rollingOverSingleWriterVolumes, volumeProblems } from "../harness/platform-rules";
import { ROOT, runStage, type StageRun } from "../harness/stage";

/** Whether a stage's stack file lists KubeEdge nodes (edp:kubeEdge.nodes). */
function stageHasKubeEdgeNodes(stage: string): boolean {
  const file = YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stage}.yaml`), "utf8")) as { config?: Record<string, { nodes?: unknown[] } | undefined> };
  return (file.config?.["edp:kubeEdge"]?.nodes?.length ?? 0) > 0;
}

/**
 * API versions the central cluster serves beyond Kubernetes' own once the program's releases are
 * in, as charts ask for them (`.Capabilities.APIVersions.Has`). A test below checks that a CRD
 * the stage installs serves each one, so this list cannot claim an API nobody installs.
 */
const CENTRAL_CRD_APIS = ["monitoring.coreos.com/v1/ServiceMonitor", "monitoring.coreos.com/v1/PodMonitor", "monitoring.coreos.com/v1/PrometheusRule"];

/**
 * Edge clusters: their Kubernetes version is not in the stage config. Flux 2.5 and later supports
 * 1.30 and later, so the oldest supported minor is assumed; the flux2 and sealed-secrets templates
 * branch on the version only below 1.19. Nothing beyond Kubernetes' own APIs is assumed served.
 */
const EDGE_KUBE_VERSION = "1.30.0";

/**
 * Values maps a chart documents as free-form without listing their keys in values.yaml, per
 * chart: path and why.
 */
const FREE_FORM: Record<string, string[]> = {
  // grafana.ini is Grafana's INI file as a map of sections; values.yaml lists a few, and the
  // chart's README says any section and key of Grafana's configuration goes there.
  "kube-prometheus-stack": ['grafana["grafana.ini"]'],
  // Loki's own limits_config block, which the chart writes into Loki's configuration as given.
  loki: ["loki.limits_config"],
};

/**
 * Where a @kubernetes-models package is stricter than the CRD the stage installs, the CRD is what
 * the API server applies: the complaint, and the CRD that allows it.
 */
const SCHEMA_PACKAGE_DEVIATIONS: { kinds: string[]; message: RegExp; why: string }[] = [
  {
    kinds: ["Prometheus", "Alertmanager"],
    message: /^data\/spec\/storage\/volumeClaimTemplate must have required property apiVersion, data\/spec\/storage\/volumeClaimTemplate must have required property kind$/,
    why: "@kubernetes-models/prometheus-operator 6.0.0 requires them; the chart's CRDs (crd-prometheuses.yaml, crd-alertmanagers.yaml) do not",
  },
];

/** API groups whose CRDs publish no kubernetes-models package; their objects are checked by the CRD they came with. */
const NO_SCHEMA_PACKAGE = new Set(["postgresql.cnpg.io"]);

/** Storage classes Alibaba Cloud ACK clusters come with (the CSI plugin installs them). */
const ACK_STORAGE_CLASSES = ["alicloud-disk-essd", "alicloud-disk-ssd", "alicloud-disk-efficiency", "alicloud-disk-topology-alltype"];

/** Objects Helm renders but a release never applies: `helm test` pods. */
const isTestHook = (o: Record<string, unknown>) => /(^|,)\s*test(-success|-failure)?\s*(,|$)/.test(((o.metadata as { annotations?: Record<string, string> } | undefined)?.annotations ?? {})["helm.sh/hook"] ?? "");

interface Rendered {
  release: ProgramRelease;
  objects: RenderedObject[];
  error?: string;
}

/** Runs `fn` over `items` with at most `limit` at a time (Helm is CPU-bound; this machine has 2 cores). */
async function inParallel<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

async function renderAll(releases: ProgramRelease[], kubeVersion: string, apiVersions: string[]): Promise<Rendered[]> {
  return inParallel(releases, 2, async (release) => {
    try {
      return { release, objects: (await renderRelease(release, { kubeVersion, apiVersions })).filter((r) => !isTestHook(r.object)) };
    } catch (e) {
      return { release, objects: [], error: (e as Error).message };
    }
  });
}

/** The stage's Kubernetes version as the cluster resource asks for it, major.minor.patch. */
function kubeVersion(run: StageRun): string {
  const cluster = run.ofType("alicloud:cs/managedKubernetes:ManagedKubernetes")[0];
  const version = /^(\d+\.\d+\.\d+)/.exec(String(cluster?.inputs.version ?? ""))?.[1];
  if (!version) throw new Error(`stage ${run.stage}: no Kubernetes version on the ACK cluster resource`);
  return version;
}

const describeObject = (r: RenderedObject) => `${r.source}`;

/** A chart's defaults, read from its archive once per run. */
const defaultsCache = new Map<string, ChartDefaults>();
function defaultsOf(pin: ChartPin): ChartDefaults {
  const file = cachedArchive(pin);
  let d = defaultsCache.get(file);
  if (!d) {
    d = chartDefaults(readChart(file));
    defaultsCache.set(file, d);
  }
  return d;
}

const EDGE_PROGRAM = path.join(ROOT, "tests/fixtures/programs/edge.ts");
/** One direct-bootstrap edge cluster next to the stage's own, so the program installs Flux and sealed-secrets itself. */
const directEdgeRun = (stage: string) =>
  runStage(stage, {
    program: EDGE_PROGRAM,
    config: { "edp:edgeClusters": [{ name: "render-direct", bootstrap: "direct" }], "edp:deployments": [] },
    secrets: { "edp:edgeKubeconfigs": { "render-direct": mockKubeconfig("render-direct") } },
  });

describe("Helm charts rendered with the program's values (real Helm)", function () {
  this.timeout(600_000);

  it("the chart cache holds every pinned chart, each with its pinned content digest", () => {
    const digests = parseDigests(fs.readFileSync(DIGESTS_FILE, "utf8"));
    const problems = Object.values(CHARTS)
      .map((pin) => (fs.existsSync(cachedArchive(pin)) ? archiveProblem(cachedArchive(pin), pin, digests) : `${path.basename(cachedArchive(pin))} is missing: run bash scripts/setup.sh`))
      .filter((p) => p !== undefined);
    assert.deepEqual(problems, []);
  });

  it("the content digest ignores packaging time and catches a changed file", function () {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "edp-digest-"));
    try {
      const archive = cachedArchive(CHARTS.sealedSecrets);
      const pinned = contentDigest(readChart(archive));
      execFileSync("tar", ["-xzf", archive, "-C", tmp]);
      // Repackaging gives new tar headers (time, owner) and so other bytes: the digest must not move.
      const repackaged = path.join(tmp, "repackaged.tgz");
      execFileSync("tar", ["-czf", repackaged, "--owner=1234", "--mtime=2001-01-01", "-C", tmp, "sealed-secrets"]);
      assert.notEqual(fs.readFileSync(repackaged).toString("hex"), fs.readFileSync(archive).toString("hex"));
      assert.equal(contentDigest(readChart(repackaged)), pinned);
      fs.appendFileSync(path.join(tmp, "sealed-secrets", "values.yaml"), "\nextra: true\n");
      const changed = path.join(tmp, "changed.tgz");
      execFileSync("tar", ["-czf", changed, "-C", tmp, "sealed-secrets"]);
      const problem = archiveProblem(changed, CHARTS.sealedSecrets, parseDigests(fs.readFileSync(DIGESTS_FILE, "utf8")));
      assert.match(String(problem), /has content digest [0-9a-f]{64}, but components\/chart-digests.txt pins/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("Helm applies a chart's values.schema.json (a value of the wrong type fails the render)", async () => {
    const release: ProgramRelease = { label: "schema probe", pin: CHARTS.certManager, release: "cert-manager", namespace: "cert-manager", values: { replicaCount: "two" } };
    await assert.rejects(renderRelease(release, { kubeVersion: "1.33.3", apiVersions: [] }), /values don't meet the specifications of the schema|replicaCount/);
  });

  it("the pinned Helm is the one scripts/install-helm.sh installs", () => {
    assert.match(execFileSync(HELM, ["version", "--template", "{{.Version}}"], { env: helmEnv() }).toString(), /^v3\.17\.2$/);
  });

  for (const stage of STAGES) {
    describe(stage, () => {
      let central: Rendered[] = [];
      let edge: Rendered[] = [];
      let storageClasses = new Set<string>();
      let all: Rendered[] = [];
      let stageRun: StageRun | undefined;

      before(async () => {
        const started = Date.now();
        const [run, direct] = await Promise.all([runStage(stage), directEdgeRun(stage)]);
        assert.equal(run.error, undefined, run.error);
        assert.equal(direct.error, undefined, direct.error);
        stageRun = run;
        const ran = Date.now();
        storageClasses = new Set([...ACK_STORAGE_CLASSES, ...run.ofType("kubernetes:storage.k8s.io/v1:StorageClass").map((s) => String((s.inputs.metadata as { name?: string }).name))]);
        const edgeReleases = [...desiredStateReleases(run), ...programReleases(direct)];
        [central, edge] = [await renderAll(programReleases(run), kubeVersion(run), CENTRAL_CRD_APIS), await renderAll(edgeReleases, EDGE_KUBE_VERSION, [])];
        all = [...central, ...edge];
        if (process.env.EDP_TIMINGS) console.log(`      ${stage}: program runs ${ran - started} ms, ${all.length} renders ${Date.now() - ran} ms`);
      });

      it("renders every release the program makes, the edge controllers included", () => {
        const charts = new Set(central.map((r) => r.release.pin.chart));
        for (const pin of [CHARTS.vault, CHARTS.ingressNginx, CHARTS.certManager, CHARTS.kubePrometheusStack, CHARTS.loki, CHARTS.promtail, CHARTS.kyverno, CHARTS.cloudnativePg]) {
          assert.ok(charts.has(pin.chart), `no central release of ${pin.chart}`);
        }
        const edgeLabels = edge.map((r) => `${r.release.pin.chart} (${r.release.label})`);
        assert.ok(edge.some((r) => r.release.pin.chart === "flux2"), `no flux2 release among ${edgeLabels.join(", ")}`);
        // Script clusters get the controller from their desired state (a HelmRelease), direct
        // clusters from the program (testing's lab cluster is direct): whichever the stage has.
        const modes = new Set((YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stage}.yaml`), "utf8")).config["edp:edgeClusters"] as { bootstrap: string }[]).map((c) => c.bootstrap));
        if (modes.has("script")) assert.ok(edge.some((r) => r.release.pin.chart === "sealed-secrets" && r.release.label.includes("HelmRelease")), `no sealed-secrets HelmRelease in a desired state among ${edgeLabels.join(", ")}`);
        if (modes.has("direct")) assert.ok(central.some((r) => r.release.pin.chart === "sealed-secrets"), `no sealed-secrets release for the stage's direct cluster among ${central.map((r) => r.release.label).join(", ")}`);
        assert.deepEqual(all.filter((r) => r.error).map((r) => r.error), []);
      });

      it("sets only values the charts have", () => {
        const unknown = all.flatMap((r) => {
          const defaults = defaultsOf(r.release.pin);
          return unknownValuePaths(r.release.values, defaults, FREE_FORM[r.release.pin.chart]).map((p) => `${r.release.label} (${r.release.pin.chart} ${r.release.pin.version}): ${p}`);
        });
        assert.deepEqual(unknown, []);
      });

      it("renders only objects valid against their schemas, each served by Kubernetes or a CRD the stage installs", async () => {
        const crds = all.flatMap((r) => r.objects.map((o) => o.object)).filter((o) => o.kind === "CustomResourceDefinition");
        const served = new Set<string>();
        for (const crd of crds) {
          const spec = crd.spec as { group: string; names: { kind: string }; versions: { name: string; served: boolean }[] };
          for (const v of spec.versions.filter((x) => x.served)) served.add(`${spec.group}/${v.name}/${spec.names.kind}`);
        }
        for (const api of CENTRAL_CRD_APIS) assert.ok(served.has(api), `${api} is passed to Helm as served, but no chart of the stage installs its CRD`);
        const failures: string[] = [];
        for (const r of all) {
          for (const o of r.objects) {
            const apiVersion = String(o.object.apiVersion);
            const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
            const isBuiltIn = group === "" || !group.includes(".") || group.endsWith(".k8s.io");
            if (!isBuiltIn && !served.has(`${apiVersion}/${String(o.object.kind)}`)) {
              failures.push(`${r.release.label}: ${describeObject(o)}: ${apiVersion} ${String(o.object.kind)} is served by no CRD the stage installs`);
              continue;
            }
            if (NO_SCHEMA_PACKAGE.has(group)) continue;
            try {
              await validateObject(o.object);
            } catch (e) {
              const message = (e as Error).message.replace(/^.*?\): /, "");
              if (SCHEMA_PACKAGE_DEVIATIONS.some((d) => d.kinds.includes(String(o.object.kind)) && d.message.test(message))) continue;
              failures.push(`${r.release.label}: ${describeObject(o)}: ${(e as Error).message.slice(0, 400)}`);
            }
          }
        }
        assert.deepEqual(failures, []);
      });

      it("gives every container a CPU and a memory limit", () => {
        assert.deepEqual(all.flatMap((r) => r.objects.flatMap((o) => missingLimits(o.object).map((m) => `${r.release.label}: ${m}`))), []);
      });

      it("runs only pinned images (no missing or latest tag)", () => {
        assert.deepEqual(all.flatMap((r) => r.objects.flatMap((o) => floatingImages(o.object).map((m) => `${r.release.label}: ${m}`))), []);
      });

      it("has only PodDisruptionBudgets that let a node drain", () => {
        assert.deepEqual(all.flatMap((r) => blockingDisruptionBudgets(r.objects.map((o) => o.object)).map((m) => `${r.release.label}: ${m}`)), []);
      });

      it("recreates instead of rolling Deployments that hold a ReadWriteOnce volume", () => {
        assert.deepEqual(all.flatMap((r) => rollingOverSingleWriterVolumes(r.objects.map((o) => o.object)).map((m) => `${r.release.label}: ${m}`)), []);
      });

      it("gives Vault a server configuration that sets disable_mlock once (Vault ≥ 1.21 refuses it twice)", () => {
        const vault = central.find((r) => r.release.pin.chart === "vault");
        const config = vault?.objects.map((o) => o.object).find((o) => o.kind === "ConfigMap" && (o.metadata as { name?: string }).name === "vault-config");
        const hcl = Object.values((config?.data ?? {}) as Record<string, string>).join("\n");
        assert.ok(hcl.includes('storage "raft"'), "no rendered Vault server configuration");
        assert.equal((hcl.match(/^\s*disable_mlock\s*=/gm) ?? []).length, 1, hcl);
      });

      it("keeps every central workload that tolerates the KubeEdge taint off edge nodes (the guide's §2.6)", () => {
        const problems = central.flatMap((r) => r.objects.flatMap((o) => edgePlacementProblems(o.object, EDGE_ROLE_LABEL, keepsOffEdgeNodes).map((m) => `${r.release.label}: ${m}`)));
        assert.deepEqual(problems, []);
        // The guide names the ingress controller: it excludes edge nodes whatever it tolerates.
        const controller = central.find((r) => r.release.pin.chart === CHARTS.ingressNginx.chart)?.objects.find((o) => o.object.kind === "Deployment" && String((o.object.metadata as { name: string }).name).endsWith("controller"));
        assert.ok(controller, "no ingress-nginx controller Deployment rendered");
        assert.ok(keepsOffEdgeNodes((controller.object.spec as { template: { spec: { affinity?: never } } }).template.spec.affinity), "the ingress controller may run on KubeEdge nodes");
      });

      // Registered only for stages whose stack file has KubeEdge nodes (testing today): no test is skipped.
      if (stageHasKubeEdgeNodes(stage)) it("renders CloudCore as the devices and kubectl logs need it", function () {
        const kubeEdge = stageRun?.resources.find((r) => r.type === "edp:kubeedge:KubeEdge");
        assert.ok(kubeEdge && stageRun, "the stack file lists KubeEdge nodes, but the program made no KubeEdge component");
        const cloudcore = central.find((r) => r.release.pin.chart === CHARTS.cloudcore.chart);
        assert.ok(cloudcore, "no cloudcore release rendered");
        const objects = cloudcore.objects.map((o) => o.object);
        const byKind = (kind: string, name: string) => objects.find((o) => o.kind === kind && (o.metadata as { name?: string }).name === name);
        const configMap = byKind("ConfigMap", "cloudcore") as { data: Record<string, string> } | undefined;
        assert.ok(configMap, "no cloudcore ConfigMap");
        const conf = (YAML.parse(configMap.data["cloudcore.yaml"]) as { modules: Record<string, Record<string, unknown>> }).modules;
        const address = String(stageRun.output("kubeEdgeCloudCoreAddress").value);
        const host = String(stageRun.output("kubeEdgeCloudCoreHost").value);
        assert.deepEqual(conf.cloudHub.advertiseAddress, [address]);
        assert.deepEqual(conf.cloudHub.dnsNames, [host]);
        assert.equal(conf.cloudStream.enable, true, "cloudStream must be on for kubectl logs/exec");
        assert.deepEqual([conf.cloudStream.streamPort, conf.cloudStream.tunnelPort], [10003, 10004]);
        assert.equal((conf.cloudHub.websocket as { port: number }).port, 10000);
        assert.equal((conf.cloudHub.quic as { port: number }).port, 10001);
        assert.equal((conf.cloudHub.https as { port: number }).port, 10002);
        const deployment = byKind("Deployment", "cloudcore") as { spec: { template: { spec: { hostNetwork?: boolean; containers: { image: string }[]; volumes: { secret?: { secretName: string } }[] } } } } | undefined;
        assert.ok(deployment);
        const pod = deployment.spec.template.spec;
        assert.notEqual(pod.hostNetwork, true, "CloudCore on the host network would escape the namespace's NetworkPolicies");
        assert.deepEqual(pod.containers.map((c) => c.image), [`kubeedge/cloudcore:${KUBEEDGE_VERSION}`]);
        // The stream certificate the program patches in is the Secret the pods mount.
        assert.ok(pod.volumes.some((v) => v.secret?.secretName === "cloudcore"));
        assert.ok(byKind("Secret", "cloudcore"), "the chart's stream Secret (patched by the program) is not rendered");
        // The program's LoadBalancer Service is the only way in; the chart's own Service is off.
        assert.equal(objects.filter((o) => o.kind === "Service" && (o.metadata as { name?: string }).name === "cloudcore").length, 0);
        const service = stageRun.ofType("kubernetes:core/v1:Service").find((r) => r.name === "kubeedge-cloudhub-service");
        const selector = (service?.inputs.spec as { selector: Record<string, string> }).selector;
        const podLabels = (deployment.spec.template as unknown as { metadata: { labels: Record<string, string> } }).metadata.labels;
        for (const [k, v] of Object.entries(selector)) assert.equal(podLabels[k], v, `the load balancer's Service selects ${k}=${v}, CloudCore's pods do not carry it`);
      });

      it("asks for volumes of at least 20 GiB with a storage class that exists, kept when their StatefulSet goes", () => {
        assert.deepEqual(all.flatMap((r) => r.objects.flatMap((o) => volumeProblems(o.object, storageClasses).map((m) => `${r.release.label}: ${m}`))), []);
      });
    });
  }
});
