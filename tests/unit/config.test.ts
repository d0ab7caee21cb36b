/**
 * Stage config validation: each bad input is rejected with a message that names its key, all
 * problems are reported at once, and nothing secret is echoed.
 */
import assert from "node:assert/strict";
import { ConfigError, parseStageConfig } from "../../config";
import * as pulumi from "@pulumi/pulumi";
import { runtimeSecretKeys } from "../../config/load";
import { scheduleGaps } from "../../config/cron";
import { cronProblem, isDns1123Label, isDomainName, parseIpv4Cidr } from "../../config/validators";
import { stageRawConfig } from "../harness/config";
import { testKubeconfig } from "../harness/pki";

type Json = Record<string, unknown>;
const base = (stage: string) => stageRawConfig(stage).values;
const SECRET_KEYS = stageRawConfig("testing").secretKeys;
const obj = (raw: Record<string, string>, key: string) => JSON.parse(raw[key]) as Json;

/** Applies an edit to one stage's config and returns the config error, or undefined. */
function problemsOf(stage: string, edit: (raw: Record<string, string>) => void): ConfigError | undefined {
  const raw = base(stage);
  edit(raw);
  try {
    parseStageConfig({ values: raw, stack: stage, project: "edp", secretKeys: SECRET_KEYS });
    return undefined;
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
}

/** Sets a JSON path inside a structured key: set(raw, "edp:network", ["zones", 0, "zoneId"], "x"). */
function set(raw: Record<string, string>, key: string, at: (string | number)[], value: unknown) {
  const root = obj(raw, key);
  let node: Record<string | number, unknown> = root;
  for (const part of at.slice(0, -1)) node = node[part] as Record<string | number, unknown>;
  node[at[at.length - 1]] = value;
  raw[key] = JSON.stringify(root);
}

interface BadCase {
  what: string;
  stage?: string;
  edit: (raw: Record<string, string>) => void;
  /** Key path the message must name. */
  key: string;
  /** Part of the message that says what was expected. */
  says: RegExp;
}

const cases: BadCase[] = [
  { what: "unknown stage", edit: (r) => { r["edp:stage"] = "qa"; }, key: "edp:stage", says: /testing, staging, production/ },
  { what: "stage that is not the stack's", edit: (r) => { r["edp:stage"] = "staging"; }, key: "edp:stage", says: /the stack is "testing"/ },
  { what: "unknown region", edit: (r) => { r["alicloud:region"] = "eu-central-9"; }, key: "alicloud:region", says: /region id/ },
  { what: "public zone that is no domain", edit: (r) => set(r, "edp:dns", ["publicZone"], "Example_EDP.net"), key: "edp:dns.publicZone", says: /DNS domain/ },
  { what: "internal zone with one label", edit: (r) => set(r, "edp:dns", ["internalZone"], "internal"), key: "edp:dns.internalZone", says: /DNS domain/ },
  { what: "VPC CIDR that does not parse", edit: (r) => set(r, "edp:network", ["vpcCidr"], "10.20.0.0/33"), key: "edp:network.vpcCidr", says: /IPv4 CIDR/ },
  { what: "CIDR with host bits set", edit: (r) => set(r, "edp:network", ["serviceCidr"], "172.21.0.5/20"), key: "edp:network.serviceCidr", says: /host bits/ },
  { what: "pod CIDR overlapping the VPC", edit: (r) => set(r, "edp:network", ["podCidr"], "10.20.128.0/17"), key: "edp:network.podCidr", says: /overlaps edp:network.vpcCidr/ },
  { what: "service CIDR overlapping the pod CIDR", edit: (r) => set(r, "edp:network", ["serviceCidr"], "172.20.16.0/20"), key: "edp:network.serviceCidr", says: /overlaps edp:network.podCidr/ },
  { what: "vSwitch outside the VPC", edit: (r) => set(r, "edp:network", ["zones", 1, "vswitchCidr"], "10.99.16.0/20"), key: "edp:network.zones[1].vswitchCidr", says: /not inside edp:network.vpcCidr/ },
  { what: "overlapping vSwitches", edit: (r) => set(r, "edp:network", ["zones", 1, "vswitchCidr"], "10.20.8.0/21"), key: "edp:network.zones[1].vswitchCidr", says: /overlaps edp:network.zones\[0\]/ },
  { what: "a single zone", edit: (r) => set(r, "edp:network", ["zones"], [obj(r, "edp:network").zones && (obj(r, "edp:network").zones as Json[])[0]]), key: "edp:network.zones", says: /at least two zones/ },
  { what: "zone of another region", edit: (r) => set(r, "edp:network", ["zones", 0, "zoneId"], "cn-hangzhou-h"), key: "edp:network.zones[0].zoneId", says: /not a zone of region eu-central-1/ },
  { what: "load balancer id in the wrong format", edit: (r) => set(r, "edp:ingress", ["loadBalancerId"], "alb-12345"), key: "edp:ingress.loadBalancerId", says: /load balancer id/ },
  { what: "image tag missing for a service", edit: (r) => { const i = obj(r, "edp:images"); delete (i.tags as Json).onboarding; r["edp:images"] = JSON.stringify(i); }, key: "edp:images.tags.onboarding", says: /needs an image tag/ },
  { what: "latest tag in staging", stage: "staging", edit: (r) => set(r, "edp:images", ["tags", "portal"], "latest"), key: "edp:images.tags.portal", says: /not allowed in staging/ },
  { what: "latest tag in production", stage: "production", edit: (r) => set(r, "edp:images", ["tags", "masterdata"], "latest"), key: "edp:images.tags.masterdata", says: /not allowed in production/ },
  { what: "image tag with a space", edit: (r) => set(r, "edp:images", ["tags", "portal"], "4.0 rc"), key: "edp:images.tags.portal", says: /valid image tag/ },
  { what: "tag for a service that does not exist", edit: (r) => set(r, "edp:images", ["tags", "portalgatway"], "1.0.0"), key: "edp:images.tags.portalgatway", says: /not an EDP service/ },
  { what: "edge cluster name that is not DNS-1123", edit: (r) => set(r, "edp:edgeClusters", [0, "name"], "Lab_Line_1"), key: "edp:edgeClusters[0].name", says: /DNS-1123/ },
  { what: "duplicate edge cluster names", edit: (r) => { const c = JSON.parse(r["edp:edgeClusters"]) as Json[]; r["edp:edgeClusters"] = JSON.stringify([...c, { ...c[0], hosts: [] }]); }, key: "edp:edgeClusters[1].name", says: /used by another edge cluster/ },
  { what: "backup schedule with six fields", edit: (r) => set(r, "edp:postgres", ["backup", "schedule"], "0 0 */3 * * *"), key: "edp:postgres.backup.schedule", says: /has 6 fields/ },
  { what: "backup schedule out of range", edit: (r) => set(r, "edp:postgres", ["backup", "schedule"], "0 */3 * 13 *"), key: "edp:postgres.backup.schedule", says: /month 13 is above 12/ },
  { what: "retention of zero days", edit: (r) => set(r, "edp:postgres", ["backup", "retentionDays"], 0), key: "edp:postgres.backup.retentionDays", says: /greater than 0/ },
  { what: "port above 65535", edit: (r) => set(r, "edp:e3", ["sshPort"], 70000), key: "edp:e3.sshPort", says: /port between 1 and 65535/ },
  { what: "maintenance port on Apache's", edit: (r) => set(r, "edp:e3", ["nodeExporterPort"], 443), key: "edp:e3.nodeExporterPort", says: /taken on E3 by Apache/ },
  { what: "maintenance ports open to the internet", edit: (r) => set(r, "edp:e3", ["adminCidrs"], ["0.0.0.0/0"]), key: "edp:e3.adminCidrs[0]", says: /more than a \/8/ },
  { what: "creating and adopting a cluster at once", edit: (r) => { r["edp:clusterKubeconfig"] = "apiVersion: v1\nkind: Config\n"; }, key: "edp:cluster.create", says: /mutually exclusive/ },
  { what: "neither creating nor adopting a cluster", edit: (r) => { delete r["edp:cluster"]; }, key: "edp:cluster.create", says: /edp:clusterKubeconfig/ },
  { what: "Shamir seal in production", stage: "production", edit: (r) => set(r, "edp:vault", ["seal"], "shamir"), key: "edp:vault.seal", says: /only testing/ },
  { what: "even number of Vault replicas", stage: "staging", edit: (r) => set(r, "edp:vault", ["replicas"], 4), key: "edp:vault.replicas", says: /odd number/ },
  { what: "CRL that expires between E3 refreshes", edit: (r) => set(r, "edp:vault", ["crlExpiryHours"], 1), key: "edp:vault.crlExpiryHours", says: /four E3 refresh periods/ },
  { what: "direct bootstrap without a kubeconfig", edit: (r) => { set(r, "edp:edgeClusters", [0, "bootstrap"], "direct"); delete r["edp:edgeKubeconfigs"]; }, key: "edp:edgeClusters[0].bootstrap", says: /edp:edgeKubeconfigs.lab-line-1/ },
  { what: "deployment on an unknown cluster", edit: (r) => set(r, "edp:deployments", [0, "cluster"], "lab-line-9"), key: "edp:deployments[0].cluster", says: /not in edp:edgeClusters/ },
  { what: "deployment of an unknown template", edit: (r) => set(r, "edp:deployments", [0, "template"], "modbus"), key: "edp:deployments[0].template", says: /not in edp:chartTemplates/ },
  { what: "deployment pinned to a host the cluster lacks", edit: (r) => set(r, "edp:deployments", [0, "hostname"], "lab-edge-99"), key: "edp:deployments[0].hostname", says: /not a host of edge cluster lab-line-1/ },
  { what: "node pool with min above max", edit: (r) => set(r, "edp:cluster", ["create", "nodePools", 0, "minSize"], 9), key: "edp:cluster.create.nodePools[0].minSize", says: /larger than maxSize/ },
  { what: "misspelt key", edit: (r) => set(r, "edp:postgres", ["backups"], {}), key: "edp:postgres.backups", says: /did you mean edp:postgres.backup\?/ },
  { what: "bucket prefix with a dot", edit: (r) => { r["edp:bucketPrefix"] = "example.edp"; }, key: "edp:bucketPrefix", says: /without dots/ },
  { what: "required section missing", edit: (r) => { delete r["edp:vault"]; }, key: "edp:vault", says: /is required/ },
  { what: "alerting without a receiver", edit: (r) => (r["edp:alerting"] = JSON.stringify({ deadMansSwitch: { repeatInterval: "5m" } })), key: "edp:alerting", says: /needs a receiver/, stage: "staging" },
  { what: "staging without a dead man's switch", edit: (r) => set(r, "edp:alerting", ["deadMansSwitch"], undefined), key: "edp:alerting.deadMansSwitch", says: /required in staging/, stage: "staging" },
  { what: "an alerting e-mail recipient that is no address", edit: (r) => set(r, "edp:alerting", ["email", "to", 0], "ops"), key: "edp:alerting.email.to[0]", says: /e-mail/ },
  {
    what: "a webhook without its URL in edp:alertingSecrets",
    edit: (r) => (r["edp:alertingSecrets"] = JSON.stringify({ smtpPassword: "x", deadMansSwitchUrl: "https://hb.example.net/p" })),
    key: "edp:alertingSecrets.webhookUrl",
    says: /is missing \(secret\)/,
    stage: "production",
  },
];

describe("stage config validation", () => {
  it("accepts the three stack files as they are", () => {
    for (const stage of ["testing", "staging", "production"]) {
      const cfg = parseStageConfig(stageRawConfig(stage));
      assert.equal(cfg.stage, stage);
      assert.equal(cfg.protect, stage === "production");
      assert.equal(cfg.clusterMode, "create");
    }
  });

  for (const c of cases) {
    it(`rejects ${c.what}, naming ${c.key}`, () => {
      const err = problemsOf(c.stage ?? "testing", c.edit);
      assert.ok(err, "the config was accepted");
      const problem = err.problems.find((p) => p.key === c.key);
      assert.ok(problem, `no problem for ${c.key}; got:\n${err.message}`);
      assert.match(problem.message, c.says);
      assert.ok(err.message.includes(`${c.key}:`), "the thrown message does not name the key");
    });
  }

  it("reports every problem at once", () => {
    const err = problemsOf("staging", (r) => {
      set(r, "edp:network", ["podCidr"], "10.30.0.0/16");
      set(r, "edp:images", ["tags", "portal"], "latest");
      set(r, "edp:postgres", ["backup", "retentionDays"], -1);
    });
    assert.ok(err);
    // A section that fails the schema does not hide cross-key problems of the valid ones.
    assert.deepEqual(err.problems.map((p) => p.key).sort(), ["edp:images.tags.portal", "edp:network.podCidr", "edp:postgres.backup.retentionDays"]);
    const err2 = problemsOf("staging", (r) => {
      set(r, "edp:network", ["podCidr"], "10.30.0.0/16");
      set(r, "edp:images", ["tags", "portal"], "latest");
      set(r, "edp:vault", ["seal"], "shamir");
    });
    assert.ok(err2);
    assert.deepEqual(err2.problems.map((p) => p.key).sort(), ["edp:images.tags.portal", "edp:network.podCidr", "edp:vault.seal"]);
  });

  it("adopts a cluster when only the kubeconfig is given (with its VPC), and keeps it secret", async () => {
    const raw = stageRawConfig("testing", { "edp:clusterKubeconfig": testKubeconfig() });
    delete raw.values["edp:cluster"];
    raw.values["edp:existing"] = JSON.stringify({ vpc: { id: "vpc-gw8abcdefghij" } });
    const cfg = parseStageConfig(raw);
    assert.equal(cfg.clusterMode, "adopt");
    assert.ok(cfg.secrets.clusterKubeconfig);
  });

  it("never echoes a secret value in an error", () => {
    const err = problemsOf("testing", (r) => {
      r["edp:issuerCa"] = JSON.stringify({ crt: "hunter2-not-a-pem", key: "s3cr3t-key-material" });
    });
    assert.ok(err);
    assert.ok(err.problems.some((p) => p.key === "edp:issuerCa.crt"));
    assert.ok(!err.message.includes("hunter2") && !err.message.includes("s3cr3t"));
  });
});

describe("config syntax checks", () => {
  const table: [string, boolean][] = [
    ["example.net", true], ["api.testing.example-edp.net", true], ["example", false], ["-bad.net", false], ["a..b", false], ["UPPER.net", false], ["1.2.3.4", false],
  ];
  for (const [value, ok] of table) it(`isDomainName(${JSON.stringify(value)}) is ${ok}`, () => assert.equal(isDomainName(value), ok));

  const labels: [string, boolean][] = [["plant-a", true], ["a", true], ["Plant", false], ["-a", false], ["a-", false], ["a".repeat(64), false]];
  for (const [value, ok] of labels) it(`isDns1123Label(${JSON.stringify(value.length > 20 ? `${value.slice(0, 5)}…` : value)}) is ${ok}`, () => assert.equal(isDns1123Label(value), ok));

  it("parses CIDRs to address ranges", () => {
    assert.deepEqual(parseIpv4Cidr("10.0.0.0/30"), { text: "10.0.0.0/30", first: 167772160, last: 167772163 });
    assert.equal(typeof parseIpv4Cidr("10.0.0.1/30"), "string");
    assert.equal(typeof parseIpv4Cidr("300.0.0.0/8"), "string");
  });

  // What robfig/cron v3's ParseStandard accepts (Kubernetes validates spec.schedule with it and
  // refuses "TZ"); the quirks are robfig's, pinned here so the dialect stays exact.
  const accepted = [
    "0 */3 * * *", "@weekly", "@every 1h30m", "@every 90s", "0 0 * * MON-FRI", "0 0 1 jan,Jul *", "? * * * *", "0 0 ? * 1",
    "5/15 * * * *", "*-5 * * * *", "0 0 1,,15 * *", "0 0 * * 0-6", "+5 * * * *", "0 0 * * sun", "*/1 * * * *", "0\t3 * * *",
  ];
  const rejected: [string, RegExp][] = [
    ["0 0 * * 7", /day of week 7 is above 6/], ["0 0 L * *", /not a number/], ["0 0 1W * *", /not a number/], ["0 0 * * 1#2", /not a number/],
    ["H * * * *", /not a number/], ["@reboot", /unknown descriptor/], ["TZ=UTC 0 3 * * *", /TZ/], ["0 3 * * * CRON_TZ", /TZ/],
    ["0 0 0 * * *", /6 fields/], ["*/0 * * * *", /must be positive/], ["-5 * * * *", /not a number/], ["1-2-3 * * * *", /too many hyphens/],
    ["1/2/3 * * * *", /too many slashes/], ["5-1 * * * *", /starts after it ends/], ["0 0 * jan-foo *", /not a number/], ["", /empty/],
    [" @hourly", /fields/], ["@every", /unknown descriptor/], ["@every 1d", /Go duration/], ["0 0 * * mon-sun", /starts after it ends/],
  ];
  for (const s of accepted) it(`cronProblem(${JSON.stringify(s)}) accepts it, as Kubernetes does`, () => assert.equal(cronProblem(s), undefined));
  for (const [s, why] of rejected) it(`cronProblem(${JSON.stringify(s)}) refuses it, as Kubernetes does`, () => assert.match(cronProblem(s) ?? "", why));

  it("measures the gaps of descriptors and @every", () => {
    assert.deepEqual(scheduleGaps("@hourly"), { min: 3600, max: 3600 });
    assert.deepEqual(scheduleGaps("@every 20m"), { min: 1200, max: 1200 });
    assert.deepEqual(scheduleGaps("0 0 1 * *"), { min: 28 * 86400, max: 31 * 86400 });
    // Both day fields restricted: either matches (robfig, like Vixie cron).
    assert.equal(scheduleGaps("0 0 1 * 1").min, 86400);
  });

  it("accepts Kubernetes schedules and rejects others", () => {
    assert.equal(cronProblem("0 */3 * * *"), undefined);
    assert.equal(cronProblem("@weekly"), undefined);
    assert.match(cronProblem("*/5 * * *") ?? "", /4 fields/);
    assert.match(cronProblem("99 * * * *") ?? "", /minute 99 is above 59/);
  });
});

describe("which config is secret", () => {
  it("is asked from the Pulumi runtime (PULUMI_CONFIG_SECRET_KEYS through runtime.isConfigSecret)", () => {
    pulumi.runtime.setAllConfig({ "edp:stage": "testing", "edp:dockerPullJson": "{}" }, ["edp:dockerPullJson"]);
    assert.deepEqual(runtimeSecretKeys(["edp:stage", "edp:dockerPullJson"]), ["edp:dockerPullJson"]);
    pulumi.runtime.setAllConfig({ "edp:stage": "testing", "edp:dockerPullJson": "{}" }, []);
    assert.deepEqual(runtimeSecretKeys(["edp:stage", "edp:dockerPullJson"]), []);
  });
  after(() => pulumi.runtime.setAllConfig({}, []));
});
