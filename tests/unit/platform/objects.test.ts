import assert from "node:assert/strict";
import { STAGES } from "../../../config";
import { validateObject } from "../../harness/k8s-schema";
import { runPlatform } from "./run";

type Obj = Record<string, unknown>;

/** The pod spec inside a workload object, if it has one. */
function podSpecOf(manifest: Obj): Obj | undefined {
  const spec = manifest.spec as Obj | undefined;
  switch (manifest.kind) {
    case "Pod":
      return spec;
    case "Deployment":
    case "StatefulSet":
    case "DaemonSet":
    case "ReplicaSet":
    case "Job":
      return (spec?.template as Obj | undefined)?.spec as Obj | undefined;
    case "CronJob":
      return (((spec?.jobTemplate as Obj)?.spec as Obj)?.template as Obj)?.spec as Obj | undefined;
    default:
      return undefined;
  }
}

describe("every Kubernetes object of the platform", function () {
  this.timeout(300_000);

  for (const stage of STAGES) {
    it(`${stage}: validates against its schema`, async () => {
      const run = await runPlatform(stage);
      assert.equal(run.error, undefined, run.error);
      const objects = run.kubernetesObjects();
      assert.ok(objects.length > 30, `only ${objects.length} objects`);
      const problems: string[] = [];
      for (const { manifest } of objects) {
        try {
          await validateObject(manifest);
        } catch (e) {
          problems.push((e as Error).message);
        }
      }
      assert.deepEqual(problems, []);
    });

    it(`${stage}: creates every Kubernetes object and Helm release through the central cluster's provider`, async () => {
      const run = await runPlatform(stage);
      const k8sResources = run.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:") && !r.name.startsWith("standin-"));
      assert.ok(k8sResources.length > 30);
      for (const r of k8sResources) assert.match(r.options.provider ?? "", /\$pulumi:providers:kubernetes::central$/, `${r.type} ${r.name}`);
    });

    it(`${stage}: installs charts that create ServiceMonitors only after the monitoring stack (its CRDs)`, async () => {
      const run = await runPlatform(stage);
      const releases = run.ofType("kubernetes:helm.sh/v3:Release");
      const stack = releases.find((r) => r.inputs.chart === "kube-prometheus-stack");
      assert.ok(stack);
      for (const chart of ["ingress-nginx", "cert-manager", "kyverno", "loki"]) {
        const r = releases.find((x) => x.inputs.chart === chart);
        assert.ok(r, chart);
        // The dependency is either on the release itself or on the component that holds it.
        const ancestors = (urn: string | undefined): string[] => {
          const res = run.resources.find((x) => x.urn === urn);
          return res ? [...res.options.dependsOn, ...ancestors(res.parent)] : [];
        };
        assert.ok(ancestors(r.urn).includes(stack.urn), `${chart} does not wait for kube-prometheus-stack`);
      }
    });

    it(`${stage}: has no container without CPU and memory limits`, async () => {
      const run = await runPlatform(stage);
      let containers = 0;
      for (const { manifest } of run.kubernetesObjects()) {
        const pod = podSpecOf(manifest);
        if (!pod) continue;
        for (const c of [...((pod.initContainers as Obj[]) ?? []), ...((pod.containers as Obj[]) ?? [])]) {
          containers++;
          const limits = ((c.resources as Obj | undefined)?.limits ?? {}) as Obj;
          assert.ok(limits.cpu && limits.memory, `${manifest.kind} ${(manifest.metadata as Obj).name}: container ${c.name} lacks limits`);
        }
      }
      assert.ok(containers >= 10);
    });
  }
});

describe("protection of what cannot be re-created", function () {
  this.timeout(300_000);
  for (const stage of STAGES) {
    it(`${stage}: the CA, the DDM SSH key, metrics and logs are protected only in production`, async () => {
      const run = await runPlatform(stage);
      const expected = stage === "production";
      const protectedOnes = [
        ...run.ofType("tls:index/privateKey:PrivateKey"),
        ...run.ofType("tls:index/selfSignedCert:SelfSignedCert"),
        ...run.ofType("kubernetes:helm.sh/v3:Release").filter((r) => ["kube-prometheus-stack", "loki"].includes(String(r.inputs.chart))),
      ];
      assert.equal(protectedOnes.length, 5);
      for (const r of protectedOnes) assert.equal(r.options.protect, expected, `${r.type} ${r.name}`);
      const promtail = run.ofType("kubernetes:helm.sh/v3:Release").find((r) => r.inputs.chart === "promtail");
      assert.equal(promtail?.options.protect, false);
    });
  }
});
