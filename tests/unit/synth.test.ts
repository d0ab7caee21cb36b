/**
 * The offline synth: it writes the resource tree, Kubernetes objects and artefacts of a stage,
 * redacts every secret, says it is not `pulumi preview`, and two runs diff cleanly.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { readStackConfig } from "../../scripts/lib/mock-runtime";
import { REDACTED, redact } from "../../scripts/synth";
import { ROOT, runStage } from "../harness/stage";

const run = promisify(execFile);

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

/** Every string leaf of a value. */
function strings(v: unknown): string[] {
  if (typeof v === "string") return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (v && typeof v === "object") return Object.values(v).flatMap(strings);
  return [];
}

function at(value: unknown, dotted: string): unknown {
  return dotted.split(/\.|\[(\d+)\]/).filter((p) => p !== undefined && p !== "").reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], value);
}

describe("offline synth", function () {
  this.timeout(300_000);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "edp-synth-"));
  after(() => fs.rmSync(out, { recursive: true, force: true }));

  const synthInto = async (dir: string, stage: string) => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts/synth.ts"), "--stack", stage, "--out", dir], { cwd: ROOT });
    return stdout;
  };

  for (const stage of ["testing", "staging", "production"]) {
    it(`writes ${stage} twice with identical files, says it is not pulumi preview, and leaks no secret`, async () => {
      const a = path.join(out, "a");
      const b = path.join(out, "b");
      const stdout = await synthInto(a, stage);
      await synthInto(b, stage);
      assert.match(stdout, /NOT `pulumi preview`/);
      assert.match(stdout, new RegExp(`stage ${stage}: [0-9]+ resources`));

      const files = listFiles(path.join(a, stage));
      assert.deepEqual(listFiles(path.join(b, stage)), files);
      assert.ok(files.includes("resources.txt") && files.includes("outputs.yaml"));
      for (const f of files) assert.equal(fs.readFileSync(path.join(a, stage, f), "utf8"), fs.readFileSync(path.join(b, stage, f), "utf8"), `${f} differs between two runs`);

      const tree = fs.readFileSync(path.join(a, stage, "resources.txt"), "utf8");
      assert.match(tree, /NOT `pulumi preview`/);
      const run = await runStage(stage);
      assert.match(tree, new RegExp(`# ${run.resources.length} resources by type`));

      // Every value the program holds as a secret must be absent from what synth wrote.
      const secrets = new Set<string>();
      // Component resources echo their args (the whole stage config, secret because it holds
      // secrets); the values that reach providers are the custom resources' inputs.
      for (const r of run.resources.filter((x) => x.custom)) for (const p of r.secretPaths) for (const s of strings(at(r.inputs, p))) secrets.add(s);
      for (const o of Object.values(run.result.outputs)) if (o.secret) for (const s of strings(o.value)) secrets.add(s);
      // A string that is also held in the open elsewhere (a namespace name inside a secret Helm
      // values object, say) is not a secret value.
      const open = new Set<string>();
      for (const r of run.resources) for (const s of strings(redact(r.inputs, r.secretPaths))) open.add(s);
      for (const o of Object.values(run.result.outputs)) if (!o.secret) for (const s of strings(o.value)) open.add(s);
      // Short plain names inside a secret object (a user name in an SSH connection) are not secret values either.
      const isName = (s: string) => s.length < 24 && /^[a-z][a-z0-9.-]*$/.test(s);
      const needles = [...secrets].filter((s) => s.length >= 8 && !open.has(s) && !isName(s));
      assert.ok(needles.length > 0, "the stage holds no secret value to look for");
      for (const f of files) {
        const text = fs.readFileSync(path.join(a, stage, f), "utf8");
        for (const s of needles) assert.ok(!text.includes(s), `${f} contains a secret value`);
      }
    });
  }

  it("redacts values at the recorded secret paths, and nothing else", () => {
    const value = { a: "plain", b: { c: "hidden", d: ["x", "hidden2"] } };
    assert.deepEqual(redact(value, ["b.c", "b.d[1]"]), { a: "plain", b: { c: REDACTED, d: ["x", REDACTED] } });
  });

  it("writes each E3 file, secrets masked, so a change to E3's virtual hosts changes synth", async () => {
    const dns = JSON.parse(readStackConfig(path.join(ROOT, "Pulumi.testing.yaml"))["edp:dns"]) as Record<string, unknown>;
    // Each synth in its own process: Pulumi's runtime state is global.
    const synthWith = (dir: string, config: Record<string, unknown>) =>
      run(process.execPath, ["--import", "tsx", "-e", `require(${JSON.stringify(path.join(ROOT, "scripts/synth.ts"))}).synth("testing", ${JSON.stringify(dir)}, ${JSON.stringify(ROOT)}, { config: ${JSON.stringify(config)} }).catch((e) => { console.error(e); process.exit(1); })`], { cwd: ROOT });
    await synthWith(path.join(out, "e3-base"), {});
    await synthWith(path.join(out, "e3-changed"), { "edp:dns": { ...dns, publicZone: "other-zone.example.org" } });
    const e3 = (which: string) => path.join(out, which, "testing", "artefacts", "e3", "e3");
    const base = listFiles(e3("e3-base"));
    for (const f of ["FILES.txt", "etc/apache2/apache2.conf", "usr/local/sbin/edp-crl-refresh", "etc/systemd/system/notary-server.service", "etc/notary/server.json"]) assert.ok(base.includes(f), `${f} in ${base.join(", ")}`);
    const conf = (which: string) => fs.readFileSync(path.join(e3(which), "etc/apache2/apache2.conf"), "utf8");
    assert.match(conf("e3-base"), /ServerName edp-docker\.api\.testing\.example-edp\.net/);
    assert.notEqual(conf("e3-changed"), conf("e3-base"));
    assert.match(conf("e3-changed"), /ServerName edp-docker\.api\.testing\.other-zone\.example\.org/);
    // Secrets are masked in place; the rest of each file is as on the host.
    const all = base.map((f) => fs.readFileSync(path.join(e3("e3-base"), f), "utf8")).join("\n");
    assert.match(fs.readFileSync(path.join(e3("e3-base"), "etc/notary/signer.env"), "utf8"), /^NOTARY_SIGNER_EDP=\[secret\]$/m);
    assert.match(fs.readFileSync(path.join(e3("e3-base"), "etc/edp/tls/bootstrap.key"), "utf8"), /^\[secret\]/);
    assert.doesNotMatch(all, /Mock[0-9a-f]{20,}|PRIVATE KEY-----\s*\n[A-Za-z0-9+/]/);
  });

  it("refuses an unknown stage", async () => {
    await assert.rejects(synthInto(path.join(out, "c"), "prod"), /--stack must be one of testing, staging, production/);
  });
});
