/** Loopback helpers for integration tests: free ports, waiting for a listener, curl, an echo backend. */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.end();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface CurlResult {
  /** curl's exit code: 0, or why the transfer failed (35/56: TLS handshake or connection reset). */
  exitCode: number;
  status: number;
  body: string;
  headers: string;
  stderr: string;
}

/** Runs curl; never throws on HTTP or TLS errors, the caller asserts on the result. */
export function curl(args: string[]): Promise<CurlResult> {
  const headerFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "edp-curl-")), "headers");
  return new Promise((resolve) => {
    execFile(
      "curl",
      ["--silent", "--show-error", "--max-time", "20", "--dump-header", headerFile, "--write-out", "\n%{http_code}", ...args],
      { maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const cut = stdout.lastIndexOf("\n");
        const code = (err as { code?: unknown } | null)?.code;
        const exitCode = err ? (typeof code === "number" ? code : 1) : 0;
        const headers = fs.existsSync(headerFile) ? fs.readFileSync(headerFile, "utf8") : "";
        fs.rmSync(path.dirname(headerFile), { recursive: true, force: true });
        resolve({ exitCode, status: Number(stdout.slice(cut + 1)) || 0, body: stdout.slice(0, cut), headers, stderr });
      },
    );
  });
}

export interface EchoServer {
  port: number;
  server: http.Server;
}

/** An HTTP server that answers every request with the method, URL and headers it received. */
export async function startEchoServer(): Promise<EchoServer> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as net.AddressInfo).port, server };
}
