/**
 * Offline synth: runs the program for one stage under Pulumi's mock runtime and writes what it
 * would create, for reviewing a change without cloud credentials.
 *
 *   npm run synth -- --stack <stage> [--out <dir>]
 *
 * It is NOT `pulumi preview`: no provider checks inputs, no cloud is asked what exists, and
 * values the cloud computes (ids, addresses) are mock stand-ins. Generated files are written in
 * full; each secret value inside them is replaced by a marker naming its source
 * (`[secret:e3-server-key.privateKeyPem]`, `[secret:edp:ddmFiles.DDM_KEY1]`), so a diff shows every
 * line a change touches and no secret value. Synth never reads real secret config: stack files
 * hold it as `secure:` ciphertext, which synth skips and fills with stand-ins; and before it
 * finishes it checks that no secret value it knows of reached a written file.
 * Output is sorted and carries no timestamps, so two runs diff cleanly.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { plainYaml } from "../components/shared/yaml";
import { E3_RENDERED_FILES } from "../components/e3";
import { isStage, STAGES } from "../config/stages";
import { type RecordedResource, type RunOptions, runProgram } from "./lib/mock-runtime";
import { makeMasker, type Masker } from "./lib/secret-markers";

/** Written for a secret whose content synth cannot show: a Kubernetes Secret payload of unknown origin. */
export const REDACTED = "[secret]";

const NOT_PREVIEW =
  "Offline synth under Pulumi's mock runtime. This is NOT `pulumi preview`: nothing was checked by a provider or a cloud;\n" +
  "ids, addresses and generated values are mock stand-ins, and each secret value is shown as [secret:<source>].";

/**
 * Masks the secret values at the recorded secret paths: each known secret value inside them
 * becomes its marker; the rest of the value (the script, the Helm values) is kept, since it is
 * not a secret value the runtime knows of but the program's own text.
 */
