/**
 * The EDP services (manual §2.4.2): how each runs and where the ingress routes it. Route paths
 * are the ones the manual names (edp-portal/device-management; edp-service/onboarding and
 * /monitoring, which E3 calls, §4.3); the other routed services are reached under their own name.
 * Spring Boot services serve on 8080 and expose health and metrics on a separate management port
 * (8081), so the ingress never exposes actuator endpoints and probes do not depend on the
 * application's context path.
 */
import type { EdpService } from "../../config";
import type { Exposure } from "../certificates/issuers";

export type Runtime = "spring" | "web";

export interface Route {
  /** edp-portal (public) or edp-service (VPC-internal). */
  exposure: Exposure;
  /** Path prefix on that host. */
  path: string;
}

export interface ServiceSpec {
  runtime: Runtime;
  /** What the manual says the service does. */
  description: string;
  routes: Route[];
  /** Secrets (of the secrets table) whose keys become environment variables. */
  envFromSecrets: string[];
}

export const HTTP_PORT = 8080;
export const MANAGEMENT_PORT = 8081;

export const SERVICE_CATALOG: Record<EdpService, ServiceSpec> = {
  portalgateway: { runtime: "spring", description: "API gateway for external requests", routes: [{ exposure: "public", path: "/api" }], envFromSecrets: [] },
  masterdata: { runtime: "spring", description: "manages customers and users", routes: [], envFromSecrets: [] },
  injectionmoulding: { runtime: "spring", description: "manages machines", routes: [], envFromSecrets: [] },
  datadirectormonitoring: {
    runtime: "spring",
    description: "heartbeat, notification and websocket management",
    routes: [{ exposure: "internal", path: "/monitoring" }],
    envFromSecrets: [],
  },
  datadirectormanagement: {
    runtime: "spring",
    description: "Edge-Devices, deployments, containers",
    routes: [{ exposure: "internal", path: "/datadirectormanagement" }],
    envFromSecrets: ["datadirectormangement-files"],
  },
  devicemanagement: {
    runtime: "spring",
    description: "REST API for external requests",
    routes: [{ exposure: "public", path: "/devicemanagement" }],
    envFromSecrets: [],
  },
  onboarding: { runtime: "spring", description: "onboards new Edge-Devices", routes: [{ exposure: "internal", path: "/onboarding" }], envFromSecrets: [] },
  edpgateway: { runtime: "spring", description: "REST API for the management web UI", routes: [{ exposure: "public", path: "/edpgateway" }], envFromSecrets: [] },
  servicemanagement: { runtime: "spring", description: "internal service registry (Eureka, Spring Boot Admin)", routes: [], envFromSecrets: [] },
  portal: { runtime: "web", description: "device management web UI (Angular with NGINX)", routes: [{ exposure: "public", path: "/device-management" }], envFromSecrets: [] },
};

/** The host name prefix of each exposure (cfg.names.publicHost / internalHost add the rest). */
export const ROUTE_HOSTS: Record<Exposure, string> = { public: "edp-portal", internal: "edp-service" };
