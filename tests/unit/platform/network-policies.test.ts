import assert from "node:assert/strict";
import { type Endpoint, networkPolicies, PEER_LABELS, type PolicyLike, trafficAllowed, UnsupportedPolicyError } from "../../../components/network-policies";
import { labelsFor } from "../../../components/services";
import { STAGES } from "../../../config";
import { meta, runPlatform } from "./run";

const NS = { edp: "edp", keycloak: "keycloak", monitoring: "monitoring", loki: "loki", ingress: "ingress-nginx", certManager: "cert-manager", kyverno: "kyverno" };
const PEERS = { postgres: "postgres", vault: "vault" };
const E3 = "203.0.113.10";
const LB = "203.0.113.20";
const VPC = "10.20.0.0/16";
const INPUT = { namespaces: NS, peers: PEERS, peerNames: PEERS, cnpgOperator: "cnpg-system", vpcCidr: VPC, ingressCidr: `${LB}/32`, e3Cidr: `${E3}/32` };
const policies = networkPolicies(INPUT) as unknown as PolicyLike[];

const pod = (namespace: string, labels: Record<string, string> = {}): Endpoint => ({ namespace, labels });
const portal = pod("edp", labelsFor("portal"));
const onboarding = pod("edp", labelsFor("onboarding"));
const keycloak = pod("keycloak", { "app.kubernetes.io/name": "keycloak" });
const nginx = pod("ingress-nginx", PEER_LABELS.ingressController);
const prometheus = pod("monitoring", PEER_LABELS.prometheus);
const grafana = pod("monitoring", PEER_LABELS.grafana);
const lokiGateway = pod("loki", PEER_LABELS.lokiGateway);
const postgres = pod("postgres", { "cnpg.io/cluster": "postgres" });
const vault = pod("vault", { "app.kubernetes.io/name": "vault" });
const coreDns = pod("kube-system", PEER_LABELS.coreDns);
const stranger = pod("default", { app: "curl" });
const vaultJob = pod("vault", { "app.kubernetes.io/name": "vault-snapshot" });
const pgInstance = pod("postgres", { "cnpg.io/cluster": "postgres", "cnpg.io/podRole": "instance" });
const pgBackup = pod("postgres", { "app.kubernetes.io/name": "pgbackup" });
const cnpgOperator = pod("cnpg-system", { "app.kubernetes.io/name": "cloudnative-pg" });
const certManager = pod("cert-manager", { "app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/instance": "cert-manager" });
const certManagerWebhook = pod("cert-manager", PEER_LABELS.certManagerWebhook);
const kyverno = pod("kyverno", { "app.kubernetes.io/component": "admission-controller" });
const apiServer = { ip: "10.20.3.4" };
const controlPlane = { ip: "100.104.1.1" };
const internet = { ip: "198.51.100.7" };

