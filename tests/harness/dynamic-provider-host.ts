/**
 * Runs a dynamic provider the way `pulumi up` does: @pulumi/pulumi's own dynamic-provider host
 * (cmd/dynamic-provider, the program behind the `pulumi-resource-pulumi-nodejs` plugin) in its
 * own process, in the project directory, spoken to over gRPC with the SDK's own protobuf
 * messages, as the engine does. Only the engine is missing: this client stands in for it and
 * decodes answers as the engine's provider plugin does (an init failure travels as
 * pulumirpc.ErrorResourceInitFailed in `grpc-status-details-bin`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import * as path from "node:path";
import type * as grpcTypes from "@grpc/grpc-js";
import type * as provgrpcTypes from "@pulumi/pulumi/proto/provider_grpc_pb";
import type * as provTypes from "@pulumi/pulumi/proto/provider_pb";
import type * as statusTypes from "@pulumi/pulumi/proto/status_pb";
import type * as structTypes from "google-protobuf/google/protobuf/struct_pb";

// The modules the SDK itself uses, resolved from its own location.
const sdkRequire = createRequire(require.resolve("@pulumi/pulumi"));
const grpc = sdkRequire("@grpc/grpc-js") as typeof grpcTypes;
const provgrpc = sdkRequire("./proto/provider_grpc_pb") as typeof provgrpcTypes;
const prov = sdkRequire("./proto/provider_pb") as typeof provTypes;
const statusproto = sdkRequire("./proto/status_pb") as typeof statusTypes;
const structproto = sdkRequire("google-protobuf/google/protobuf/struct_pb") as typeof structTypes;

type Props = Record<string, unknown>;

/** What the engine learns from a failed create or update. */
export interface ProviderFailure {
  message: string;
  /** Set when the provider reported an initialisation failure: the resource exists with these outputs. */
  initFailed?: { id: string; properties: Props; reasons: string[] };
}

export type CallResult<T> = { ok: true; value: T } | { ok: false; failure: ProviderFailure };

export class DynamicProviderHost {
  /** Everything the host wrote to stdout after its port (unstructured logs reach `pulumi up` this way). */
  readonly output: string[] = [];
  private child?: ChildProcess;
  private client?: InstanceType<typeof provgrpc.ResourceProviderClient>;

  constructor(private readonly projectDir: string) {}

  async start(): Promise<void> {
    const entry = path.join(path.dirname(require.resolve("@pulumi/pulumi")), "cmd", "dynamic-provider", "index.js");
    // The engine passes its own address; the host only checks that one is there.
    const child = spawn(process.execPath, [entry, "127.0.0.1:1"], { cwd: this.projectDir, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    const port = await new Promise<string>((resolve, reject) => {
      let buffered = "";
      let seenPort: string | undefined;
      child.stdout?.on("data", (chunk: Buffer) => {
        buffered += chunk.toString("utf8");
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines) {
          if (seenPort === undefined) {
            seenPort = line.trim();
            resolve(seenPort);
          } else this.output.push(line);
        }
      });
      child.stderr?.on("data", (chunk: Buffer) => this.output.push(...chunk.toString("utf8").split("\n").filter((l) => l !== "")));
      child.on("exit", (code) => reject(new Error(`the dynamic-provider host exited with ${code}: ${this.output.join("\n")}`)));
    });
    this.client = new provgrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const req = new prov.ConfigureRequest();
    req.setArgs(structproto.Struct.fromJavaScript({}));
    await new Promise<void>((resolve, reject) => this.client?.configure(req, (err) => (err ? reject(err) : resolve())));
  }

  async stop(): Promise<void> {
    this.client?.close();
    if (this.child && this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child?.once("exit", resolve));
      this.child.kill();
      await exited;
    }
  }

  async create(urn: string, properties: Props): Promise<CallResult<{ id: string; properties: Props }>> {
    const req = new prov.CreateRequest();
    req.setUrn(urn);
    req.setProperties(structproto.Struct.fromJavaScript(properties as structTypes.JavaScriptValue as Record<string, structTypes.JavaScriptValue>));
    return new Promise((resolve) =>
      this.client?.create(req, (err, res) =>
        resolve(err ? { ok: false, failure: decodeFailure(err) } : { ok: true, value: { id: res.getId(), properties: res.getProperties()?.toJavaScript() ?? {} } }),
      ),
    );
  }

  async update(urn: string, id: string, olds: Props, news: Props): Promise<CallResult<{ properties: Props }>> {
    const req = new prov.UpdateRequest();
    req.setUrn(urn);
    req.setId(id);
    req.setOlds(structproto.Struct.fromJavaScript(olds as Record<string, structTypes.JavaScriptValue>));
    req.setNews(structproto.Struct.fromJavaScript(news as Record<string, structTypes.JavaScriptValue>));
    return new Promise((resolve) =>
      this.client?.update(req, (err, res) =>
        resolve(err ? { ok: false, failure: decodeFailure(err) } : { ok: true, value: { properties: res.getProperties()?.toJavaScript() ?? {} } }),
      ),
    );
  }

  async diff(urn: string, id: string, olds: Props, news: Props): Promise<number> {
    const req = new prov.DiffRequest();
    req.setUrn(urn);
    req.setId(id);
    req.setOlds(structproto.Struct.fromJavaScript(olds as Record<string, structTypes.JavaScriptValue>));
    req.setNews(structproto.Struct.fromJavaScript(news as Record<string, structTypes.JavaScriptValue>));
    return new Promise((resolve, reject) => this.client?.diff(req, (err, res) => (err ? reject(err) : resolve(res.getChanges()))));
  }
}

/** Decodes a gRPC error as the engine's provider plugin does (status details → ErrorResourceInitFailed). */
function decodeFailure(err: grpcTypes.ServiceError): ProviderFailure {
  try {
    return decodeDetails(err);
  } catch (e) {
    // A callback that throws would leave the call's promise pending: report instead.
    return { message: `${err.details} (and its details could not be decoded: ${e instanceof Error ? e.message : String(e)})` };
  }
}

function decodeDetails(err: grpcTypes.ServiceError): ProviderFailure {
  const raw = err.metadata?.get("grpc-status-details-bin")[0];
  if (!raw) return { message: err.details };
  const status = statusproto.Status.deserializeBinary(new Uint8Array(Buffer.from(raw)));
  for (const any of status.getDetailsList()) {
    const detail = any.unpack(prov.ErrorResourceInitFailed.deserializeBinary, "pulumirpc.ErrorResourceInitFailed");
    if (detail) {
      return {
        message: status.getMessage(),
        initFailed: { id: detail.getId(), properties: detail.getProperties()?.toJavaScript() ?? {}, reasons: detail.getReasonsList() },
      };
    }
  }
  return { message: status.getMessage() };
}

/** The diff answer the engine treats as "no change". */
export const DIFF_NONE = prov.DiffResponse.DiffChanges.DIFF_NONE;
