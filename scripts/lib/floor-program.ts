/**
 * The benchmark's floor: a program with no work of ours that registers exactly the resources a
 * recorded run of the real program registered (same types, names, parents, providers and
 * inputs, in the same order, each through its provider SDK's own class), under the same mock runtime. `npm run bench` reports the real
 * program's evaluation time as a ratio to this one's.
 *
 * The records come from the file named by EDP_FLOOR_RECORDS (written by the bench's child).
 */
import * as fs from "node:fs";
import * as alicloud from "@pulumi/alicloud";
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { installCheapSdkStackTraces } from "../../components/shared/stack-traces";
import type { RecordedResource } from "./mock-runtime";

// EDP_FLOOR_SDK_STACKS=program: the floor runs the SDK with the promise-stack setting the real
// program installs at start-up (components/shared/stack-traces.ts), so that the ratio to it is
// what the program's own work costs; without it, the SDK runs as shipped.
if (process.env.EDP_FLOOR_SDK_STACKS === "program") installCheapSdkStackTraces();

const file = process.env.EDP_FLOOR_RECORDS;
if (!file) throw new Error("EDP_FLOOR_RECORDS is not set: the floor program replays a recorded run");
const records = JSON.parse(fs.readFileSync(file, "utf8")) as RecordedResource[];
// The program's EDGE_CLUSTERS_PER_WAVE, passed by the bench so that the floor loads no module of ours.
const EDGE_CLUSTERS_PER_WAVE = Number(process.env.EDP_FLOOR_CLUSTERS_PER_WAVE);
if (!Number.isInteger(EDGE_CLUSTERS_PER_WAVE) || EDGE_CLUSTERS_PER_WAVE < 1) throw new Error("EDP_FLOOR_CLUSTERS_PER_WAVE must be the program's EDGE_CLUSTERS_PER_WAVE");

type SdkClass = new (name: string, args: Record<string, unknown>, opts: pulumi.CustomResourceOptions) => pulumi.Resource;

const SDKS: Record<string, unknown> = { alicloud, command, kubernetes: k8s, random, tls };

/**
 * The provider SDK's own class of a type token ("alicloud:ram/user:User" is alicloud.ram.User,
 * "tls:index/privateKey:PrivateKey" is tls.PrivateKey, "kubernetes:helm.sh/v3:Release" is
 * k8s.helm.v3.Release), so that the floor registers each resource through the same constructor as
 * the program: the class declares every output property, and the SDK's work grows with them.
 * A Kubernetes kind without a class of its own (a custom resource) is k8s.apiextensions.CustomResource,
 * as in the program; a provider token is that package's Provider. Undefined for a type of no
 * provider package (a dynamic resource, a StackReference); a type of a package here without a
 * class found is an error, so that the floor never does less than the program's registration.
 */
function sdkClass(type: string): SdkClass | undefined {
  const [pkg, mod, cls] = type.split(":");
  const providers = pkg === "pulumi" && mod === "providers";
  const sdk = SDKS[providers ? cls : pkg];
  if (sdk === undefined) return undefined;
  if (providers) return (sdk as { Provider: SdkClass }).Provider;
  // Kubernetes tokens name group and version ("networking.k8s.io/v1"); the others module and file.
  const [first, second] = (mod ?? "").split("/");
  const path = pkg === "kubernetes" ? [first.split(".")[0], second] : first === "index" ? [] : [first];
  let at: unknown = sdk;
  for (const part of [...path, cls]) at = at && typeof at === "object" ? (at as Record<string, unknown>)[part] : undefined;
  if (typeof at === "function" && (at as { __pulumiType?: string }).__pulumiType === type) return at as SdkClass;
  if (pkg === "kubernetes") return k8s.apiextensions.CustomResource as unknown as SdkClass;
  throw new Error(`the floor finds no ${pkg} class for ${type}`);
}

class Replayed extends pulumi.ComponentResource {
  constructor(type: string, name: string, opts: pulumi.ComponentResourceOptions) {
    super(type, name, {}, opts);
  }
}

class ReplayedCustom extends pulumi.CustomResource {
  constructor(type: string, name: string, inputs: pulumi.Inputs, opts: pulumi.CustomResourceOptions) {
    super(type, name, inputs, opts);
  }
}

/** Resolves after the event loop has run once, as EdgeClusters waits between its waves. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

const byUrn = new Map<string, pulumi.Resource>();

function replay(r: RecordedResource): void {
  const parent = r.parent ? byUrn.get(r.parent) : undefined;
  const provider = r.options.provider ? byUrn.get(r.options.provider) : undefined;
  const opts = { parent, provider: provider as pulumi.ProviderResource | undefined };
  let resource: pulumi.Resource;
  const Sdk = r.custom ? sdkClass(r.type) : undefined;
  if (Sdk) {
    resource = new Sdk(r.name, r.inputs, r.type.startsWith("pulumi:providers:") ? { parent } : opts);
  } else if (r.custom) {
    // A dynamic resource (pulumi-nodejs:dynamic:Resource: its provider is code of ours) or a
    // StackReference: the registration itself, with the same inputs, is the SDK's work.
    resource = new ReplayedCustom(r.type, r.name, r.inputs, opts);
  } else {
    resource = new Replayed(r.type, r.name, { parent });
  }
  byUrn.set(r.urn, resource);
}

/**
 * In the program's order, yielding to the event loop where the program does: before the first
 * edge cluster of every wave after the first (EDGE_CLUSTERS_PER_WAVE, components/edge/edge.ts).
 * Built all at once, the same 12,380 registrations of 1,000 clusters cost the floor 22.5 s of CPU
 * and 1,697 MiB against 10.1 s and 653 MiB in waves (measured side by side): not Pulumi's work per
 * resource, but the cost of holding every registration in memory together.
 */
module.exports = (async () => {
  let edgeClusters = 0;
  for (const r of records) {
    if (r.type === "edp:edge:EdgeCluster" && edgeClusters++ > 0 && edgeClusters % EDGE_CLUSTERS_PER_WAVE === 1) await nextTurn();
    replay(r);
  }
})();
