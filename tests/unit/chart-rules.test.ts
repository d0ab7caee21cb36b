/** The pure checks the chart rendering test applies: value paths against a chart's defaults, and the platform's object rules. */
import assert from "node:assert/strict";
import { parseDigests } from "../../scripts/lib/chart-cache";
import { type ChartDefaults, unknownValuePaths } from "../harness/chart-values";
import { EDGE_ROLE_LABEL, excludeEdgeNodes, keepsOffEdgeNodes } from "../../components/kubeedge";
import { blockingDisruptionBudgets, edgePlacementProblems, floatingImages, missingLimits, quantityBytes, rollingOverSingleWriterVolumes, volumeProblems } from "../harness/platform-rules";

const CHART: ChartDefaults = {
  values: {
    controller: { replicaCount: 1, resources: { requests: { cpu: "100m" } }, podAnnotations: {}, affinity: null, image: { tag: "1.0" } },
    admissionWebhooks: { createSecretJob: { resources: {} } },
    args: [],
  },
  dependencies: { grafana: { values: { persistence: { enabled: false }, "grafana.ini": { server: {} } }, dependencies: {} } },
  read: new Set(["cli.resources", "controller.image.digest"]),
};

describe("chart values: unknownValuePaths", () => {
  const cases: [string, Record<string, unknown>, string[], string[]?][] = [
    ["a key the chart has", { controller: { replicaCount: 2 } }, []],
    ["a misspelled key, with its path", { controller: { replicaCout: 2 } }, ["controller.replicaCout"]],
    ["a moved key (ingress-nginx's admission job resources)", { admissionWebhooks: { patch: { resources: {} } } }, ["admissionWebhooks.patch"]],
    ["anything below an empty map", { controller: { podAnnotations: { "a/b": "c" } } }, []],
    ["anything below a null default", { controller: { affinity: { nodeAffinity: {} } } }, []],
    ["limits beside default requests", { controller: { resources: { limits: { cpu: "1" } } } }, []],
    ["a stray key in resources", { controller: { resources: { limit: { cpu: "1" } } } }, ["controller.resources.limit"]],
    ["a map where the chart has a scalar", { controller: { image: { tag: { x: 1 } } } }, ['controller.image.tag (a map, where the chart\'s default is "1.0")']],
    ["lists are values", { args: [{ anything: true }] }, []],
    ["a dependency's keys under its name", { grafana: { persistence: { size: "20Gi" } } }, ["grafana.persistence.size"]],
    ["a documented free-form map", { grafana: { "grafana.ini": { "auth.generic_oauth": { enabled: true } } } }, [], ['grafana["grafana.ini"]']],
    ["a key with a dot, quoted", { grafana: { "grafana.ini": { "auth.generic_oauth": { enabled: true } } } }, ['grafana["grafana.ini"]["auth.generic_oauth"]']],
    ["global is Helm's shared map", { global: { anything: 1 } }, []],
    ["a key values.yaml leaves out but a template reads", { cli: { resources: { limits: {} } }, controller: { image: { digest: "sha256:x" } } }, ["cli"]],
  ];
  for (const [what, values, expected, free] of cases) {
    it(what, () => assert.deepEqual(unknownValuePaths(values, CHART, free), expected));
  }
});

const deployment = (replicas: number, labels: Record<string, string>, containers: Record<string, unknown>[]) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "d", namespace: "ns" },
  spec: { replicas, template: { metadata: { labels }, spec: { containers } } },
});
const pdb = (spec: Record<string, unknown>) => ({ apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: "p", namespace: "ns" }, spec: { selector: { matchLabels: { app: "a" } }, ...spec } });

