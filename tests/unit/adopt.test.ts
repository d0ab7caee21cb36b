/**
 * Adopting the running platform (edp:existing): under mocks, per stage, with everything adopted
 * and with only the network and E3's address adopted. An adopted resource is registered with
 * Pulumi's `import` option carrying the id edp:existing gives (in the provider's Import format),
 * never created; E3 lands in the adopted VPC; DNS records are those of the existing zones; and
 * `npm run adopt` prints an import file that is the program's own import options, stable
 * between runs.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import YAML from "yaml";
import { zoneBindings } from "../../components/foundation/dns";
import { ADOPTED_TYPES } from "../../components/shared/adopt";
import { firstRunStart } from "../../components/vault/bootstrap-provider";
import type { ImportFile } from "../../scripts/lib/adopt-plan";
import { existingStrings, fullExisting, partialExisting, stageFacts } from "../fixtures/existing";
import { beforeStage, type RecordedResource, ROOT, runStage, type StageRun } from "../harness/stage";

type Json = Record<string, unknown>;
const STAGES = ["testing", "staging", "production"] as const;

const imported = (run: StageRun) => run.resources.filter((r) => r.options.import !== undefined);

/** Every adopted resource: declared with `import`, and keeping what components/shared/adopt.ts says it keeps. */
function assertAdopted(r: RecordedResource, id: string) {
  assert.equal(r.options.import, id, `${r.type} ${r.name} is not imported with ${id}`);
  for (const p of ADOPTED_TYPES[r.type]?.keep ?? []) assert.ok(r.options.ignoreChanges.includes(p), `${r.type} ${r.name} would change ${p} of the adopted resource`);
}