const cases: [string, Endpoint, Endpoint, number, string, boolean][] = [
  ["ingress-nginx → portal on 8080", nginx, portal, 8080, "TCP", true],
  ["ingress-nginx → a service's management port", nginx, onboarding, 8081, "TCP", false],
  ["a Pod in default → portal", stranger, portal, 8080, "TCP", false],
  ["service → service (Eureka)", onboarding, pod("edp", labelsFor("servicemanagement")), 8080, "TCP", true],
  ["Prometheus → service metrics", prometheus, onboarding, 8081, "TCP", true],
  ["Prometheus → Keycloak metrics", prometheus, keycloak, 9000, "TCP", true],
  ["Grafana → a service", grafana, onboarding, 8081, "TCP", false],
  ["service → PostgreSQL", onboarding, postgres, 5432, "TCP", true],
  ["service → PostgreSQL on another port", onboarding, postgres, 5433, "TCP", false],
  ["service → DNS (UDP)", onboarding, coreDns, 53, "UDP", true],
  ["service → DNS (TCP)", onboarding, coreDns, 53, "TCP", true],
  ["service → NodeLocal DNS", onboarding, { ip: "169.254.20.10" }, 53, "UDP", true],
  ["onboarding → Vault", onboarding, vault, 8200, "TCP", true],
  ["service → E3 over HTTPS", onboarding, { ip: E3 }, 443, "TCP", true],
  ["service → E3 over SSH", onboarding, { ip: E3 }, 22, "TCP", false],
  ["service → the platform's public names", onboarding, { ip: LB }, 443, "TCP", true],
  ["service → the internet", onboarding, { ip: "198.51.100.7" }, 443, "TCP", false],
  ["ingress-nginx → Keycloak", nginx, keycloak, 8080, "TCP", true],
  ["Keycloak → PostgreSQL", keycloak, postgres, 5432, "TCP", true],
  ["Keycloak → Keycloak (JGroups)", keycloak, keycloak, 7800, "TCP", true],
  ["Keycloak → Vault", keycloak, vault, 8200, "TCP", false],
  ["a service → Keycloak's pod directly", onboarding, keycloak, 8080, "TCP", false],
  ["ingress-nginx → Grafana", nginx, grafana, 3000, "TCP", true],
  ["a Pod in default → Grafana", stranger, grafana, 3000, "TCP", false],
  ["ingress-nginx → Loki gateway", nginx, lokiGateway, 8080, "TCP", true],
  ["Grafana → Loki", grafana, lokiGateway, 8080, "TCP", true],
  ["a Pod in default → Loki", stranger, lokiGateway, 8080, "TCP", false],
  // postgres
  ["a Pod in default → PostgreSQL", stranger, pgInstance, 5432, "TCP", false],
  ["Vault → PostgreSQL", vault, pgInstance, 5432, "TCP", true],
  ["the CNPG operator → an instance manager", cnpgOperator, pgInstance, 8000, "TCP", true],
  ["a PostgreSQL instance → the API server", pgInstance, apiServer, 6443, "TCP", true],
  ["Prometheus → PostgreSQL metrics", prometheus, pgInstance, 9187, "TCP", true],
  ["the backup Job → the primary", pgBackup, pgInstance, 5432, "TCP", true],
  ["the backup Job → OSS", pgBackup, internet, 443, "TCP", true],
  ["a PostgreSQL instance → the internet", pgInstance, internet, 443, "TCP", false],
  // vault
  ["a Pod in default → Vault", stranger, vault, 8200, "TCP", false],
  ["a service other than onboarding → Vault", portal, vault, 8200, "TCP", false],
  ["the internal ingress controller → Vault", nginx, vault, 8200, "TCP", true],
  ["Prometheus → Vault metrics", prometheus, vault, 8200, "TCP", true],
  ["Vault → Vault (raft)", vault, vault, 8201, "TCP", true],
  ["Vault's snapshot Job → Vault", vaultJob, vault, 8200, "TCP", true],
  ["Vault → KMS and OSS", vault, internet, 443, "TCP", true],
  ["Vault → the API server (token reviews)", vault, apiServer, 6443, "TCP", true],
  ["Vault → the internet over SSH", vault, internet, 22, "TCP", false],
  // ingress-nginx
  ["a client on the internet → the controller", internet, nginx, 443, "TCP", true],
  ["a client on the internet → the controller's metrics", internet, nginx, 10254, "TCP", false],
  ["the API server → the controller's admission webhook", controlPlane, nginx, 8443, "TCP", true],
  ["the controller → the internet", nginx, internet, 443, "TCP", false],
  ["a Pod in default → the controller's metrics", stranger, nginx, 10254, "TCP", false],
  // cert-manager
  ["the API server → cert-manager's webhook", controlPlane, certManagerWebhook, 10250, "TCP", true],
  ["the API server → cert-manager's controller", controlPlane, certManager, 10250, "TCP", false],
  ["cert-manager → Let's Encrypt", certManager, internet, 443, "TCP", true],
  ["cert-manager → PostgreSQL", certManager, pgInstance, 5432, "TCP", false],
  // kyverno
  ["the API server → Kyverno's webhook", controlPlane, kyverno, 9443, "TCP", true],
  ["Kyverno → a registry", kyverno, internet, 443, "TCP", true],
  ["a Pod in default → Kyverno's metrics", stranger, kyverno, 8000, "TCP", false],
  // the CloudNativePG operator
  ["the API server → the CNPG webhook", controlPlane, cnpgOperator, 9443, "TCP", true],
  ["the CNPG operator → the internet", cnpgOperator, internet, 443, "TCP", false],
];

describe("network policies", () => {
  for (const [what, from, to, port, protocol, allowed] of cases) {
    it(`${allowed ? "allows" : "denies"} ${what}`, () => assert.equal(trafficAllowed(policies, from, to, port, protocol), allowed));
  }

  it("denies everything both ways by default in edp and keycloak, and ingress in monitoring and loki", () => {
    type Spec = { podSelector: object; policyTypes: string[]; ingress?: unknown; egress?: unknown };
    const deny = policies.filter((p) => {
      const spec = p.spec as Spec;
      return JSON.stringify(spec.podSelector) === "{}" && spec.ingress === undefined && spec.egress === undefined;
    });
    const byNs = Object.fromEntries(deny.map((p) => [p.metadata.namespace, (p.spec as Spec).policyTypes]));
    const both = ["Ingress", "Egress"];
    assert.deepEqual(byNs, {
      edp: both,
      keycloak: both,
      monitoring: ["Ingress"],
      loki: ["Ingress"],
      postgres: both,
      vault: both,
      "ingress-nginx": both,
      "cert-manager": both,
      kyverno: both,
      "cnpg-system": both,
    });
  });
});

