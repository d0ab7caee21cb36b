/**
 * A real PostgreSQL server for tests: initdb in a temporary directory, a random loopback port,
 * the unix socket in that directory, password (scram) authentication as in the cluster.
 * PostgreSQL refuses to run as root, so when the tests run as root (CI does) the server runs as
 * the unprivileged `postgres` user the Debian package creates, with its directory owned by it.
 */
import { execFileSync, type SpawnSyncReturns, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

/** Directory of the newest installed PostgreSQL server binaries (Debian: /usr/lib/postgresql/<major>/bin). */
export function postgresBinDir(): string {
  const root = "/usr/lib/postgresql";
  const majors = fs.existsSync(root) ? fs.readdirSync(root).filter((d) => fs.existsSync(path.join(root, d, "bin", "initdb"))) : [];
  if (majors.length === 0) throw new Error("PostgreSQL server binaries not found under /usr/lib/postgresql: run `npm run setup` (Debian package postgresql)");
  majors.sort((a, b) => Number(b) - Number(a));
  return path.join(root, majors[0], "bin");
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

const asResult = (r: SpawnSyncReturns<string>): RunResult => ({ status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" });

export class TestPostgres {
  readonly superuser = "postgres";
  readonly password = `test-${Math.random().toString(36).slice(2)}-pw`;
  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly bin: string,
    private readonly runAs: string[],
  ) {}

  static async start(): Promise<TestPostgres> {
    const bin = postgresBinDir();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-pg-"));
    const root = process.getuid?.() === 0;
    const runAs = root ? ["runuser", "-u", "postgres", "--"] : [];
    const pg = new TestPostgres(dir, await freePort(), bin, runAs);
    fs.writeFileSync(path.join(dir, "pwfile"), `${pg.password}\n`, { mode: 0o600 });
    if (root) {
      const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
      const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
      fs.chownSync(dir, uid, gid);
      fs.chownSync(path.join(dir, "pwfile"), uid, gid);
    }
    pg.asServer("initdb", ["-D", pg.dataDir, "-U", pg.superuser, `--pwfile=${path.join(dir, "pwfile")}`, "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"]);
    pg.asServer("pg_ctl", [
      "-D",
      pg.dataDir,
      "-l",
      path.join(dir, "server.log"),
      "-o",
      `-p ${pg.port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      "-w",
      "start",
    ]);
    return pg;
  }

  get dataDir() {
    return path.join(this.dir, "data");
  }

  private asServer(tool: string, args: string[]) {
    const [cmd, ...pre] = this.runAs.length > 0 ? this.runAs : [path.join(this.bin, tool)];
    const full = this.runAs.length > 0 ? [...pre, path.join(this.bin, tool), ...args] : args;
    const r = spawnSync(cmd, full, { encoding: "utf8", cwd: this.dir });
    if (r.status !== 0) throw new Error(`${tool} failed (${r.status}): ${r.stderr}${r.stdout}`);
  }

  /** Environment for clients: libpq over TCP on loopback with the superuser's password, the server's binaries first on PATH. */
  clientEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      ...process.env,
      PATH: `${this.bin}:${process.env.PATH}`,
      PGHOST: "127.0.0.1",
      PGPORT: String(this.port),
      PGUSER: this.superuser,
      PGPASSWORD: this.password,
      PGCONNECT_TIMEOUT: "5",
      ...extra,
    };
  }

  /** Runs SQL in a database; throws on error; returns the unaligned, tuples-only output. */
  sql(db: string, sql: string): string {
    const r = spawnSync(path.join(this.bin, "psql"), ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", db], { input: sql, encoding: "utf8", env: this.clientEnv() });
    if (r.status !== 0) throw new Error(`psql -d ${db} failed: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** Runs a program with the client environment (plus extra variables). */
  run(command: string, args: string[], extra: Record<string, string> = {}): RunResult {
    return asResult(spawnSync(command, args, { encoding: "utf8", env: this.clientEnv(extra), timeout: 120_000 }));
  }

  databases(): string[] {
    return this.sql("postgres", "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1").split("\n");
  }

  stop() {
    try {
      this.asServer("pg_ctl", ["-D", this.dataDir, "-m", "immediate", "-w", "stop"]);
    } finally {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
