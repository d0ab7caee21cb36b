/**
 * The backup, restore and drill scripts run for real: against a PostgreSQL this test starts, with
 * the object store replaced by an rclone local remote (the scripts take the remote from
 * BACKUP_REMOTE and RCLONE_CONFIG_* exactly as the Jobs do with OSS).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "../harness/stage";
import { type RunResult, TestPostgres } from "../harness/postgres-server";

const SCRIPTS = path.join(ROOT, "components/postgres/scripts");
const script = (name: string) => path.join(SCRIPTS, name);
const STAGE = "testing";
/** The databases the plan lists, as the Jobs get them (one per line). */
const PLANNED = "keycloak\nmasterdata";

describe("PostgreSQL backup, restore and drill scripts against a real server", function () {
  this.timeout(180_000);
  let pg: TestPostgres;
  let bucket: string;
  let env: Record<string, string>;

  const backup = (extra: Record<string, string> = {}) => pg.run("bash", [script("pgbackup.sh")], { ...env, ...extra });
  const restore = (...args: string[]) => pg.run("bash", [script("pgrestore.sh"), ...args], env);
  const drill = (extra: Record<string, string> = {}) => pg.run("bash", [script("pgdrill.sh")], { ...env, ...extra });
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
  const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");
  /** Rewrites the completion marker of a run after a test changed its files (as if the backup had written them so). */
  const remark = (db: string, stamp: string) =>
    fs.writeFileSync(
      path.join(bucket, STAGE, db, `${stamp}.complete`),
      [`${db}/${stamp}.counts`, `${db}/${stamp}.dump`, `_globals/${stamp}.sql`].map((f) => `${sha256(path.join(bucket, STAGE, f))}  ${f}\n`).join(""),
    );
  const rowCounts = (file: string) =>
    fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("privileges of "))
      .join("\n");
  /** Waits a second so the next backup run gets a new timestamp (names have a resolution of one second). */
  const nextSecond = () => new Promise((resolve) => setTimeout(resolve, 1100));

  before(async () => {
    pg = await TestPostgres.start();
    bucket = path.join(pg.dir, "bucket");
    fs.mkdirSync(path.join(pg.dir, "spool"));
    env = { RCLONE_CONFIG_STORE_TYPE: "local", BACKUP_REMOTE: `store:${bucket}/${STAGE}`, TMPDIR: path.join(pg.dir, "spool"), PGBACKUP_DATABASES: PLANNED };
    pg.sql("postgres", "CREATE ROLE masterdata LOGIN PASSWORD 'md-secret-123456'");
    pg.sql("postgres", "CREATE ROLE reporting NOLOGIN");
    pg.sql("postgres", "CREATE DATABASE masterdata OWNER masterdata");
    pg.sql("postgres", "CREATE DATABASE keycloak");
    pg.sql(
      "masterdata",
      `SET ROLE masterdata;
       CREATE TABLE public.machine (id int PRIMARY KEY, name text NOT NULL, added timestamptz DEFAULT now());
       INSERT INTO public.machine (id, name) SELECT g, 'press-' || g FROM generate_series(1, 2500) g;
       CREATE SCHEMA app;
       CREATE TABLE app."Customer Users" (customer int REFERENCES public.machine (id), login text);
       INSERT INTO app."Customer Users" SELECT g % 2500 + 1, 'user' || g FROM generate_series(1, 700) g;
       GRANT USAGE ON SCHEMA app TO reporting;
       GRANT SELECT ON app."Customer Users" TO reporting;`,
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

  it("backs up globals and every database of the plan, each dump with the row counts and privileges of its snapshot and a completion marker", () => {
    ok(backup(), "backup");
    assert.equal(dumpsOf("masterdata").length, 1);
    assert.equal(dumpsOf("keycloak").length, 1);
    assert.equal(dumpsOf("postgres").length, 0, "the maintenance database is not a platform database");
    const globals = fs.readdirSync(path.join(bucket, STAGE, "_globals"));
    assert.equal(globals.length, 1);
    assert.match(fs.readFileSync(path.join(bucket, STAGE, "_globals", globals[0]), "utf8"), /CREATE ROLE masterdata;/);
    const countsFile = latestDump("masterdata").replace(/\.dump$/, ".counts");
    assert.equal(rowCounts(countsFile), 'app."Customer Users"\t700\npublic.machine\t2500');
    assert.match(fs.readFileSync(countsFile, "utf8"), /^privileges of r app\."Customer Users"\towner=masterdata acl=\{.*reporting=r\/masterdata.*\}$/m);
    const marker = fs.readFileSync(latestDump("masterdata").replace(/\.dump$/, ".complete"), "utf8");
    assert.equal(marker.trim().split("\n").length, 3);
    assert.ok(marker.includes(`${sha256(latestDump("masterdata"))}  masterdata/`), marker);
    assert.match(path.basename(latestDump("masterdata")), /^[0-9]{8}T[0-9]{6}Z\.dump$/);
  });

  it("restores a dropped database, and its dropped owner role, with the same rows", () => {
    const before = fingerprint();
    pg.sql("postgres", "DROP DATABASE masterdata");
    pg.sql("postgres", "DROP ROLE masterdata");
    const r = restore("masterdata");
    ok(r, "restore");
    assert.match(r.stderr, /masterdata: row counts and privileges of \d+ object\(s\) match the backup/);
    assert.equal(fingerprint(), before);
    assert.equal(pg.sql("masterdata", "SELECT has_table_privilege('reporting', 'app.\"Customer Users\"', 'SELECT')"), "t");
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
      assert.match(r.stderr, /masterdata: sessions ended; the restored database is masterdata, the replaced one kept as pgrestore_old_masterdata/);
      assert.equal(fingerprint(), before);
      // The safety copy holds what was replaced, and no client can connect to it.
      assert.equal(pg.sql("postgres", "SELECT datallowconn FROM pg_database WHERE datname = 'pgrestore_old_masterdata'"), "f");
      pg.sql("postgres", "ALTER DATABASE pgrestore_old_masterdata ALLOW_CONNECTIONS true");
      assert.equal(pg.sql("pgrestore_old_masterdata", "SELECT count(*) FROM app.\"Customer Users\""), "0");
      pg.sql("postgres", "DROP DATABASE pgrestore_old_masterdata");
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
      assert.match(r.stderr, /a file differs from what the backup uploaded \(sha256\)/);
      assert.match(r.stderr, /ERROR: backup run [0-9TZ]+ of masterdata cannot be restored \(see above\); nothing was changed/);
      untouched();
    });

    it("a truncated dump that its marker vouches for (the backup's own read-back failed to see it)", () => {
      fs.writeFileSync(dump, saved.subarray(0, Math.floor(saved.length / 2)));
      const stamp = path.basename(dump, ".dump");
      const marker = path.join(path.dirname(dump), `${stamp}.complete`);
      const savedMarker = fs.readFileSync(marker);
      remark("masterdata", stamp);
      try {
        const r = restore("masterdata");
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /dump [0-9TZ]+ of masterdata is (damaged|unreadable)/);
        untouched();
      } finally {
        fs.writeFileSync(marker, savedMarker);
      }
    });

    it("a dump whose run has no completion marker", async () => {
      await nextSecond();
      const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
      const unfinished = path.join(path.dirname(dump), `${stamp}.dump`);
      fs.copyFileSync(dump, unfinished);
      try {
        const latest = restore("masterdata", `${stamp}.dump`);
        assert.notEqual(latest.status, 0);
        assert.match(latest.stderr, new RegExp(`backup run ${stamp} of masterdata is not complete \\(no ${stamp}\\.complete marker\\)`));
        untouched();
      } finally {
        fs.rmSync(unfinished);
      }
    });

    it("a named dump that does not exist", () => {
      const r = restore("masterdata", "20000101T000000Z.dump");
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /cannot fetch .*20000101T000000Z\.complete: .*not found/i);
      assert.match(r.stderr, /ERROR: backup run 20000101T000000Z of masterdata cannot be restored \(see above\); nothing was changed/);
      untouched();
    });

    it("a database without any dump", () => {
      const r = restore("onboarding");
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /ERROR: no complete backup of onboarding under .*; nothing was changed/);
      untouched();
    });

    it("the dump of another database", () => {
      // A complete run in every other respect: marker, counts and globals all match.
      const stamp = "29991231T235959Z";
      const keycloakRun = latestDump("keycloak").replace(/\.dump$/, "");
      const files = [".dump", ".counts", ".complete"].map((s) => path.join(path.dirname(dump), `${stamp}${s}`));
      const globals = path.join(bucket, STAGE, "_globals", `${stamp}.sql`);
      fs.copyFileSync(`${keycloakRun}.dump`, files[0]);
      fs.copyFileSync(`${keycloakRun}.counts`, files[1]);
      fs.copyFileSync(path.join(bucket, STAGE, "_globals", `${path.basename(keycloakRun)}.sql`), globals);
      remark("masterdata", stamp);
      try {
        const r = restore("masterdata");
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /dump 29991231T235959Z under masterdata\/ is of database 'keycloak', not 'masterdata'/);
        assert.match(r.stderr, /nothing was changed/);
        untouched();
      } finally {
        for (const f of [...files, globals]) fs.rmSync(f);
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
    pg.sql("postgres", "DROP DATABASE pgrestore_old_masterdata");
  });

  it("exits non-zero, naming what failed, when an upload fails", () => {
    const notADirectory = path.join(pg.dir, "not-a-directory");
    fs.writeFileSync(notADirectory, "");
    const r = backup({ BACKUP_REMOTE: `store:${notADirectory}/${STAGE}` });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /masterdata: upload of the row counts failed/);
    assert.match(r.stderr, /not a directory/, "rclone's own words are not in the log");
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

  it("fails loudly, after backing up the others, when a database of the plan has been dropped", async () => {
    // A database of the plan, dropped by mistake (the backups it had would expire unnoticed).
    pg.sql("postgres", "CREATE DATABASE onboarding");
    pg.sql("postgres", "DROP DATABASE onboarding");
    const planned = { PGBACKUP_DATABASES: "keycloak\nonboarding" };
    const keycloakBefore = dumpsOf("keycloak").length;
    await nextSecond();
    const r = backup(planned);
    assert.notEqual(r.status, 0, "a backup that lost a database of the plan reported success");
    assert.match(r.stderr, /onboarding: MISSING on the server/);
    assert.match(r.stderr, /ERROR: backup [0-9TZ]+ incomplete; failed: onboarding$/m);
    assert.equal(dumpsOf("keycloak").length, keycloakBefore + 1, "the other databases were not backed up");
    assert.equal(dumpsOf("onboarding").length, 0);
  });

  it("takes a name with a space whole: names it as not planned, refuses it as a planned name, backs up the plan", async () => {
    pg.sql("postgres", 'CREATE DATABASE "edge devices"');
    try {
      await nextSecond();
      const r = backup({ PGBACKUP_DATABASES: "keycloak" });
      ok(r, "backup with an unplanned database on the server");
      assert.match(r.stderr, /WARNING: database\(s\) on the server that the plan does not list, NOT backed up: 'edge devices' 'masterdata'$/m);
      assert.match(r.stderr, /backup [0-9TZ]+ complete: globals and 1 database\(s\)/);
      // A name the plan cannot make is refused where the list is read, before anything is written.
      const globalsBefore = fs.readdirSync(path.join(bucket, STAGE, "_globals")).length;
      const refused = backup({ PGBACKUP_DATABASES: "keycloak\nedge devices" });
      assert.notEqual(refused.status, 0);
      assert.match(refused.stderr, /ERROR: PGBACKUP_DATABASES: 'edge devices' is not a database name of the platform/);
      assert.equal(fs.readdirSync(path.join(bucket, STAGE, "_globals")).length, globalsBefore);
      // The restore accepts exactly the names the backup takes.
      const restoreRefused = restore("edge devices");
      assert.notEqual(restoreRefused.status, 0);
      assert.match(restoreRefused.stderr, /'edge devices' is not a database name of the platform.*; nothing was changed/);
    } finally {
      pg.sql("postgres", 'DROP DATABASE "edge devices"');
    }
  });

  it("fails when sorting the row counts fails, uploading nothing of that database", async () => {
    const bin = path.join(pg.dir, "failing-sort");
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, "sort"), "#!/bin/sh\necho 'sort: write failed: No space left on device' >&2\nexit 2\n", { mode: 0o755 });
    const before = dumpsOf("keycloak").length;
    await nextSecond();
    const r = backup({ PATH: `${bin}:${pg.clientEnv().PATH}`, PGBACKUP_DATABASES: "keycloak" });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /keycloak: sorting the row counts failed/);
    assert.equal(dumpsOf("keycloak").length, before);
  });

  it("never lets a client see a half-restored database: old rows until the swap, then all restored rows", async () => {
    // A database big enough that its restore takes a while, and an application role polling it.
    pg.sql("postgres", "CREATE ROLE fleet LOGIN PASSWORD 'fleet-secret-123456'");
    pg.sql("postgres", "CREATE DATABASE fleet OWNER fleet");
    pg.sql("fleet", "SET ROLE fleet; CREATE TABLE beat (id bigint PRIMARY KEY, device text, at timestamptz DEFAULT now()); INSERT INTO beat (id, device) SELECT g, 'device-' || (g % 997) FROM generate_series(1, 300000) g;");
    const fleet = { PGBACKUP_DATABASES: "fleet" };
    try {
      await nextSecond();
      ok(backup(fleet), "backup of fleet");
      pg.sql("fleet", "DELETE FROM beat WHERE id > 250000");
      // A client that connects anew for every probe, as the application role, until told to stop;
      // it also tries the name the restore works under. One last probe after the restore.
      const stop = path.join(pg.dir, "stop-probing");
      const probe = `until [ -e "${stop}" ]; do
        psql -X -A -t -d fleet -c "SELECT 'rows=' || count(*) FROM beat" 2>&1
        psql -X -A -t -d pgrestore_new_fleet -c "SELECT 'tmp=' || count(*) FROM beat" 2>&1
        sleep 0.05
      done
      psql -X -A -t -d fleet -c "SELECT 'rows=' || count(*) FROM beat" 2>&1`;
      const client = spawn("bash", ["-c", probe], { env: pg.clientEnv({ PGUSER: "fleet", PGPASSWORD: "fleet-secret-123456" }) });
      let seen = "";
      client.stdout.on("data", (d: Buffer) => (seen += d.toString()));
      const clientDone = new Promise((resolve) => client.on("close", resolve));
      const r = await new Promise<RunResult>((resolve) => {
        const p = spawn("bash", [script("pgrestore.sh"), "fleet"], { env: pg.clientEnv({ ...env, ...fleet }) });
        let stderr = "";
        p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        p.on("close", (status) => resolve({ status, stdout: "", stderr }));
      });
      fs.writeFileSync(stop, "");
      await clientDone;
      ok(r, "restore of fleet");
      const counts = [...seen.matchAll(/^rows=(\d+)$/gm)].map((m) => m[1]);
      assert.ok(counts.includes("250000"), "the client never saw the old rows");
      assert.ok(counts.includes("300000"), "the client never saw the restored rows");
      const firstRestored = counts.indexOf("300000");
      assert.deepEqual(
        [...new Set(counts.slice(0, firstRestored))],
        ["250000"],
        "before the swap the client saw something other than the old rows",
      );
      assert.deepEqual([...new Set(counts.slice(firstRestored))], ["300000"], "after the swap the client saw something other than all restored rows");
      assert.doesNotMatch(seen, /^tmp=/m, "a client reached the database being restored");
      assert.doesNotMatch(seen, /relation "beat" does not exist/, "a client reached a database without its tables");
      assert.equal(pg.sql("fleet", "SELECT count(*) FROM beat"), "300000");
    } finally {
      pg.sql("postgres", "DROP DATABASE IF EXISTS fleet WITH (FORCE)");
      pg.sql("postgres", "DROP DATABASE IF EXISTS pgrestore_old_fleet WITH (FORCE)");
      fs.rmSync(path.join(bucket, STAGE, "fleet"), { recursive: true, force: true });
    }
  });

  describe("with a real PgBouncer in front, as the Pooler", () => {
    let pgbouncer: ChildProcess | undefined;
    let pgbPort = 0;
    const ADMIN_PW = "pgb-admin-secret-1234";
    const FLEET_PW = "fleet-secret-123456";
    /** Stands in for the API server and CloudNativePG's pooler controller: records the patch and sends PgBouncer PAUSE (asynchronously, as the operator does) or RESUME. */
    let kubectl = "";
    let kubectlLog = "";
    const pooled = (extra: Record<string, string> = {}) => pg.clientEnv({ PGHOST: "127.0.0.1", PGPORT: String(pgbPort), ...extra });

    before(async function () {
      const bin = spawnSync("sh", ["-c", "command -v pgbouncer"], { encoding: "utf8" }).stdout.trim();
      assert.ok(bin, "pgbouncer is not installed: run `npm run setup` (Debian package pgbouncer)");
      pgbPort = 20000 + Math.floor(Math.random() * 20000);
      const dir = path.join(pg.dir, "pgbouncer");
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, "userlist.txt"), `"fleet" "${FLEET_PW}"\n"pgbadmin" "${ADMIN_PW}"\n`);
      fs.writeFileSync(
        path.join(dir, "pgbouncer.ini"),
        `[databases]\nfleet = host=127.0.0.1 port=${pg.port} dbname=fleet\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = ${pgbPort}\nunix_socket_dir =\n` +
          `auth_type = plain\nauth_file = ${dir}/userlist.txt\nadmin_users = pgbadmin\npool_mode = session\nquery_wait_timeout = 60\nlogfile = ${dir}/pgbouncer.log\n`,
      );
      if (process.getuid?.() === 0) spawnSync("chown", ["-R", "postgres:postgres", dir]);
      const runAs = process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--"] : [];
      pgbouncer = spawn(runAs[0] ?? bin, [...runAs.slice(1), ...(runAs.length ? [bin] : []), path.join(dir, "pgbouncer.ini")], { stdio: "ignore" });
      for (let i = 0; i < 50; i++) {
        if (spawnSync(path.join(pg.bin, "psql"), ["-X", "-A", "-t", "-d", "pgbouncer", "-U", "pgbadmin", "-c", "SHOW VERSION"], { env: pooled({ PGPASSWORD: ADMIN_PW }) }).status === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      kubectlLog = path.join(dir, "kubectl.log");
      kubectl = path.join(dir, "kubectl");
      const admin = `PGHOST=127.0.0.1 PGPORT=${pgbPort} PGUSER=pgbadmin PGPASSWORD=${ADMIN_PW} ${path.join(pg.bin, "psql")} -X -d pgbouncer`;
      fs.writeFileSync(
        kubectl,
        `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >>"${kubectlLog}"\ncase "$*" in\n` +
          `  *'"paused":true'*) (${admin} -c PAUSE >>"${kubectlLog}.pgbouncer" 2>&1 &) ;;\n` +
          `  *'"paused":false'*) ${admin} -c RESUME >>"${kubectlLog}.pgbouncer" 2>&1 ;;\n  *) exit 1 ;;\nesac\n`,
        { mode: 0o755 },
      );
    });

    after(() => pgbouncer?.kill());

    const fleetEnv = { PGBACKUP_DATABASES: "fleet", POOLER_NAME: "postgres-pooler-rw", POOLER_NAMESPACE: "postgres", POOLER_SETTLE_SECONDS: "1" };
    const makeFleet = async () => {
      pg.sql("postgres", `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'fleet') THEN CREATE ROLE fleet LOGIN PASSWORD '${FLEET_PW}'; END IF; END $$`);
      pg.sql("postgres", "CREATE DATABASE fleet OWNER fleet");
      pg.sql("fleet", "SET ROLE fleet; CREATE TABLE beat (id bigint PRIMARY KEY, device text); INSERT INTO beat SELECT g, 'device-' || (g % 997) FROM generate_series(1, 60000) g;");
      await nextSecond();
      ok(backup({ PGBACKUP_DATABASES: "fleet" }), "backup of fleet");
      pg.sql("fleet", "DELETE FROM beat WHERE id > 45000");
    };
    const dropFleet = () => {
      pg.sql("postgres", "DROP DATABASE IF EXISTS fleet WITH (FORCE)");
      pg.sql("postgres", "DROP DATABASE IF EXISTS pgrestore_old_fleet WITH (FORCE)");
      pg.sql("postgres", "DROP DATABASE IF EXISTS pgrestore_new_fleet WITH (FORCE)");
      fs.rmSync(path.join(bucket, STAGE, "fleet"), { recursive: true, force: true });
    };

    it("pauses the pooler for the swap and resumes it: pooled clients see no error, old rows, then all restored rows", async () => {
      try {
        await makeFleet();
        fs.rmSync(kubectlLog, { force: true });
        const stop = path.join(pg.dir, "stop-pooled-probing");
        // Three clients that connect anew for every probe, without pause, so that the swap's
        // moment (connections refused, sessions ended, renames) cannot fall between probes.
        const one = `until [ -e "${stop}" ]; do psql -X -A -t -d fleet -c "SELECT 'rows=' || count(*) FROM beat" 2>&1; done`;
        const probe = `(${one}) & (${one}) & (${one}); wait`;
        const client = spawn("bash", ["-c", probe], { env: pooled({ PGUSER: "fleet", PGPASSWORD: FLEET_PW }) });
        let seen = "";
        client.stdout.on("data", (d: Buffer) => (seen += d.toString()));
        const clientDone = new Promise((resolve) => client.on("close", resolve));
        const r = await new Promise<RunResult>((resolve) => {
          const p = spawn("bash", [script("pgrestore.sh"), "fleet"], { env: pg.clientEnv({ ...env, ...fleetEnv, KUBECTL: kubectl }) });
          let stderr = "";
          p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
          p.on("close", (status) => resolve({ status, stdout: "", stderr }));
        });
        await new Promise((resolve) => setTimeout(resolve, 300));
        fs.writeFileSync(stop, "");
        await clientDone;
        ok(r, "restore of fleet");
        const lines = seen.split("\n").filter((l) => l !== "");
        const counts = lines.filter((l) => /^rows=\d+$/.test(l)).map((l) => l.slice(5));
        assert.deepEqual(lines.filter((l) => !/^rows=\d+$/.test(l)), [], "a client of the pooler saw an error during the restore");
        assert.ok(counts.includes("45000") && counts.includes("60000"), `the pooled client saw ${[...new Set(counts)].join(", ")}`);
        assert.deepEqual([...new Set(counts.slice(counts.indexOf("60000")))], ["60000"], "after the swap a pooled client saw something other than all restored rows");
        assert.deepEqual(fs.readFileSync(kubectlLog, "utf8").trim().split("\n"), [
          '--namespace postgres patch pooler.postgresql.cnpg.io postgres-pooler-rw --type merge --patch {"spec":{"pgbouncer":{"paused":true}}}',
          '--namespace postgres patch pooler.postgresql.cnpg.io postgres-pooler-rw --type merge --patch {"spec":{"pgbouncer":{"paused":false}}}',
        ]);
        assert.ok(r.stderr.indexOf("pooler postgres-pooler-rw paused") < r.stderr.indexOf("sessions ended"), r.stderr);
        const state = spawnSync(path.join(pg.bin, "psql"), ["-X", "-A", "-t", "-F", " ", "-d", "pgbouncer", "-U", "pgbadmin", "-c", "SHOW DATABASES"], { env: pooled({ PGPASSWORD: ADMIN_PW }), encoding: "utf8" });
        assert.match(state.stdout, /^fleet .* 0 0$/m, `PgBouncer is not resumed (paused, disabled columns):\n${state.stdout}`);
      } finally {
        dropFleet();
      }
    });

    it("refuses, changing nothing, when the pooler cannot be paused", async () => {
      try {
        await makeFleet();
        const r = pg.run("bash", [script("pgrestore.sh"), "fleet"], { ...env, ...fleetEnv, KUBECTL: "false" });
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /cannot set paused=true on pooler postgres-pooler-rw: kubectl gave no reason/);
        assert.match(r.stderr, /cannot pause the pooler postgres-pooler-rw; fleet was not touched/);
        assert.equal(pg.sql("fleet", "SELECT count(*) FROM beat"), "45000");
        assert.equal(pg.sql("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 'pgrestore_%fleet'"), "0");
        assert.equal(pg.sql("postgres", "SELECT datallowconn FROM pg_database WHERE datname = 'fleet'"), "t");
      } finally {
        dropFleet();
      }
    });
  });

  it("passes the restore drill on a good backup and leaves no scratch database", async () => {
    await nextSecond();
    ok(backup(), "backup");
    const r = drill();
    ok(r, "drill");
    assert.match(r.stderr, /masterdata: row counts and privileges of \d+ object\(s\) match the backup/);
    assert.match(r.stderr, /masterdata: backup run [0-9TZ]+ \(\d+s old\) restores as backed up/);
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
    remark("masterdata", path.basename(latest, ".dump"));
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

  it("fails the restore drill when a database of the plan has no complete backup, or its newest is too old", async () => {
    pg.sql("postgres", "CREATE DATABASE onboarding");
    try {
      const r = drill({ PGBACKUP_DATABASES: `${PLANNED}\nonboarding` });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /onboarding: no complete backup under/);
      assert.match(r.stderr, /FAILED for: .*onboarding$/m);
      await nextSecond();
      const old = drill({ PGDRILL_MAX_AGE_SECONDS: "0" });
      assert.notEqual(old.status, 0);
      assert.match(old.stderr, /keycloak: the newest complete backup, [0-9TZ]+, is \d+s old \(more than 0s\)/);
    } finally {
      pg.sql("postgres", "DROP DATABASE onboarding");
    }
  });
});
