/**
 * The E3 component under Pulumi's mocks, per stage: what it creates, with which options, and
 * that a changed E3 setting reaches the host only through the apply command's trigger.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { CLOUD_ASSISTANT_MAX_CONTENT_BYTES, CLOUD_ASSISTANT_PARTS } from "../../components/e3/render/delivery";
import YAML from "yaml";
import { STAGES } from "../../config";
import { readStackConfig } from "../../scripts/lib/mock-runtime";
import { validateObject } from "../harness/k8s-schema";
import { beforeStage, ROOT, type RecordedResource, runStage, type StageRun } from "../harness/stage";
import { testPki } from "../harness/pki";
import { e3FilesOf as filesOf, e3ScriptOf as scriptOf } from "../harness/e3-script";

const PROGRAM = path.join(ROOT, "tests/fixtures/programs/e3.ts");
const T = {
  instance: "alicloud:ecs/instance:Instance",
  disk: "alicloud:ecs/ecsDisk:EcsDisk",
  attachment: "alicloud:ecs/ecsDiskAttachment:EcsDiskAttachment",
  eip: "alicloud:ecs/eipAssociation:EipAssociation",
  rule: "alicloud:ecs/securityGroupRule:SecurityGroupRule",
  command: "command:remote:Command",
  caCommand: "alicloud:ecs/command:Command",
  invocation: "alicloud:ecs/ecsInvocation:EcsInvocation",
  role: "alicloud:ram/role:Role",
};

const e3Config = (stage: string) => JSON.parse(readStackConfig(path.join(ROOT, `Pulumi.${stage}.yaml`))["edp:e3"]) as Record<string, unknown>;
const run = (stage: string, e3Override?: Record<string, unknown>) =>
  runStage(stage, { program: PROGRAM, ...(e3Override ? { config: { "edp:e3": { ...e3Config(stage), ...e3Override } } } : {}) });
const one = (r: StageRun, type: string) => {
  const found = r.ofType(type);
  assert.equal(found.length, 1, `${type}: ${found.length} resources`);
  return found[0];
};

/** A resource's inputs with the values at its secret paths removed (they are encrypted in state). */
function withoutSecrets(res: RecordedResource): unknown {
  const copy = JSON.parse(JSON.stringify(res.inputs)) as Record<string, unknown>;
  for (const p of res.secretPaths) {
    const parts = p.split(".");
    let node: Record<string, unknown> | undefined = copy;
    for (const part of parts.slice(0, -1)) node = node?.[part] as Record<string, unknown> | undefined;
    if (node) delete node[parts[parts.length - 1]];
  }
  return copy;
}



/** A real certificate: the config parses custom CA bundles. */
const CUSTOM_CA = testPki().ca.crt;

