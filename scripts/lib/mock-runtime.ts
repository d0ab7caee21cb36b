/**
 * Runs the real program (index.ts) for one stage under Pulumi's mock runtime and records what it
 * registers: every resource with its type, name, parent, inputs (secret paths noted), and the
 * resource options tests need, recorded by a stack transformation because the mock monitor does
 * not see options. Used by the offline synth and, one child process per run, by the tests.
 *
 * This is not `pulumi preview`: no provider plugin checks the inputs and no cloud is asked.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { CALL_RESULTS, mockId, RESOURCE_OUTPUTS } from "./mock-outputs";
import { applyProjectConfig, type ProjectConfigType } from "./project-config";
import { SECRET_CALL_RESULTS, SECRET_OUTPUTS, type SecretSource, sourcesOf } from "./secret-markers";
import { edgeKubeconfigStandIns, REQUIRED_SECRET_STAND_INS } from "./stand-in-secrets";

export interface RecordedOptions {
  protect: boolean;
  retainOnDelete: boolean;
  deleteBeforeReplace: boolean;
  ignoreChanges: string[];
  replaceOnChanges: string[];
  /** URNs of explicit dependencies. */
  dependsOn: string[];
  /** URN of the explicit provider, if any. */
  provider?: string;
  /** The `import` option: the id of an existing cloud resource this one adopts. */
  import?: string;
}

export interface RecordedResource {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  /** URN of the parent resource (the stack for top-level resources). */
  parent?: string;
  /** Inputs as the provider would receive them, secrets unwrapped; see secretPaths. */
  inputs: Record<string, unknown>;
  /** Dotted paths into inputs whose values are Pulumi secrets. */
  secretPaths: string[];
  options: RecordedOptions;
  /**
   * The provider reference (`<urn>::<id>`) the engine receives with the registration, after the
   * SDK resolved `provider` and the parents' `providers`; absent means the engine's default provider.
   */
  providerRef?: string;
  /**
   * How many turns of the event loop had passed when the engine received the registration: 0 for
   * what the program registers in its first, synchronous pass (edge clusters come in waves).
   */
  turn: number;
  /** What a component registered as its outputs, which the engine keeps in the stack's state; secrets unwrapped. */
  registeredOutputs?: Record<string, unknown>;
}

/** A stack output: its resolved value and whether Pulumi keeps it secret. */
export interface RecordedOutput {
  value: unknown;
  secret: boolean;
}

export interface RunResult {
  stage: string;
  resources: RecordedResource[];
  outputs: Record<string, RecordedOutput>;
  /** Secret keys that were filled with stand-ins. */
  standIns: string[];
  /** Every secret value the run made or was handed, with its source (for synth's markers). */
  secretSources: SecretSource[];
  /** The program's error message, when it failed (for example on invalid config). */
  error?: string;
  /**
   * When the program was done (its last registration answered, its outputs resolved), before this
   * runtime gathered what it recorded into `resources` and `outputs`: performance.now() and
   * process.cpuUsage() at that moment.
   */
  programDone: { atMs: number; cpu: NodeJS.CpuUsage };
  /**
   * Whether the SDK serialised a closure (pulumi.dynamic.Resource, pulumi.runtime.serializeFunction):
   * its first use loads runtime/closure/v8Hooks.js, which opens an inspector session with V8's
   * debugger enabled for the rest of the run (components/shared/dynamic-provider.ts).
   */
  closureSerialised: boolean;
}

