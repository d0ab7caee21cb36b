/**
 * The DNS names of the manual and where each points. Pure: the component turns the plan into
 * Alibaba DNS (public) and PrivateZone (VPC-internal) records.
 */
import type { StageNames } from "../../config";

/**
 * Platform names served by the internet-facing ingress load balancer: the portal (manual §3,
 * "Check the installation"), Grafana, and Keycloak's login (the issuer of Grafana and every service).
 */
export const PLATFORM_PUBLIC_NAMES = ["edp-portal", "grafana", "keycloak"] as const;
/**
 * VPC-internal names, served by the intranet load balancer only: edp-service (the EDP services
 * and Vault for E3, manual §4.3), Keycloak's admin console, Loki.
 */
export const PLATFORM_INTERNAL_NAMES = ["edp-service", "keycloak", "loki"] as const;
/** Names served by the E3 host (manual §4.2). */
export const E3_NAMES = ["edp-docker", "edp-git", "edp-monitoring", "edp-onboarding", "edp-packages", "edp-access"] as const;

/** ingress: the public load balancer; internal-ingress: the intranet one; e3: the E3 EIP. */
export type RecordTarget = "ingress" | "internal-ingress" | "e3";

export interface RecordPlan {
  /** Unique key of the record: the short name, with "-internal" for a VPC-internal name. */
  key: string;
  /** Short name, e.g. edp-portal. */
  name: string;
  /** Fully qualified name. */
  fqdn: string;
  /** public: Alibaba DNS in the public zone; internal: PrivateZone bound to the VPC. */
  visibility: "public" | "internal";
  /** The zone the record lives in. */
  zone: string;
  /** Host record relative to the zone (Alibaba's "RR"), e.g. edp-portal.api.testing */
  rr: string;
  target: RecordTarget;
}

function relative(fqdn: string, zone: string): string {
  const suffix = `.${zone}`;
  if (!fqdn.endsWith(suffix)) throw new Error(`${fqdn} is not inside zone ${zone}`);
  return fqdn.slice(0, -suffix.length);
}

export function dnsRecordPlan(names: Pick<StageNames, "publicHost" | "internalHost">, zones: { publicZone: string; internalZone: string }): RecordPlan[] {
  const pub = (name: string, target: RecordTarget): RecordPlan => {
    const fqdn = names.publicHost(name);
    return { key: name, name, fqdn, visibility: "public", zone: zones.publicZone, rr: relative(fqdn, zones.publicZone), target };
  };
  const internal = (name: string): RecordPlan => {
    const fqdn = names.internalHost(name);
    return { key: `${name}-internal`, name, fqdn, visibility: "internal", zone: zones.internalZone, rr: relative(fqdn, zones.internalZone), target: "internal-ingress" };
  };
  return [
    ...PLATFORM_PUBLIC_NAMES.map((n) => pub(n, "ingress")),
    ...PLATFORM_INTERNAL_NAMES.map(internal),
    ...E3_NAMES.map((n) => pub(n, "e3")),
  ];
}