for (const stage of STAGES) {
  describe(`${stage}: edp:existing fully set adopts the running platform`, function () {
    this.timeout(300_000);
    const existing = fullExisting(stage);
    const facts = stageFacts(stage);
    const run = beforeStage(stage, () => runStage(stage, { config: { "edp:existing": existing } }));

    it("imports the network with the ids the provider's Import sections ask for", () => {
      assertAdopted(run.get("alicloud:vpc/network:Network", "edp-vpc"), existing.vpc.id);
      for (const z of facts.zones) assertAdopted(run.get("alicloud:vpc/switch:Switch", `edp-vsw-${z}`), existing.vswitches[z]);
      const nat = existing.natGateway;
      assertAdopted(run.get("alicloud:vpc/natGateway:NatGateway", "edp-nat"), nat.id);
      assertAdopted(run.get("alicloud:ecs/eipAddress:EipAddress", "edp-nat-eip"), nat.eipId);
      assertAdopted(run.get("alicloud:ecs/eipAssociation:EipAssociation", "edp-nat-eip"), `${nat.eipId}:${nat.id}`);
      for (const z of facts.zones) assertAdopted(run.get("alicloud:vpc/snatEntry:SnatEntry", `edp-snat-${z}`), `${nat.snatTableId}:${nat.snatEntries[z]}`);
      // The adopted VPC's CIDR is declared, not ignored: a different one is a replacement Pulumi refuses while the import id is set.
      assert.ok(!run.get("alicloud:vpc/network:Network", "edp-vpc").options.ignoreChanges.includes("cidrBlock"));
    });

    it("imports the ACK cluster, its node pools and its nodes' security group, never upgrading it", () => {
      const ack = run.get("alicloud:cs/managedKubernetes:ManagedKubernetes", "edp-ack");
      assertAdopted(ack, existing.cluster.id);
      for (const p of ["version", "addons", "clusterSpec"]) assert.ok(ack.options.ignoreChanges.includes(p));
      assert.deepEqual(ack.inputs.vswitchIds, facts.zones.map((z) => existing.vswitches[z]));
      for (const p of facts.pools) assertAdopted(run.get("alicloud:cs/nodePool:NodePool", `edp-pool-${p}`), `${existing.cluster.id}:${existing.cluster.nodePools[p]}`);
      assertAdopted(run.get("alicloud:ecs/securityGroup:SecurityGroup", "edp-cluster-sg"), existing.cluster.securityGroupId);
    });

    it("imports the buckets it manages by name and only references the shared backup bucket", () => {
      assertAdopted(run.get("alicloud:oss/bucket:Bucket", "edp-manifests"), "edp-manifests");
      assertAdopted(run.get("alicloud:oss/bucketAcl:BucketAcl", "edp-manifests-acl"), "edp-manifests");
      assertAdopted(run.get("alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock", "edp-manifests-public-access-block"), "edp-manifests");
      assertAdopted(run.get("alicloud:oss/bucket:Bucket", "edp-vault-snapshots"), `edp-${stage}-vault-snapshots`);
      assert.equal(run.get("alicloud:oss/bucket:Bucket", "edp-manifests").inputs.bucket, "edp-manifests");
      // Referenced: no bucket resource, so no stage writes its lifecycle rules over another's.
      assert.deepEqual(run.ofType("alicloud:oss/bucket:Bucket").map((b) => b.inputs.bucket).sort(), ["edp-manifests", `edp-${stage}-vault-snapshots`].sort());
      assert.deepEqual(run.output("buckets").value, { manifests: "edp-manifests", backup: "edp-postgres-backup", vaultSnapshots: `edp-${stage}-vault-snapshots` });
      // The dumps still go to <bucket>/<stage>/, the manual's layout.
      const cron = run.ofType("kubernetes:batch/v1:CronJob").find((c) => JSON.stringify(c.inputs).includes("edp-postgres-backup"));
      assert.ok(cron, "no CronJob writes to the referenced backup bucket");
    });

    it("imports both KMS keys", () => {
      assertAdopted(run.get("alicloud:kms/key:Key", "edp-vault-unseal"), existing.kms.vaultUnseal);
      assertAdopted(run.get("alicloud:kms/key:Key", "edp-buckets"), existing.kms.buckets);
    });

    it("imports the records of the existing zones, the PrivateZone and its bindings", () => {
      const zone = existing.dns.privateZone;
      assertAdopted(run.get("alicloud:pvtz/zone:Zone", "edp-internal-zone"), zone.id);
      const attachment = run.get("alicloud:pvtz/zoneAttachment:ZoneAttachment", "edp-internal-zone");
      assertAdopted(attachment, zone.id);
      assert.deepEqual(attachment.inputs.vpcs, [{ vpcId: existing.vpc.id }]);
      // Every record of a name the running platform has is adopted; names it never had (KubeEdge's
      // edp-cloudcore, new with issue 19) are created.
      const fqdnOf = (r: { inputs: Record<string, unknown> }) => `${String(r.inputs.rr)}.${String(r.inputs.domainName)}`;
      const allPublic = run.ofType("alicloud:dns/alidnsRecord:AlidnsRecord");
      const publicRecords = allPublic.filter((r) => fqdnOf(r) in existing.dns.publicRecords);
      assert.equal(publicRecords.length, facts.publicNames.length);
      for (const r of publicRecords) assertAdopted(r, existing.dns.publicRecords[fqdnOf(r)]);
      for (const r of allPublic.filter((x) => !(fqdnOf(x) in existing.dns.publicRecords))) assert.equal(r.options.import, undefined, `${r.name} is imported but was not named`);
      const privateRecords = run.ofType("alicloud:pvtz/zoneRecord:ZoneRecord");
      assert.equal(privateRecords.length, facts.internalNames.length);
      for (const r of privateRecords) {
        assert.equal(r.inputs.zoneId, zone.id, `${r.name} is not in the adopted PrivateZone`);
        const fqdn = facts.internalNames.find((n) => n.startsWith(`${String(r.inputs.rr)}.`)) ?? "";
        assertAdopted(r, `${zone.records[fqdn]}:${zone.id}`);
      }
    });

    it("puts E3 in the adopted VPC and imports the host, its disk, group and address without configuring it", () => {
      const e3 = existing.e3;
      const group = run.get("alicloud:ecs/securityGroup:SecurityGroup", "e3-sg");
      assertAdopted(group, e3.securityGroupId);
      assert.equal(group.inputs.vpcId, existing.vpc.id);
      const vm = run.get("alicloud:ecs/instance:Instance", "e3-vm");
      assertAdopted(vm, e3.instanceId);
      assert.equal(vm.inputs.vswitchId, existing.vswitches[facts.zones[0]]);
      assert.deepEqual(vm.inputs.securityGroups, [e3.securityGroupId]);
      for (const p of ["userData", "imageId"]) assert.ok(vm.options.ignoreChanges.includes(p));
      assertAdopted(run.get("alicloud:ecs/ecsDisk:EcsDisk", "e3-data"), e3.dataDiskId);
      assertAdopted(run.get("alicloud:ecs/ecsDiskAttachment:EcsDiskAttachment", "e3-data-attachment"), `${e3.dataDiskId}:${e3.instanceId}`);
      assertAdopted(run.get("alicloud:ecs/eipAddress:EipAddress", "edp-e3-eip"), existing.e3Eip);
      assertAdopted(run.get("alicloud:ecs/eipAssociation:EipAssociation", "e3-eip"), `${existing.e3Eip}:${e3.instanceId}`);
      // configure is false: nothing logs into the manual's CentOS host.
      assert.equal(run.ofType("command:remote:Command").filter((c) => c.name === "e3-apply").length, 0);
      assert.match(String(run.output("e3DeployPublicKey").value), /^ssh-ed25519 \S+ deploy@e3-/);
      // The stack's outputs carry the adopted ids.
      assert.equal(run.output("vpcId").value, existing.vpc.id);
    });

    it("imports nothing edp:existing does not name, and keeps stateful protection", () => {
      const named = existingStrings(existing);
      for (const r of imported(run)) {
        for (const part of String(r.options.import).split(":")) assert.ok(named.has(part), `${r.type} ${r.name} imports ${part}, which edp:existing does not name`);
      }
      if (stage === "production") {
        for (const [type, name] of [
          ["alicloud:cs/managedKubernetes:ManagedKubernetes", "edp-ack"],
          ["alicloud:kms/key:Key", "edp-buckets"],
          ["alicloud:ecs/ecsDisk:EcsDisk", "e3-data"],
          ["alicloud:oss/bucket:Bucket", "edp-vault-snapshots"],
        ]) assert.equal(run.get(type, name).options.protect, true, `${name} is not protected`);
      }
    });
  });

  describe(`${stage}: edp:existing partly set adopts the network and E3's address, creates the rest`, function () {
    this.timeout(300_000);
    const existing = partialExisting(stage);
    const facts = stageFacts(stage);
    const run = beforeStage(stage, () => runStage(stage, { config: { "edp:existing": existing } }));

    it("imports exactly the VPC, its vSwitches and the E3 EIP", () => {
      const got = imported(run).map((r) => `${r.type} ${r.name} ${String(r.options.import)}`).sort();
      const want = [
        `alicloud:vpc/network:Network edp-vpc ${existing.vpc.id}`,
        ...facts.zones.map((z) => `alicloud:vpc/switch:Switch edp-vsw-${z} ${existing.vswitches[z]}`),
        `alicloud:ecs/eipAddress:EipAddress edp-e3-eip ${existing.e3Eip}`,
      ].sort();
      assert.deepEqual(got, want);
    });

    it("creates the cluster, NAT gateway, E3 host and records inside the adopted network", () => {
      const ack = run.get("alicloud:cs/managedKubernetes:ManagedKubernetes", "edp-ack");
      assert.equal(ack.options.import, undefined);
      assert.deepEqual(ack.inputs.vswitchIds, facts.zones.map((z) => existing.vswitches[z]));
      assert.equal(run.get("alicloud:vpc/natGateway:NatGateway", "edp-nat").inputs.vpcId, existing.vpc.id);
      const vm = run.get("alicloud:ecs/instance:Instance", "e3-vm");
      assert.equal(vm.options.import, undefined);
      assert.equal(vm.inputs.vswitchId, existing.vswitches[facts.zones[0]]);
      assert.equal(run.get("alicloud:ecs/securityGroup:SecurityGroup", "e3-sg").inputs.vpcId, existing.vpc.id);
      assert.deepEqual(run.get("alicloud:pvtz/zoneAttachment:ZoneAttachment", "edp-internal-zone").inputs.vpcs, [{ vpcId: existing.vpc.id }]);
      // A created E3 host is configured as before.
      assert.ok(run.ofType("alicloud:ecs/command:Command").filter((c) => c.name.startsWith("e3-apply-")).length > 0, "no Cloud Assistant apply of E3");
      // The manifests bucket keeps its program name; the backup bucket is the referenced one.
      assert.deepEqual(
        run.ofType("alicloud:oss/bucket:Bucket").map((b) => b.name).sort(),
        ["edp-manifests", "edp-vault-snapshots"],
      );
      assert.equal((run.output("buckets").value as Json).backup, "edp-postgres-backup");
    });
  });
}