describe("platform rules on rendered objects", () => {
  it("limits: cpu and memory on every container", () => {
    const ok = { name: "c", image: "x:1", resources: { limits: { cpu: "1", memory: "1Gi" } } };
    assert.deepEqual(missingLimits(deployment(1, {}, [ok])), []);
    assert.deepEqual(missingLimits(deployment(1, {}, [{ ...ok, resources: { limits: { memory: "1Gi" } } }])), ["Deployment ns/d: container c has no cpu limit"]);
    assert.deepEqual(missingLimits(deployment(1, {}, [{ name: "c" }])), ["Deployment ns/d: container c has no cpu and memory limit"]);
  });

  it("images: a tag or digest, never latest", () => {
    const table: [string, number][] = [["repo/x:1.2", 0], ["registry:5000/x@sha256:abc", 0], ["registry:5000/x", 1], ["x:latest", 1], ["x", 1]];
    for (const [image, n] of table) assert.equal(floatingImages(deployment(1, {}, [{ name: "c", image }])).length, n, image);
  });

  it("PDBs: a drain must be possible", () => {
    const d2 = deployment(2, { app: "a" }, []);
    const d1 = deployment(1, { app: "a" }, []);
    const table: [string, Record<string, unknown>[], number][] = [
      ["minAvailable 1 of 2", [d2, pdb({ minAvailable: 1 })], 0],
      ["minAvailable 1 of 1", [d1, pdb({ minAvailable: 1 })], 1],
      ["minAvailable 100%", [d2, pdb({ minAvailable: "100%" })], 1],
      ["minAvailable 50% of 2", [d2, pdb({ minAvailable: "50%" })], 0],
      ["maxUnavailable 0", [d2, pdb({ maxUnavailable: 0 })], 1],
      ["maxUnavailable 1 of 1", [d1, pdb({ maxUnavailable: 1 })], 0],
      ["covers nothing", [deployment(2, { app: "b" }, []), pdb({ minAvailable: 1 })], 1],
    ];
    for (const [what, objects, n] of table) assert.equal(blockingDisruptionBudgets(objects).length, n, what);
  });

  it("volumes: at least 20 GiB, a storage class that exists, kept with their StatefulSet", () => {
    const pvc = (storage: string, storageClassName?: string) => ({ kind: "PersistentVolumeClaim", metadata: { name: "v" }, spec: { storageClassName, resources: { requests: { storage } } } });
    const classes = new Set(["edp-disk"]);
    assert.deepEqual(volumeProblems(pvc("20Gi", "edp-disk"), classes), []);
    assert.equal(volumeProblems(pvc("10Gi", "edp-disk"), classes).length, 1);
    assert.equal(volumeProblems(pvc("20Gi"), classes).length, 1);
    assert.match(volumeProblems(pvc("30Gi", "other"), classes)[0], /storage class other does not exist/);
    const sts = { kind: "StatefulSet", metadata: { name: "s" }, spec: { volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { resources: { requests: { storage: "5Gi" } } } }] } };
    assert.equal(volumeProblems(sts, classes).length, 2);
    const deleting = { ...sts, spec: { ...sts.spec, volumeClaimTemplates: [], persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Retain" } } };
    assert.deepEqual(volumeProblems(deleting, classes), ["StatefulSet s: persistentVolumeClaimRetentionPolicy.whenDeleted is Delete, so its volumes (and their data) go with the StatefulSet"]);
    assert.equal(quantityBytes("20Gi"), 20 * 1024 ** 3);
    assert.equal(quantityBytes("25G"), 25e9);
  });

  it("deployments on a ReadWriteOnce claim recreate instead of rolling", () => {
    const claim = { kind: "PersistentVolumeClaim", metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"] } };
    const withVolume = (strategy?: string) => ({
      kind: "Deployment",
      metadata: { name: "g", namespace: "ns" },
      spec: { ...(strategy ? { strategy: { type: strategy } } : {}), template: { spec: { containers: [], volumes: [{ name: "v", persistentVolumeClaim: { claimName: "data" } }] } } },
    });
    assert.equal(rollingOverSingleWriterVolumes([claim, withVolume()]).length, 1);
    assert.equal(rollingOverSingleWriterVolumes([claim, withVolume("RollingUpdate")]).length, 1);
    assert.deepEqual(rollingOverSingleWriterVolumes([claim, withVolume("Recreate")]), []);
    assert.deepEqual(rollingOverSingleWriterVolumes([{ ...claim, spec: { accessModes: ["ReadWriteMany"] } }, withVolume()]), []);
  });

  it("KubeEdge: a workload that tolerates the edge taint must exclude edge nodes, unless it is meant for them", () => {
    const ds = (tolerations: Record<string, unknown>[], affinity?: Record<string, unknown>) => ({
      kind: "DaemonSet",
      metadata: { name: "d", namespace: "ns" },
      spec: { template: { spec: { containers: [], tolerations, ...(affinity ? { affinity } : {}) } } },
    });
    const requireEdge = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: EDGE_ROLE_LABEL, operator: "Exists" }] }] } } };
    const table: [string, Record<string, unknown>, number][] = [
      ["tolerates nothing", ds([]), 0],
      ["tolerates every NoSchedule taint (node-exporter's default)", ds([{ operator: "Exists", effect: "NoSchedule" }]), 1],
      ["tolerates everything (kube-proxy)", ds([{ operator: "Exists" }]), 1],
      ["tolerates the edge taint by key", ds([{ key: EDGE_ROLE_LABEL, operator: "Exists" }]), 1],
      ["tolerates only NoExecute", ds([{ operator: "Exists", effect: "NoExecute" }]), 0],
      ["tolerates another key", ds([{ key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" }]), 0],
      ["tolerates everything but excludes edge nodes", ds([{ operator: "Exists" }], excludeEdgeNodes(undefined)), 0],
      ["meant for edge nodes (the chart's MQTT broker)", ds([{ key: EDGE_ROLE_LABEL, operator: "Exists", effect: "NoSchedule" }], requireEdge), 0],
    ];
    for (const [what, o, n] of table) assert.equal(edgePlacementProblems(o, EDGE_ROLE_LABEL, keepsOffEdgeNodes).length, n, what);
  });

  it("chart digests file: malformed and duplicate lines are named", () => {
    assert.equal(parseDigests(`# c\nx-1.0.0.tgz ${"a".repeat(64)}\n`).get("x-1.0.0.tgz"), "a".repeat(64));
    assert.throws(() => parseDigests("x-1.0.0.tgz abc\n"), /chart-digests.txt:1: expected/);
    assert.throws(() => parseDigests(`x.tgz ${"a".repeat(64)}\nx.tgz ${"b".repeat(64)}\n`), /:2: x.tgz is pinned twice/);
  });
});