describe("the network policy evaluator", () => {
  const mk = (spec: object, namespace = "a"): PolicyLike[] => [{ metadata: { namespace, name: "p" }, spec }];
  const a = (labels: Record<string, string> = {}) => pod("a", labels);
  const ingressFrom = (from: object[], ports?: object[]) => mk({ podSelector: {}, policyTypes: ["Ingress"], ingress: [{ from, ...(ports ? { ports } : {}) }] });

  it("implements matchExpressions: In, NotIn, Exists, DoesNotExist", () => {
    const sel = (op: string, values?: string[]) => ingressFrom([{ podSelector: { matchExpressions: [{ key: "tier", operator: op, ...(values ? { values } : {}) }] } }]);
    const cases: [string, string[] | undefined, Record<string, string>, boolean][] = [
      ["In", ["web", "api"], { tier: "api" }, true],
      ["In", ["web"], { tier: "db" }, false],
      ["In", ["web"], {}, false],
      ["NotIn", ["db"], { tier: "web" }, true],
      ["NotIn", ["db"], { tier: "db" }, false],
      ["NotIn", ["db"], {}, true],
      ["Exists", undefined, { tier: "x" }, true],
      ["Exists", undefined, {}, false],
      ["DoesNotExist", undefined, {}, true],
      ["DoesNotExist", undefined, { tier: "x" }, false],
    ];
    for (const [op, values, labels, allowed] of cases) assert.equal(trafficAllowed(sel(op, values), a(labels), a(), 80), allowed, `${op} ${JSON.stringify(values)} ${JSON.stringify(labels)}`);
  });

  it("implements port ranges with endPort", () => {
    const p = ingressFrom([{ podSelector: {} }], [{ protocol: "TCP", port: 8000, endPort: 8010 }]);
    assert.equal(trafficAllowed(p, a(), a(), 8000), true);
    assert.equal(trafficAllowed(p, a(), a(), 8010), true);
    assert.equal(trafficAllowed(p, a(), a(), 8011), false);
    assert.equal(trafficAllowed(p, a(), a(), 7999), false);
    assert.equal(trafficAllowed(p, a(), a(), 8005, "UDP"), false);
  });

  it("implements ipBlocks of any prefix length with except", () => {
    const p = ingressFrom([{ ipBlock: { cidr: "10.0.0.0/8", except: ["10.1.0.0/16"] } }]);
    assert.equal(trafficAllowed(p, { ip: "10.2.3.4" }, a(), 80), true);
    assert.equal(trafficAllowed(p, { ip: "10.1.3.4" }, a(), 80), false);
    assert.equal(trafficAllowed(p, { ip: "11.0.0.1" }, a(), 80), false);
    assert.equal(trafficAllowed(ingressFrom([{ ipBlock: { cidr: "0.0.0.0/0" } }]), { ip: "198.51.100.1" }, a(), 80), true);
  });

  it("defaults policyTypes as Kubernetes does: Egress too when the policy has egress rules", () => {
    const p = mk({ podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: "192.0.2.0/24" } }] }] });
    assert.equal(trafficAllowed(p, a(), { ip: "198.51.100.1" }, 443), false);
    assert.equal(trafficAllowed(p, a(), { ip: "192.0.2.9" }, 443), true);
  });

  it("refuses what it does not understand instead of answering", () => {
    const refused: [string, PolicyLike[]][] = [
      ["a named port", ingressFrom([{ podSelector: {} }], [{ port: "http" }])],
      ["an unknown operator", ingressFrom([{ podSelector: { matchExpressions: [{ key: "k", operator: "Gt", values: ["1"] }] } }])],
      ["an IPv6 block", ingressFrom([{ ipBlock: { cidr: "2001:db8::/32" } }])],
      ["an unknown peer field", ingressFrom([{ serviceAccount: "x" }])],
      ["In without values", ingressFrom([{ podSelector: { matchExpressions: [{ key: "k", operator: "In" }] } }])],
      ["endPort without port", ingressFrom([{ podSelector: {} }], [{ endPort: 90 }])],
    ];
    for (const [what, p] of refused) assert.throws(() => trafficAllowed(p, { ip: "10.0.0.1" }, a({ k: "1" }), 80), UnsupportedPolicyError, what);
  });
});

describe("network policies per stage", function () {
  this.timeout(300_000);
  for (const stage of STAGES) {
    it(`${stage}: are created with the foundation's E3 and load balancer addresses`, async () => {
      const run = await runPlatform(stage);
      assert.equal(run.error, undefined, run.error);
      const created = run.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy");
      assert.equal(created.length, networkPolicies({ ...INPUT, ingressCidr: "x", e3Cidr: "y" }).length);
      const egress = created.find((p) => meta(p.inputs).namespace === "edp" && meta(p.inputs).name === "allow-egress");
      const text = JSON.stringify(egress?.inputs);
      assert.ok(text.includes('"203.0.113.10/32"') && text.includes('"203.0.113.20/32"'), text);
    });
  }
});
