/**
 * KubeEdge edge nodes (seed 003): the config rules, the join command (shellchecked, and parsed by
 * a real shell into exactly the arguments keadm gets), the affinity merge, the API calls of the
 * dynamic resources against a stand-in API server on loopback, and the component under mocks for
 * every stage (testing has two nodes).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError, parseStageConfig, STAGES } from "../../config";
import { EDGE_ROLE_LABEL as CONFIG_EDGE_ROLE_LABEL } from "../../config/kubeedge";
import { excludeEdgeFromDaemonSet, kubeClient, readToken, removeNode } from "../../components/kubeedge/cluster-api";
import { type JoinInput, joinArgs, joinCommand } from "../../components/kubeedge/join";
import { nodeProvider } from "../../components/kubeedge/providers";
import { cloudHubService, kubeEdgeNetworkPolicies } from "../../components/kubeedge/manifests";
import {
  edgeMeshAgentConfig,
  edgeMeshAgentDaemonSet,
  edgeMeshAgentTolerations,
  edgeMeshClusterRole,
  edgeMeshClusterRoleBinding,
  edgeMeshConfigMap,
  edgeMeshRelayDeployment,
  edgeMeshRelayPolicy,
  edgeMeshRelays,
  edgeMeshRelayService,
  edgeMeshServiceAccount,
} from "../../components/kubeedge/edgemesh";
import { CLOUDCORE_PORTS, EDGE_ROLE_LABEL, excludeEdgeNodes, keepsOffEdgeNodes } from "../../components/kubeedge/values";
import { kubeEdgeDeploymentUuid, kubeEdgeDeploymentValues } from "../../components/kubeedge/workloads";
import { IMAGES, KUBEEDGE_VERSION } from "../../components/versions";
import YAML from "yaml";
import { edgePlacementProblems, floatingImages, missingLimits } from "../harness/platform-rules";
import { RESOURCE_OUTPUTS } from "../../scripts/lib/mock-outputs";
import { stageRawConfig } from "../harness/config";
import { validateObject } from "../harness/k8s-schema";
import { DependencyGraph } from "../harness/graph";
import { beforeStage, runStage, type StageRun } from "../harness/stage";

const TESTING_KUBEEDGE = {
  nodes: [
    { name: "lab-kubeedge-01", labels: { "edp.daim.io/site": "lab" } },
    { name: "lab-kubeedge-02", taints: [{ key: "edp/specialised", effect: "NoSchedule" }] },
  ],
};

function problems(stage: string, kubeEdge: unknown, extra: Record<string, unknown> = {}): string[] {
  const raw = stageRawConfig(stage);
  raw.values["edp:kubeEdge"] = JSON.stringify(kubeEdge);
  for (const [k, v] of Object.entries(extra)) raw.values[k] = JSON.stringify(v);
  try {
    parseStageConfig(raw);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems.filter((p) => p.key.startsWith("edp:kubeEdge")).map((p) => `${p.key}: ${p.message}`);
  }
}

describe("KubeEdge config (edp:kubeEdge)", () => {
  it("is absent when the stack file leaves it at the project default {}", () => {
    const raw = stageRawConfig("staging");
    raw.values["edp:kubeEdge"] = "{}";
    assert.equal(parseStageConfig(raw).kubeEdge, undefined);
  });

  it("fills defaults: a dedicated load balancer, websocket, containerd, systemd, EdgeMesh off", () => {
    const raw = stageRawConfig("testing");
    const ke = parseStageConfig(raw).kubeEdge;
    assert.ok(ke);
    assert.deepEqual(
      { lb: ke.loadBalancer, proto: ke.hubProtocol, cri: ke.runtimeEndpoint, cg: ke.cgroupDriver, mesh: ke.edgeMesh, cloudRelay: ke.edgeMeshCloudRelay, relays: ke.edgeMeshRelayNodes, nodes: ke.nodes.length },
      { lb: "dedicated", proto: "websocket", cri: "unix:///run/containerd/containerd.sock", cg: "systemd", mesh: false, cloudRelay: true, relays: [], nodes: 2 },
    );
  });

  const cases: [string, string, unknown, RegExp[], Record<string, unknown>?][] = [
    ["a valid block", "testing", TESTING_KUBEEDGE, []],
    ["a duplicate node", "testing", { nodes: [{ name: "a" }, { name: "a" }] }, [/edp:kubeEdge\.nodes\[1\]\.name: a is used by another node \(edp:kubeEdge\.nodes\[0\]\.name\)/]],
    ["a node name that is no DNS label", "testing", { nodes: [{ name: "Edge_1" }] }, [/edp:kubeEdge\.nodes\[0\]\.name: must be a DNS-1123 label/]],
    ["a label key in the kubernetes.io namespace", "testing", { nodes: [{ name: "a", labels: { "node-role.kubernetes.io/worker": "" } }] }, [/labels\.node-role\.kubernetes\.io\/worker: is in a namespace reserved for Kubernetes/]],
    ["a label value that is not one", "testing", { nodes: [{ name: "a", labels: { site: "two words" } }] }, [/labels\.site: is not a Kubernetes label value/]],
    ["a taint effect Kubernetes does not have", "testing", { nodes: [{ name: "a", taints: [{ key: "x", effect: "NoRun" }] }] }, [/taints\[0\]\.effect:/]],
    ["the edge role taint again", "testing", { nodes: [{ name: "a", taints: [{ key: "node-role.kubernetes.io/edge", effect: "NoSchedule" }] }] }, [/taints\[0\]: is the edge role taint every KubeEdge node already gets/]],
    ["a taint twice", "testing", { nodes: [{ name: "a", taints: [{ key: "x", effect: "NoSchedule" }, { key: "x", value: "y", effect: "NoSchedule" }] }] }, [/taints\[1\]: x:NoSchedule is listed twice/]],
    ["a runtime endpoint that is no socket", "testing", { runtimeEndpoint: "tcp://10.0.0.1:2375" }, [/runtimeEndpoint: is not a CRI socket/]],
    ["an unknown key", "testing", { node: [] }, [/edp:kubeEdge/]],
    ["one CloudCore in production", "production", { nodes: [{ name: "a" }] }, [/edp:kubeEdge\.replicas: is 1; production runs CloudCore on at least 2 pods/]],
    ["two CloudCores in production", "production", { replicas: 2, nodes: [{ name: "a" }] }, []],
    ["a deployment on a node that is not listed", "testing", { nodes: [{ name: "a" }], deployments: [{ name: "d", template: "opcua-collector", node: "b" }] }, [/deployments\[0\]\.node: "b" is not in edp:kubeEdge\.nodes \(a\)/]],
    ["a deployment of an unknown template", "testing", { nodes: [{ name: "a" }], deployments: [{ name: "d", template: "nope", node: "a" }] }, [/deployments\[0\]\.template: "nope" is not in edp:chartTemplates/]],
    ["two deployments of one name", "testing", { nodes: [{ name: "a" }], deployments: [{ name: "d", template: "opcua-collector", node: "a" }, { name: "d", template: "opcua-collector", node: "a" }] }, [/deployments\[1\]\.name: d is used by another KubeEdge deployment/]],
    ["EdgeMesh with the cloud relay and a relay node", "testing", { edgeMesh: true, nodes: [{ name: "a" }, { name: "b" }], edgeMeshRelayNodes: [{ node: "a", addresses: ["203.0.113.7", "192.168.10.2", "2001:db8::7"] }] }, []],
    ["EdgeMesh with relay nodes only", "testing", { edgeMesh: true, edgeMeshCloudRelay: false, nodes: [{ name: "a" }], edgeMeshRelayNodes: [{ node: "a", addresses: ["203.0.113.7"] }] }, []],
    ["EdgeMesh without any relay", "testing", { edgeMesh: true, edgeMeshCloudRelay: false, nodes: [{ name: "a" }] }, [/edgeMeshCloudRelay: is false and edgeMeshRelayNodes is empty/]],
    ["EdgeMesh relays while EdgeMesh is off", "testing", { nodes: [{ name: "a" }], edgeMeshRelayNodes: [{ node: "a", addresses: ["203.0.113.7"] }] }, [/edgeMeshRelayNodes: lists relays, but edp:kubeEdge\.edgeMesh is false/]],
    ["a relay that is no listed node", "testing", { edgeMesh: true, nodes: [{ name: "a" }], edgeMeshRelayNodes: [{ node: "b", addresses: ["203.0.113.7"] }] }, [/edgeMeshRelayNodes\[0\]\.node: "b" is not in edp:kubeEdge\.nodes \(a\)/]],
    ["a relay listed twice", "testing", { edgeMesh: true, nodes: [{ name: "a" }], edgeMeshRelayNodes: [{ node: "a", addresses: ["203.0.113.7"] }, { node: "a", addresses: ["203.0.113.8"] }] }, [/edgeMeshRelayNodes\[1\]\.node: a is already a relay \(edp:kubeEdge\.edgeMeshRelayNodes\[0\]\)/]],
    ["a relay without addresses", "testing", { edgeMesh: true, nodes: [{ name: "a" }], edgeMeshRelayNodes: [{ node: "a", addresses: [] }] }, [/edgeMeshRelayNodes\[0\]\.addresses:/]],
    ["a relay address that is a host name", "testing", { edgeMesh: true, nodes: [{ name: "a" }], edgeMeshRelayNodes: [{ node: "a", addresses: ["gw.example-edp.net"] }] }, [/addresses\[0\]: "gw\.example-edp\.net" is not an IP address/]],
    ["a relay address in a short IPv4 form", "testing", { edgeMesh: true, nodes: [{ name: "a" }], edgeMeshRelayNodes: [{ node: "a", addresses: ["10.1"] }] }, [/addresses\[0\]: "10\.1" is not an IP address/]],
    ["a loopback relay address", "testing", { edgeMesh: true, nodes: [{ name: "a" }], edgeMeshRelayNodes: [{ node: "a", addresses: ["203.0.113.7", "127.0.0.1"] }] }, [/addresses\[1\]: "127\.0\.0\.1" is a loopback address/]],
    ["an unspecified relay address", "testing", { edgeMesh: true, nodes: [{ name: "a" }], edgeMeshRelayNodes: [{ node: "a", addresses: ["::"] }] }, [/addresses\[0\]: "::" is an unspecified address/]],
    ["a relay address twice", "testing", { edgeMesh: true, nodes: [{ name: "a" }], edgeMeshRelayNodes: [{ node: "a", addresses: ["203.0.113.7", "203.0.113.7"] }] }, [/addresses\[1\]: 203\.0\.113\.7 is listed twice/]],
    ["a node named as the cloud relay", "testing", { edgeMesh: true, nodes: [{ name: "edp-edgemesh-relay" }] }, [/nodes\[0\]\.name: edp-edgemesh-relay is the EdgeMesh name of the cloud relay/]],
    ["a node named as the cloud relay without EdgeMesh", "testing", { nodes: [{ name: "edp-edgemesh-relay" }] }, []],
    ["an unknown placeholder in a deployment", "testing", { nodes: [{ name: "a" }], deployments: [{ name: "d", template: "opcua-collector", node: "a", values: { x: "{{site}}" } }] }, [/deployments\[0\]\.values\.x: .*\{\{site\}\}.*\(deployment d\)/]],
  ];
  for (const [what, stage, kubeEdge, expected] of cases) {
    it(`${expected.length === 0 ? "accepts" : "rejects"} ${what}`, () => {
      const found = problems(stage, kubeEdge);
      if (expected.length === 0) assert.deepEqual(found, []);
      for (const re of expected) assert.ok(found.some((p) => re.test(p)), `expected ${re} among ${JSON.stringify(found)}`);
    });
  }

  it("holds the edge role label the same in config and component", () => assert.equal(CONFIG_EDGE_ROLE_LABEL, EDGE_ROLE_LABEL));
});

const JOIN: JoinInput = {
  node: { name: "lab-kubeedge-02", labels: { "edp.daim.io/site": "lab", "edp.daim.io/line": "line-2" }, taints: [{ key: "edp/specialised", value: "", effect: "NoSchedule" }] },
  cloudCoreHost: "edp-cloudcore.api.testing.example-edp.net",
  hubProtocol: "websocket",
  kubeEdgeVersion: KUBEEDGE_VERSION,
  runtimeEndpoint: "unix:///run/containerd/containerd.sock",
  cgroupDriver: "systemd",
  edgeMesh: false,
  token: "0123abcd.eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.sig-_x",
};

/** What a real shell passes to keadm when the command runs: a fake keadm on PATH writes its argv. */
function argvThroughShell(command: string): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-keadm-"));
  try {
    fs.writeFileSync(path.join(dir, "keadm"), `#!/bin/sh\nfor a in "$@"; do printf '%s\\0' "$a"; done > "${dir}/argv"\n`, { mode: 0o755 });
    const res = spawnSync("sh", ["-c", command], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, encoding: "utf8" });
    assert.equal(res.status, 0, res.stderr);
    return fs.readFileSync(path.join(dir, "argv"), "utf8").split("\0").slice(0, -1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("KubeEdge join command", () => {
  it("names CloudCore by its DNS name, the node, the pinned version, the CRI endpoint, labels, taints, the stream tunnel and the token", () => {
    assert.deepEqual(joinArgs(JOIN), [
      "join",
      "--cloudcore-ipport=edp-cloudcore.api.testing.example-edp.net:10000",
      "--hub-protocol=websocket",
      "--certport=10002",
      "--edgenode-name=lab-kubeedge-02",
      `--kubeedge-version=${KUBEEDGE_VERSION}`,
      "--remote-runtime-endpoint=unix:///run/containerd/containerd.sock",
      "--cgroupdriver=systemd",
      "--labels=edp.daim.io/line=line-2,edp.daim.io/site=lab",
      "--set=modules.edgeStream.enable=true",
      "--set=modules.edged.tailoredKubeletConfig.registerWithTaints[0].key=node-role.kubernetes.io/edge,modules.edged.tailoredKubeletConfig.registerWithTaints[0].value=,modules.edged.tailoredKubeletConfig.registerWithTaints[0].effect=NoSchedule",
      "--set=modules.edged.tailoredKubeletConfig.registerWithTaints[1].key=edp/specialised,modules.edged.tailoredKubeletConfig.registerWithTaints[1].value=,modules.edged.tailoredKubeletConfig.registerWithTaints[1].effect=NoSchedule",
      `--token=${JOIN.token}`,
    ]);
  });

  it("uses quic's port and, for EdgeMesh, turns on the metaServer and points the node's pods at EdgeMesh's DNS", () => {
    const args = joinArgs({ ...JOIN, hubProtocol: "quic", edgeMesh: true });
    assert.ok(args.includes("--cloudcore-ipport=edp-cloudcore.api.testing.example-edp.net:10001"));
    assert.ok(args.includes("--hub-protocol=quic"));
    assert.ok(args.includes("--set=modules.metaManager.metaServer.enable=true"));
    assert.ok(args.includes("--set=modules.edged.tailoredKubeletConfig.clusterDNS[0]=169.254.96.16,modules.edged.tailoredKubeletConfig.clusterDomain=cluster.local"));
  });

  it("leaves the metaServer and the node's DNS alone without EdgeMesh", () => {
    const args = joinArgs(JOIN);
    assert.ok(!args.some((a) => a.includes("metaServer") || a.includes("clusterDNS") || a.includes("clusterDomain")), args.join(" "));
  });

  it("leaves --labels out for a node without labels", () => assert.ok(!joinArgs({ ...JOIN, node: { ...JOIN.node, labels: {} } }).some((a) => a.startsWith("--labels"))));

  const variants: [string, JoinInput][] = [
    ["the testing node", JOIN],
    ["quic with EdgeMesh", { ...JOIN, hubProtocol: "quic", edgeMesh: true }],
    ["a token with shell characters", { ...JOIN, token: "a'b $(reboot) `x` ; *" }],
  ];
  for (const [what, input] of variants) {
    it(`reaches keadm as exactly its arguments through a real shell (${what})`, () => assert.deepEqual(argvThroughShell(joinCommand(input)), ["join", ...joinArgs(input).slice(1)]));
    it(`passes shellcheck (${what})`, () => {
      // SC2016 says `$(...)` in single quotes does not expand: for a hostile token that is the point.
      const res = spawnSync("shellcheck", ["--shell=sh", "--severity=style", "--exclude=SC2016", "-"], { input: `#!/bin/sh\n${joinCommand(input)}\n`, encoding: "utf8" });
      assert.equal(res.error, undefined, "shellcheck is not installed (Debian package shellcheck, .ci/debian-packages.txt)");
      assert.equal(res.status, 0, res.stdout);
    });
  }
});

describe("KubeEdge placement", () => {
  const term = (...e: { key: string; operator: string; values?: string[] }[]) => ({ matchExpressions: e });
  const required = (...terms: ReturnType<typeof term>[]) => ({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } });
  const exclusion = { key: EDGE_ROLE_LABEL, operator: "DoesNotExist" };
  const table: [string, Parameters<typeof excludeEdgeNodes>[0], ReturnType<typeof excludeEdgeNodes>][] = [
    ["no affinity: the exclusion is the one term", undefined, required(term(exclusion))],
    ["pod affinity is kept", { podAntiAffinity: { x: 1 } }, { podAntiAffinity: { x: 1 }, ...required(term(exclusion)) }],
    ["each ORed term gets it (ACK's virtual-kubelet rule kept)", required(term({ key: "type", operator: "NotIn", values: ["virtual-kubelet"] }), term({ key: "a", operator: "Exists" })), required(term({ key: "type", operator: "NotIn", values: ["virtual-kubelet"] }, exclusion), term({ key: "a", operator: "Exists" }, exclusion))],
    ["a term that has it is left alone", required(term(exclusion)), required(term(exclusion))],
  ];
  for (const [what, given, expected] of table) {
    it(what, () => {
      const out = excludeEdgeNodes(given);
      assert.deepEqual(out, expected);
      assert.equal(keepsOffEdgeNodes(out), true);
    });
  }
  it("an affinity with one term without the exclusion does not keep pods off", () => assert.equal(keepsOffEdgeNodes(required(term(exclusion), term({ key: "a", operator: "Exists" }))), false));

  it("pins a deployment to its node by host name, tolerating the edge taint and the node's own, with the template's placeholders", () => {
    const node = { name: "lab-kubeedge-02", labels: {}, taints: [{ key: "edp/gpu", value: "yes", effect: "NoExecute" as const }] };
    const template = { chart: "c", repository: "https://charts.example.net", version: "1.0.0", values: { id: "{{uuid}}", n: "{{name}}", ep: "opc.tcp://{{hostname}}:4840", tolerations: [{ key: "k", operator: "Exists" }] } };
    const values = kubeEdgeDeploymentValues("testing", { name: "d1", template: "c", node: node.name, values: { extra: "{{name}}" } }, template, node, "edp/specialised");
    assert.deepEqual(values, {
      id: kubeEdgeDeploymentUuid("testing", "d1"),
      n: "d1",
      ep: "opc.tcp://lab-kubeedge-02:4840",
      extra: "d1",
      nodeSelector: { "kubernetes.io/hostname": "lab-kubeedge-02" },
      tolerations: [
        { key: "k", operator: "Exists" },
        { key: EDGE_ROLE_LABEL, operator: "Exists", effect: "NoSchedule" },
        { key: "edp/gpu", operator: "Equal", value: "yes", effect: "NoExecute" },
        { key: "edp/specialised", operator: "Exists" },
      ],
    });
    assert.notEqual(kubeEdgeDeploymentUuid("testing", "d1"), kubeEdgeDeploymentUuid("staging", "d1"));
  });
});