export interface RunOptions {
  stage: string;
  /** Project root holding Pulumi.yaml and Pulumi.<stage>.yaml. */
  root: string;
  /** Replaces the stack file's config (full keys such as "edp:network"); values may be objects. */
  config?: Record<string, unknown>;
  /** Keys (full) to delete from the stack file's config. */
  unset?: string[];
  /** Secret config the operator would set with `pulumi config set --secret`. */
  secrets?: Record<string, unknown>;
  /**
   * Fill required secret config the run lacks with stand-ins (scripts/lib/stand-in-secrets.ts),
   * as an operator's `pulumi config set --secret` would; true unless set to false.
   */
  standIns?: boolean;
  /** Use this stack file instead of Pulumi.<stage>.yaml. */
  stackFile?: string;
  /** Program module to run; index.ts of the root by default. */
  program?: string;
  /** Pulumi project name; "edp" by default ("edp-fleet" for a fleet shard). */
  project?: string;
  /** Stack name; the stage by default (a fleet shard's is <stage>-<shard>). */
  stack?: string;
  /** Outputs of the stacks a StackReference reads, by full stack name (the central stack for a shard). */
  stackReferences?: Record<string, Record<string, unknown>>;
}

const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Reads a stack file's config into the runtime's string map. `secure:` values cannot be decrypted here and are skipped. */
export function readStackConfig(file: string): Record<string, string> {
  const doc = YAML.parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc?.config ?? {})) {
    if (value && typeof value === "object" && "secure" in value) continue;
    out[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return out;
}

/** Unwraps secret markers the mock monitor passes through, noting where they were. */
function unwrapSecrets(value: unknown, at: string, paths: string[]): unknown {
  if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, `${at}[${i}]`, paths));
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SECRET_SIG_KEY] === SECRET_SIG) {
      paths.push(at);
      return unwrapSecrets(obj.value, at, []);
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, unwrapSecrets(v, at ? `${at}.${k}` : k, paths)]));
  }
  return value;
}

async function resolveOutput(value: unknown): Promise<RecordedOutput> {
  let secret = false;
  const walk = async (v: unknown): Promise<unknown> => {
    if (pulumi.Output.isInstance(v)) {
      if (await pulumi.isSecret(v)) secret = true;
      const inner = await new Promise<unknown>((resolve) => v.apply((x) => resolve(x)));
      return walk(inner);
    }
    if (v instanceof Promise) return walk(await v);
    if (pulumi.Resource.isInstance(v)) return { urn: await walk(v.urn) };
    if (Array.isArray(v)) return Promise.all(v.map(walk));
    if (v && typeof v === "object") {
      const entries = await Promise.all(Object.entries(v).map(async ([k, x]) => [k, await walk(x)] as const));
      return Object.fromEntries(entries);
    }
    return v;
  };
  const resolved = await walk(value);
  return { value: resolved, secret };
}

const urnOf = (r: pulumi.Resource) => new Promise<string>((resolve) => r.urn.apply((u) => resolve(u)));

/**
 * The resources of a dependsOn option, flattened as the SDK does: Pulumi's mergeOptions wraps a
 * promise of resources into an array, so arrays and promises nest.
 */
async function explicitDependencies(deps: unknown): Promise<pulumi.Resource[]> {
  if (deps === undefined || deps === null) return [];
  if (Array.isArray(deps)) return (await Promise.all(deps.map(explicitDependencies))).flat();
  if (deps instanceof Promise) return explicitDependencies(await deps);
  if (pulumi.Output.isInstance(deps)) return explicitDependencies(await new Promise((resolve) => deps.apply((v) => resolve(v))));
  if (pulumi.Resource.isInstance(deps)) return [deps];
  throw new Error(`dependsOn holds something that is not a resource: ${String(deps)}`);
}

