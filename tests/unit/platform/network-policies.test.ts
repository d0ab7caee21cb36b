import assert from "node:assert/strict";
import { type Endpoint, networkPolicies, PEER_LABELS, type PolicyLike, trafficAllowed } from "../../../components/network-policies";
import { labelsFor } from "../../../components/services";
import { STAGES } from "../../../config";
import { meta, runPlatform } from "./run";

const NS = { edp: "edp", keycloak: "keycloak", monitoring: "monitoring", loki: "loki", ingress: "ingress-nginx" };
const PEERS = { postgres: "postgres", vault: "vault" };
const E3 = "203.0.113.10";
const LB = "203.0.113.20";
const policies = networkPolicies({ namespaces: NS, peers: PEERS, ingressCidr: `${LB}/32`, e3Cidr: `${E3}/32` }) as unknown as PolicyLike[];

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
    assert.deepEqual(byNs, { edp: ["Ingress", "Egress"], keycloak: ["Ingress", "Egress"], monitoring: ["Ingress"], loki: ["Ingress"] });
  });
});

describe("network policies per stage", function () {
  this.timeout(300_000);
  for (const stage of STAGES) {
    it(`${stage}: are created with the foundation's E3 and load balancer addresses`, async () => {
      const run = await runPlatform(stage);
      assert.equal(run.error, undefined, run.error);
      const created = run.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy");
      assert.equal(created.length, networkPolicies({ namespaces: NS, peers: PEERS, ingressCidr: "x", e3Cidr: "y" }).length);
      const egress = created.find((p) => meta(p.inputs).namespace === "edp" && meta(p.inputs).name === "allow-egress");
      const text = JSON.stringify(egress?.inputs);
      assert.ok(text.includes('"203.0.113.10/32"') && text.includes('"203.0.113.20/32"'), text);
    });
  }
});
