/**
 * The whole program per stage: every Kubernetes object it creates is valid against its schema,
 * every container has resource limits, and no Secret or ConfigMap holds Vault's keys.
 */
import assert from "node:assert/strict";
import YAML from "yaml";
import { DATABASE_NAME } from "../../components/postgres/plan";
import { STAGES } from "../../config";
import { validateObject } from "../harness/k8s-schema";
import { publishedTexts, strings } from "../harness/published";
import { runStage } from "../harness/stage";

/** CRDs of controllers that publish no schema package; their shape is asserted in their component's tests. */
const NO_SCHEMA_PACKAGE = new Set(["postgresql.cnpg.io/v1"]);

/**
 * An anchor or alias as a YAML library writes one when an object occurs twice in what it
 * serialises: the yaml library's `&a1`/`*a1`, js-yaml's `&ref_0`/`*ref_0`.
 */
const YAML_LIBRARY_ALIAS = /(?:^|[\s[{,])[&*](?:a|ref_)\d+(?=$|[\s\]},])/m;

interface Container {
  name: string;
  resources?: { limits?: Record<string, unknown> };
}

/** Containers of any workload manifest (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod). */
function containersOf(manifest: Record<string, unknown>): Container[] {
  const spec = manifest.spec as Record<string, unknown> | undefined;
  const podSpec = (s: Record<string, unknown> | undefined) => {
    const pod = s as { containers?: Container[]; initContainers?: Container[] } | undefined;
    return [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])];
  };
  switch (manifest.kind) {
    case "Pod":
      return podSpec(spec);
    case "CronJob":
      return podSpec(((spec?.jobTemplate as { spec?: { template?: { spec?: Record<string, unknown> } } })?.spec?.template?.spec));
    default:
      return podSpec((spec?.template as { spec?: Record<string, unknown> } | undefined)?.spec);
  }
}