describe("KubeEdge manifests", () => {
  it("listens on exactly CloudCore's five ports, quic on UDP", async () => {
    const svc = cloudHubService("lb-abc", true);
    assert.deepEqual(
      (svc.spec as { ports: { port: number; protocol: string; nodePort: number }[] }).ports.map((p) => `${p.port}/${p.protocol}->${p.nodePort}`),
      ["10000/TCP->30000", "10001/UDP->30001", "10002/TCP->30002", "10003/TCP->30003", "10004/TCP->30004"],
    );
    await validateObject(svc as unknown as Record<string, unknown>);
    for (const p of kubeEdgeNetworkPolicies()) await validateObject(p as unknown as Record<string, unknown>);
  });

  it("admits nothing into the kubeedge namespace but CloudCore's ports", () => {
    const [deny, allow] = kubeEdgeNetworkPolicies();
    assert.deepEqual(deny.spec, { podSelector: {}, policyTypes: ["Ingress"] });
    const ports = (allow.spec as { ingress: { ports: { port: number; protocol: string }[] }[] }).ingress.flatMap((r) => r.ports);
    assert.deepEqual(ports, CLOUDCORE_PORTS.map((p) => ({ port: p.port, protocol: p.protocol })));
  });
});

/** A stand-in Kubernetes API server on loopback: it answers from `objects` and records every request. */
async function fakeApiServer(objects: Map<string, unknown>, answers: Map<string, number[]> = new Map()) {
  const requests: { method: string; path: string; body?: unknown; contentType?: string; auth?: string }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const body = text ? (JSON.parse(text) as unknown) : undefined;
      const key = `${req.method} ${req.url}`;
      requests.push({ method: String(req.method), path: String(req.url), body, contentType: req.headers["content-type"], auth: req.headers.authorization });
      const scripted = answers.get(key);
      let status = scripted && scripted.length > 0 ? (scripted.shift() as number) : undefined;
      const obj = objects.get(String(req.url));
      if (status === undefined) status = obj === undefined ? 404 : 200;
      if (req.method === "DELETE" && status === 200) objects.delete(String(req.url));
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(status === 200 ? (obj ?? {}) : { kind: "Status", message: "not found" }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kubeconfig = [
    "apiVersion: v1",
    "kind: Config",
    `clusters: [{name: c, cluster: {server: "${url}"}}]`,
    "users: [{name: u, user: {token: deployer-token}}]",
    "contexts: [{name: c, context: {cluster: c, user: u}}]",
    "current-context: c",
  ].join("\n");
  return { url, requests, kubeconfig, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe("KubeEdge API calls (stand-in API server on loopback)", () => {
  const TOKEN_PATH = "/api/v1/namespaces/kubeedge/secrets/tokensecret";

  it("reads CloudCore's token from tokensecret, waiting while CloudCore has not written it", async () => {
    const objects = new Map<string, unknown>([[TOKEN_PATH, { data: { tokendata: Buffer.from("cahash.jwt").toString("base64") } }]]);
    const api = await fakeApiServer(objects, new Map([[`GET ${TOKEN_PATH}`, [404, 404]]]));
    try {
      assert.equal(await readToken(kubeClient({ server: api.url, token: "t" }), 5, 1), "cahash.jwt");
      assert.equal(api.requests.length, 3);
      assert.equal(api.requests[0].auth, "Bearer t");
      objects.delete(TOKEN_PATH);
      await assert.rejects(readToken(kubeClient({ server: api.url }), 2, 1), /tokensecret.*after 2 attempt\(s\): the API server answered 404/);
    } finally {
      await api.close();
    }
  });

  it("removes a node: cordon, delete, then restart CloudCore so its token rotates", async () => {
    const objects = new Map<string, unknown>([
      ["/api/v1/nodes/lab-kubeedge-02", { metadata: { name: "lab-kubeedge-02" } }],
      ["/apis/apps/v1/namespaces/kubeedge/deployments/cloudcore", { metadata: { name: "cloudcore" } }],
    ]);
    const api = await fakeApiServer(objects);
    try {
      const out = await removeNode(kubeClient({ server: api.url }), "lab-kubeedge-02", () => "2026-12-01T00:00:00Z");
      assert.deepEqual(out, { cordoned: true, deleted: true });
      assert.deepEqual(
        api.requests.map((r) => `${r.method} ${r.path}`),
        ["PATCH /api/v1/nodes/lab-kubeedge-02", "DELETE /api/v1/nodes/lab-kubeedge-02", "PATCH /apis/apps/v1/namespaces/kubeedge/deployments/cloudcore"],
      );
      assert.deepEqual(api.requests[0].body, { spec: { unschedulable: true } });
      assert.equal(api.requests[0].contentType, "application/merge-patch+json");
      assert.deepEqual(api.requests[2].body, { spec: { template: { metadata: { annotations: { "edp/token-rotated-at": "2026-12-01T00:00:00Z", "edp/token-rotated-for": "lab-kubeedge-02" } } } } });
      // Removing it again (a node that already left) still rotates the token and succeeds.
      assert.deepEqual(await removeNode(kubeClient({ server: api.url }), "lab-kubeedge-02"), { cordoned: false, deleted: false });
    } finally {
      await api.close();
    }
  });

  it("the node resource's delete, as the engine calls it when a node leaves the config, removes the node", async () => {
    const objects = new Map<string, unknown>([
      ["/api/v1/nodes/gone", { metadata: { name: "gone" } }],
      ["/apis/apps/v1/namespaces/kubeedge/deployments/cloudcore", {}],
    ]);
    const api = await fakeApiServer(objects);
    try {
      await nodeProvider.delete?.("gone", { kind: "edp:kubeedge:node", kubeconfig: api.kubeconfig, node: "gone" });
      assert.deepEqual(api.requests.map((r) => `${r.method} ${r.path}`).slice(0, 2), ["PATCH /api/v1/nodes/gone", "DELETE /api/v1/nodes/gone"]);
      assert.equal(api.requests[0].auth, "Bearer deployer-token");
      assert.equal(objects.has("/api/v1/nodes/gone"), false);
    } finally {
      await api.close();
    }
  });

  it("a failed cordon stops the removal before the node is deleted", async () => {
    const api = await fakeApiServer(new Map([["/api/v1/nodes/n", {}]]), new Map([["PATCH /api/v1/nodes/n", [403]]]));
    try {
      await assert.rejects(removeNode(kubeClient({ server: api.url }), "n"), /cordoning node n: the API server answered 403/);
      assert.deepEqual(api.requests.map((r) => r.method), ["PATCH"]);
    } finally {
      await api.close();
    }
  });

  it("adds the edge exclusion to kube-proxy's DaemonSet, keeping its own rules; once", async () => {
    const dsPath = "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy-worker";
    const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "type", operator: "NotIn", values: ["virtual-kubelet"] }] }] } } };
    const objects = new Map<string, unknown>([[dsPath, { spec: { template: { spec: { affinity } } } }]]);
    const api = await fakeApiServer(objects);
    try {
      const client = kubeClient({ server: api.url });
      assert.equal(await excludeEdgeFromDaemonSet(client, "kube-system", "kube-proxy-worker", false), "patched");
      const patch = api.requests.find((r) => r.method === "PATCH")?.body as { spec: { template: { spec: { affinity: unknown } } } };
      assert.deepEqual(patch.spec.template.spec.affinity, excludeEdgeNodes(affinity));
      objects.set(dsPath, { spec: { template: { spec: { affinity: excludeEdgeNodes(affinity) } } } });
      assert.equal(await excludeEdgeFromDaemonSet(client, "kube-system", "kube-proxy-worker", false), "already");
      assert.equal(await excludeEdgeFromDaemonSet(client, "kube-system", "terway-eniip", true), "absent");
      await assert.rejects(excludeEdgeFromDaemonSet(client, "kube-system", "kube-flannel-ds", false), /DaemonSet kube-system\/kube-flannel-ds does not exist/);
    } finally {
      await api.close();
    }
  });
});

