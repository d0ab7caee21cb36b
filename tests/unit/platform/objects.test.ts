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
