import assert from "node:assert/strict";
import { placeholderUses } from "../../config/placeholders";
import {
  type ChartTemplate,
  type Deployment,
  deploymentObjects,
  deploymentValues,
  HOSTNAME_LABEL,
  mergeValues,
  placementPostRenderers,
  POD_TEMPLATE_KINDS,
  substitute,
  type KubeObject,
  TemplateError,
} from "../../components/edge/templates";
import { YAML_TEXTS_KEPT, yamlDocument } from "../../components/edge/manifests";
import { clusterUuid, deploymentUuid, URL_NAMESPACE, uuidV5 } from "../../components/edge/uuid";
import YAML from "yaml";
import { validateObject } from "../harness/k8s-schema";

const TAINT = "factoryplus.app.amrc.co.uk/specialised";
type Patch = { target: { kind: string }; patch: string };
const patchesOf = (renderers: Record<string, unknown>[]) => renderers.flatMap((r) => (r.kustomize as { patches: Patch[] }).patches);

const DNS_NAMESPACE = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";
const pinned = { uuid: "u-1", name: "press-1", hostname: "edge-01" };
const floating = { uuid: "u-2", name: "line-2" };

describe("edge: {{placeholder}} substitution", () => {
  const cases: { title: string; values: unknown; vars: { uuid: string; name: string; hostname?: string }; want: unknown }[] = [
    { title: "a whole string", values: "{{uuid}}", vars: pinned, want: "u-1" },
    { title: "inside a longer string, twice", values: "opc.tcp://{{hostname}}:4840/{{hostname}}", vars: pinned, want: "opc.tcp://edge-01:4840/edge-01" },
    { title: "inner spaces", values: "{{ name }}", vars: pinned, want: "press-1" },
    {
      title: "nested objects",
      values: { a: { b: { c: "{{name}}", d: 3, e: true, f: null } } },
      vars: pinned,
      want: { a: { b: { c: "press-1", d: 3, e: true, f: null } } },
    },
    {
      title: "arrays, also of objects",
      values: { list: ["{{uuid}}", { host: "{{hostname}}" }, ["{{name}}"]] },
      vars: pinned,
      want: { list: ["u-1", { host: "edge-01" }, ["press-1"]] },
    },
    { title: "keys are left alone", values: { "{{name}}": "x" }, vars: pinned, want: { "{{name}}": "x" } },
    { title: "floating deployment without {{hostname}}", values: { id: "{{uuid}}", n: "{{name}}" }, vars: floating, want: { id: "u-2", n: "line-2" } },
    { title: "Go-template expressions pass through", values: "{{ .Release.Name }}-{{ include \"x\" . }}", vars: pinned, want: "{{ .Release.Name }}-{{ include \"x\" . }}" },
  ];
  for (const c of cases) {
    it(`substitutes ${c.title}`, () => {
      assert.deepEqual(substitute(c.values, c.vars, c.vars.name), c.want);
    });
  }

  const errors: { title: string; values: unknown; vars: { uuid: string; name: string; hostname?: string }; want: RegExp }[] = [
    {
      title: "an unknown placeholder names the deployment, the placeholder and where it is",
      values: { collector: { node: "{{host}}" } },
      vars: pinned,
      want: /^deployment press-1: unknown placeholder \{\{host\}\} at values\.collector\.node \(known: \{\{uuid\}\}, \{\{name\}\}, \{\{hostname\}\}\)$/,
    },
    {
      title: "{{hostname}} in a floating deployment",
      values: { endpoints: ["opc.tcp://{{hostname}}:4840"] },
      vars: floating,
      want: /^deployment line-2 floats \(no hostname\) but uses \{\{hostname\}\} at values\.endpoints\[0\]; pin it/,
    },
  ];
  for (const c of errors) {
    it(`rejects ${c.title}`, () => {
      assert.throws(() => substitute(c.values, c.vars, c.vars.name), (e: unknown) => e instanceof TemplateError && c.want.test(e.message));
    });
  }

  it("lists placeholder uses with their paths (the config checks use this)", () => {
    assert.deepEqual(placeholderUses({ a: ["x{{uuid}}", { b: "{{nope}}" }] }), [
      { word: "uuid", path: "values.a[0]" },
      { word: "nope", path: "values.a[1].b" },
    ]);
  });
});