describe("KubeEdge on the central cluster, per stage (mocks)", function () {
  this.timeout(300_000);

  for (const stage of STAGES) {
    describe(stage, () => {
      const run = beforeStage(stage);

      it("builds KubeEdge exactly where the stack file has edp:kubeEdge", () => {
        const has = /^\s*edp:kubeEdge:/m.test(fs.readFileSync(path.join(__dirname, "..", "..", `Pulumi.${stage}.yaml`), "utf8"));
        assert.equal(run.ofType("edp:kubeedge:KubeEdge").length, has ? 1 : 0);
        if (!has) assert.equal(run.resources.filter((r) => r.name.startsWith("kubeedge")).length, 0);
      });
    });
  }

  describe("testing (two KubeEdge nodes)", () => {
    let run: StageRun;
    let graph: DependencyGraph;
    before(async () => {
      run = await runStage("testing");
      assert.equal(run.error, undefined, run.error);
      graph = new DependencyGraph(run.resources);
    });
    const one = (type: string, name: string) => run.get(type, name);

    it("installs the pinned cloudcore chart from the chart cache into kubeedge, advertising the load balancer's address", () => {
      const release = one("kubernetes:helm.sh/v3:Release", "kubeedge-cloudcore");
      assert.equal(release.inputs.chart, ".cache/charts/cloudcore-1.23.0.tgz");
      assert.equal(release.inputs.version, "1.23.0");
      assert.equal(release.inputs.namespace, "kubeedge");
      assert.equal(release.inputs.repositoryOpts, undefined);
      const values = release.inputs.values as { cloudCore: { hostNetWork: boolean; image: { tag: string }; modules: { cloudHub: { advertiseAddress: string[]; dnsNames: string[] }; cloudStream: { enable: boolean }; dynamicController: { enable: boolean } }; service: { enable: boolean } } };
      const slb = one("alicloud:slb/applicationLoadBalancer:ApplicationLoadBalancer", "kubeedge-slb");
      assert.equal(slb.inputs.addressType, "internet");
      assert.deepEqual(values.cloudCore.modules.cloudHub.advertiseAddress, [run.output("kubeEdgeCloudCoreAddress").value]);
      assert.deepEqual(values.cloudCore.modules.cloudHub.dnsNames, ["edp-cloudcore.api.testing.example-edp.net"]);
      assert.equal(values.cloudCore.modules.cloudStream.enable, true);
      assert.equal(values.cloudCore.modules.dynamicController.enable, false, "EdgeMesh is off by default");
      assert.equal(values.cloudCore.image.tag, KUBEEDGE_VERSION);
      assert.equal(values.cloudCore.hostNetWork, false);
    });

    it("puts exactly the five listeners on the load balancer, with its id, and a DNS name per the manual", () => {
      const svc = one("kubernetes:core/v1:Service", "kubeedge-cloudhub-service");
      const meta = svc.inputs.metadata as { annotations: Record<string, string> };
      assert.match(meta.annotations["service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id"], /^applic-[0-9a-f]{17}$/);
      assert.equal(meta.annotations["service.beta.kubernetes.io/alibaba-cloud-loadbalancer-force-override-listeners"], "true");
      const ports = (svc.inputs.spec as { type: string; ports: { port: number; protocol: string }[] }).ports.map((p) => `${p.port}/${p.protocol}`);
      assert.deepEqual(ports, ["10000/TCP", "10001/UDP", "10002/TCP", "10003/TCP", "10004/TCP"]);
      const dns = one("alicloud:dns/alidnsRecord:AlidnsRecord", "kubeedge-dns");
      assert.deepEqual([dns.inputs.domainName, dns.inputs.rr, dns.inputs.type, dns.inputs.value], ["example-edp.net", "edp-cloudcore.api.testing", "A", run.output("kubeEdgeCloudCoreAddress").value]);
      const rules = run.ofType("alicloud:ecs/securityGroupRule:SecurityGroupRule").filter((r) => r.name.startsWith("kubeedge-"));
      assert.deepEqual(rules.map((r) => `${String(r.inputs.ipProtocol)} ${String(r.inputs.portRange)}`).sort(), ["tcp 30000/30000", "tcp 30002/30002", "tcp 30003/30003", "tcp 30004/30004", "udp 30001/30001"]);
    });

    it("signs the stream certificate with the platform CA and patches it into CloudCore's Secret, then rolls CloudCore", () => {
      const cert = one("tls:index/locallySignedCert:LocallySignedCert", "kubeedge-stream-cert");
      const ca = run.ofType("tls:index/selfSignedCert:SelfSignedCert").find((r) => r.name.endsWith("-issuer-ca"));
      const caKey = run.ofType("tls:index/privateKey:PrivateKey").find((r) => r.name.endsWith("-issuer-ca"));
      assert.ok(ca && caKey, "no platform CA in the run");
      // The mock runtime answers each certificate and key with a body derived from its name.
      assert.equal(cert.inputs.caCertPem, RESOURCE_OUTPUTS["tls:index/selfSignedCert:SelfSignedCert"](ca.name, {}).certPem, "the stream certificate is not signed by the platform CA");
      assert.equal(cert.inputs.caPrivateKeyPem, RESOURCE_OUTPUTS["tls:index/privateKey:PrivateKey"](caKey.name, {}).privateKeyPem);
      assert.ok(cert.secretPaths.includes("caPrivateKeyPem"), "the CA key is not a secret input");
      assert.deepEqual(cert.inputs.allowedUses, ["digital_signature", "key_encipherment", "server_auth"]);
      const patch = one("kubernetes:core/v1:SecretPatch", "kubeedge-stream-secret");
      assert.deepEqual(Object.keys(patch.inputs.data as object).sort(), ["stream.crt", "stream.key", "streamCA.crt"]);
      assert.ok(patch.secretPaths.some((p) => p === "data" || p.includes("stream.key")), "the stream key is not a secret input");
      const release = one("kubernetes:helm.sh/v3:Release", "kubeedge-cloudcore");
      const restart = one("kubernetes:apps/v1:DeploymentPatch", "kubeedge-cloudcore-restart");
      assert.ok(graph.waitsForAny(patch.urn, [release]).length > 0);
      assert.ok(graph.waitsForAny(restart.urn, [patch]).length > 0);
    });

    it("reads the token from CloudCore after it restarted, and outputs per node the exact keadm join command with it, as secrets", () => {
      const token = run.resources.find((r) => r.type === "pulumi-nodejs:dynamic:Resource" && r.inputs.kind === "edp:kubeedge:token");
      assert.ok(token);
      assert.ok(graph.waitsForAny(token.urn, [one("kubernetes:apps/v1:DeploymentPatch", "kubeedge-cloudcore-restart")]).length > 0);
      const commands = run.output("kubeEdgeJoinCommands");
      assert.equal(commands.secret, true);
      assert.equal(run.output("kubeEdgeToken").secret, true);
      const t = String(run.output("kubeEdgeToken").value);
      assert.match(t, /^[0-9a-f]{64}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      const byNode = commands.value as Record<string, string>;
      assert.deepEqual(Object.keys(byNode).sort(), ["lab-kubeedge-01", "lab-kubeedge-02"]);
      for (const [node, command] of Object.entries(byNode)) {
        const argv = argvThroughShell(command);
        assert.ok(argv.includes(`--edgenode-name=${node}`));
        assert.ok(argv.includes(`--token=${t}`));
        assert.ok(argv.includes("--cloudcore-ipport=edp-cloudcore.api.testing.example-edp.net:10000"));
        assert.ok(argv.includes(`--kubeedge-version=${KUBEEDGE_VERSION}`));
        assert.ok(argv.includes("--remote-runtime-endpoint=unix:///run/containerd/containerd.sock"));
      }
      assert.ok(argvThroughShell(byNode["lab-kubeedge-01"]).includes("--labels=edp.daim.io/line=line-2,edp.daim.io/site=lab"));
      assert.ok(argvThroughShell(byNode["lab-kubeedge-02"]).some((a) => a.includes("registerWithTaints[1].key=edp/specialised")));
    });

    it("keeps ACK's kube-proxy and Flannel off edge nodes before CloudCore is installed", () => {
      const exclusions = run.resources.filter((r) => r.inputs.kind === "edp:kubeedge:daemonset-exclusion");
      const required = exclusions.filter((r) => r.inputs.optional === false).map((r) => String(r.inputs.name)).sort();
      assert.deepEqual(required, ["kube-flannel-ds", "kube-proxy-worker"]);
      const release = one("kubernetes:helm.sh/v3:Release", "kubeedge-cloudcore");
      for (const e of exclusions) assert.ok(release.options.dependsOn.includes(e.urn), `CloudCore does not wait for the exclusion of ${String(e.inputs.name)}`);
    });

    it("records each configured node, so that one leaving the config is removed, and only those", async () => {
      const nodes = run.resources.filter((r) => r.inputs.kind === "edp:kubeedge:node").map((r) => String(r.inputs.node)).sort();
      assert.deepEqual(nodes, ["lab-kubeedge-01", "lab-kubeedge-02"]);
      const fewer = await runStage("testing", { config: { "edp:kubeEdge": { nodes: [{ name: "lab-kubeedge-01" }] } } });
      assert.equal(fewer.error, undefined, fewer.error);
      assert.deepEqual(fewer.resources.filter((r) => r.inputs.kind === "edp:kubeedge:node").map((r) => String(r.inputs.node)), ["lab-kubeedge-01"]);
      assert.deepEqual(Object.keys(fewer.output("kubeEdgeJoinCommands").value as object), ["lab-kubeedge-01"]);
    });

    it("installs a chart-template deployment on its node, pinned by host name, with the placeholders substituted", () => {
      const r = one("kubernetes:helm.sh/v3:Release", "kubeedge-deploy-opcua-kubeedge-1");
      assert.equal(r.inputs.namespace, "edp-kubeedge");
      assert.deepEqual(r.inputs.repositoryOpts, { repo: "https://charts.example-edp.net/edge" });
      const v = r.inputs.values as { deviceId: string; instance: string; collector: { node: string; endpoints: string[] }; nodeSelector: Record<string, string> };
      assert.equal(v.deviceId, kubeEdgeDeploymentUuid("testing", "opcua-kubeedge-1"));
      assert.equal(v.instance, "opcua-kubeedge-1");
      assert.deepEqual(v.collector, { node: "lab-kubeedge-01", endpoints: ["opc.tcp://lab-kubeedge-01:4840"] });
      assert.deepEqual(v.nodeSelector, { "kubernetes.io/hostname": "lab-kubeedge-01" });
      assert.ok(r.options.dependsOn.includes(one("kubernetes:helm.sh/v3:Release", "kubeedge-cloudcore").urn));
    });

    it("stops before any resource when a KubeEdge deployment names a node that is not listed", async () => {
      const bad = await runStage("testing", { config: { "edp:kubeEdge": { nodes: [{ name: "a" }], deployments: [{ name: "d", template: "opcua-collector", node: "b" }] } } });
      assert.match(bad.error ?? "", /edp:kubeEdge\.deployments\[0\]\.node/);
      assert.equal(bad.resources.length, 0);
    });
  });

  describe("EdgeMesh (edp:kubeEdge.edgeMesh)", () => {
    /**
     * Testing's two nodes with EdgeMesh on, one of them a relay too: with the cloud relay and the
     * operator's PSK (`on`), and without the cloud relay and with a generated PSK (`nodeRelaysOnly`).
     */
    const MESH = {
      edgeMesh: true,
      edgeMeshRelayNodes: [{ node: "lab-kubeedge-01", addresses: ["203.0.113.7"] }],
      nodes: [
        { name: "lab-kubeedge-01", labels: { "edp.daim.io/site": "lab" } },
        { name: "lab-kubeedge-02", taints: [{ key: "edp/specialised", effect: "NoSchedule" }, { key: "edp.daim.io/maintenance", effect: "NoExecute" }] },
      ],
    };
    const PSK = "operator-edgemesh-psk-0123456789abcdefghijklmnop";
    let off: StageRun;
    let on: StageRun;
    let nodeRelaysOnly: StageRun;
    before(async () => {
      [off, on, nodeRelaysOnly] = await Promise.all([
        runStage("testing"),
        runStage("testing", { config: { "edp:kubeEdge": MESH }, secrets: { "edp:edgeMeshPsk": `${PSK}\n` } }),
        runStage("testing", { config: { "edp:kubeEdge": { ...MESH, edgeMeshCloudRelay: false } } }),
      ]);
      for (const r of [off, on, nodeRelaysOnly]) assert.equal(r.error, undefined, r.error);
    });
    const meshOf = (r: StageRun) => r.resources.filter((x) => /edgemesh/i.test(x.name) || JSON.stringify(x.inputs).includes("edgemesh"));
    const get = (r: StageRun, type: string, name: string) => r.get(type, name);
    const agentConfig = (r: StageRun) => YAML.parse(String((get(r, "kubernetes:core/v1:ConfigMap", "kubeedge-edgemesh-agent-cfg").inputs.data as Record<string, string>)["edgemesh-agent.yaml"])) as { modules: Record<string, { enable: boolean; relayNodes?: unknown; psk?: unknown; listenPort?: number }>; commonConfig: { bridgeDeviceIP: string } };

    it("is off in the stack files: nothing of EdgeMesh is registered, CloudCore and the join commands are not changed for it", async () => {
      assert.deepEqual(meshOf(off).map((r) => r.name), []);
      assert.equal(off.ofType("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition").filter((r) => String((r.inputs.metadata as { name: string }).name).endsWith("istio.io")).length, 0);
      const values = get(off, "kubernetes:helm.sh/v3:Release", "kubeedge-cloudcore").inputs.values as { cloudCore: { modules: { dynamicController: { enable: boolean } } } };
      assert.equal(values.cloudCore.modules.dynamicController.enable, false);
      for (const command of Object.values(off.output("kubeEdgeJoinCommands").value as Record<string, string>)) assert.doesNotMatch(command, /metaServer|clusterDNS/);
      for (const stage of ["staging", "production"]) {
        const run = await runStage(stage);
        assert.deepEqual(meshOf(run).map((r) => r.name), [], stage);
      }
    });

    it("runs the pinned agent on every KubeEdge node and nowhere else: edge role required, the edge taint and each node's taints tolerated", () => {
      const ds = get(on, "kubernetes:apps/v1:DaemonSet", "kubeedge-edgemesh-agent").inputs as { metadata: { namespace: string }; spec: { template: { spec: Record<string, unknown> & { containers: { image: string; env: { name: string }[]; volumeMounts: { name: string; mountPath: string }[] }[]; volumes: Record<string, unknown>[] } } } };
      assert.equal(ds.metadata.namespace, "kubeedge");
      const pod = ds.spec.template.spec;
      assert.deepEqual(pod.affinity, { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: EDGE_ROLE_LABEL, operator: "Exists" }] }] } } });
      assert.deepEqual(pod.tolerations, [
        { key: EDGE_ROLE_LABEL, operator: "Exists", effect: "NoSchedule" },
        { key: "edp/specialised", operator: "Exists", effect: "NoSchedule" },
        { key: "edp.daim.io/maintenance", operator: "Exists", effect: "NoExecute" },
      ]);
      assert.equal(pod.hostNetwork, true);
      assert.equal(pod.serviceAccountName, "edgemesh-agent");
      assert.equal(pod.containers[0].image, IMAGES.edgeMeshAgent);
      assert.match(IMAGES.edgeMeshAgent, /:v1\.17\.0$/);
      assert.deepEqual(pod.containers[0].env.map((e) => e.name), ["NODE_NAME", "NAMESPACE"]);
      // The PSK comes from the Secret; the configuration from the ConfigMap.
      const volumes = Object.fromEntries(pod.volumes.map((v) => [String(v.name), v]));
      assert.deepEqual(volumes.psk.secret, { secretName: "edgemesh-psk", defaultMode: 0o400, items: [{ key: "psk", path: "psk" }] });
      assert.deepEqual(volumes.config.configMap, { name: "edgemesh-agent-cfg" });
      const mounts = Object.fromEntries(pod.containers[0].volumeMounts.map((m) => [m.name, m.mountPath]));
      assert.equal(`${mounts.psk}/psk`, (agentConfig(on).modules.edgeTunnel.psk as { path: string }).path);
      assert.equal(mounts.config, "/etc/edgemesh/config");
      // The platform's rules: limits, a pinned image, and no central workload on edge nodes by accident.
      const objects = on.kubernetesObjects().map((o) => o.manifest).filter((o) => (o.metadata as { namespace?: string }).namespace === "kubeedge");
      assert.ok(objects.filter((o) => ["DaemonSet", "Deployment"].includes(String(o.kind))).length >= 2);
      assert.deepEqual(objects.flatMap((o) => [...edgePlacementProblems(o, EDGE_ROLE_LABEL, keepsOffEdgeNodes), ...missingLimits(o), ...floatingImages(o)]), []);
    });

    it("configures the agents with the relays (the cloud relay at the load balancer's address, then the relay nodes), the tunnel's PSK file, DNS on the bridge address", () => {
      const address = String(on.output("kubeEdgeCloudCoreAddress").value);
      const cfg = agentConfig(on);
      assert.equal(cfg.commonConfig.bridgeDeviceIP, "169.254.96.16");
      assert.deepEqual(cfg.modules.edgeTunnel, {
        enable: true,
        listenPort: 20006,
        relayNodes: [
          { nodeName: "edp-edgemesh-relay", advertiseAddress: [address] },
          { nodeName: "lab-kubeedge-01", advertiseAddress: ["203.0.113.7"] },
        ],
        psk: { enable: true, path: "/etc/edgemesh/psk-secret/psk" },
      });
      assert.equal(cfg.modules.edgeProxy.enable, true);
      assert.equal(cfg.modules.edgeDNS.enable, true);
      const withoutCloud = agentConfig(nodeRelaysOnly);
      assert.deepEqual(withoutCloud.modules.edgeTunnel.relayNodes, [{ nodeName: "lab-kubeedge-01", advertiseAddress: ["203.0.113.7"] }]);
    });

    it("keeps the PSK in a Secret, as a Pulumi secret: generated once, or the operator's edp:edgeMeshPsk (trimmed); never in a ConfigMap or a pod spec", () => {
      for (const run of [on, nodeRelaysOnly]) {
        const secret = get(run, "kubernetes:core/v1:Secret", "kubeedge-edgemesh-psk");
        assert.equal((secret.inputs.metadata as { namespace: string }).namespace, "kubeedge");
        assert.ok(secret.secretPaths.some((p) => p === "stringData" || p.startsWith("stringData")), "the PSK is not a secret input");
      }
      const generated = (get(nodeRelaysOnly, "kubernetes:core/v1:Secret", "kubeedge-edgemesh-psk").inputs.stringData as { psk: string }).psk;
      const bytes = get(nodeRelaysOnly, "random:index/randomBytes:RandomBytes", "kubeedge-edgemesh-psk");
      assert.equal(bytes.inputs.length, 32);
      assert.equal(generated, RESOURCE_OUTPUTS["random:index/randomBytes:RandomBytes"](bytes.name, bytes.inputs).base64);
      const operators = get(on, "kubernetes:core/v1:Secret", "kubeedge-edgemesh-psk");
      assert.equal((operators.inputs.stringData as { psk: string }).psk, PSK);
      assert.equal(on.ofType("random:index/randomBytes:RandomBytes").filter((r) => r.name === "kubeedge-edgemesh-psk").length, 0, "a PSK is generated although the operator gave one");
      for (const [run, psk] of [[nodeRelaysOnly, generated], [on, PSK]] as const) {
        const leaks = run.resources.filter((r) => r.type !== "kubernetes:core/v1:Secret" && JSON.stringify(r.inputs).includes(psk));
        assert.deepEqual(leaks.map((r) => r.name), [], "the PSK appears outside its Secret");
      }
    });

    it("grants the agent read-only access to what it watches, bound to its account in kubeedge, and defines the DestinationRule kind it watches", () => {
      const role = get(on, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "kubeedge-edgemesh-role").inputs as { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
      for (const rule of role.rules) assert.deepEqual(rule.verbs, ["get", "list", "watch"]);
      assert.deepEqual(role.rules.flatMap((r) => r.resources.map((x) => `${r.apiGroups[0] || "core"}/${x}`)).sort(), ["core/endpoints", "core/namespaces", "core/nodes", "core/pods", "core/services", "networking.istio.io/destinationrules"]);
      const binding = get(on, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "kubeedge-edgemesh-binding").inputs as { roleRef: { name: string }; subjects: unknown[] };
      assert.equal(binding.roleRef.name, "edgemesh-agent");
      assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: "edgemesh-agent", namespace: "kubeedge" }]);
      const crd = get(on, "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", "kubeedge-edgemesh-destinationrules").inputs as { spec: { group: string; names: { plural: string }; versions: { name: string; served: boolean }[] } };
      assert.deepEqual([crd.spec.group, crd.spec.names.plural, crd.spec.versions.map((v) => `${v.name}:${v.served}`)], ["networking.istio.io", "destinationrules", ["v1alpha3:true"]]);
      const patch = get(on, "kubernetes:core/v1:ServicePatch", "kubeedge-edgemesh-kubernetes-service").inputs as { metadata: { name: string; namespace: string; labels: Record<string, string> } };
      assert.deepEqual([patch.metadata.namespace, patch.metadata.name, patch.metadata.labels], ["default", "kubernetes", { "service.edgemesh.kubeedge.io/service-proxy-name": "" }]);
    });

    it("makes CloudCore and EdgeCore ready for it: dynamicController, metaServer, and EdgeMesh's DNS as the nodes' cluster DNS", () => {
      const values = get(on, "kubernetes:helm.sh/v3:Release", "kubeedge-cloudcore").inputs.values as { cloudCore: { modules: { dynamicController: { enable: boolean } } } };
      assert.equal(values.cloudCore.modules.dynamicController.enable, true);
      const commands = on.output("kubeEdgeJoinCommands").value as Record<string, string>;
      for (const command of Object.values(commands)) {
        const argv = argvThroughShell(command);
        assert.ok(argv.includes("--set=modules.metaManager.metaServer.enable=true"));
        assert.ok(argv.includes("--set=modules.edged.tailoredKubeletConfig.clusterDNS[0]=169.254.96.16,modules.edged.tailoredKubeletConfig.clusterDomain=cluster.local"));
      }
      const ds = get(on, "kubernetes:apps/v1:DaemonSet", "kubeedge-edgemesh-agent");
      assert.ok(ds.options.dependsOn.includes(get(on, "kubernetes:helm.sh/v3:Release", "kubeedge-cloudcore").urn), "the agents start before CloudCore serves their metaServer");
      assert.equal(agentConfig(on).commonConfig.bridgeDeviceIP, "169.254.96.16", "the nodes' cluster DNS is not EdgeDNS's address");
    });

    it("puts the cloud relay on cloud nodes behind CloudCore's load balancer on 20006 only, opens its node port and allows it past the namespace's default-deny", () => {
      const relay = get(on, "kubernetes:apps/v1:Deployment", "kubeedge-edgemesh-relay").inputs as { spec: { replicas: number; strategy: { type: string }; template: { spec: { hostNetwork?: boolean; affinity: unknown; containers: { env: { name: string; value?: string }[]; securityContext: { privileged: boolean } }[] } } } };
      assert.equal(relay.spec.replicas, 1);
      assert.equal(relay.spec.strategy.type, "Recreate");
      assert.ok(keepsOffEdgeNodes(relay.spec.template.spec.affinity as never));
      assert.notEqual(relay.spec.template.spec.hostNetwork, true);
      assert.equal(relay.spec.template.spec.containers[0].securityContext.privileged, false);
      assert.deepEqual(relay.spec.template.spec.containers[0].env.find((e) => e.name === "NODE_NAME"), { name: "NODE_NAME", value: "edp-edgemesh-relay" });
      const relayCfg = YAML.parse(String((get(on, "kubernetes:core/v1:ConfigMap", "kubeedge-edgemesh-relay-cfg").inputs.data as Record<string, string>)["edgemesh-agent.yaml"])) as { modules: Record<string, { enable: boolean; relayNodes?: unknown }> };
      assert.deepEqual([relayCfg.modules.edgeDNS.enable, relayCfg.modules.edgeProxy.enable, relayCfg.modules.edgeTunnel.enable], [false, false, true]);
      assert.deepEqual(relayCfg.modules.edgeTunnel.relayNodes, agentConfig(on).modules.edgeTunnel.relayNodes);
      const svc = get(on, "kubernetes:core/v1:Service", "kubeedge-edgemesh-relay-service").inputs as { metadata: { annotations: Record<string, string> }; spec: { ports: { port: number; protocol: string; nodePort: number }[]; selector: unknown } };
      const cloudHub = get(on, "kubernetes:core/v1:Service", "kubeedge-cloudhub-service").inputs as { metadata: { annotations: Record<string, string> } };
      assert.equal(svc.metadata.annotations["service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id"], cloudHub.metadata.annotations["service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id"]);
      assert.equal(svc.metadata.annotations["service.beta.kubernetes.io/alibaba-cloud-loadbalancer-force-override-listeners"], "false", "the relay's Service would take CloudCore's listeners off");
      assert.deepEqual(svc.spec.ports.map((p) => `${p.port}/${p.protocol}->${p.nodePort}`), ["20006/TCP->30006"]);
      const rules = on.ofType("alicloud:ecs/securityGroupRule:SecurityGroupRule").filter((r) => r.name.startsWith("kubeedge-"));
      assert.deepEqual(rules.map((r) => `${String(r.inputs.ipProtocol)} ${String(r.inputs.portRange)}`).sort(), ["tcp 30000/30000", "tcp 30002/30002", "tcp 30003/30003", "tcp 30004/30004", "tcp 30006/30006", "udp 30001/30001"]);
      const policies = on.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy").map((r) => r.inputs as { metadata: { name: string; namespace: string }; spec: { podSelector: { matchLabels?: unknown }; ingress?: { ports: { port: number; protocol: string }[] }[] } });
      const inKubeEdge = policies.filter((p) => p.metadata.namespace === "kubeedge");
      assert.ok(inKubeEdge.some((p) => p.metadata.name === "default-deny-ingress"));
      const allow = inKubeEdge.find((p) => p.metadata.name === "allow-edgemesh-relay");
      assert.deepEqual(allow?.spec.podSelector.matchLabels, svc.spec.selector);
      assert.deepEqual(allow?.spec.ingress?.flatMap((i) => i.ports.map((p) => `${p.port}/${p.protocol}`)), ["20006/TCP"]);
    });

    it("has no cloud relay with edgeMeshCloudRelay: false: no relay pod, listener, node port or policy", () => {
      const names = meshOf(nodeRelaysOnly).map((r) => r.name);
      assert.ok(names.includes("kubeedge-edgemesh-agent"));
      assert.deepEqual(names.filter((n) => n.includes("relay")), []);
    });

    it("writes objects the Kubernetes schemas accept", async () => {
      const relays = edgeMeshRelays({ cloudRelay: true, loadBalancerAddress: "203.0.113.9", relayNodes: [{ node: "a", addresses: ["192.168.1.2"] }] });
      const objects = [
        edgeMeshServiceAccount(),
        edgeMeshClusterRole(),
        edgeMeshClusterRoleBinding(),
        edgeMeshConfigMap("edgemesh-agent-cfg", edgeMeshAgentConfig(relays, "agent")),
        edgeMeshAgentDaemonSet({ configHash: "0".repeat(64), tolerations: edgeMeshAgentTolerations([{ taints: [{ key: "x", effect: "NoSchedule" }] }, { taints: [{ key: "x", effect: "NoSchedule" }] }]) }),
        edgeMeshRelayDeployment({ configHash: "0".repeat(64) }),
        edgeMeshRelayService("lb-0123456789abcdef"),
        edgeMeshRelayPolicy(),
      ];
      for (const o of objects) await validateObject(o as unknown as Record<string, unknown>);
      assert.deepEqual(edgeMeshAgentTolerations([{ taints: [{ key: "x", effect: "NoSchedule" }] }, { taints: [{ key: "x", effect: "NoSchedule" }] }]).length, 2, "a taint two nodes share is tolerated once");
    });
  });
});
