/**
 * The Edge Device Platform, one stack per stage. Config is read and validated first, so an
 * invalid stack file stops the program before any resource is registered.
 */
import { EdgeClusters } from "./components/edge";
import { Foundation } from "./components/foundation";
import { loadStageConfig } from "./config";

const cfg = loadStageConfig();
const foundation = new Foundation("edp", { config: cfg });
const edge = new EdgeClusters("edge", { config: cfg, foundation });

export const stage = cfg.stage;
export const portalUrl = `https://${cfg.names.publicHost("edp-portal")}/device-management`;

export const kubeconfig = foundation.cluster.kubeconfig;
export const vpcId = foundation.vpcId;
export const buckets = foundation.buckets;
export const ossEndpoint = foundation.ossEndpoint;
export const e3Address = foundation.e3Eip.ipAddress;
export const ingressAddress = foundation.ingressAddress;
export const egressAddress = foundation.egressAddress;
export const dnsNames = foundation.dnsNames;

export const edgeSealedSecretsCerts = edge.sealedSecretsCertificates;
/** Secret: each script carries its cluster's bucket credentials. */
export const edgeBootstrapScripts = edge.bootstrapScripts;
export const edgeBootstrapCommands = edge.bootstrapCommands;