describe("npm run adopt: the pulumi import file", function () {
  this.timeout(300_000);
  const exec = promisify(execFile);
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-adopt-"))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const stackFile = (stage: string, existing: unknown) => {
    const doc = YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stage}.yaml`), "utf8")) as { config: Json };
    doc.config["edp:existing"] = existing;
    const file = path.join(dir, `Pulumi.${stage}.yaml`);
    fs.writeFileSync(file, YAML.stringify(doc));
    return file;
  };
  const adopt = async (...args: string[]) => (await exec(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts/adopt.ts"), ...args], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 })).stdout;

  it("staging: is the program's import options, parents first, and the same on every run", async () => {
    const existing = fullExisting("staging");
    const file = stackFile("staging", existing);
    const [first, second, run] = await Promise.all([adopt("--stage", "staging", "--json", "--stack-file", file), adopt("--stage", "staging", "--json", "--stack-file", file), runStage("staging", { config: { "edp:existing": existing } })]);
    assert.equal(first, second, "two runs printed different import files");
    const parsed = JSON.parse(first) as ImportFile;
    const entries = parsed.resources.filter((r) => !r.component);
    const program = imported(run);
    assert.deepEqual(
      entries.map((e) => `${e.type} ${e.logicalName ?? e.name} ${e.id}`).sort(),
      program.map((r) => `${r.type} ${r.name} ${String(r.options.import)}`).sort(),
    );
    // Every parent is an entry earlier in the file, and a component (the engine makes it empty).
    const names = parsed.resources.map((r) => r.name);
    assert.equal(new Set(names).size, names.length, "entry names are not unique");
    parsed.resources.forEach((r, i) => {
      if (!r.parent) return;
      const at = names.indexOf(r.parent);
      assert.ok(at >= 0 && at < i && parsed.resources[at].component, `${r.name}'s parent ${r.parent} is not a component listed before it`);
    });
    assert.deepEqual(parsed.resources.filter((r) => r.component).map((r) => r.type).sort(), ["edp:e3:E3", "edp:foundation:Foundation"]);
    // The EIP and its association share a logical name; the file tells them apart and keeps the real name.
    assert.ok(entries.some((e) => e.type === "alicloud:ecs/eipAssociation:EipAssociation" && e.logicalName === "edp-nat-eip" && e.name !== "edp-nat-eip"));
  });

  it("testing: prints the steps in order and explains what is created instead", async () => {
    const out = await adopt("--stage", "testing", "--stack-file", stackFile("testing", partialExisting("testing")));
    const steps = ["pulumi stack select", "pulumi import --file import-testing.json", "pulumi preview --diff", "pulumi up"].map((s) => out.indexOf(s));
    assert.ok(steps.every((i, n) => i > 0 && (n === 0 || i > steps[n - 1])), `steps missing or out of order:\n${out}`);
    assert.match(out, /alicloud:cs\/autoscalingConfig:AutoscalingConfig edp-autoscaler: the provider has no import/);
    assert.match(out, /alicloud:vpc\/natGateway:NatGateway edp-nat: created: edp:existing.natGateway does not name it/);
    assert.match(out, /alicloud:ram\/accessKey:AccessKey .*secret is returned only when it is created/);
    assert.match(out, /internet-facing SLB \(edp:ingress.loadBalancerId\).*never imported/);
  });

  it("refuses a stage it does not know", async () => {
    await assert.rejects(adopt("--stage", "prod"), /--stage must be one of testing, staging, production/);
  });
});

