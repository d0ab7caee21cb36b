/** Pure parts of the foundation: policy documents, bucket names and lifecycle, DNS plan, firewall rules, preconditions. */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import {
  backupLifecycleRules,
  backupWriterPolicy,
  bucketNameProblem,
  bucketPlans,
  dnsRecordPlan,
  E3_NAMES,
  edgeClusterReadPolicy,
  foundationProblems,
  ingressAddressOf,
  renderPolicy,
  vaultSnapshotWriterPolicy,
  vaultUnsealPolicy,
} from "../../components/foundation";
import type { RamPolicyDocument } from "../../components/shared/ram-policy";
import { stageNames } from "../../config/naming";
import { ROOT } from "../harness/stage";

const KEY = "acs:kms:eu-central-1:1234567890123456:key/key-abc";
const parse = (doc: RamPolicyDocument) => JSON.parse(renderPolicy(doc)) as RamPolicyDocument;
const actions = (doc: RamPolicyDocument) => doc.Statement.flatMap((s) => s.Action);
const resources = (doc: RamPolicyDocument) => doc.Statement.flatMap((s) => s.Resource);

/** Every statement allows, names no wildcard action, and names only the given resources. */
function assertScoped(doc: RamPolicyDocument, allowed: string[]) {
  assert.equal(doc.Version, "1");
  for (const s of doc.Statement) {
    assert.equal(s.Effect, "Allow");
    for (const a of s.Action) assert.ok(!a.includes("*"), `wildcard action ${a}`);
    for (const r of s.Resource) assert.ok(allowed.includes(r), `resource ${r} is outside ${allowed.join(", ")}`);
  }
}

