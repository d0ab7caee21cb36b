/**
 * Exposure of the whole program, per stage: which host is served by which ingress controller,
 * which load balancer each controller sits on, and where each host's DNS record points. The rule
 * (DESIGN, "Two ingress paths"): public names on the internet-facing load balancer, VPC-internal
 * names on the intranet one, and no internal name reachable by Host header from the internet.
 */
import assert from "node:assert/strict";
import { checkPolicy, type PolicyLike } from "../../components/network-policies/evaluate";
import { INGRESS_CLASSES, LB_ADDRESS_TYPE_ANNOTATION, LB_ID_ANNOTATION } from "../../components/ingress";
import { STAGES } from "../../config";
import { parseIpv4Cidr } from "../../config/validators";
import { mockId } from "../../scripts/lib/mock-outputs";
import { e3FilesOf, e3ScriptOf } from "../harness/e3-script";
import { DependencyGraph } from "../harness/graph";
import { type RecordedResource, runStage, type StageRun } from "../harness/stage";

type Obj = Record<string, unknown>;

/** Whether CIDR `inner` lies inside CIDR `outer`. */
function cidrWithin(inner: string, outer: string): boolean {
  const a = parseIpv4Cidr(inner);
  const b = parseIpv4Cidr(outer);
  if (typeof a === "string" || typeof b === "string") throw new Error(`bad CIDR ${inner} or ${outer}`);
  return a.first >= b.first && a.last <= b.last;
}

interface IngressHost {
  ingress: string;
  host: string;
  className: string;
}

export function ingressHosts(run: StageRun): IngressHost[] {
  return run.ofType("kubernetes:networking.k8s.io/v1:Ingress").flatMap((r) => {
    const meta = r.inputs.metadata as { name: string; namespace: string };
    const spec = r.inputs.spec as { ingressClassName?: string; rules?: { host?: string }[] };
    return (spec.rules ?? []).map((rule) => ({ ingress: `${meta.namespace}/${meta.name}`, host: String(rule.host), className: String(spec.ingressClassName) }));
  });
}

interface DnsRecord {
  fqdn: string;
  kind: "public" | "private";
  value: string;
}

/** Every A record the program creates: Alibaba DNS (public) and PrivateZone (VPC). */
export function dnsRecords(run: StageRun): DnsRecord[] {
  const zones = new Map(run.ofType("alicloud:pvtz/zone:Zone").map((z) => [`pvtz-${z.name}`, String(z.inputs.zoneName)]));
  const privateZone = [...zones.values()];
  assert.equal(privateZone.length, 1, "one PrivateZone expected");
  const pub = run.ofType("alicloud:dns/alidnsRecord:AlidnsRecord").map((r) => ({ fqdn: `${r.inputs.rr}.${r.inputs.domainName}`, kind: "public" as const, value: String(r.inputs.value) }));
  const priv = run.ofType("alicloud:pvtz/zoneRecord:ZoneRecord").map((r) => ({ fqdn: `${r.inputs.rr}.${privateZone[0]}`, kind: "private" as const, value: String(r.inputs.value) }));
  return [...pub, ...priv];
}