/** Passwords of the running platform, as its operators hold them (obeying the manual's rules). */
const TAKEN_OVER = {
  GRAFANA_ADMIN_PASSWORD: "Running-Grafana-Admin-0001",
  KEYCLOAK_ADMIN_PASSWORD: "Running-Keycloak-Admin-0002",
  KEYCLOAK_POSTGRES_PASSWORD: "Running-Keycloak-Db-000003",
  POSTGRES_ADMIN_PASSWORD: "Running-Postgres-Admin-004",
  VAULT_DB_PASSWORD: "Running-Vault-Db-000000005",
  LOKI_INGRESS_BASIC_AUTH: `promtail:$2y$10$${"a".repeat(53)}`,
};
const VAULT_KEYS = ["cnVubmluZy12YXVsdC1rZXktMQ==", "cnVubmluZy12YXVsdC1rZXktMg==", "cnVubmluZy12YXVsdC1rZXktMw=="];

for (const stage of ["testing", "production"] as const) {
  describe(`${stage}: the running platform's secrets are taken over, not regenerated`, function () {
    this.timeout(300_000);
    const run = beforeStage(stage, () => runStage(stage, { secrets: { "edp:platformPasswords": TAKEN_OVER, "edp:vaultKeys": `${VAULT_KEYS.join("\n")}\n` } }));
    const secretValue = (name: string, key: string) => {
      const s = run.ofType("kubernetes:core/v1:Secret").find((r) => (r.inputs.metadata as Json).name === name);
      assert.ok(s, `no Secret ${name}`);
      assert.ok(s.secretPaths.some((p) => p.startsWith("stringData")), `${name} is not secret`);
      return (s.inputs.stringData as Record<string, string>)[key];
    };

    it("puts each given password into the manual's Secrets and generates none of them", () => {
      assert.equal(secretValue("grafana-credentials", "admin-password"), TAKEN_OVER.GRAFANA_ADMIN_PASSWORD);
      assert.equal(secretValue("credential-keycloak", "ADMIN_PASSWORD"), TAKEN_OVER.KEYCLOAK_ADMIN_PASSWORD);
      assert.equal(secretValue("keycloak-db-secret", "POSTGRES_PASSWORD"), TAKEN_OVER.KEYCLOAK_POSTGRES_PASSWORD);
      assert.equal(secretValue("postgres-admin-credentials", "password"), TAKEN_OVER.POSTGRES_ADMIN_PASSWORD);
      assert.equal(secretValue("pgbouncer-admin-credentials", "password"), TAKEN_OVER.POSTGRES_ADMIN_PASSWORD);
      assert.equal(secretValue("vault-db-credentials", "password"), TAKEN_OVER.VAULT_DB_PASSWORD);
      assert.equal(secretValue("loki-basic-auth", "auth"), `${TAKEN_OVER.LOKI_INGRESS_BASIC_AUTH}\n`);
      const generated = run.ofType("random:index/randomPassword:RandomPassword").map((r) => r.name);
      for (const name of ["platform-secrets-grafana-admin", "platform-secrets-keycloak-admin", "platform-secrets-loki-basic-auth", "postgres-admin", "postgres-role-keycloak", "postgres-role-vault"]) {
        assert.ok(!generated.includes(name), `${name} is still generated`);
      }
      // The ones the manual's table does not hold are still generated.
      assert.ok(generated.includes("platform-secrets-grafana-oauth-client"));
      assert.deepEqual(run.output("grafanaAdminPassword"), { value: TAKEN_OVER.GRAFANA_ADMIN_PASSWORD, secret: true });
    });

    it("hands Vault's keys to the bootstrap as a secret and keeps them as the stack's keys", () => {
      const [bootstrap] = run.resources.filter((r) => r.type === "pulumi-nodejs:dynamic:Resource" && r.inputs.kind === "edp:vault:bootstrap");
      assert.deepEqual(bootstrap.inputs.adoptedKeys, VAULT_KEYS);
      assert.ok(bootstrap.secretPaths.includes("adoptedKeys"), "the adopted keys are not secret");
      assert.deepEqual(run.output("vaultKeys"), { value: VAULT_KEYS, secret: true });
    });
  });
}

