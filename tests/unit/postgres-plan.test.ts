import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  DATABASE_NAME,
  databasePlan,
  FORBIDDEN_PASSWORD_CHARACTERS,
  GENERATED_PASSWORD,
  jobTimings,
  passwordProblem,
  RESERVED_DATABASE_PREFIXES,
  restoreCommand,
  SERVICE_DATABASES,
  scheduleGaps,
} from "../../components/postgres/plan";
import { cronJobAlerts } from "../../components/postgres/manifests";
import { EDP_SERVICES } from "../../config";

describe("postgres plan", () => {
  describe("passwordProblem", () => {
    const cases: [string, string, RegExp | undefined][] = [
      ["a generated-style password", "Abcdefgh-ijkl_mnop.qrst~uvwx0123", undefined],
      ["too short", "Abc-123", /shorter than 16/],
      ["an @", "abcdefgh@ijklmnopqrst", /forbidden character\(s\) "@"/],
      ["a colon and a question mark", "abcdefgh:ijklmnop?qrst", /":" "\?"/],
      ["an ampersand", "abcdefghijkl&mnopqrst", /"&"/],
      ["a newline", "abcdefghijklmnop\nqrst", /"\\n"/],
      ["a carriage return", "abcdefghijklmnop\rqrst", /"\\r"/],
      ["a slash", "abcdefghijklmnop/qrst", /'\/'/],
      ["a space", "abcdefgh ijklmnopqrst", /whitespace/],
    ];
    for (const [what, pw, expected] of cases) {
      it(`${expected ? "rejects" : "accepts"} ${what}`, () => {
        const problem = passwordProblem(pw);
        if (expected === undefined) assert.equal(problem, undefined);
        else {
          assert.match(problem ?? "", expected);
          assert.ok(!(problem ?? "").includes(pw), "the message quotes the password");
        }
      });
    }

    it("generates passwords only from characters it accepts", () => {
      for (const c of GENERATED_PASSWORD.overrideSpecial) {
        assert.ok(!(FORBIDDEN_PASSWORD_CHARACTERS as readonly string[]).includes(c), `generated special ${c} is forbidden`);
        assert.equal(passwordProblem(`Abcdefgh0123456${c}`), undefined, `special ${c} is rejected`);
      }
      assert.ok(GENERATED_PASSWORD.length >= 16);
    });
  });

  describe("databasePlan", () => {
    it("has the platform's databases and only EDP services that exist, each owned by a role of its name", () => {
      const plan = databasePlan();
      assert.deepEqual(
        plan.map((d) => d.database).sort(),
        ["datadirectormanagement", "datadirectormonitoring", "injectionmoulding", "keycloak", "masterdata", "onboarding", "vault"],
      );
      for (const s of SERVICE_DATABASES) assert.ok((EDP_SERVICES as readonly string[]).includes(s), `${s} is not an EDP service`);
      for (const d of plan) {
        assert.equal(d.owner, d.database);
        assert.match(d.secretName, /^[a-z0-9-]{1,63}$/);
      }
    });

    const bad: [string[], RegExp][] = [
      [["Masterdata"], /lower-case/],
      [["master-data"], /lower-case/],
      [["postgres"], /reserved/],
      [["pgdrill_x"], /reserved/],
      [["pgrestore_x"], /reserved/],
      [["_leading"], /lower-case letter/],
      [["edge devices"], /lower-case letter/],
      [["a".repeat(49)], /at most 48/],
      [["a", "a"], /listed twice/],
    ];
    for (const [names, message] of bad) {
      it(`rejects ${JSON.stringify(names)}`, () => assert.throws(() => databasePlan(names), message));
    }

    it("accepts a name of 48 characters, the longest whose restore copies fit PostgreSQL's 63", () => {
      assert.equal(databasePlan(["a".repeat(48)]).length, 1);
      assert.ok(`pgrestore_old_${"a".repeat(48)}`.length <= 63);
    });

    it("uses the same name rule as the scripts that back up and restore", () => {
      const scripts = path.join(__dirname, "../../components/postgres/scripts");
      const lib = fs.readFileSync(path.join(scripts, "pglib.sh"), "utf8");
      assert.equal(/^PG_DB_NAME_RE='([^']+)'$/m.exec(lib)?.[1], DATABASE_NAME.source);
      const operator = fs.readFileSync(path.join(scripts, "restore-pgbackup.sh"), "utf8");
      assert.ok(operator.includes(`[[ "$db" =~ ${DATABASE_NAME.source} ]]`), "restore-pgbackup.sh checks names by another rule");
      for (const prefix of RESERVED_DATABASE_PREFIXES) assert.ok(lib.includes(`="${prefix}"`), `pglib.sh does not reserve ${prefix}`);
    });
  });

  describe("schedules, deadlines and alert thresholds", () => {
    const cases: [string, number, number][] = [
      ["0 */3 * * *", 3 * 3600, 3 * 3600],
      ["30 4 * * 0", 7 * 86400, 7 * 86400],
      ["0 1,13 * * *", 12 * 3600, 12 * 3600],
      ["0 2 * * 1-5", 86400, 3 * 86400],
    ];
    for (const [schedule, min, max] of cases) {
      it(`measures the gaps of ${schedule}`, () => assert.deepEqual(scheduleGaps(schedule), { min, max }));
    }

    it("lets a 3-hourly backup run at most until shortly before the next one, and calls it stale after one missed run", () => {
      const t = jobTimings("0 */3 * * *");
      assert.equal(t.activeDeadlineSeconds, 3 * 3600 - 300);
      assert.ok(t.startingDeadlineSeconds > 0 && t.startingDeadlineSeconds <= 900);
      assert.ok(t.staleAfterSeconds > 3 * 3600 && t.staleAfterSeconds < 2 * 3 * 3600 + 3600, String(t.staleAfterSeconds));
    });

    it("caps a weekly drill's run time at six hours", () => {
      assert.equal(jobTimings("30 4 * * 0").activeDeadlineSeconds, 6 * 3600);
    });

    it("refuses a schedule that leaves a Job less than 15 minutes", () => {
      assert.throws(() => jobTimings("*/5 * * * *"), /at least 15 minutes/);
    });

    it("alerts on a failed Job, a newest complete backup older than two intervals, a never-successful CronJob and a slow run", () => {
      const rules = cronJobAlerts("backup", "postgres", jobTimings("0 */3 * * *"));
      assert.deepEqual(
        rules.map((r) => r.alert),
        ["PostgresBackupFailed", "PostgresBackupStale", "PostgresBackupNeverSucceeded", "PostgresBackupSlow"],
      );
      assert.match(rules[0].expr, /kube_job_failed\{namespace="postgres", job_name=~"pgbackup-\[0-9\]\+", condition="true"\} == 1/);
      assert.match(rules[1].expr, /kube_job_status_start_time\{namespace="postgres", job_name=~"pgbackup-\[0-9\]\+"\} and on \(namespace, job_name\) \(kube_job_status_succeeded/);
      assert.match(rules[1].expr, /or max\(kube_cronjob_status_last_successful_time\{namespace="postgres", cronjob="pgbackup"\}\)\) > 21600$/);
      assert.match(rules[2].for ?? "", /^\d+s$/);
      assert.match(rules[3].expr, /kube_job_status_active/);
      assert.match(rules[3].expr, new RegExp(`> ${Math.floor((3 * 3600 - 300) * 0.75)}\\)`));
    });
  });

  it("gives the exact restore command of a stage", () => {
    assert.equal(restoreCommand("staging", "masterdata"), "components/postgres/scripts/restore-pgbackup.sh staging masterdata");
    assert.equal(restoreCommand("testing"), "components/postgres/scripts/restore-pgbackup.sh testing <database> [<YYYYmmddTHHMMSSZ>.dump]");
  });
});