export function mask(value: unknown, secretPaths: string[], masker: Masker): unknown {
  const set = new Set(secretPaths);
  const walk = (v: unknown, at: string): unknown => {
    if (set.has(at)) return masker.deep(v);
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${at}[${i}]`));
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, at ? `${at}.${k}` : k)]));
    return v;
  };
  return walk(value, "");
}

/**
 * Kubernetes Secret payloads are masked whether or not the program marked them secret. A value
 * made of known secrets is shown with their markers (a `data` value decoded first, and said so);
 * one holding nothing synth knows of is redacted whole, since it could be anything.
 */
function maskKubernetesSecret(manifest: Record<string, unknown>, masker: Masker): Record<string, unknown> {
  if (manifest.kind !== "Secret") return manifest;
  const out = { ...manifest };
  for (const field of ["data", "stringData"]) {
    const payload = out[field];
    if (!payload || typeof payload !== "object") continue;
    out[field] = Object.fromEntries(
      Object.entries(payload as Record<string, unknown>)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => {
          if (typeof v !== "string") return [k, REDACTED];
          const plain = field === "data" ? Buffer.from(v, "base64").toString("utf8") : v;
          const masked = masker.text(plain);
          if (masked === plain) return [k, REDACTED];
          return [k, field === "data" ? `base64 of: ${masked}` : masked];
        }),
    );
  }
  return out;
}

const safeName = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, "_");

/** Sorts object keys recursively so YAML output is stable. */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

const toYaml = (v: unknown) => plainYaml(sortKeys(v));

/** Kubernetes kinds the Kubernetes provider registers as resources (not Helm releases or the provider itself). */
const isKubernetesObject = (r: RecordedResource) =>
  r.custom && r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh/") && !r.type.startsWith("pulumi:providers:");

/** Generated artefacts that are not Kubernetes objects: which input holds them and how to name the file. */
const ARTEFACTS: { type: string; field: string; file: (r: RecordedResource) => string }[] = [
  { type: "alicloud:ecs/instance:Instance", field: "userData", file: (r) => `${r.name}.user-data` },
  { type: "alicloud:oss/bucketObject:BucketObject", field: "content", file: (r) => String(r.inputs.key ?? r.name) },
  { type: "alicloud:ram/policy:Policy", field: "policyDocument", file: (r) => `ram-policies/${r.name}.json` },
  { type: "command:remote:Command", field: "create", file: (r) => `commands/${r.name}.sh` },
  // A script that travels on stdin (`bash -s`) is the command's real content.
  { type: "command:remote:Command", field: "stdin", file: (r) => `commands/${r.name}.stdin.sh` },
  { type: "command:local:Command", field: "create", file: (r) => `commands/${r.name}.sh` },
  { type: "kubernetes:helm.sh/v3:Release", field: "values", file: (r) => `helm/${r.name}.values.yaml` },
  { type: "kubernetes:helm.sh/v4:Chart", field: "values", file: (r) => `helm/${r.name}.values.yaml` },
];

function treeLines(resources: RecordedResource[]): string[] {
  const children = new Map<string | undefined, RecordedResource[]>();
  const urns = new Set(resources.map((r) => r.urn));
  for (const r of resources) {
    const parent = r.parent && urns.has(r.parent) ? r.parent : undefined;
    children.set(parent, [...(children.get(parent) ?? []), r]);
  }
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number) => {
    const list = [...(children.get(parent) ?? [])].sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
    for (const r of list) {
      const flags = [r.options.protect ? "protect" : "", r.options.retainOnDelete ? "retainOnDelete" : ""].filter(Boolean);
      lines.push(`${"  ".repeat(depth)}${r.type} ${r.name}${flags.length ? `  [${flags.join(", ")}]` : ""}`);
      walk(r.urn, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines;
}

export interface SynthSummary {
  stage: string;
  /** Secret keys synth filled with stand-ins because their real values cannot be read offline. */
  standIns: string[];
  resources: number;
  kubernetesObjects: number;
  artefacts: number;
  dir: string;
}

/** What tests may hand a synth run: config overrides and secret config, as runProgram takes them. */
export type SynthOverrides = Pick<RunOptions, "config" | "secrets" | "stackFile">;

export async function synth(stage: string, outRoot: string, root = path.resolve(__dirname, ".."), overrides: SynthOverrides = {}): Promise<SynthSummary> {
  E3_RENDERED_FILES.clear();
  const result = await runProgram({ stage, root, ...overrides });
  if (result.error) throw new Error(result.error);
  const masker = makeMasker(result.secretSources);
  const written: string[] = [];
  const dir = path.join(outRoot, stage);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const write = (rel: string, text: string) => {
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text.endsWith("\n") ? text : `${text}\n`);
    written.push(rel);
  };

  const counts = new Map<string, number>();
  for (const r of result.resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  const countLines = [...counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([t, n]) => `${String(n).padStart(5)}  ${t}`);
  write(
    "resources.txt",
    [`# ${NOT_PREVIEW.replace(/\n/g, "\n# ")}`, `# stage: ${stage}`, `# stand-ins for secret config: ${result.standIns.join(", ") || "none"}`, "", ...treeLines(result.resources), "", `# ${result.resources.length} resources by type`, ...countLines].join("\n"),
  );

  let kubernetesObjects = 0;
  for (const r of result.resources.filter(isKubernetesObject)) {
    // A Secret's payload is judged on its raw values (whether they hold known secrets), then the
    // recorded secret paths are masked as everywhere else.
    const manifest = mask(maskKubernetesSecret(r.inputs, masker), r.secretPaths, masker) as Record<string, unknown>;
    const meta = (manifest.metadata ?? {}) as { name?: string; namespace?: string };
    const ns = meta.namespace ?? "_cluster";
    write(path.join("k8s", safeName(ns), `${safeName(String(manifest.kind ?? r.type))}-${safeName(meta.name ?? r.name)}.yaml`), toYaml(manifest));
    kubernetesObjects++;
  }

  let artefacts = 0;
  for (const a of ARTEFACTS) {
    for (const r of result.resources.filter((x) => x.type === a.type)) {
      const value = mask(r.inputs, r.secretPaths, masker) as Record<string, unknown>;
      const content = value[a.field];
      if (content === undefined) continue;
      write(path.join("artefacts", a.file(r)), typeof content === "string" ? content : toYaml(content));
      artefacts++;
    }
  }

  // Each file the E3 host gets (Apache config, scripts, units) with each secret value in it
  // masked: a change to E3 shows up here file by file, not as one opaque script.
  for (const [name, output] of [...E3_RENDERED_FILES.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const files = await new Promise<{ path: string; mode: string; owner: string; content: string }[]>((resolve) => output.apply(resolve));
    const index: string[] = [];
    for (const f of files) {
      write(path.join("artefacts", "e3", name, ...f.path.split("/").filter(Boolean)), masker.text(f.content));
      index.push(`${f.mode} ${f.owner.padEnd(24)} ${f.path}`);
      artefacts++;
    }
    write(path.join("artefacts", "e3", name, "FILES.txt"), index.sort((a, b) => a.slice(30).localeCompare(b.slice(30))).join("\n"));
  }
  E3_RENDERED_FILES.clear();

  const outputs = Object.fromEntries(
    Object.entries(result.outputs)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, o]) => [k, o.secret ? masker.deep(o.value) : o.value]),
  );
  write("outputs.yaml", toYaml(outputs));

  // The guard: a secret value in the open (outside a secret path, or in a form not masked) is a
  // defect of the program or of synth, and synth refuses to leave it on disk.
  for (const rel of written) {
    const text = fs.readFileSync(path.join(dir, rel), "utf8");
    const hit = masker.needles.find((n) => text.includes(n.text));
    if (hit) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`synth: ${rel} would contain the secret value ${hit.marker} in the open; nothing was written for stage ${stage}`);
    }
  }
  return { stage, standIns: result.standIns, resources: result.resources.length, kubernetesObjects, artefacts, dir };
}