describe("foundation RAM policies", () => {
  it("edge cluster: bucket info, the root .sourceignore, GetObject on its own prefix and ListObjects of exactly that prefix, nothing else", () => {
    const doc = parse(edgeClusterReadPolicy({ bucket: "example-edp-testing-manifests", prefix: "testing/clusters/lab-line-1/" }));
    assertScoped(doc, [
      "acs:oss:*:*:example-edp-testing-manifests/testing/clusters/lab-line-1/*",
      "acs:oss:*:*:example-edp-testing-manifests/.sourceignore",
      "acs:oss:*:*:example-edp-testing-manifests",
    ]);
    assert.deepEqual([...new Set(actions(doc))].sort(), ["oss:GetBucketInfo", "oss:GetObject", "oss:ListObjects"]);
    const list = doc.Statement.find((s) => s.Action.includes("oss:ListObjects"));
    assert.deepEqual(list?.Condition, { StringEquals: { "oss:Prefix": ["testing/clusters/lab-line-1/"] } });
    assert.ok(!actions(doc).some((a) => /Put|Delete|Abort/.test(a)), "an edge cluster may not write");
  });

  it("edge clusters never see each other's prefix", () => {
    const a = edgeClusterReadPolicy({ bucket: "b-manifests", prefix: "staging/clusters/plant-a-line-1/" });
    const b = edgeClusterReadPolicy({ bucket: "b-manifests", prefix: "staging/clusters/plant-a-line-2/" });
    const objectsOf = (d: RamPolicyDocument) => resources(d).filter((r) => r.includes("/"));
    assert.notDeepEqual(objectsOf(a), objectsOf(b));
    assert.ok(!objectsOf(a).some((r) => r.includes("plant-a-line-2")));
  });

  for (const stage of ["testing", "staging", "production"]) {
    it(`${stage}: scopes each configured edge cluster to cfg.names.edgeClusterPrefix(name) of the manifests bucket`, () => {
      const file = YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stage}.yaml`), "utf8")) as { config: Record<string, unknown> };
      const c = file.config;
      const names = stageNames({ stage: stage as "testing", bucketPrefix: String(c["edp:bucketPrefix"]), dns: c["edp:dns"] as { publicZone: string; internalZone: string } });
      const clusters = (c["edp:edgeClusters"] as { name: string }[]).map((x) => x.name);
      assert.ok(clusters.length > 0);
      for (const cluster of clusters) {
        const doc = parse(edgeClusterReadPolicy({ bucket: names.manifestsBucket, prefix: names.edgeClusterPrefix(cluster) }));
        const get = doc.Statement.find((s) => s.Action.includes("oss:GetObject"));
        assert.deepEqual(get?.Resource, [`acs:oss:*:*:${names.manifestsBucket}/.sourceignore`, `acs:oss:*:*:${names.manifestsBucket}/${stage}/clusters/${cluster}/*`]);
        const list = doc.Statement.find((s) => s.Action.includes("oss:ListObjects"));
        assert.deepEqual(list?.Condition, { StringEquals: { "oss:Prefix": [`${stage}/clusters/${cluster}/`] } });
      }
    });
  }

  const badPrefixes: [string, string][] = [
    ["", "empty"],
    ["testing/clusters/x", "no trailing slash"],
    ["testing/*/", "wildcard"],
    ["/testing/", "leading slash"],
  ];
  for (const [prefix, why] of badPrefixes) {
    it(`rejects an edge-cluster prefix that is ${why}`, () => {
      assert.throws(() => edgeClusterReadPolicy({ bucket: "b", prefix }), /prefix/);
    });
  }

  it("backup writer: writes and reads <stage>/ of its bucket only, never deletes", () => {
    const doc = parse(backupWriterPolicy({ bucket: "example-edp-staging-pgbackup", prefix: "staging/", kmsKeyArn: KEY }));
    assertScoped(doc, ["acs:oss:*:*:example-edp-staging-pgbackup/staging/*", "acs:oss:*:*:example-edp-staging-pgbackup", KEY]);
    assert.ok(actions(doc).includes("oss:PutObject"));
    assert.ok(!actions(doc).includes("oss:DeleteObject"));
    const list = doc.Statement.find((s) => s.Action.includes("oss:ListObjects"));
    assert.deepEqual(list?.Condition, { StringLike: { "oss:Prefix": ["staging/*"] } });
    const kms = doc.Statement.find((s) => s.Resource.includes(KEY));
    assert.deepEqual(kms?.Action.sort(), ["kms:Decrypt", "kms:GenerateDataKey"]);
  });

  it("vault unseal: Encrypt, Decrypt, DescribeKey on its key only", () => {
    const doc = parse(vaultUnsealPolicy(KEY));
    assert.deepEqual(doc.Statement, [{ Effect: "Allow", Action: ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"], Resource: [KEY] }]);
  });

  it("vault snapshot writer: its bucket only", () => {
    const doc = parse(vaultSnapshotWriterPolicy({ bucket: "example-edp-production-vault-snapshots", kmsKeyArn: KEY }));
    assertScoped(doc, ["acs:oss:*:*:example-edp-production-vault-snapshots/*", "acs:oss:*:*:example-edp-production-vault-snapshots", KEY]);
    assert.ok(actions(doc).includes("oss:PutObject") && actions(doc).includes("oss:GetObject"));
  });
});

describe("foundation bucket names", () => {
  const cases: [string, boolean][] = [
    ["example-edp-testing-manifests", true],
    ["abc", true],
    ["a1-b2", true],
    ["ab", false],
    ["a".repeat(64), false],
    ["a".repeat(63), true],
    ["example.edp-manifests", false],
    ["Example-edp", false],
    ["-edp-backup", false],
    ["edp-backup-", false],
    ["edp_backup", false],
  ];
  for (const [name, ok] of cases) {
    it(`${ok ? "accepts" : "rejects"} ${JSON.stringify(name.length > 20 ? `${name.slice(0, 8)}…(${name.length})` : name)}`, () => {
      assert.equal(bucketNameProblem(name) === undefined, ok, bucketNameProblem(name));
    });
  }

  it("names the stage's three buckets from cfg.names and rejects an invalid one", () => {
    const names = stageNames({ stage: "testing", bucketPrefix: "example-edp", dns: { publicZone: "example-edp.net", internalZone: "example-edp.internal" } });
    assert.deepEqual(
      bucketPlans(names, "testing", 7).map((p) => p.name),
      ["example-edp-testing-manifests", "example-edp-testing-pgbackup", "example-edp-testing-vault-snapshots"],
    );
    const long = stageNames({ stage: "production", bucketPrefix: "x".repeat(40), dns: { publicZone: "a.net", internalZone: "a.internal" } });
    assert.throws(() => bucketPlans(long, "production", 7), /edp:bucketPrefix.*3 to 63/);
  });
});

describe("foundation backup lifecycle", () => {
  it("expires <stage>/ after the retention and aborts stale multipart uploads", () => {
    assert.deepEqual(backupLifecycleRules({ prefix: "testing/", retentionDays: 7, versioned: false }), [
      { id: "expire-testing-after-7d", enabled: true, prefix: "testing/", expirations: [{ days: 7 }], abortMultipartUploads: [{ days: 1 }] },
    ]);
  });

  it("on a versioned bucket also expires previous versions and removes orphaned delete markers", () => {
    const rules = backupLifecycleRules({ prefix: "production/", retentionDays: 7, versioned: true });
    assert.equal(rules.length, 2);
    assert.deepEqual(rules[0].noncurrentVersionExpirations, [{ days: 7 }]);
    assert.deepEqual(rules[0].expirations, [{ days: 7 }]);
    assert.deepEqual(rules[1].expirations, [{ expiredObjectDeleteMarker: true }]);
    assert.ok(rules.every((r) => r.prefix === "production/"));
  });

  it("follows the configured retention", () => {
    assert.deepEqual(backupLifecycleRules({ prefix: "staging/", retentionDays: 14, versioned: false })[0].expirations, [{ days: 14 }]);
  });

  for (const [retentionDays, prefix] of [[0, "testing/"], [1.5, "testing/"], [7, ""], [7, "testing"]] as const) {
    it(`rejects retention ${retentionDays} with prefix ${JSON.stringify(prefix)}`, () => {
      assert.throws(() => backupLifecycleRules({ prefix, retentionDays, versioned: false }), /retention|prefix/);
    });
  }
});

describe("foundation DNS plan", () => {
  const names = stageNames({ stage: "staging", bucketPrefix: "example-edp", dns: { publicZone: "example-edp.net", internalZone: "example-edp.internal" } });
  const plan = dnsRecordPlan(names, { publicZone: "example-edp.net", internalZone: "example-edp.internal" });
  const byName = Object.fromEntries(plan.map((r) => [r.key, r]));

  it("points the public platform names at the public ingress and the E3 names at the E3 host", () => {
    for (const n of ["edp-portal", "grafana", "keycloak"]) assert.deepEqual([byName[n].target, byName[n].visibility], ["ingress", "public"], n);
    for (const n of E3_NAMES) assert.equal(byName[n].target, "e3", n);
    assert.equal(plan.length, 6 + E3_NAMES.length);
    assert.equal(new Set(plan.map((r) => r.key)).size, plan.length, "record keys are unique");
  });

  it("keeps edp-service, the Keycloak admin console and Loki in the internal zone, on the intranet ingress", () => {
    assert.deepEqual(byName["edp-service-internal"], {
      key: "edp-service-internal",
      name: "edp-service",
      fqdn: "edp-service.api.staging.example-edp.internal",
      visibility: "internal",
      zone: "example-edp.internal",
      rr: "edp-service.api.staging",
      target: "internal-ingress",
    });
    for (const n of ["keycloak-internal", "loki-internal"]) assert.deepEqual([byName[n].target, byName[n].zone], ["internal-ingress", "example-edp.internal"], n);
    assert.ok(plan.filter((r) => r.target === "ingress").every((r) => r.visibility === "public"));
    assert.ok(plan.filter((r) => r.visibility === "public").every((r) => r.zone === "example-edp.net" && r.fqdn === `${r.rr}.${r.zone}`));
  });
});

describe("foundation ingress lookup", () => {
  const lb = (over: Partial<{ id: string; loadBalancerId: string; address: string; addressType: string }>) => ({
    id: "lb-gw8t3st1ngz0a1b2c3d4",
    loadBalancerId: "lb-gw8t3st1ngz0a1b2c3d4",
    address: "203.0.113.20",
    addressType: "internet",
    ...over,
  });
  it("takes the address of the configured internet-facing balancer", () => {
    assert.equal(ingressAddressOf([lb({ id: "lb-other", loadBalancerId: "lb-other", address: "203.0.113.9" }), lb({})], "lb-gw8t3st1ngz0a1b2c3d4", "eu-central-1"), "203.0.113.20");
  });
  it("names the key when the balancer does not exist", () => {
    assert.throws(() => ingressAddressOf([], "lb-gw8t3st1ngz0a1b2c3d4", "eu-central-1"), /edp:ingress\.loadBalancerId: no load balancer lb-gw8t3st1ngz0a1b2c3d4 in region eu-central-1/);
  });
  it("rejects an intranet balancer for the public names", () => {
    assert.throws(() => ingressAddressOf([lb({ addressType: "intranet", address: "10.20.0.5" })], "lb-gw8t3st1ngz0a1b2c3d4", "eu-central-1"), /edp:ingress\.loadBalancerId: .* intranet/);
  });
});

describe("foundation preconditions", () => {
  const good = {
    clusterMode: "create" as const,
    cluster: { create: { kubernetesVersion: "1.33.3-aliyun.1", clusterSpec: "ack.standard" as const, nodePools: [] } },
    network: {
      vpcCidr: "10.20.0.0/16",
      zones: [
        { zoneId: "eu-central-1a", vswitchCidr: "10.20.0.0/20" },
        { zoneId: "eu-central-1b", vswitchCidr: "10.20.16.0/20" },
      ],
      podCidr: "172.20.0.0/16",
      serviceCidr: "172.21.0.0/20",
    },
    secrets: { edgeKubeconfigs: {} },
  };
  const kubeconfig = pulumi.secret("apiVersion: v1");
  const cases: [string, typeof good | Record<string, unknown>, RegExp | undefined][] = [
    ["a valid create config", good, undefined],
    ["an adopt config", { ...good, clusterMode: "adopt", cluster: {}, secrets: { edgeKubeconfigs: {}, clusterKubeconfig: kubeconfig } }, undefined],
    ["both create and adopt", { ...good, secrets: { edgeKubeconfigs: {}, clusterKubeconfig: kubeconfig } }, /edp:cluster\.create: and edp:clusterKubeconfig are mutually exclusive/],
    ["neither create nor adopt", { ...good, cluster: {} }, /edp:cluster\.create: is missing/],
    ["one zone", { ...good, network: { ...good.network, zones: good.network.zones.slice(0, 1) } }, /edp:network\.zones: lists 1 zone/],
    ["a pod CIDR inside the VPC", { ...good, network: { ...good.network, podCidr: "10.20.128.0/17" } }, /edp:network\.podCidr: 10\.20\.128\.0\/17 overlaps edp:network\.vpcCidr/],
    ["a service CIDR inside the pod CIDR", { ...good, network: { ...good.network, serviceCidr: "172.20.16.0/20" } }, /edp:network\.serviceCidr: .* overlaps edp:network\.podCidr/],
  ];
  for (const [what, input, expected] of cases) {
    it(`${expected ? "rejects" : "accepts"} ${what}`, () => {
      const problems = foundationProblems(input as Parameters<typeof foundationProblems>[0]);
      const text = problems.map((p) => `${p.key}: ${p.message}`).join("\n");
      if (expected) assert.match(text, expected);
      else assert.deepEqual(problems, []);
    });
  }
});