describe("the whole program", function () {
  this.timeout(300_000);

  for (const stage of STAGES) {
    describe(stage, () => {
      it("creates only Kubernetes objects that are valid against their schemas", async () => {
        const run = await runStage(stage);
        assert.equal(run.error, undefined, run.error);
        const objects = run.kubernetesObjects();
        assert.ok(objects.length > 50, `only ${objects.length} Kubernetes objects`);
        const failures: string[] = [];
        let validated = 0;
        for (const { manifest } of objects) {
          if (NO_SCHEMA_PACKAGE.has(String(manifest.apiVersion))) continue;
          try {
            await validateObject(manifest);
            validated++;
          } catch (e) {
            failures.push((e as Error).message);
          }
        }
        assert.deepEqual(failures, []);
        assert.ok(validated >= objects.length - 20, "most objects must have a schema");
      });

      it("gives every container resource limits", async () => {
        const run = await runStage(stage);
        const missing: string[] = [];
        for (const { manifest } of run.kubernetesObjects()) {
          for (const c of containersOf(manifest)) {
            if (!c.resources?.limits || Object.keys(c.resources.limits).length === 0) {
              missing.push(`${String(manifest.kind)} ${(manifest.metadata as { name?: string })?.name}/${c.name}`);
            }
          }
        }
        assert.deepEqual(missing, []);
      });

      it("backs up and drills exactly the PostgreSQL databases it creates, each with a name the scripts accept", async () => {
        const run = await runStage(stage);
        const objects = run.kubernetesObjects().map((o) => o.manifest as { kind?: string; metadata?: { name?: string }; spec?: Record<string, unknown> });
        const created = new Set<string>();
        for (const m of objects) {
          if (m.kind === "Database" && typeof m.spec?.name === "string") created.add(m.spec.name);
          const initdb = (m.kind === "Cluster" ? (m.spec?.bootstrap as { initdb?: { database?: string } } | undefined)?.initdb : undefined)?.database;
          if (initdb) created.add(initdb);
        }
        assert.ok(created.size > 0, "no PostgreSQL database in the program");
        for (const job of ["pgbackup", "pgdrill"]) {
          const cron = objects.find((m) => m.kind === "CronJob" && m.metadata?.name === job);
          const env = containersOf(cron as Record<string, unknown>).flatMap((c) => (c as { env?: { name: string; value?: string }[] }).env ?? []);
          const listed = env.find((e) => e.name === "PGBACKUP_DATABASES")?.value?.split("\n") ?? [];
          assert.deepEqual([...listed].sort(), [...created].sort(), `${job} does not get exactly the databases the program creates`);
          for (const db of listed) assert.match(db, DATABASE_NAME);
        }
      });

      it("publishes no YAML anchor or alias: every text it writes spells each object out", async () => {
        // Kubernetes' tools treat them differently (kustomize's kyaml mishandled them from 3.9 to
        // 4.4); the edge status writer's CronJob carried one, for a security context used twice.
        const texts = publishedTexts(await runStage(stage));
        const found: string[] = [];
        for (const { where, text } of texts) {
          const m = YAML_LIBRARY_ALIAS.exec(text);
          if (m) found.push(`${where}: ${JSON.stringify(text.slice(Math.max(0, m.index - 60), m.index + 20))}`);
        }
        assert.ok(texts.length > 50, `only ${texts.length} multi-line texts in the program`);
        assert.deepEqual(found, []);
      });

      it("publishes YAML that a YAML 1.1 reader (kubectl, Helm, cloud-init) reads as a YAML 1.2 reader does", async () => {
        // kubectl and Helm read through go-yaml v2 and cloud-init through PyYAML, both YAML 1.1:
        // an unquoted no, on, y or 2026-01-01 is a boolean or a date to them (components/shared/yaml.ts).
        const differ: string[] = [];
        let texts = 0;
        for (const { where, text } of publishedTexts(await runStage(stage))) {
          const docs = YAML.parseAllDocuments(text);
          if (docs.some((d) => d.errors.length > 0)) continue;
          const v12 = docs.map((d) => d.toJS() as unknown);
          if (!v12.some((d) => d !== null && typeof d === "object")) continue;
          texts++;
          const v11 = YAML.parseAllDocuments(text, { version: "1.1", uniqueKeys: false }).map((d) => (d.errors.length > 0 ? d.errors[0].message : (d.toJS() as unknown)));
          if (JSON.stringify(v11) !== JSON.stringify(v12)) differ.push(where);
        }
        assert.ok(texts > 15, `only ${texts} YAML texts in the program`);
        assert.deepEqual(differ, []);
      });

      it("keeps each component's registered outputs, which the state stores, to small facts (≤ 4 KiB)", async () => {
        // Edge bootstrap scripts (about 14 KB a cluster) and site enrolment scripts were stored
        // three times over: in each component, in its parent, and in the stack outputs.
        const run = await runStage(stage);
        const components = run.resources.filter((r) => !r.custom);
        assert.ok(components.length > 10);
        const registered = components.filter((r) => r.registeredOutputs !== undefined);
        assert.ok(registered.length >= components.length / 2, `only ${registered.length} of ${components.length} components registered outputs the run saw`);
        const big = registered
          .map((r) => [r, Buffer.byteLength(JSON.stringify(r.registeredOutputs))] as const)
          .filter(([, bytes]) => bytes > 4096)
          .map(([r, bytes]) => `${r.type} ${r.name}: ${bytes} bytes (${Object.keys(r.registeredOutputs ?? {}).join(", ")})`);
        assert.deepEqual(big, []);
      });

      it("keeps Vault's unseal or recovery keys out of every Secret and ConfigMap", async () => {
        const run = await runStage(stage);
        const keys = strings(run.output("vaultKeys").value).filter((k) => k.length >= 16);
        assert.equal(run.output("vaultKeys").secret, true);
        assert.ok(keys.length > 0, "the mock Vault init gave no keys to look for");
        for (const { manifest } of run.kubernetesObjects()) {
          if (manifest.kind !== "Secret" && manifest.kind !== "ConfigMap") continue;
          const payload = strings([manifest.data, manifest.stringData, manifest.binaryData]).join("\n");
          for (const k of keys) assert.ok(!payload.includes(k), `${String(manifest.kind)} ${(manifest.metadata as { name?: string }).name} holds a Vault key`);
        }
      });
    });
  }
});
