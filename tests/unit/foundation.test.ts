/**
 * The real program (index.ts) per stage under mocks: what the foundation registers, with which
 * arguments and options; the adopted-cluster path; bad input stopping everything.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { bucketNameProblem, E3_NAMES } from "../../components/foundation";
import type { RamPolicyDocument } from "../../components/shared/ram-policy";
import { STAGES } from "../../config";
import { docIp, mockId, mockKubeconfig, privateIp } from "../../scripts/lib/mock-outputs";
import { fullExisting } from "../fixtures/existing";
import { beforeStage, ROOT, type RecordedResource, runStage, type StageRun } from "../harness/stage";

interface StackFile {
  config: Record<string, unknown> & {
    "edp:network": { vpcCidr: string; podCidr: string; serviceCidr: string; zones: { zoneId: string; vswitchCidr: string }[] };
    "edp:cluster": { create: { kubernetesVersion: string; clusterSpec: string; nodePools: { name: string; instanceTypes: string[]; minSize: number; maxSize: number; diskSizeGb: number }[] } };
    "edp:ingress": { loadBalancerId: string };
    "edp:bucketPrefix": string;
  };
}
const stackFile = (stage: string) => YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stage}.yaml`), "utf8")) as StackFile;

const T = {
  component: "edp:foundation:Foundation",
  vpc: "alicloud:vpc/network:Network",
  vswitch: "alicloud:vpc/switch:Switch",
  nat: "alicloud:vpc/natGateway:NatGateway",
  snat: "alicloud:vpc/snatEntry:SnatEntry",
  eip: "alicloud:ecs/eipAddress:EipAddress",
  eipAssoc: "alicloud:ecs/eipAssociation:EipAssociation",
  sg: "alicloud:ecs/securityGroup:SecurityGroup",
  sgRule: "alicloud:ecs/securityGroupRule:SecurityGroupRule",
  ack: "alicloud:cs/managedKubernetes:ManagedKubernetes",
  pool: "alicloud:cs/nodePool:NodePool",
  autoscaler: "alicloud:cs/autoscalingConfig:AutoscalingConfig",
  k8sProvider: "pulumi:providers:kubernetes",
  bucket: "alicloud:oss/bucket:Bucket",
  acl: "alicloud:oss/bucketAcl:BucketAcl",
  pab: "alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock",
  key: "alicloud:kms/key:Key",
  alias: "alicloud:kms/alias:Alias",
  user: "alicloud:ram/user:User",
  policy: "alicloud:ram/policy:Policy",
  attach: "alicloud:ram/userPolicyAttachment:UserPolicyAttachment",
  accessKey: "alicloud:ram/accessKey:AccessKey",
  role: "alicloud:ram/role:Role",
  roleAttach: "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment",
  dns: "alicloud:dns/alidnsRecord:AlidnsRecord",
  zone: "alicloud:pvtz/zone:Zone",
  zoneAttach: "alicloud:pvtz/zoneAttachment:ZoneAttachment",
  zoneRecord: "alicloud:pvtz/zoneRecord:ZoneRecord",
} as const;

const idOf = (type: string, name: string) => mockId(type, name);
const keyArn = (name: string) => `acs:kms:eu-central-1:1234567890123456:key/${idOf(T.key, name)}`;
const policyOf = (run: StageRun, id: string) => JSON.parse(String(run.get(T.policy, `edp-${id}`).inputs.policyDocument)) as RamPolicyDocument;

describe("foundation per stage", function () {
  this.timeout(300_000);

  for (const stage of STAGES) {
    describe(stage, () => {
      const file = stackFile(stage).config;
      const production = stage === "production";
      const run = beforeStage(stage);

      it("parents every foundation cloud resource under one Foundation component", () => {
        const [component] = run.ofType(T.component);
        assert.ok(component, "no Foundation component");
        // Other components (edge clusters, E3, Vault) own cloud resources of their own.
        const ownedElsewhere = (r: (typeof run.resources)[number]) => /(::|\$)edp:(?!foundation:)[a-z0-9-]+:/.test(r.urn);
        const cloud = run.resources.filter((r) => (r.type.startsWith("alicloud:") || r.type === T.k8sProvider) && !ownedElsewhere(r));
        assert.ok(cloud.length > 30);
        for (const r of cloud) assert.equal(r.parent, component.urn, `${r.type} ${r.name} is not a child of the Foundation`);
      });

      it("builds a VPC with one vSwitch per configured zone (at least two)", () => {
        assert.equal(run.get(T.vpc, "edp-vpc").inputs.cidrBlock, file["edp:network"].vpcCidr);
        const switches = run.ofType(T.vswitch);
        assert.ok(switches.length >= 2);
        assert.deepEqual(
          switches.map((s) => ({ zoneId: s.inputs.zoneId, vswitchCidr: s.inputs.cidrBlock, vpc: s.inputs.vpcId })),
          file["edp:network"].zones.map((z) => ({ ...z, vpc: idOf(T.vpc, "edp-vpc") })),
        );
      });

      it("sends egress through a NAT gateway with its own EIP and one SNAT entry per vSwitch", () => {
        const nat = run.get(T.nat, "edp-nat");
        assert.equal(nat.inputs.natType, "Enhanced");
        assert.equal(nat.inputs.networkType, "internet");
        const assoc = run.get(T.eipAssoc, "edp-nat-eip");
        assert.deepEqual([assoc.inputs.allocationId, assoc.inputs.instanceId, assoc.inputs.instanceType], [idOf(T.eip, "edp-nat-eip"), idOf(T.nat, "edp-nat"), "Nat"]);
        const snat = run.ofType(T.snat);
        assert.deepEqual(snat.map((s) => s.inputs.sourceVswitchId).sort(), run.ofType(T.vswitch).map((s) => idOf(T.vswitch, s.name)).sort());
        for (const s of snat) {
          assert.equal(s.inputs.snatIp, docIp("edp-nat-eip"));
          assert.ok(s.options.dependsOn.includes(assoc.urn), "SNAT must wait for the EIP to be bound");
        }
        assert.equal(run.output("egressAddress").value, docIp("edp-nat-eip"));
      });

      it("has one security group for the cluster nodes, open to the VPC only (Terway's pods have VPC addresses)", () => {
        const groups = run.ofType(T.sg).filter((g) => g.urn.includes("edp:foundation:Foundation$"));
        assert.equal(groups.length, 1);
        const onGroup = run.ofType(T.sgRule).filter((r) => r.inputs.securityGroupId === idOf(T.sg, groups[0].name));
        // Terway: pods have VPC addresses, so the VPC rule covers them (KubeEdge's node ports are its own rules).
        const rules = onGroup.filter((r) => r.urn.includes("edp:foundation:Foundation$"));
        assert.deepEqual(rules.map((r) => r.inputs.cidrIp), [file["edp:network"].vpcCidr]);
        assert.ok(rules.every((r) => r.inputs.cidrIp !== "0.0.0.0/0"));
        // Beyond the foundation's, only KubeEdge's node ports behind CloudCore's load balancer (components/kubeedge).
        const others = onGroup.filter((r) => !rules.includes(r));
        assert.deepEqual(others.filter((r) => !(r.urn.includes("edp:kubeedge:KubeEdge$") && /^3000[0-4]\/3000[0-4]$/.test(String(r.inputs.portRange)))).map((r) => r.name), []);
      });

      it("creates an ACK managed cluster without workers, sized node pools, and deletion protection in production only", () => {
        const spec = file["edp:cluster"].create;
        const [ack] = run.ofType(T.ack);
        assert.equal(run.ofType(T.ack).length, 1);
        assert.equal(ack.inputs.clusterSpec, spec.clusterSpec);
        assert.equal(ack.inputs.version, spec.kubernetesVersion);
        // Terway, with network policy enforcement: pods on the nodes' vSwitches, no Flannel pod CIDR.
        assert.equal(ack.inputs.podCidr, undefined);
        assert.deepEqual(ack.inputs.podVswitchIds, ack.inputs.vswitchIds);
        const addons = ack.inputs.addons as { name: string; config?: string; disabled?: boolean }[];
        assert.ok(!addons.some((a) => a.name === "flannel"), "Flannel ignores NetworkPolicy");
        const terway = addons.find((a) => a.name.startsWith("terway"));
        assert.ok(terway && !terway.disabled, "no Terway addon");
        assert.equal(JSON.parse(String(terway.config)).NetworkPolicy, "true");
        assert.equal(ack.inputs.serviceCidr, file["edp:network"].serviceCidr);
        assert.equal((ack.inputs.vswitchIds as string[]).length, file["edp:network"].zones.length);
        assert.equal(ack.inputs.newNatGateway, false);
        assert.equal(ack.inputs.deletionProtection, production);
        assert.equal(ack.options.protect, production);
        for (const field of ["workerNumber", "workerInstanceTypes", "workerVswitchIds"]) assert.equal(ack.inputs[field], undefined, field);
        const pools = run.ofType(T.pool);
        assert.deepEqual(
          pools.map((p) => ({
            name: p.inputs.nodePoolName,
            instanceTypes: p.inputs.instanceTypes,
            scaling: p.inputs.scalingConfig,
            disk: p.inputs.systemDiskSize,
            cluster: p.inputs.clusterId,
          })),
          spec.nodePools.map((p) => ({
            name: `edp-${stage}-${p.name}`,
            instanceTypes: p.instanceTypes,
            scaling: { enable: true, minSize: p.minSize, maxSize: p.maxSize },
            disk: p.diskSizeGb,
            cluster: idOf(T.ack, "edp-ack"),
          })),
        );
        assert.equal(run.ofType(T.autoscaler).length, 1);
      });

      it("reaches the cluster only through an explicit provider built from the secret cluster credential", () => {
        // Directly bootstrapped edge clusters have providers of their own (components/edge), never this one.
        const providers = run.ofType(T.k8sProvider).filter((p) => !p.name.startsWith("edge-"));
        assert.equal(providers.length, 1);
        const [p] = providers;
        assert.equal(p.inputs.kubeconfig, mockKubeconfig(idOf(T.ack, "edp-ack")));
        assert.ok(p.secretPaths.includes("kubeconfig"), "the provider's kubeconfig must be secret");
        assert.equal(p.inputs.clusterIdentifier, idOf(T.ack, "edp-ack"));
        const out = run.output("kubeconfig");
        assert.equal(out.secret, true);
        assert.equal(out.value, p.inputs.kubeconfig);
      });

      it("creates the three buckets, private, public access blocked, SSE-KMS (data buckets with the stage's bucket key)", () => {
        const prefix = file["edp:bucketPrefix"];
        const expected = [`${prefix}-${stage}-manifests`, `${prefix}-${stage}-pgbackup`, `${prefix}-${stage}-vault-snapshots`];
        const buckets = run.ofType(T.bucket);
        assert.deepEqual(buckets.map((b) => b.inputs.bucket), expected);
        assert.deepEqual(run.output("buckets").value, { manifests: expected[0], backup: expected[1], vaultSnapshots: expected[2] });
        for (const b of buckets) {
          const name = String(b.inputs.bucket);
          assert.equal(bucketNameProblem(name), undefined);
          assert.match(name, /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
          const sse = name.endsWith("-manifests") ? { sseAlgorithm: "KMS" } : { sseAlgorithm: "KMS", kmsMasterKeyId: idOf(T.key, "edp-buckets") };
          assert.deepEqual(b.inputs.serverSideEncryptionRule, sse);
          assert.equal(b.inputs.acl, undefined, "the ACL is owned by BucketAcl");
          assert.equal(b.options.protect, production, `${name} protect`);
          assert.ok(run.ofType(T.acl).some((a) => a.inputs.bucket === name && a.inputs.acl === "private"), `${name} is not private`);
          assert.ok(run.ofType(T.pab).some((a) => a.inputs.bucket === name && a.inputs.blockPublicAccess === true), `${name} public access not blocked`);
        }
        const retained = buckets.filter((b) => b.options.retainOnDelete).map((b) => b.inputs.bucket);
        assert.deepEqual(retained, [expected[1], expected[2]], "data-bearing buckets survive a delete");
      });

      it("expires <stage>/ of the backup bucket after the retention, previous versions included, in one owner", () => {
        const backup = run.get(T.bucket, "edp-pgbackup");
        assert.deepEqual(backup.inputs.versioning, { status: "Enabled" });
        const rules = backup.inputs.lifecycleRules as Record<string, unknown>[];
        assert.deepEqual(rules[0], {
          id: `expire-${stage}-after-7d`,
          enabled: true,
          prefix: `${stage}/`,
          expirations: [{ days: 7 }],
          abortMultipartUploads: [{ days: 1 }],
          noncurrentVersionExpirations: [{ days: 7 }],
        });
        assert.deepEqual(rules[1].expirations, [{ expiredObjectDeleteMarker: true }]);
        assert.equal(backup.inputs.lifecycleRuleAllowSameActionOverlap, true);
        const owners = run.resources.filter((r) => r.inputs.lifecycleRules !== undefined || r.type.toLowerCase().includes("lifecycle"));
        assert.deepEqual(owners.map((r) => r.name), ["edp-pgbackup"]);
      });

      it("makes KMS keys with aliases for Vault unseal and buckets, protected in production and never deleted with the stack", () => {
        const keys = run.ofType(T.key);
        assert.deepEqual(keys.map((k) => k.name), ["edp-vault-unseal", "edp-buckets"]);
        for (const k of keys) {
          assert.equal(k.options.protect, production);
          assert.equal(k.options.retainOnDelete, true);
          assert.equal(k.inputs.deletionProtection, production ? "Enabled" : "Disabled");
        }
        assert.deepEqual(
          run.ofType(T.alias).map((a) => [a.inputs.aliasName, a.inputs.keyId]),
          keys.map((k) => [`alias/edp-${stage}-${k.name.replace(/^edp-/, "")}`, idOf(T.key, k.name)]),
        );
      });

      it("gives each identity one custom policy, no wildcard action, scoped to its bucket, prefix or key", () => {
        const backup = `${file["edp:bucketPrefix"]}-${stage}-pgbackup`;
        const snapshots = `${file["edp:bucketPrefix"]}-${stage}-vault-snapshots`;
        const scopes: Record<string, string[]> = {
          "pg-backup-writer": [`acs:oss:*:*:${backup}/${stage}/*`, `acs:oss:*:*:${backup}`, keyArn("edp-buckets")],
          "pg-backup-reader": [`acs:oss:*:*:${backup}/${stage}/*`, `acs:oss:*:*:${backup}`, keyArn("edp-buckets")],
          "vault-unseal": [keyArn("edp-vault-unseal")],
          "vault-snapshot-writer": [`acs:oss:*:*:${snapshots}/*`, `acs:oss:*:*:${snapshots}`, keyArn("edp-buckets")],
        };
        assert.equal(run.ofType(T.policy).filter((p) => p.urn.includes("edp:foundation:Foundation$")).length, 4);
        for (const [id, allowed] of Object.entries(scopes)) {
          const doc = policyOf(run, id);
          assert.equal(doc.Version, "1");
          for (const s of doc.Statement) {
            assert.equal(s.Effect, "Allow");
            for (const a of s.Action) assert.ok(!a.includes("*"), `${id}: wildcard action ${a}`);
            for (const r of s.Resource) assert.ok(allowed.includes(r), `${id}: resource ${r} outside its scope`);
          }
          // The created cluster has RRSA: the Jobs' identities are roles, Vault's unseal stays a user with a key (README).
          if (id === "vault-unseal") {
            const attach = run.get(T.attach, `edp-${id}`);
            assert.deepEqual([attach.inputs.userName, attach.inputs.policyName, attach.inputs.policyType], [`edp-${stage}-${id}`, `edp-${stage}-${id}`, "Custom"]);
            assert.equal(run.get(T.accessKey, `edp-${id}`).inputs.userName, `edp-${stage}-${id}`);
          } else {
            const attach = run.get(T.roleAttach, `edp-${id}`);
            assert.deepEqual([attach.inputs.roleName, attach.inputs.policyName, attach.inputs.policyType], [`edp-${stage}-${id}`, `edp-${stage}-${id}`, "Custom"]);
            assert.equal(run.get(T.role, `edp-${id}`).inputs.roleName, `edp-${stage}-${id}`);
          }
        }
        assert.deepEqual(policyOf(run, "vault-unseal").Statement[0].Action, ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"]);
        // Restore and drill read only: no action that writes, deletes or makes a data key.
        const readerActions = policyOf(run, "pg-backup-reader").Statement.flatMap((st) => st.Action);
        assert.deepEqual(readerActions.sort(), ["kms:Decrypt", "oss:GetObject", "oss:ListObjects"]);
        const list = policyOf(run, "pg-backup-writer").Statement.find((s) => s.Action.includes("oss:ListObjects"));
        assert.deepEqual(list?.Condition, { StringLike: { "oss:Prefix": [`${stage}/*`] } });
      });

      it("points public platform names at the ingress SLB, E3 names at the E3 EIP, and the internal names at the intranet SLB inside the VPC only", () => {
        const ingress = docIp(file["edp:ingress"].loadBalancerId);
        const e3 = docIp("edp-e3-eip");
        assert.equal(run.output("ingressAddress").value, ingress);
        assert.equal(run.output("e3Address").value, e3);
        const records = Object.fromEntries(run.ofType(T.dns).map((r) => [String(r.inputs.rr).split(".")[0], r.inputs]));
        for (const n of ["edp-portal", "grafana", "keycloak"]) assert.deepEqual([records[n].domainName, records[n].rr, records[n].type, records[n].value], ["example-edp.net", `${n}.api.${stage}`, "A", ingress]);
        for (const n of E3_NAMES) assert.deepEqual([records[n].rr, records[n].value], [`${n}.api.${stage}`, e3]);
        assert.equal(records["edp-service"], undefined, "edp-service must not be public");
        const zone = run.get(T.zone, "edp-internal-zone");
        assert.equal(zone.inputs.zoneName, "example-edp.internal");
        assert.deepEqual(run.get(T.zoneAttach, "edp-internal-zone").inputs.vpcs, [{ vpcId: idOf(T.vpc, "edp-vpc") }]);
        const internal = run.get("alicloud:slb/applicationLoadBalancer:ApplicationLoadBalancer", "edp-internal-ingress");
        assert.equal(internal.inputs.addressType, "intranet");
        const internalAddress = privateIp("edp-internal-ingress");
        for (const n of ["edp-service", "keycloak", "loki"]) {
          const rec = run.get(T.zoneRecord, `edp-dns-${n}-internal`).inputs;
          assert.deepEqual([rec.zoneId, rec.rr, rec.type, rec.value], [idOf(T.zone, "edp-internal-zone"), `${n}.api.${stage}`, "A", internalAddress], n);
        }
      });

      it("reserves the E3 EIP, protected in production", () => {
        const eip = run.get(T.eip, "edp-e3-eip");
        assert.equal(eip.options.protect, production);
        assert.equal(run.get(T.eip, "edp-nat-eip").options.protect, false);
      });
    });
  }
});

describe("foundation access keys", function () {
  this.timeout(300_000);
  it("hands out each identity's access key with the secret kept secret (an adopted cluster without RRSA)", async () => {
    const existing = fullExisting("staging");
    const run = await runStage("staging", {
      program: path.join(ROOT, "tests/fixtures/programs/foundation-identities.ts"),
      unset: ["edp:cluster"],
      secrets: { "edp:clusterKubeconfig": mockKubeconfig("adopted-central") },
      config: { "edp:existing": { vpc: existing.vpc, vswitches: existing.vswitches } },
    });
    assert.equal(run.error, undefined, run.error);
    const identities = run.output("identities");
    assert.equal(identities.secret, true, "the access key secrets make the output secret");
    const value = identities.value as Record<string, { kind?: string; key?: { accessKeyId: string; accessKeySecret: string }; accessKeyId?: string; accessKeySecret?: string }>;
    assert.deepEqual(Object.keys(value).sort(), ["backupReader", "backupWriter", "vaultSnapshots", "vaultUnseal"]);
    for (const [id, name] of [["backupWriter", "pg-backup-writer"], ["backupReader", "pg-backup-reader"], ["vaultUnseal", "vault-unseal"], ["vaultSnapshots", "vault-snapshot-writer"]]) {
      const pair = id === "vaultUnseal" ? value[id] : (assert.equal(value[id].kind, "accessKey", id), value[id].key);
      assert.equal(pair?.accessKeyId, idOf(T.accessKey, `edp-${name}`));
      assert.match(String(pair?.accessKeySecret), /^mock-secret-/);
    }
    assert.equal(run.output("kmsKeyId").value, idOf(T.key, "edp-vault-unseal"), "kmsKeyId is the Vault unseal key");
    assert.equal(run.output("bucketKmsKeyId").value, idOf(T.key, "edp-buckets"));
    const keys = run.ofType(T.accessKey);
    assert.equal(keys.length, 4);
  });
});

describe("foundation with an adopted cluster", function () {
  this.timeout(300_000);
  const kubeconfig = mockKubeconfig("adopted-central");

  for (const stage of STAGES) {
    it(`${stage}: registers no ACK cluster or node pool, builds the provider from edp:clusterKubeconfig and puts E3 in the cluster's VPC`, async () => {
      // The adopted cluster's VPC and vSwitches come with it (edp:existing), so E3 and the PrivateZone land in its network.
      const existing = fullExisting(stage);
      const run = await runStage(stage, { unset: ["edp:cluster"], secrets: { "edp:clusterKubeconfig": kubeconfig }, config: { "edp:existing": { vpc: existing.vpc, vswitches: existing.vswitches } } });
      assert.equal(run.error, undefined, run.error);
      assert.equal(run.get("alicloud:ecs/securityGroup:SecurityGroup", "e3-sg").inputs.vpcId, existing.vpc.id);
      assert.equal(run.get("alicloud:vpc/network:Network", "edp-vpc").options.import, existing.vpc.id);
      for (const t of [T.ack, T.pool, T.autoscaler]) assert.deepEqual(run.ofType(t), [], t);
      const [provider] = run.ofType(T.k8sProvider);
      assert.equal(provider.inputs.kubeconfig, kubeconfig);
      assert.ok(provider.secretPaths.includes("kubeconfig"));
      assert.deepEqual(run.output("kubeconfig"), { value: kubeconfig, secret: true });
      assert.equal(run.ofType(T.bucket).length, 3, "the rest of the foundation is still built");
    });
  }
});

describe("foundation on bad input", function () {
  this.timeout(300_000);
  const staging = stackFile("staging").config;
  const net = staging["edp:network"];
  const cases: [string, Parameters<typeof runStage>[1], RegExp][] = [
    ["overlapping pod and VPC CIDRs", { config: { "edp:network": { ...net, podCidr: "10.30.128.0/17" } } }, /edp:network\.podCidr: 10\.30\.128\.0\/17 overlaps edp:network\.vpcCidr/],
    ["a single zone", { config: { "edp:network": { ...net, zones: net.zones.slice(0, 1) } } }, /edp:network\.zones: needs at least two zones/],
    ["both create and adopt", { secrets: { "edp:clusterKubeconfig": mockKubeconfig("x") } }, /edp:cluster\.create: and edp:clusterKubeconfig are mutually exclusive/],
    ["neither create nor adopt", { unset: ["edp:cluster"] }, /edp:cluster\.create: is missing/],
    ["a bucket prefix too long for OSS", { config: { "edp:bucketPrefix": "a".repeat(40) } }, /edp:bucketPrefix: makes the bucket name a+-staging-vault-snapshots 64 characters long/],
  ];
  it("stops in the component itself when handed a config that skipped the stack-file checks", async () => {
    const run = await runStage("staging", { program: path.join(ROOT, "tests/fixtures/programs/foundation-one-zone.ts") });
    assert.match(run.error ?? "", /Invalid foundation configuration:\n {2}- edp:network\.zones: lists 1 zone\(s\)/);
    assert.deepEqual(run.resources, []);
  });

  for (const [what, options, expected] of cases) {
    it(`stops on ${what}, naming the key, before registering any resource`, async () => {
      const run = await runStage("staging", options);
      assert.match(run.error ?? "", expected);
      assert.deepEqual(run.resources.map((r: RecordedResource) => r.type), []);
    });
  }
});