function parseArgs(argv: string[]): { stack: string; out: string; secrets?: Record<string, unknown> } {
  let stack = "";
  let out = "out";
  let secrets: Record<string, unknown> | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--stack" || argv[i] === "-s") stack = argv[++i] ?? "";
    else if (argv[i] === "--out" || argv[i] === "-o") out = argv[++i] ?? "";
    // Secret config as `pulumi config set --secret` would give it (a JSON file of full keys);
    // the tests use it to prove such values never reach the output.
    else if (argv[i] === "--secrets") secrets = JSON.parse(fs.readFileSync(argv[++i] ?? "", "utf8")) as Record<string, unknown>;
    else throw new Error(`unknown argument ${argv[i]}; usage: npm run synth -- --stack <${STAGES.join("|")}> [--out <dir>] [--secrets <file.json>]`);
  }
  if (!isStage(stack)) throw new Error(`--stack must be one of ${STAGES.join(", ")} (got ${JSON.stringify(stack)})`);
  return { stack, out, secrets };
}

if (require.main === module) {
  (async () => {
    const { stack, out, secrets } = parseArgs(process.argv.slice(2));
    const started = process.hrtime.bigint();
    const summary = await synth(stack, path.resolve(out), undefined, secrets ? { secrets } : {});
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(NOT_PREVIEW);
    if (summary.standIns.length > 0) console.log(`Stand-in values (not real, shown as markers) for secret config: ${summary.standIns.join(", ")}.`);
    console.log(
      `stage ${summary.stage}: ${summary.resources} resources, ${summary.kubernetesObjects} Kubernetes objects, ${summary.artefacts} artefacts -> ${path.relative(process.cwd(), summary.dir) || "."} (${seconds.toFixed(1)} s)`,
    );
    process.exit(0);
  })().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
