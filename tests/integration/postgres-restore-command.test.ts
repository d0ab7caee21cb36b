/**
 * restore-pgbackup.sh, the operator's one restore command, run for real with a stand-in for the
 * Kubernetes API: a fake `kubectl` on PATH that answers like a cluster of a given stage whose
 * restore Job ends as told, and records every call. What runs inside the Job (pgrestore.sh) is
 * tested against a real PostgreSQL in postgres-scripts.test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT } from "../harness/stage";

const SCRIPT = path.join(ROOT, "components/postgres/scripts/restore-pgbackup.sh");

const FAKE_KUBECTL = `#!/usr/bin/env bash
printf '%s\\n' "$*" >>"$FAKE_LOG"
args=" $* "
case "$args" in
  *" get cronjob pgrestore "*) printf '%s' "$FAKE_STAGE" ;;
  *" create job "*"--dry-run=client"*) printf '{"kind":"Job","metadata":{"name":"%s"}}' "$5" ;;
  *" set env --local "*) cat ;;
  *" create -f - "*) cat >"$FAKE_LOG.created" ;;
  *" get pods "*) printf 'Succeeded' ;;
  *" logs "*) echo "log of the restore Job" ;;
  *".status.succeeded"*) [[ "$FAKE_RESULT" == succeeded ]] && printf '1' ;;
  *".status.failed"*) [[ "$FAKE_RESULT" == failed ]] && printf '1' ;;
  *) echo "fake kubectl: unexpected call: $*" >&2; exit 1 ;;
esac
exit 0
`;

describe("restore-pgbackup.sh (one restore command, against a fake kubectl)", function () {
  this.timeout(60_000);
  let dir: string;
  let log: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-restore-cmd-"));
    fs.writeFileSync(path.join(dir, "kubectl"), FAKE_KUBECTL, { mode: 0o755 });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    log = path.join(dir, `calls-${Math.random().toString(36).slice(2)}`);
    fs.writeFileSync(log, "");
  });

  const restore = (args: string[], clusterStage: string, result: "succeeded" | "failed") =>
    spawnSync("bash", [SCRIPT, ...args], {
      encoding: "utf8",
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, FAKE_LOG: log, FAKE_STAGE: clusterStage, FAKE_RESULT: result },
      timeout: 30_000,
    });
  const calls = () => fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean);

  it("starts a restore Job from the pgrestore CronJob with the database and dump, and follows it to success", () => {
    const r = restore(["production", "masterdata", "20261122T030000Z.dump"], "production", "succeeded");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /log of the restore Job/);
    const c = calls();
    const create = c.find((x) => x.includes("create job"));
    assert.match(create ?? "", /^-n postgres create job pgrestore-masterdata-[0-9]{14} --from=cronjob\/pgrestore --dry-run=client -o json$/);
    assert.ok(c.includes("-n postgres set env --local -f - -c restore -o json PGRESTORE_DATABASE=masterdata PGRESTORE_DUMP=20261122T030000Z.dump"), c.join("\n"));
    assert.match(fs.readFileSync(`${log}.created`, "utf8"), /"name":"pgrestore-masterdata-[0-9]{14}"/);
  });

  it("restores the latest dump when none is named, turning '_' into '-' in the Job name", () => {
    const r = restore(["testing", "edp_extra"], "testing", "succeeded");
    assert.equal(r.status, 0, r.stderr);
    assert.ok(calls().some((x) => x.endsWith("PGRESTORE_DATABASE=edp_extra PGRESTORE_DUMP=")));
    assert.ok(calls().some((x) => /create job pgrestore-edp-extra-[0-9]{14} /.test(x)));
  });

  it("exits non-zero when the Job fails", () => {
    const r = restore(["staging", "keycloak"], "staging", "failed");
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Job pgrestore-keycloak-[0-9]{14} failed: keycloak was not restored/);
  });

  it("refuses a cluster of another stage, creating nothing", () => {
    const r = restore(["production", "masterdata"], "staging", "succeeded");
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /this cluster is stage 'staging', not 'production'/);
    assert.ok(!calls().some((x) => x.includes("create")), "a Job was created");
  });

  it("refuses bad arguments before calling kubectl", () => {
    for (const args of [["production"], ["production", "Master-Data"], ["production", "masterdata", "latest"]]) {
      const r = restore(args, "production", "succeeded");
      assert.notEqual(r.status, 0, args.join(" "));
      assert.deepEqual(calls(), [], args.join(" "));
    }
  });
});
