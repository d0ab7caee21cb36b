/**
 * An edge-fleet shard: a share of one stage's edge clusters in a stack of its own (project
 * `edp-fleet`, stacks `<stage>-<shard>`). It builds exactly what the central stack builds for an
 * edge cluster (components/edge), reading the one thing it needs from the stage's central stack
 * (the manifests bucket) through a StackReference. So an edge change previews only its shard,
 * the central platform's preview does not grow with the fleet, and shards update in parallel.
 */
import * as pulumi from "@pulumi/pulumi";
import { EdgeClusters } from "../components/edge";
import { installCheapSdkStackTraces } from "../components/shared/stack-traces";
import { loadFleetConfig } from "../config/fleet";

installCheapSdkStackTraces();
const cfg = loadFleetConfig();

/** What the central stack exports for its shards (index.ts, `edgeFleet`). */
interface CentralFleetContract {
  stage: string;
  region: string;
  manifestsBucket: string;
  ossEndpoint: string;
  /** Edge clusters the central stack itself manages: a shard must not hold one of them. */
  centralClusters: string[];
}

const central = new pulumi.StackReference(cfg.centralStack);
const contract = central.requireOutput("edgeFleet").apply((raw) => {
  const c = raw as CentralFleetContract;
  // A shard pointed at another stage's (or region's) platform would write its desired state
  // into the wrong bucket: stop the preview instead.
  if (c.stage !== cfg.stage || c.region !== cfg.region) {
    throw new pulumi.RunError(`edp-fleet:centralStack: ${cfg.centralStack} is stage ${c.stage} in ${c.region}, this shard is ${cfg.stage} in ${cfg.region}`);
  }
  const both = cfg.edgeClusters.map((e) => e.name).filter((n) => c.centralClusters.includes(n));
  if (both.length > 0) {
    throw new pulumi.RunError(`edp-fleet:edgeClusters: ${both.join(", ")} already belong to the central stack ${cfg.centralStack}; a cluster lives in one stack only`);
  }
  return c;
});

const edge = new EdgeClusters("edge", {
  config: cfg,
  foundation: { buckets: { manifests: contract.manifestsBucket }, ossEndpoint: `oss-${cfg.region}.aliyuncs.com` },
});

export const stage = cfg.stage;
export const shard = cfg.stack;
export const edgeClusters = cfg.edgeClusters.map((c) => c.name);
export const edgeSealedSecretsCerts = edge.sealedSecretsCertificates;
/** Secret: each script carries its cluster's bucket credentials. */
export const edgeBootstrapScripts = edge.bootstrapScripts;
export const edgeBootstrapCommands = edge.bootstrapCommands;
