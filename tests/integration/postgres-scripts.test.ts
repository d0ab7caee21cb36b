/**
 * The backup, restore and drill scripts run for real: against a PostgreSQL this test starts, with
 * the object store replaced by an rclone local remote (the scripts take the remote from
 * BACKUP_REMOTE and RCLONE_CONFIG_* exactly as the Jobs do with OSS).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "../harness/stage";
import { type RunResult, TestPostgres } from "../harness/postgres-server";

const SCRIPTS = path.join(ROOT, "components/postgres/scripts");
const script = (name: string) => path.join(SCRIPTS, name);
const STAGE = "testing";

describe("PostgreSQL backup, restore and drill scripts against a real server", function () {
  this.timeout(180_000);
  let pg: TestPostgres;
  let bucket: string;
  let env: Record<string, string>;

  const backup = (extra: Record<string, string> = {}) => pg.run("bash", [script("pgbackup.sh")], { ...env, ...extra });
  const restore = (...args: string[]) => pg.run("bash", [script("pgrestore.sh"), ...args], env);
  const drill = () => pg.run("bash", [script("pgdrill.sh")], env);
  const dumpsOf = (db: string, suffix = ".dump") =>
    fs.existsSync(path.join(bucket, STAGE, db)) ? fs.readdirSync(path.join(bucket, STAGE, db)).filter((f) => f.endsWith(suffix)).sort() : [];
  const latestDump = (db: string) => {
    const all = dumpsOf(db);
    assert.ok(all.length > 0, `no dump of ${db} in the bucket`);
    return path.join(bucket, STAGE, db, all[all.length - 1]);
  };
  /** A fingerprint of every row of masterdata's tables. */
  const fingerprint = () =>
    pg.sql("masterdata", "SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM public.machine t") +
    pg.sql("masterdata", "SELECT md5(string_agg(t::text, ',' ORDER BY customer)) FROM app.\"Customer Users\" t");
  const ok = (r: RunResult, what: string) => assert.equal(r.status, 0, `${what} failed:\n${r.stderr}`);
  /** Waits a second so the next backup run gets a new timestamp (names have a resolution of one second). */
  const nextSecond = () => new Promise((resolve) => setTimeout(resolve, 1100));

  before(async () => {
    pg = await TestPostgres.start();
    bucket = path.join(pg.dir, "bucket");
    fs.mkdirSync(path.join(pg.dir, "spool"));
    env = { RCLONE_CONFIG_STORE_TYPE: "local", BACKUP_REMOTE: `store:${bucket}/${STAGE}`, TMPDIR: path.join(pg.dir, "spool") };
    pg.sql("postgres", "CREATE ROLE masterdata LOGIN PASSWORD 'md-secret-123456'");
    pg.sql("postgres", "CREATE DATABASE masterdata OWNER masterdata");
    pg.sql("postgres", "CREATE DATABASE keycloak");
    pg.sql(
      "masterdata",
      `SET ROLE masterdata;
       CREATE TABLE public.machine (id int PRIMARY KEY, name text NOT NULL, added timestamptz DEFAULT now());
       INSERT INTO public.machine (id, name) SELECT g, 'press-' || g FROM generate_series(1, 2500) g;
       CREATE SCHEMA app;
       CREATE TABLE app."Customer Users" (customer int REFERENCES public.machine (id), login text);
       INSERT INTO app."Customer Users" SELECT g % 2500 + 1, 'user' || g FROM generate_series(1, 700) g;`,
    );
    pg.sql("keycloak", "CREATE TABLE realm (id text PRIMARY KEY); INSERT INTO realm VALUES ('master'), ('edp');");
  });

  after(() => pg?.stop());

  it("passes shellcheck", () => {
    const files = ["pglib.sh", "pgbackup.sh", "pgrestore.sh", "pgdrill.sh", "restore-pgbackup.sh"].map(script);
    const r = spawnSync("shellcheck", ["-x", "-P", SCRIPTS, ...files], { encoding: "utf8", cwd: SCRIPTS });
    assert.equal(r.error, undefined, "shellcheck is not installed: run `npm run setup` (Debian package shellcheck)");
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  it("backs up globals and every database, each dump with the row counts of its snapshot", () => {
    ok(backup(), "backup");
    assert.equal(dumpsOf("masterdata").length, 1);
    assert.equal(dumpsOf("keycloak").length, 1);
    assert.equal(dumpsOf("postgres").length, 0, "the maintenance database is not a platform database");
    const globals = fs.readdirSync(path.join(bucket, STAGE, "_globals"));
    assert.equal(globals.length, 1);
    assert.match(fs.readFileSync(path.join(bucket, STAGE, "_globals", globals[0]), "utf8"), /CREATE ROLE masterdata;/);
    const counts = fs.readFileSync(latestDump("masterdata").replace(/\.dump$/, ".counts"), "utf8");
    assert.equal(counts, 'app."Customer Users"\t700\npublic.machine\t2500\n');
    assert.match(path.basename(latestDump("masterdata")), /^[0-9]{8}T[0-9]{6}Z\.dump$/);
  });

  it("restores a dropped database, and its dropped owner role, with the same rows", () => {
    const before = fingerprint();
    pg.sql("postgres", "DROP DATABASE masterdata");
    pg.sql("postgres", "DROP ROLE masterdata");
    const r = restore("masterdata");
    ok(r, "restore");
    assert.match(r.stderr, /row counts of 2 table\(s\) match the backup/);
    assert.equal(fingerprint(), before);
    assert.equal(pg.sql("masterdata", "SELECT tableowner FROM pg_tables WHERE tablename = 'machine'"), "masterdata");
    assert.equal(pg.sql("postgres", "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'masterdata'"), "t");
  });

  it("restores over a database in use: ends its sessions and brings back the dumped rows", async () => {
    const before = fingerprint();
    pg.sql("masterdata", "DELETE FROM app.\"Customer Users\"; UPDATE public.machine SET name = 'changed'");
    const session: ChildProcess = spawn(path.join(pg.bin, "psql"), ["-X", "-d", "masterdata", "-c", "SELECT pg_sleep(120)"], { env: pg.clientEnv(), stdio: "ignore" });
    try {
      for (let i = 0; i < 50 && pg.sql("postgres", "SELECT count(*) FROM pg_stat_activity WHERE datname = 'masterdata'") === "0"; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(pg.sql("postgres", "SELECT count(*) FROM pg_stat_activity WHERE datname = 'masterdata'"), "1", "the open session did not start");
      const r = restore("masterdata");
      ok(r, "restore");
      assert.match(r.stderr, /new connections refused, open ones ended/);
      assert.equal(fingerprint(), before);
      assert.equal(pg.sql("postgres", "SELECT datallowconn FROM pg_database WHERE datname = 'masterdata'"), "t");
    } finally {
      session.kill();
    }
  });

  describe("refuses, dropping nothing,", () => {
    let saved: Buffer;
    let dump: string;
    beforeEach(() => {
      dump = latestDump("masterdata");
      saved = fs.readFileSync(dump);
      pg.sql("masterdata", "INSERT INTO public.machine (id, name) VALUES (9001, 'added after the backup')");
    });
    afterEach(() => {
      fs.writeFileSync(dump, saved);
      pg.sql("masterdata", "DELETE FROM public.machine WHERE id = 9001");
    });
    const untouched = () => {
      assert.equal(pg.sql("masterdata", "SELECT name FROM public.machine WHERE id = 9001"), "added after the backup");
      assert.equal(pg.sql("postgres", "SELECT datallowconn FROM pg_database WHERE datname = 'masterdata'"), "t");
    };

    it("a truncated dump", () => {
      fs.writeFileSync(dump, saved.subarray(0, Math.floor(saved.length / 2)));
      const r = restore("masterdata");
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /ERROR: dump [0-9TZ]+\.dump is (damaged|unreadable).*nothing was changed/);
      untouched();
    });

    it("a file that is no dump at all", () => {
      fs.writeFileSync(dump, "this is not a pg_dump archive\n");
      const r = restore("masterdata");
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /ERROR: dump [0-9TZ]+\.dump is unreadable \(pg_restore --list: .*\); nothing was changed/);
      untouched();
    });

    it("a named dump that does not exist", () => {
      const r = restore("masterdata", "20000101T000000Z.dump");
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /ERROR: dump .*20000101T000000Z\.dump is missing or cannot be fetched; nothing was changed/);
      untouched();
    });

    it("a database without any dump", () => {
      const r = restore("onboarding");
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /ERROR: no dump of onboarding under .*; nothing was changed/);
      untouched();
    });

    it("the dump of another database", () => {
      const foreign = path.join(path.dirname(dump), "29991231T235959Z.dump");
      fs.copyFileSync(latestDump("keycloak"), foreign);
      try {
        const r = restore("masterdata");
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /ERROR: dump 29991231T235959Z\.dump is of database 'keycloak', not 'masterdata'; nothing was changed/);
        untouched();
      } finally {
        fs.rmSync(foreign);
      }
    });
  });

  it("restores a given older dump instead of the latest", async () => {
    const older = path.basename(latestDump("masterdata"));
    const rowsThen = pg.sql("masterdata", "SELECT count(*) FROM public.machine");
    await nextSecond();
    pg.sql("masterdata", "INSERT INTO public.machine (id, name) SELECT g, 'new' FROM generate_series(3001, 3100) g");
    ok(backup(), "backup");
    assert.notEqual(path.basename(latestDump("masterdata")), older);
    ok(restore("masterdata", older), "restore of the older dump");
    assert.equal(pg.sql("masterdata", "SELECT count(*) FROM public.machine"), rowsThen);
  });

  it("exits non-zero, naming what failed, when an upload fails", () => {
    const notADirectory = path.join(pg.dir, "not-a-directory");
    fs.writeFileSync(notADirectory, "");
    const r = backup({ BACKUP_REMOTE: `store:${notADirectory}/${STAGE}` });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /masterdata: upload of the dump failed/);
    assert.match(r.stderr, /ERROR: backup [0-9TZ]+ incomplete; failed: _globals keycloak masterdata/);
  });

  it("exits non-zero when a dump fails, still backing up the other databases", async () => {
    // A session holding an exclusive lock makes pg_dump give up after its lock wait timeout.
    const locker: ChildProcess = spawn(
      path.join(pg.bin, "psql"),
      ["-X", "-d", "masterdata", "-c", "BEGIN; LOCK TABLE public.machine IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120);"],
      { env: pg.clientEnv(), stdio: "ignore" },
    );
    try {
      for (let i = 0; i < 50 && pg.sql("masterdata", "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 'public.machine'::regclass") === "0"; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const keycloakBefore = dumpsOf("keycloak").length;
      const masterdataBefore = dumpsOf("masterdata").length;
      await nextSecond();
      const r = backup({ PGBACKUP_LOCK_WAIT_TIMEOUT: "1s" });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /masterdata: pg_dump failed/);
      assert.match(r.stderr, /keycloak: ok/);
      assert.match(r.stderr, /ERROR: backup [0-9TZ]+ incomplete; failed: masterdata$/m);
      assert.equal(dumpsOf("keycloak").length, keycloakBefore + 1);
      assert.equal(dumpsOf("masterdata").length, masterdataBefore, "a failed dump was uploaded");
    } finally {
      // The server keeps the lock until the backend ends, not when the client goes.
      pg.sql("postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'BEGIN; LOCK TABLE%'");
      locker.kill();
    }
  });

  it("passes the restore drill on a good backup and leaves no scratch database", async () => {
    await nextSecond();
    ok(backup(), "backup");
    const r = drill();
    ok(r, "drill");
    assert.match(r.stderr, /masterdata: [0-9TZ]+\.dump restores; row counts of 2 table\(s\) match/);
    assert.match(r.stderr, /restore drill passed for 2 database\(s\)/);
    assert.deepEqual(
      pg.databases().filter((d) => d.startsWith("pgdrill_")),
      [],
    );
  });

  it("fails the restore drill loudly when a dump's rows differ from those recorded at backup time", async () => {
    const good = latestDump("masterdata");
    await nextSecond();
    pg.sql("masterdata", "DELETE FROM app.\"Customer Users\" WHERE customer < 100");
    ok(backup(), "backup");
    const latest = latestDump("masterdata");
    // The newest dump now holds the rows of the previous run while its counts say otherwise:
    // what a dump that lost rows on the way looks like to the drill.
    fs.copyFileSync(good, latest);
    const r = drill();
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /-app\."Customer Users"\t\d+\n\+app\."Customer Users"\t700/);
    assert.match(r.stderr, /masterdata: MISMATCH/);
    assert.match(r.stderr, /ERROR: restore drill FAILED for: masterdata/);
    assert.deepEqual(
      pg.databases().filter((d) => d.startsWith("pgdrill_")),
      [],
    );
  });

  it("fails the restore drill when a database has no dump", () => {
    pg.sql("postgres", "CREATE DATABASE onboarding");
    const r = drill();
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /onboarding: no dump under/);
    assert.match(r.stderr, /FAILED for: .*onboarding/);
  });
});
