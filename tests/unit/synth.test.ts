/**
 * The offline synth: it writes the resource tree, Kubernetes objects and artefacts of a stage in
 * full, each secret value replaced by a marker naming its source, says it is not `pulumi
 * preview`, and two runs diff cleanly; a change to an E3 vhost shows in it.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { makeMasker } from "../../scripts/lib/secret-markers";
import { mask } from "../../scripts/synth";
import { ROOT, runStage } from "../harness/stage";

const run = promisify(execFile);

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

describe("offline synth", function () {
  this.timeout(300_000);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "edp-synth-"));
  after(() => fs.rmSync(out, { recursive: true, force: true }));

  const synthInto = async (dir: string, stage: string, extra: string[] = [], root = ROOT) => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", path.join(root, "scripts/synth.ts"), "--stack", stage, "--out", dir, ...extra], { cwd: root });
    return stdout;
  };
  // A stage's synth of this checkout, made once: the vhost test compares its changed copy with
  // the same files the two-runs test wrote first.
  const firstSynths = new Map<string, Promise<string>>();
  const firstSynth = async (stage: string) => {
    const dir = path.join(out, "a");
    const made = firstSynths.get(stage) ?? synthInto(dir, stage);
    firstSynths.set(stage, made);
    return { dir, stdout: await made };
  };

  for (const stage of ["testing", "staging", "production"]) {
    it(`writes ${stage} twice with identical files, says it is not pulumi preview, and leaks no secret`, async () => {
      const b = path.join(out, "b");
      // Independent processes: the two synths and the stage's run go side by side.
      const [{ dir: a, stdout }, , run] = await Promise.all([firstSynth(stage), synthInto(b, stage), runStage(stage)]);
      assert.match(stdout, /NOT `pulumi preview`/);
      assert.match(stdout, new RegExp(`stage ${stage}: [0-9]+ resources`));

      const files = listFiles(path.join(a, stage));
      assert.deepEqual(listFiles(path.join(b, stage)), files);
      assert.ok(files.includes("resources.txt") && files.includes("outputs.yaml"));
      for (const f of files) assert.equal(fs.readFileSync(path.join(a, stage, f), "utf8"), fs.readFileSync(path.join(b, stage, f), "utf8"), `${f} differs between two runs`);

      const tree = fs.readFileSync(path.join(a, stage, "resources.txt"), "utf8");
      assert.match(tree, /NOT `pulumi preview`/);
      assert.match(tree, new RegExp(`# ${run.resources.length} resources by type`));

      // Every secret value the run made or was handed (and its base64 and JSON-escaped forms)
      // must be absent from what synth wrote, and the markers naming them must be there instead.
      const needles = makeMasker(run.result.secretSources).needles;
      assert.ok(needles.length > 0, "the stage holds no secret value to look for");
      const all = files.map((f) => fs.readFileSync(path.join(a, stage, f), "utf8")).join("\n");
      for (const n of needles) assert.ok(!all.includes(n.text), `synth output contains the secret value behind ${n.marker}`);
      assert.match(all, /\[secret:[a-z0-9-]+\.(result|privateKeyPem|privateKeyOpenssh|secret)(:base64)?\]/);
    });
  }

  it("never writes a secret config value, whatever form the program gives it", async () => {
    const sentinel = "REAL-SECRET-5f0c2b9e7d4a";
    const secretsFile = path.join(out, "secrets.json");
    fs.writeFileSync(
      secretsFile,
      JSON.stringify({
        "edp:dockerPullJson": JSON.stringify({ auths: { "registry-vpc.eu-central-1.aliyuncs.com": { auth: Buffer.from(`robot:${sentinel}-docker`).toString("base64") } } }),
        "edp:ddmFiles": {
          DDM_REV: `${sentinel}-rev`,
          DDM_KEY1: `-----BEGIN PGP PRIVATE KEY BLOCK-----\n${sentinel}-key1-body\n-----END PGP PRIVATE KEY BLOCK-----\n`,
          DDM_KEY2: `-----BEGIN PGP PUBLIC KEY BLOCK-----\n${sentinel}-key2-body\n-----END PGP PUBLIC KEY BLOCK-----\n`,
          DDM_GPG_CONF: `# ${sentinel}-gpgconf\nuse-agent\n`,
          DDM_PASSPHRASE: `${sentinel}-passphrase`,
          DDM_PUBRING: Buffer.from(`${sentinel}-pubring`).toString("base64"),
          DDM_TRUSTDB: Buffer.from(`${sentinel}-trustdb`).toString("base64"),
        },
      }),
    );
    const dir = path.join(out, "sentinel");
    await synthInto(dir, "testing", ["--secrets", secretsFile]);
    const files = listFiles(path.join(dir, "testing"));
    const all = files.map((f) => fs.readFileSync(path.join(dir, "testing", f), "utf8")).join("\n");
    assert.ok(!all.includes(sentinel), "a secret config value reached synth output");
    assert.ok(!all.includes(Buffer.from(`${sentinel}-passphrase`).toString("base64")), "a secret config value reached synth output in base64");
    // The values were there to mask: their markers name the config keys.
    assert.match(all, /\[secret:edp:(ddmFiles|dockerPullJson)[^\]]*\]/);
  });

  it("shows a change to one E3 vhost in the synth of the changed program", async () => {
    // The pull-request case: a copy of the repository with one line of the git vhost changed.
    const head = path.join(out, "head-repo");
    // Not the ignored build caches either (.cache holds Helm and the charts: 80 MB synth never reads).
    fs.cpSync(ROOT, head, { recursive: true, filter: (src) => !/\/(node_modules|\.git|\.cache|out)$/.test(src) });
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(head, "node_modules"));
    const apache = path.join(head, "components/e3/render/apache.ts");
    const before = fs.readFileSync(apache, "utf8");
    const changed = before.replace('"SetEnv GIT_HTTP_EXPORT_ALL 1",', '"SetEnv GIT_HTTP_EXPORT_ALL 1",\n      "SetEnv EDP_REVIEW_PROBE reviewed-vhost-line",');
    assert.notEqual(changed, before, "the git vhost line to change is gone from apache.ts");
    fs.writeFileSync(apache, changed);
    const headDir = path.join(out, "vhost-head");
    const [{ dir: baseDir }] = await Promise.all([firstSynth("testing"), synthInto(headDir, "testing", [], head)]);
    const files = listFiles(path.join(headDir, "testing"));
    assert.deepEqual(listFiles(path.join(baseDir, "testing")), files);
    const differing = files.filter((f) => fs.readFileSync(path.join(baseDir, "testing", f), "utf8") !== fs.readFileSync(path.join(headDir, "testing", f), "utf8"));
    assert.ok(differing.length > 0, "the vhost change did not change the synth");
    assert.ok(differing.every((f) => /e3/.test(f)), `a vhost change touched more than E3: ${differing.join(", ")}`);
    // The changed line is readable in the diff: in the open, or (while the apply script still
    // carries its files as base64 blocks) in a decoded block of a changed file.
    const readable = (text: string) => {
      if (text.includes("EDP_REVIEW_PROBE reviewed-vhost-line")) return true;
      const blocks = text.match(/[A-Za-z0-9+/]{64,}={0,2}/g) ?? [];
      return blocks.some((b) => Buffer.from(b, "base64").toString("utf8").includes("EDP_REVIEW_PROBE reviewed-vhost-line"));
    };
    assert.ok(differing.some((f) => readable(fs.readFileSync(path.join(headDir, "testing", f), "utf8"))), "the changed vhost line is not in the synth");
    // E3's files are written one by one, the changed line in the open in Apache's config, and
    // each secret value in them replaced by the marker naming its source.
    const e3 = (dir: string) => path.join(dir, "testing", "artefacts", "e3", "e3");
    const e3Files = listFiles(e3(baseDir));
    for (const f of ["FILES.txt", "etc/apache2/apache2.conf", "usr/local/sbin/edp-crl-refresh", "etc/systemd/system/notary-server.service", "etc/notary/server.json"]) assert.ok(e3Files.includes(f), `${f} in ${e3Files.join(", ")}`);
    assert.ok(differing.includes("artefacts/e3/e3/etc/apache2/apache2.conf"), `changed: ${differing.join(", ")}`);
    assert.match(fs.readFileSync(path.join(e3(headDir), "etc/apache2/apache2.conf"), "utf8"), /SetEnv EDP_REVIEW_PROBE reviewed-vhost-line/);
    assert.match(fs.readFileSync(path.join(e3(baseDir), "etc/notary/signer.env"), "utf8"), /^NOTARY_SIGNER_EDP=\[secret:e3-[a-z0-9-]+\.result\]$/m);
    assert.match(fs.readFileSync(path.join(e3(baseDir), "etc/edp/tls/bootstrap.key"), "utf8"), /^\[secret:e3-[a-z0-9-]+\.privateKeyPem\]$/m);
    assert.match(fs.readFileSync(path.join(e3(baseDir), "etc/docker/registry/config.yml"), "utf8"), /\[secret:e3-registry-http-secret\.result\]/);
  });

  it("masks each known secret value at the recorded secret paths with its marker, and nothing else", () => {
    const masker = makeMasker([
      { source: "db.result", value: "hunter2-long-password" },
      { source: "key.privateKeyPem", value: "-----BEGIN PRIVATE KEY-----\nMOCKabcdef0123456789abcdef\n-----END PRIVATE KEY-----\n" },
    ]);
    const value = {
      a: "plain hunter2-long-password",
      b: { c: "user=x password=hunter2-long-password", d: ["x", Buffer.from("hunter2-long-password").toString("base64")] },
      e: "content: |\n  -----BEGIN PRIVATE KEY-----\n  MOCKabcdef0123456789abcdef\n  -----END PRIVATE KEY-----\n",
    };
    assert.deepEqual(mask(value, ["b", "e"], masker), {
      a: "plain hunter2-long-password",
      b: { c: "user=x password=[secret:db.result]", d: ["x", "[secret:db.result:base64]"] },
      e: "content: |\n  -----BEGIN PRIVATE KEY-----\n  [secret:key.privateKeyPem]\n  -----END PRIVATE KEY-----\n",
    });
  });

  it("refuses an unknown stage", async () => {
    await assert.rejects(synthInto(path.join(out, "c"), "prod"), /--stack must be one of testing, staging, production/);
  });
});