describe("edge: values merge and placement", () => {
  it("merges objects deeply and replaces arrays and scalars", () => {
    assert.deepEqual(mergeValues({ a: { b: 1, c: [1, 2] }, d: "x" }, { a: { c: [3], e: 2 }, d: { y: 1 } }), { a: { b: 1, c: [3], e: 2 }, d: { y: 1 } });
  });
  it("pins a deployment through post-renderer patches of every pod template, whatever the chart's values: host selector and the specialised toleration", () => {
    const patches = patchesOf(placementPostRenderers({ replicas: 1 }, "edge-01", TAINT));
    assert.deepEqual(patches.map((p) => p.target.kind), [POD_TEMPLATE_KINDS.join("|"), "CronJob"]);
    assert.deepEqual(POD_TEMPLATE_KINDS, ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"]);
    const podSpecs = [
      (YAML.parse(patches[0].patch) as { spec: { template: { spec: unknown } } }).spec.template.spec,
      (YAML.parse(patches[1].patch) as { spec: { jobTemplate: { spec: { template: { spec: unknown } } } } }).spec.jobTemplate.spec.template.spec,
    ];
    for (const podSpec of podSpecs) {
      assert.deepEqual(podSpec, { nodeSelector: { [HOSTNAME_LABEL]: "edge-01" }, tolerations: [{ key: TAINT, operator: "Exists", effect: "NoSchedule" }] });
    }
  });
  it("keeps the deployment's own conventional tolerations, since the patch replaces the pod's list", () => {
    const patches = patchesOf(placementPostRenderers({ tolerations: [{ key: "x", operator: "Exists" }] }, "edge-01", "example.com/special"));
    const podSpec = (YAML.parse(patches[0].patch) as { spec: { template: { spec: { tolerations: unknown[] } } } }).spec.template.spec;
    assert.deepEqual(podSpec.tolerations, [{ key: "x", operator: "Exists" }, { key: "example.com/special", operator: "Exists", effect: "NoSchedule" }]);
  });
  it("gives a floating deployment no post-renderer (the taint keeps it off specialised hosts)", () => {
    assert.deepEqual(placementPostRenderers({ a: 1 }, undefined, TAINT), []);
  });
});

describe("edge: UUIDs", () => {
  it("computes RFC 9562 version-5 UUIDs (published test vector)", () => {
    assert.equal(uuidV5("www.example.com", DNS_NAMESPACE), "2ed6657d-e927-568b-95e1-2665a8aea6a2");
    assert.match(uuidV5("x", URL_NAMESPACE), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
  it("gives a deployment the same {{uuid}} on every run, and a different one per stage, cluster or name", () => {
    const a = deploymentUuid("testing", "lab-line-1", "press-1");
    assert.equal(deploymentUuid("testing", "lab-line-1", "press-1"), a);
    assert.equal(new Set([a, deploymentUuid("staging", "lab-line-1", "press-1"), deploymentUuid("testing", "lab-line-2", "press-1"), deploymentUuid("testing", "lab-line-1", "press-2")]).size, 4);
    assert.notEqual(clusterUuid("testing", "lab-line-1"), a);
  });
});

describe("edge: HelmReleases from chart templates", () => {
  const templates: Record<string, ChartTemplate> = {
    collector: {
      chart: "opcua-collector",
      repository: "https://charts.example-edp.net/edge",
      version: "0.9.2",
      values: { deviceId: "{{uuid}}", collector: { node: "{{hostname}}", endpoints: ["opc.tcp://{{hostname}}:4840"] } },
    },
    floating: { chart: "opcua-collector", repository: "https://charts.example-edp.net/edge", version: "0.9.2", values: { deviceId: "{{uuid}}", instance: "{{name}}" } },
    oci: { chart: "modbus-rest", repository: "oci://registry.example-edp.net/charts", version: "1.2.0", values: {} },
  };
  const deployments: Deployment[] = [
    { name: "press-1", template: "collector", cluster: "c1", hostname: "edge-01", values: { collector: { interval: "1s" } } },
    { name: "line", template: "floating", cluster: "c1", values: { collector: { endpoints: ["opc.tcp://plc:4840"] } } },
    { name: "modbus", template: "oci", cluster: "c1", values: {} },
    { name: "other", template: "floating", cluster: "c2", values: {} },
  ];

  it("renders only the cluster's deployments, one HelmRepository per repository URL, all valid against the Flux schemas", async () => {
    const objects = deploymentObjects("testing", "c1", deployments, templates, TAINT);
    assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`).filter((n) => n.startsWith("HelmRelease")), ["HelmRelease/line", "HelmRelease/modbus", "HelmRelease/press-1"]);
    const repos = objects.filter((o) => o.kind === "HelmRepository");
    assert.equal(repos.length, 2);
    const oci = repos.find((r) => (r.spec as { url: string }).url.startsWith("oci://"));
    assert.ok(oci, "no oci HelmRepository");
    assert.equal((oci.spec as { type?: string }).type, "oci");
    const https = repos.find((r) => (r.spec as { url: string }).url.startsWith("https://"));
    assert.ok(https, "no https HelmRepository");
    assert.equal((https.spec as { type?: string }).type, undefined);
    for (const o of objects) await validateObject(o);
  });

  it("puts placement on pinned HelmReleases only, as post-renderers, not values", () => {
    const objects = deploymentObjects("testing", "c1", deployments, templates, TAINT);
    const spec = (n: string) => objects.find((o) => o.kind === "HelmRelease" && o.metadata.name === n)?.spec as { postRenderers?: unknown[]; values: Record<string, unknown> };
    assert.equal(spec("press-1").postRenderers?.length, 1);
    assert.equal(spec("line").postRenderers, undefined);
    assert.equal(spec("modbus").postRenderers, undefined);
    assert.equal(spec("press-1").values.nodeSelector, undefined);
  });

  it("fills values: deployment values merged over the template's, placeholders substituted", () => {
    const pinnedValues = deploymentValues("testing", deployments[0], templates.collector);
    assert.deepEqual(pinnedValues, {
      deviceId: deploymentUuid("testing", "c1", "press-1"),
      collector: { node: "edge-01", endpoints: ["opc.tcp://edge-01:4840"], interval: "1s" },
    });
    const floatingValues = deploymentValues("testing", deployments[1], templates.floating);
    assert.deepEqual(floatingValues, { deviceId: deploymentUuid("testing", "c1", "line"), instance: "line", collector: { endpoints: ["opc.tcp://plc:4840"] } });
  });

  it("stops on a floating deployment whose template needs {{hostname}}", () => {
    assert.throws(() => deploymentObjects("testing", "c1", [{ name: "f", template: "collector", cluster: "c1", values: {} }], templates, TAINT), /deployment f floats/);
  });
});

describe("edge: YAML text of desired-state objects (reused for equal objects)", () => {
  const fresh = (o: KubeObject) => YAML.stringify(o, { lineWidth: 0 }).trimEnd();
  const object = (i: number, order: "ab" | "ba" = "ab"): KubeObject => {
    const data = order === "ab" ? { a: `value ${i}`, b: "x" } : { b: "x", a: `value ${i}` };
    return { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `cm-${i}`, labels: { "app.kubernetes.io/managed-by": "edp" } }, data };
  };

  it("gives every object exactly the text YAML gives it, past the number of texts kept, and for a repeated object", () => {
    for (let i = 0; i < YAML_TEXTS_KEPT * 2 + 3; i++) {
      const o = object(i % (YAML_TEXTS_KEPT + 7));
      assert.equal(yamlDocument(o), fresh(o), `object ${i}`);
    }
  });

  it("does not mistake objects that differ only in key order or in a nested value", () => {
    assert.equal(yamlDocument(object(1, "ab")), fresh(object(1, "ab")));
    assert.equal(yamlDocument(object(1, "ba")), fresh(object(1, "ba")));
    assert.notEqual(yamlDocument(object(1, "ab")), yamlDocument(object(1, "ba")));
    const changed = object(1);
    (changed.metadata as { labels: Record<string, string> }).labels["app.kubernetes.io/managed-by"] = "someone-else";
    assert.match(yamlDocument(changed), /someone-else/);
    const undefinedValue = { ...object(2), data: { a: "1", b: undefined } } as unknown as KubeObject;
    assert.equal(yamlDocument(undefinedValue), fresh(undefinedValue));
  });
});
