/**
 * Who may reach the cloud side (issue 13, item 7): the API server's public endpoint admits only
 * the admin networks (plus ACK's control plane and the VPC), and the restore and drill Jobs hold
 * a read-only identity, never the backup writer's key. Checked over every stage's whole program,
 * and the SLB call that binds the access list (Alibaba's RPC client) is run against a loopback
 * SLB API that checks Alibaba's signature with a test-side verifier.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import YAML from "yaml";
import { ACK_CONTROL_PLANE_CIDR, API_SERVER_PORT, apiServerAclEntries } from "../../components/foundation/api-server-acl";
import { API_SERVER_ACL_KIND, type ApiServerAclInputs, credentialsFromEnv, setListenerAcl } from "../../components/foundation/api-server-acl-provider";
import { STAGES } from "../../config";
import { parseIpv4Cidr } from "../../config/validators";
import { mockId } from "../../scripts/lib/mock-outputs";
import { readRpcRequest, rpcSignature, rpcSigned } from "../harness/alicloud-signatures";
import { DynamicProviderHost } from "../harness/dynamic-provider-host";
import { DependencyGraph } from "../harness/graph";
import { identitiesOf, podsOf } from "../harness/workload-identity";
import { ROOT, runStage } from "../harness/stage";

const stackFile = (stage: string) =>
  YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stage}.yaml`), "utf8")) as { config: { "edp:cluster": { create: { apiServerCidrs: string[] } } } };

const prefixOf = (cidr: string) => {
  const c = parseIpv4Cidr(cidr);
  if (typeof c === "string") throw new Error(`${cidr}: ${c}`);
  return 32 - Math.log2(c.last - c.first + 1);
};

describe("cloud access of every stage", function () {
  this.timeout(300_000);

  for (const stage of STAGES) {
    describe(stage, () => {
      it("binds a whitelist of the admin networks, ACK's control plane and the VPC to the API server's listener before anything uses the cluster", async () => {
        const run = await runStage(stage);
        assert.equal(run.error, undefined, run.error);
        const [ack] = run.ofType("alicloud:cs/managedKubernetes:ManagedKubernetes");
        assert.equal(ack.inputs.slbInternetEnabled, true, "the API server is public: the access list is what restricts it");
        const acls = run.ofType("alicloud:slb/acl:Acl");
        assert.equal(acls.length, 1);
        const entries = (acls[0].inputs.entryLists as { entry: string }[]).map((e) => e.entry);
        const vpc = String(run.ofType("alicloud:vpc/network:Network")[0].inputs.cidrBlock);
        const admin = stackFile(stage).config["edp:cluster"].create.apiServerCidrs;
        assert.ok(admin.length > 0, "no admin network in the access list");
        assert.deepEqual(entries, [ACK_CONTROL_PLANE_CIDR, vpc, ...admin]);
        for (const e of entries) assert.ok(prefixOf(e) >= 8, `${e} is wider than a /8`);
        const bindings = run.ofType("pulumi-nodejs:dynamic:Resource").filter((r) => r.inputs.kind === API_SERVER_ACL_KIND);
        assert.equal(bindings.length, 1);
        const b = bindings[0].inputs;
        assert.deepEqual([b.port, b.aclId, b.region, b.endpoint], [API_SERVER_PORT, mockId(acls[0].type, acls[0].name), "eu-central-1", "https://slb.eu-central-1.aliyuncs.com"]);
        assert.match(String(b.loadBalancerId), /^lb-[0-9a-f]{20}$/, "the binding names the cluster's API server CLB (slbId)");
        const central = run.ofType("pulumi:providers:kubernetes").find((p) => p.name.endsWith("-central"));
        assert.ok(central);
        assert.ok(new DependencyGraph(run.resources).waitsFor(central.urn).has(bindings[0].urn), "the central provider must wait for the API server's access list");
      });

      it("gives the restore and the drill a read-only identity and only the backup the writer's", async () => {
        const run = await runStage(stage);
        // Whatever form the identities take (RRSA roles on a created cluster, keys otherwise).
        const usedBy = new Map<string, string[]>();
        for (const pod of podsOf(run).filter((p) => p.namespace === "postgres")) {
          usedBy.set(pod.name, identitiesOf(run, pod).map((i) => (i.kind === "accessKey" ? i.user : i.roleName)));
        }
        assert.deepEqual(usedBy.get("pgbackup"), [`edp-${stage}-pg-backup-writer`]);
        for (const job of ["pgrestore", "pgdrill"]) assert.deepEqual(usedBy.get(job), [`edp-${stage}-pg-backup-reader`], job);
        const policy = run.ofType("alicloud:ram/policy:Policy").find((p) => p.name === "edp-pg-backup-reader");
        assert.ok(policy, "no reader policy");
        const actions = (JSON.parse(String(policy.inputs.policyDocument)) as { Statement: { Action: string[] }[] }).Statement.flatMap((s) => s.Action);
        for (const a of actions) assert.ok(/^(oss:(Get|List)|kms:Decrypt$)/.test(a), `the reader may ${a}`);
      });
    });
  }
});

describe("API server access list", () => {
  it("lists ACK's control plane and the VPC before the admin networks, once each", () => {
    assert.deepEqual(
      apiServerAclEntries("10.20.0.0/16", ["198.51.100.0/24", "10.20.0.0/16"]).map((e) => e.entry),
      [ACK_CONTROL_PLANE_CIDR, "10.20.0.0/16", "198.51.100.0/24"],
    );
  });

  it("the loopback SLB's verifier reproduces Alibaba's documented signature (the DescribeRegions example)", () => {
    const params = {
      AccessKeyId: "testid",
      Action: "DescribeRegions",
      Format: "XML",
      SignatureMethod: "HMAC-SHA1",
      SignatureNonce: "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
      SignatureVersion: "1.0",
      Timestamp: "2016-02-23T12:46:24Z",
      Version: "2014-05-26",
    };
    assert.equal(rpcSignature("GET", params, "testsecret"), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
  });

  it("refuses to run without the deployer's credentials, naming the variables", () => {
    assert.throws(() => credentialsFromEnv({}), /ALICLOUD_ACCESS_KEY and ALICLOUD_SECRET_KEY/);
    assert.deepEqual(credentialsFromEnv({ ALICLOUD_ACCESS_KEY: "id", ALICLOUD_SECRET_KEY: "s", ALICLOUD_SECURITY_TOKEN: "t" }), { accessKeyId: "id", accessKeySecret: "s", securityToken: "t" });
  });

  describe("against a loopback SLB API", () => {
    const calls: (Record<string, string> & { method: string })[] = [];
    let server: http.Server;
    let endpoint = "";
    let answer: { status: number; body: unknown } = { status: 200, body: { RequestId: "r-1" } };
    const KEY = { accessKeyId: "LTAIdeployer", accessKeySecret: "deployer-secret" };
    before(async () => {
      server = http.createServer((req, res) => {
        void readRpcRequest(req).then(({ method, params }) => {
          // The real API refuses a request whose signature does not match the key's secret.
          if (!rpcSigned(method, params, KEY)) {
            res.writeHead(400, { "Content-Type": "application/json" }).end(JSON.stringify({ Code: "SignatureDoesNotMatch", Message: "bad signature" }));
            return;
          }
          calls.push({ ...params, method });
          res.writeHead(answer.status, { "Content-Type": "application/json" }).end(JSON.stringify(answer.body));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const inputs = (): ApiServerAclInputs => ({ kind: API_SERVER_ACL_KIND, endpoint, region: "eu-central-1", loadBalancerId: "lb-apiserver", port: API_SERVER_PORT, aclId: "acl-admin" });
    const creds = KEY;

    it("turns the listener's whitelist on with the ACL, and off again", async () => {
      answer = { status: 200, body: { RequestId: "r-1" } };
      calls.length = 0;
      await setListenerAcl(inputs(), true, creds);
      await setListenerAcl(inputs(), false, creds);
      const pick = (c: Record<string, string>) => [c.Action, c.Version, c.LoadBalancerId, c.ListenerPort, c.AclStatus, c.AclType, c.AclId];
      assert.deepEqual(calls.map(pick), [
        ["SetLoadBalancerTCPListenerAttribute", "2014-05-15", "lb-apiserver", "6443", "on", "white", "acl-admin"],
        ["SetLoadBalancerTCPListenerAttribute", "2014-05-15", "lb-apiserver", "6443", "off", undefined, undefined],
      ]);
      // In the body, not the URL: the key id and signature stay out of logs that quote URLs.
      assert.deepEqual(calls.map((c) => [c.method, c.Format, c.SecurityToken]), [["POST", "JSON", undefined], ["POST", "JSON", undefined]]);
    });

    it("sends the session token of temporary credentials, signed", async () => {
      answer = { status: 200, body: { RequestId: "r-2" } };
      calls.length = 0;
      await setListenerAcl(inputs(), true, { ...creds, securityToken: "CAIS-session-token" });
      assert.equal(calls.length, 1);
      assert.equal(calls[0].SecurityToken, "CAIS-session-token");
    });

    it("fails with the API's code when the call is refused", async () => {
      answer = { status: 404, body: { Code: "InvalidParameter", Message: "The specified listener does not exist." } };
      await assert.rejects(setListenerAcl(inputs(), true, creds), /lb-apiserver:6443 failed: HTTP 404 InvalidParameter The specified listener does not exist\./);
      await assert.rejects(setListenerAcl(inputs(), true, { ...creds, accessKeySecret: "wrong" }), (e: Error) => {
        assert.match(e.message, /failed: HTTP 400 SignatureDoesNotMatch bad signature$/);
        assert.ok(!e.message.includes("wrong") && !e.message.includes(creds.accessKeyId), "no credential in the error");
        return true;
      });
    });

    it("works as Pulumi serialises it: the stage's binding provider, run by Pulumi's dynamic-provider host, requires the pinned client and sets the list", async function () {
      this.timeout(120_000);
      const run = await runStage("testing");
      const [binding] = run.ofType("pulumi-nodejs:dynamic:Resource").filter((r) => r.inputs.kind === API_SERVER_ACL_KIND);
      const code = String(binding.inputs.__provider);
      assert.match(code, /require\("@alicloud\/pop-core[/"]/, "the provider loads Alibaba's client from node_modules");
      assert.ok(!code.includes("createHmac"), "no signer of its own in the provider's code");
      const host = new DynamicProviderHost(ROOT);
      // The host reads the deployer's credentials from its environment, as under `pulumi up`.
      const saved = { id: process.env.ALICLOUD_ACCESS_KEY, secret: process.env.ALICLOUD_SECRET_KEY };
      process.env.ALICLOUD_ACCESS_KEY = KEY.accessKeyId;
      process.env.ALICLOUD_SECRET_KEY = KEY.accessKeySecret;
      try {
        await host.start();
      } finally {
        for (const [k, v] of [["ALICLOUD_ACCESS_KEY", saved.id], ["ALICLOUD_SECRET_KEY", saved.secret]] as const) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
      try {
        answer = { status: 200, body: { RequestId: "r-3" } };
        calls.length = 0;
        const created = await host.create("urn:pulumi:testing::edp::pulumi-nodejs:dynamic:Resource::apiserver-acl", { ...binding.inputs, endpoint });
        assert.ok(created.ok, JSON.stringify(!created.ok && created.failure));
        assert.deepEqual(calls.map((c) => [c.Action, c.LoadBalancerId, c.AclStatus, c.AclId]), [["SetLoadBalancerTCPListenerAttribute", binding.inputs.loadBalancerId, "on", binding.inputs.aclId]]);
      } finally {
        await host.stop();
      }
    });
  });
});