export async function runProgram(opts: RunOptions): Promise<RunResult> {
  const stackFile = opts.stackFile ?? path.join(opts.root, `Pulumi.${opts.stage}.yaml`);
  const config: Record<string, string> = readStackConfig(stackFile);
  for (const key of opts.unset ?? []) delete config[key];
  for (const [k, v] of Object.entries(opts.config ?? {})) config[k] = typeof v === "string" ? v : JSON.stringify(v);
  // As the CLI does before the program runs: keys the stack lacks get Pulumi.yaml's default.
  const project = YAML.parse(fs.readFileSync(path.join(opts.root, "Pulumi.yaml"), "utf8")) as { name: string; config?: Record<string, ProjectConfigType> };
  const given = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, { value: v, secure: false, object: false }]));
  for (const [k, v] of Object.entries(applyProjectConfig(project.name, opts.stage, project.config ?? {}, given).config)) {
    if (!(k in config)) config[k] = v.value;
  }
  const secretKeys: string[] = [];
  const standIns: string[] = [];
  const secrets: Record<string, unknown> = { ...(opts.secrets ?? {}) };
  if (opts.standIns !== false) {
    for (const [k, v] of Object.entries(REQUIRED_SECRET_STAND_INS)) {
      if (!(k in secrets) && !(k in config)) {
        secrets[k] = v;
        standIns.push(k);
      }
    }
    const kubeconfigs = edgeKubeconfigStandIns(config["edp:edgeClusters"]);
    if (Object.keys(kubeconfigs).length > 0 && !("edp:edgeKubeconfigs" in secrets) && /^\s*(\{\s*\})?\s*$/.test(config["edp:edgeKubeconfigs"] ?? "")) {
      // Absent, or only Pulumi.yaml's empty default: the operator has not set any.
      secrets["edp:edgeKubeconfigs"] = kubeconfigs;
      standIns.push("edp:edgeKubeconfigs");
    }
  }
  const secretSources: SecretSource[] = [];
  for (const [k, v] of Object.entries(secrets)) {
    config[k] = typeof v === "string" ? v : JSON.stringify(v);
    secretKeys.push(k);
    secretSources.push(...sourcesOf(k, v));
  }

  const byName = new Map<string, { inputs: Record<string, unknown>; secretPaths: string[]; custom: boolean; type: string; name: string; providerRef?: string; turn: number }>();
  // Counts the event loop's turns while the program runs (a setImmediate that re-queues itself).
  let turn = 0;
  let counting = true;
  const count = () => {
    if (!counting) return;
    turn++;
    setImmediate(count);
  };
  setImmediate(count);
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const secretPaths: string[] = [];
        const inputs = unwrapSecrets(args.inputs, "", secretPaths) as Record<string, unknown>;
        byName.set(`${args.type}::${args.name}`, { inputs, secretPaths, custom: args.custom ?? true, type: args.type, name: args.name, providerRef: args.provider || undefined, turn });
        if (args.type === "pulumi:pulumi:StackReference") {
          const ref = String(inputs.name);
          // A stack reading its own last outputs (the site registry's removals) has none on a first run.
          const own = ref.endsWith(`/${opts.project ?? "edp"}/${opts.stack ?? opts.stage}`);
          const outputs = opts.stackReferences?.[ref] ?? (own ? {} : undefined);
          if (!outputs) throw new Error(`no outputs given for the stack reference ${ref} (RunOptions.stackReferences)`);
          return { id: ref, state: { name: ref, outputs, secretOutputNames: [] } };
        }
        const extra = RESOURCE_OUTPUTS[args.type]?.(args.name, inputs) ?? {};
        for (const prop of SECRET_OUTPUTS[args.type] ?? []) if (prop in extra) secretSources.push(...sourcesOf(`${args.name}.${prop}`, extra[prop]));
        // An imported resource keeps the id the cloud gave it (the mock monitor passes the import id as args.id).
        return { id: args.custom === false ? undefined : args.id || mockId(args.type, args.name), state: { ...args.inputs, ...extra } };
      },
      call(args) {
        const fn = CALL_RESULTS[args.token];
        const result = fn ? fn(args.inputs) : args.inputs;
        const fnName = args.token.split(":").pop() ?? args.token;
        const id = typeof args.inputs.clusterId === "string" ? args.inputs.clusterId : "";
        for (const prop of SECRET_CALL_RESULTS[args.token] ?? []) if (prop in result) secretSources.push(...sourcesOf(`${fnName}(${id}).${prop}`, result[prop]));
        return result;
      },
    },
    opts.project ?? "edp",
    opts.stack ?? opts.stage,
    false,
    // What the CLI reports for a self-managed backend; a stack reading its own outputs names it.
    "organization",
  );
  pulumi.runtime.setAllConfig(config, secretKeys);
  // The mock monitor keeps a component's registered outputs without telling the mocks.
  const registeredOutputs = new Map<string, Record<string, unknown>>();
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResourceOutputs(req: { getUrn(): string; getOutputs(): { toJavaScript(): unknown } | undefined }, cb: unknown): void };
  const registerResourceOutputs = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (req, cb) => {
    registeredOutputs.set(req.getUrn(), unwrapSecrets(req.getOutputs()?.toJavaScript() ?? {}, "", []) as Record<string, unknown>);
    registerResourceOutputs(req, cb);
  };

  const seen: { resource: pulumi.Resource; type: string; name: string; opts: pulumi.CustomResourceOptions }[] = [];
  let programExports: Record<string, unknown> = {};
  let error: string | undefined;
  try {
    await pulumi.runtime.runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation((args) => {
        seen.push({ resource: args.resource, type: args.type, name: args.name, opts: args.opts as pulumi.CustomResourceOptions });
        return undefined;
      });
      const programPath = opts.program ?? path.join(opts.root, "index.ts");
      programExports = require(programPath);
      return programExports;
    });
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  // As the language host does before it exits (runtime.disconnect waits on the same queue): every
  // registration answered, also those nothing in the program waits for. The SDK's typings leave
  // waitForRPCs out (internal); the runtime exports it.
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  counting = false;
  const programDone = { atMs: performance.now(), cpu: process.cpuUsage() };

  const stackResource = pulumi.runtime.getStackResource();
  const stackUrn = stackResource ? await urnOf(stackResource) : undefined;
  const resources: RecordedResource[] = [];
  const urns = new Set<string>();
  for (const s of seen) {
    const urn = await urnOf(s.resource);
    // A provider handed to many components reaches the transformation again, as a reference to
    // the same URN (without its parent); the first registration is the real one.
    if (urns.has(urn)) continue;
    urns.add(urn);
    const rec = byName.get(`${s.type}::${s.name}`);
    const parent = s.opts.parent ? await urnOf(s.opts.parent) : stackUrn;
    const dependsOn = await Promise.all((await explicitDependencies(s.opts.dependsOn)).map(urnOf));
    resources.push({
      urn,
      type: s.type,
      name: s.name,
      custom: rec?.custom ?? true,
      parent,
      inputs: rec?.inputs ?? {},
      secretPaths: rec?.secretPaths ?? [],
      options: {
        protect: s.opts.protect === true,
        retainOnDelete: s.opts.retainOnDelete === true,
        deleteBeforeReplace: s.opts.deleteBeforeReplace === true,
        ignoreChanges: s.opts.ignoreChanges ?? [],
        replaceOnChanges: s.opts.replaceOnChanges ?? [],
        dependsOn,
        provider: s.opts.provider ? await urnOf(s.opts.provider) : undefined,
        ...(s.opts.import ? { import: String(s.opts.import) } : {}),
      },
      providerRef: rec?.providerRef,
      turn: rec?.turn ?? turn,
      ...(registeredOutputs.has(urn) ? { registeredOutputs: registeredOutputs.get(urn) } : {}),
    });
  }
  const outputs: Record<string, RecordedOutput> = {};
  if (!error) {
    for (const [k, v] of Object.entries(programExports)) outputs[k] = await resolveOutput(v);
  }
  const closureSerialised = Object.keys(require.cache).some((file) => /[\\/]@pulumi[\\/]pulumi[\\/]runtime[\\/]closure[\\/]v8Hooks\.js$/.test(file));
  return { stage: opts.stage, resources, outputs, error, standIns, secretSources, programDone, closureSerialised };
}