describe("exposure of every stage", function () {
  this.timeout(300_000);

  for (const stage of STAGES) {
    describe(stage, () => {
      it("gives every Ingress host exactly one DNS record, on the load balancer of its controller", async () => {
        const run = await runStage(stage);
        assert.equal(run.error, undefined, run.error);
        const publicAddress = String(run.output("ingressAddress").value);
        const internalAddress = String(run.output("internalIngressAddress").value);
        assert.notEqual(publicAddress, internalAddress);
        const records = dnsRecords(run);
        const hosts = ingressHosts(run);
        assert.ok(hosts.length >= 8, `only ${hosts.length} Ingress hosts`);
        const problems: string[] = [];
        for (const h of hosts) {
          const found = records.filter((r) => r.fqdn === h.host);
          const want =
            h.className === INGRESS_CLASSES.public
              ? { kind: "public", value: publicAddress }
              : h.className === INGRESS_CLASSES.internal
                ? { kind: "private", value: internalAddress }
                : undefined;
          if (!want) problems.push(`${h.ingress}: unknown ingress class ${h.className}`);
          else if (found.length !== 1) problems.push(`${h.ingress}: ${h.host} has ${found.length} DNS records`);
          else if (found[0].kind !== want.kind || found[0].value !== want.value) {
            problems.push(`${h.ingress}: ${h.host} (${h.className}) points at ${found[0].value} in ${found[0].kind} DNS, not ${want.value} in ${want.kind} DNS`);
          }
        }
        assert.deepEqual(problems, []);
      });

      it("serves no host on both controllers, and no internal-zone host on the public one", async () => {
        const run = await runStage(stage);
        const hosts = ingressHosts(run);
        const classesOf = new Map<string, Set<string>>();
        for (const h of hosts) classesOf.set(h.host, (classesOf.get(h.host) ?? new Set()).add(h.className));
        for (const [host, classes] of classesOf) assert.equal(classes.size, 1, `${host} is served by ${[...classes].join(" and ")}`);
        const internalZone = ".example-edp.internal";
        for (const h of hosts) {
          assert.equal(h.host.endsWith(internalZone), h.className === INGRESS_CLASSES.internal, `${h.ingress}: ${h.host} on class ${h.className}`);
        }
        // The names the issue names: Keycloak's login is public, its admin console, Loki and edp-service internal.
        const cls = (host: string) => [...(classesOf.get(host) ?? [])][0];
        assert.equal(cls(`keycloak.api.${stage}.example-edp.net`), INGRESS_CLASSES.public);
        for (const n of ["keycloak", "loki", "edp-service"]) assert.equal(cls(`${n}.api.${stage}.example-edp.internal`), INGRESS_CLASSES.internal, n);
      });

      it("puts the internal controller on an intranet load balancer of its own and the public one on the stage's", async () => {
        const run = await runStage(stage);
        const releases = run.ofType("kubernetes:helm.sh/v3:Release").filter((r) => r.inputs.chart === "ingress-nginx");
        const byClass = new Map(releases.map((r) => [String(((r.inputs.values as Obj).controller as Obj).ingressClass), r]));
        assert.deepEqual([...byClass.keys()].sort(), [INGRESS_CLASSES.public, INGRESS_CLASSES.internal].sort());
        const annotations = (cls: string) => ((((byClass.get(cls)?.inputs.values as Obj).controller as Obj).service as Obj).annotations ?? {}) as Record<string, string>;
        // The one intranet load balancer is the internal controller's (KubeEdge's CloudCore may have an internet one).
        const lbs = run.ofType("alicloud:slb/applicationLoadBalancer:ApplicationLoadBalancer").filter((lb) => lb.inputs.addressType === "intranet");
        assert.equal(lbs.length, 1);
        const stageLb = annotations(INGRESS_CLASSES.public)[LB_ID_ANNOTATION];
        assert.match(stageLb, /^lb-/);
        assert.notEqual(annotations(INGRESS_CLASSES.internal)[LB_ID_ANNOTATION], stageLb);
        assert.equal(annotations(INGRESS_CLASSES.internal)[LB_ADDRESS_TYPE_ANNOTATION], "intranet");
        const publicController = (byClass.get(INGRESS_CLASSES.public)?.inputs.values as Obj).controller as Obj;
        assert.match(String((publicController.config as Obj)["http-snippet"]), /more_clear_input_headers "X-SSL-Client-\*"/);
      });

      it("serves Vault's CRL and health on the intranet path E3 takes, and allows E3's source address there", async () => {
        const run = await runStage(stage);
        const vaultIngress = run.ofType("kubernetes:networking.k8s.io/v1:Ingress").find((r) => (r.inputs.metadata as { namespace: string }).namespace === "vault");
        assert.ok(vaultIngress, "no Ingress in vault");
        const spec = vaultIngress.inputs.spec as { ingressClassName: string; rules: { host: string }[] };
        assert.equal(spec.ingressClassName, INGRESS_CLASSES.internal, "Vault must be served by the internal controller");
        const host = spec.rules[0].host;
        // The URLs E3 and the manual's check use are on that host.
        const crlUrl = String(run.output("vaultCrlUrl").value);
        const healthUrl = String(run.output("vaultHealthUrl").value);
        for (const url of [crlUrl, healthUrl]) assert.equal(new URL(url).host, host, url);
        const e3Script = e3ScriptOf(run);
        const e3Crl = [e3Script, ...e3FilesOf(e3Script).values()].filter((t) => t.includes("/crl/pem"));
        assert.ok(e3Crl.length > 0, "E3 is given no CRL URL");
        for (const t of e3Crl) assert.ok(t.includes(`https://${host}/vault/v1/pki-devices/crl/pem`), `E3's CRL URL is not Vault's: ${t.slice(0, 200)}`);
        // E3 reaches that host from its vSwitch, with its address preserved by the internal controller.
        const record = dnsRecords(run).find((r) => r.fqdn === host);
        assert.deepEqual([record?.kind, record?.value], ["private", String(run.output("internalIngressAddress").value)]);
        const internal = run.ofType("kubernetes:helm.sh/v3:Release").find((r) => r.inputs.name === "ingress-nginx-internal");
        assert.equal((((internal?.inputs.values as Obj).controller as Obj).service as Obj).externalTrafficPolicy, "Local");
        const instance = run.ofType("alicloud:ecs/instance:Instance").find((r) => r.name.startsWith("e3"));
        assert.ok(instance, "no E3 instance");
        const vswitch = run.ofType("alicloud:vpc/switch:Switch").find((s) => mockId(s.type, s.name) === instance.inputs.vswitchId);
        assert.ok(vswitch, "E3's vSwitch is not the foundation's");
        const allowed = String((vaultIngress.inputs.metadata as { annotations: Record<string, string> }).annotations["nginx.ingress.kubernetes.io/whitelist-source-range"]).split(",");
        assert.ok(
          allowed.some((cidr) => cidrWithin(String(vswitch.inputs.cidrBlock), cidr)),
          `E3's vSwitch ${String(vswitch.inputs.cidrBlock)} is outside Vault's allow-list ${allowed.join(",")}`,
        );
        // Nothing outside the VPC: the allow-list is no wider than the VPC.
        const vpc = run.ofType("alicloud:vpc/network:Network")[0];
        for (const cidr of allowed) assert.ok(cidrWithin(cidr, String(vpc.inputs.cidrBlock)), `${cidr} is wider than the VPC`);
      });

      it("isolates every namespace it runs Pods in with a default-deny policy the evaluator understands, on a CNI that enforces it", async () => {
        const run = await runStage(stage);
        // The central cluster's namespaces: a direct edge cluster's objects go through its own provider.
        const graph = new DependencyGraph(run.resources);
        const central = run.ofType("pulumi:providers:kubernetes").find((p) => p.name.endsWith("-central"))?.urn;
        const onCentral = (r: RecordedResource) => graph.providerOf(r) === central;
        const podNamespaces = new Set<string>();
        for (const r of run.ofType("kubernetes:helm.sh/v3:Release").filter(onCentral)) podNamespaces.add(String(r.inputs.namespace));
        for (const { manifest } of run.kubernetesObjects().filter((o) => onCentral(o.resource))) {
          if (["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"].includes(String(manifest.kind))) podNamespaces.add(String((manifest.metadata as Obj).namespace));
        }
        const policies = run.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy").map((r) => r.inputs as unknown as PolicyLike);
        for (const p of policies) checkPolicy(p);
        const denies = new Map<string, string[]>();
        for (const p of policies) {
          const spec = p.spec as { podSelector?: Obj; policyTypes?: string[]; ingress?: unknown; egress?: unknown };
          if (Object.keys(spec.podSelector ?? {}).length === 0 && spec.ingress === undefined && spec.egress === undefined) denies.set(p.metadata.namespace, spec.policyTypes ?? []);
        }
        for (const ns of ["postgres", "vault", "ingress-nginx", "cert-manager", "kyverno", "cnpg-system", "edp", "keycloak"]) {
          assert.deepEqual(denies.get(ns), ["Ingress", "Egress"], `${ns} has no default-deny both ways`);
        }
        for (const ns of podNamespaces) assert.ok(denies.get(ns)?.includes("Ingress"), `Pods run in ${ns}, which no default-deny policy isolates`);
        const ack = run.ofType("alicloud:cs/managedKubernetes:ManagedKubernetes")[0];
        const addons = (ack.inputs.addons ?? []) as { name: string; config?: string }[];
        const cni = addons.filter((a) => ["flannel", "terway-eniip", "terway-eni", "terway-controlplane"].includes(a.name));
        assert.deepEqual(cni.map((a) => a.name), ["terway-eniip"]);
        assert.equal(JSON.parse(String(cni[0].config)).NetworkPolicy, "true");
      });
    });
  }
});