describe("E3 component (mocks)", function () {
  this.timeout(300_000);

  for (const stage of STAGES) {
    describe(stage, () => {
      const r = beforeStage(stage, () => run(stage));

      it("creates a Debian 12 instance in the first vSwitch that ignores later user data and image changes", () => {
        const vm = one(r, T.instance);
        assert.match(String(vm.inputs.imageId), /^debian_12_/);
        assert.equal(vm.inputs.vswitchId, "vsw-mock-0");
        assert.equal(vm.inputs.instanceType, e3Config(stage).instanceType);
        assert.equal(vm.inputs.internetMaxBandwidthOut, 0);
        assert.deepEqual([...vm.options.ignoreChanges].sort(), ["imageId", "userData"]);
        assert.equal(vm.inputs.roleName, `edp-${stage}-e3`);
        const userData = Buffer.from(String(vm.inputs.userData), "base64").toString("utf8");
        assert.match(userData, /^#cloud-config\n/);
        const doc = YAML.parse(userData) as { users: (string | { name: string; ssh_authorized_keys?: string[] })[] };
        // Cloud Assistant delivery (the default) needs no deploy user: no SSH key on the host.
        assert.ok(!doc.users.some((u) => typeof u === "object" && u.name === "edp-deploy"));
        assert.ok(doc.users.some((u) => typeof u === "object" && u.name === "notary"));
        assert.doesNotMatch(userData, /PRIVATE KEY/);
      });

      it("keeps the data disk separate, encrypted, retained in every stage and protected in production", () => {
        const disk = one(r, T.disk);
        assert.equal(disk.inputs.size, e3Config(stage).dataDiskGb);
        assert.equal(disk.inputs.encrypted, true);
        assert.equal(disk.inputs.deleteWithInstance, false);
        assert.equal(disk.options.protect, stage === "production");
        assert.equal(disk.options.retainOnDelete, true);
        const attachment = one(r, T.attachment);
        assert.equal(attachment.inputs.deleteWithInstance, false);
      });

      it("associates the foundation's EIP", () => {
        assert.equal(one(r, T.eip).inputs.allocationId, "eip-mock");
      });

      it("opens 443 and 80 to everyone and SSH and the node exporter only to the admin networks and the VPC", () => {
        const cfg = e3Config(stage);
        const vpc = JSON.parse(readStackConfig(path.join(ROOT, `Pulumi.${stage}.yaml`))["edp:network"]).vpcCidr as string;
        const rules = r.ofType(T.rule).map((x: RecordedResource) => `${x.inputs.portRange} ${x.inputs.cidrIp}`).sort();
        const restricted = [...(cfg.adminCidrs as string[]), vpc];
        const expected = [
          "443/443 0.0.0.0/0",
          "80/80 0.0.0.0/0",
          ...restricted.map((c) => `${cfg.sshPort}/${cfg.sshPort} ${c}`),
          ...restricted.map((c) => `${cfg.nodeExporterPort}/${cfg.nodeExporterPort} ${c}`),
        ].sort();
        assert.deepEqual(rules, expected);
        for (const rule of r.ofType(T.rule)) assert.equal(rule.inputs.type, "ingress");
      });

      it("gives the instance a RAM role only ECS can assume", () => {
        const doc = JSON.parse(String(one(r, T.role).inputs.assumeRolePolicyDocument));
        assert.deepEqual(doc.Statement[0].Principal, { Service: ["ecs.aliyuncs.com"] });
      });

      it("delivers the configuration through Cloud Assistant by default: secret parts under the size limit, run in order, changed with the config hash", () => {
        assert.equal(r.ofType(T.command).length, 0, "no SSH delivery by default");
        const commands = r.ofType(T.caCommand);
        const invocations = r.ofType(T.invocation);
        assert.equal(commands.length, CLOUD_ASSISTANT_PARTS);
        assert.equal(invocations.length, CLOUD_ASSISTANT_PARTS);
        const hash = String(r.output("e3ConfigHash").value);
        assert.match(hash, /^[0-9a-f]{64}$/);
        for (const c of commands) {
          assert.equal(c.inputs.type, "RunShellScript");
          assert.ok(c.secretPaths.includes("commandContent"), `${c.name}: secret paths ${c.secretPaths.join(", ")}`);
          assert.ok(String(c.inputs.commandContent).length <= CLOUD_ASSISTANT_MAX_CONTENT_BYTES, `${c.name}: ${String(c.inputs.commandContent).length} bytes`);
          assert.ok(String(c.inputs.name).includes(hash.slice(0, 12)), "the command's name carries the config hash");
        }
        for (const [i, inv] of invocations.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true })).entries()) {
          assert.equal((inv.inputs.instanceIds as unknown[]).length, 1, "one instance: E3");
          assert.equal(inv.inputs.username, "root");
          assert.equal(inv.inputs.repeatMode, "Once");
          const deps = inv.options.dependsOn.join(" ");
          assert.match(deps, i === 0 ? /EcsDiskAttachment::e3-data-attachment/ : new RegExp(`EcsInvocation::e3-apply-${i}$`));
        }
        const script = scriptOf(r);
        assert.match(script, /^#!\/bin\/bash/);
        assert.match(script, /put '\/etc\/apache2\/apache2\.conf' 0644 root:root apache/);
        const userData = Buffer.from(String(one(r, T.instance).inputs.userData), "base64").toString("utf8");
        assert.doesNotMatch(userData, /edp-deploy/, "no deploy user without SSH delivery");
      });

      it("keeps generated secrets out of everything that is not secret", () => {
        const secrets = r.ofType("random:index/randomPassword:RandomPassword").map((p) => p.name);
        assert.equal(secrets.length, 4);
        // The fixture's platform CA key is its own business; the E3 resources and outputs are checked.
        const e3Resources = r.resources.filter((x) => x.urn.includes("edp:e3:E3"));
        const plain =
          JSON.stringify(e3Resources.map((x) => withoutSecrets(x))) + JSON.stringify(Object.entries(r.result.outputs).filter(([, o]) => !o.secret));
        const onHost = [...filesOf(scriptOf(r)).values()].join("\n");
        // Mock passwords are "Mock" and a hash: each must reach the host, and nothing else.
        const values = onHost.match(/Mock[0-9a-f]{20,}/g) ?? [];
        assert.ok(new Set(values).size >= secrets.length, `found ${values.length} generated secrets in the host's files`);
        for (const v of values) assert.ok(!plain.includes(v), "a generated secret appears outside a secret");
        assert.doesNotMatch(plain, /PRIVATE KEY-----\\nMOCK/);
        const component = one(r, "edp:e3:E3");
        // The component sends the engine no inputs, so the CA key is not stored with it at all.
        assert.deepEqual(component.inputs, {});
      });

      it("exports the packages user's public key (manual 4.7.1) as a plain output", () => {
        const key = r.output("e3PackagesPublicKey");
        assert.equal(key.secret, false);
        assert.match(String(key.value), new RegExp(`^ssh-ed25519 \\S+ packages@e3-${stage}$`));
      });

      it("ships a CRL alert rule the platform's Prometheus can load", async () => {
        const rule = r.output("e3AlertRule").value as Record<string, unknown>;
        await validateObject(rule);
        assert.match(JSON.stringify(rule), /edp_e3_crl_next_update_timestamp_seconds/);
      });
    });
  }

  it("delivers over SSH when edp:e3.delivery is ssh: to the EIP, as a secret on stdin, triggered by the config hash", async () => {
    const r = await run("staging", { delivery: "ssh" });
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.ofType(T.caCommand).length, 0);
    const cmd = one(r, T.command);
    const conn = cmd.inputs.connection as Record<string, unknown>;
    assert.equal(conn.host, "203.0.113.10");
    assert.equal(conn.port, e3Config("staging").sshPort);
    assert.equal(conn.user, "edp-deploy");
    assert.equal(cmd.inputs.create, "sudo bash -s");
    assert.ok(cmd.secretPaths.includes("stdin"), `secret paths: ${cmd.secretPaths.join(", ")}`);
    assert.deepEqual(cmd.inputs.triggers, [r.output("e3ConfigHash").value]);
    assert.match(cmd.options.dependsOn.join(" "), /EipAssociation::e3-eip/);
    assert.match(Buffer.from(String(one(r, T.instance).inputs.userData), "base64").toString("utf8"), /edp-deploy/);
  });

  it("changes only the apply commands when an E3 setting changes, never the instance or the disk", async () => {
    const base = await run("testing");
    const changed = await run("testing", { crlRefreshMinutes: 20, customCaBundle: CUSTOM_CA });
    assert.equal(changed.error, undefined, changed.error);
    for (const type of [T.instance, T.disk, T.attachment, T.eip]) {
      assert.deepEqual(one(changed, type).inputs, one(base, type).inputs, `${type} inputs changed`);
    }
    const names = (x: StageRun) => x.ofType(T.caCommand).map((c) => String(c.inputs.name)).sort();
    for (const [a, b] of names(changed).map((n, i) => [n, names(base)[i]])) assert.notEqual(a, b, "every part is replaced");
    const files = filesOf(scriptOf(changed));
    assert.equal(files.get("/usr/local/share/ca-certificates/edp/edp-custom-1.crt"), CUSTOM_CA);
    assert.match(files.get("/etc/systemd/system/edp-crl-refresh.timer") ?? "", /OnUnitActiveSec=20min/);
  });

  it("rejects an unknown delivery and a bad ACME directory, naming the key", async () => {
    const bad = await run("staging", { delivery: "ftp" });
    assert.match(bad.error ?? "", /edp:e3\.delivery/);
    const badAcme = await run("staging", { acme: { directoryUrl: "http://acme.example.net/dir" } });
    assert.match(badAcme.error ?? "", /edp:e3\.acme\.directoryUrl: is not an https URL/);
  });

  it("rejects a package upstream that is not an rsync source, naming the key", async () => {
    const bad = await run("staging", { packagesUpstream: "https://repo.example.net/debian" });
    assert.match(bad.error ?? "", /edp:e3\.packagesUpstream: is not an rsync source/);
    const badCa = await run("staging", { customCaBundle: "not a certificate" });
    assert.match(badCa.error ?? "", /edp:e3\.customCaBundle: is not a PEM bundle/);
  });
});