describe("the Vault bootstrap's first run with adopted keys", () => {
  it("starts from the adopted keys (unseal, root token from them, configure, revoke) instead of an init", () => {
    assert.deepEqual(firstRunStart({ adoptedKeys: ["a2V5LTE=", "a2V5LTI="] }), { keys: ["a2V5LTE=", "a2V5LTI="], initialisedAt: "adopted" });
    assert.equal(firstRunStart({}), undefined);
    assert.equal(firstRunStart({ adoptedKeys: [] }), undefined);
  });
});

describe("the PrivateZone's VPC bindings", () => {
  const cases: [string, string[] | undefined, boolean, { vpcId: string }[]][] = [
    ["a new zone is bound to the stage's VPC", undefined, false, [{ vpcId: "vpc-new" }]],
    ["an adopted zone keeps all its VPCs, the adopted stage VPC among them", ["vpc-a", "vpc-b"], true, [{ vpcId: "vpc-a" }, { vpcId: "vpc-b" }]],
    ["an adopted zone keeps its VPCs and gains a new stage VPC", ["vpc-a"], false, [{ vpcId: "vpc-a" }, { vpcId: "vpc-new" }]],
  ];
  for (const [what, ids, adopted, want] of cases) it(what, () => assert.deepEqual(zoneBindings(ids, "vpc-new", adopted), want));
});
