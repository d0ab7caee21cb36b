/**
 * A loopback stand-in for Vault's documented system API: /v1/sys/init (GET status, PUT init),
 * /v1/sys/seal-status, /v1/sys/unseal and token revocation. Answers like Vault does, including
 * its error bodies ({"errors": [...]}), so the bootstrap client is tested over real HTTP.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeVaultState {
  initialized: boolean;
  sealed: boolean;
  /** shamir: init returns keys_base64; auto: recovery_keys_base64 and the server unseals itself. */
  seal: "shamir" | "auto";
  keys: string[];
  threshold: number;
  progress: number;
  rootToken?: string;
  revoked: string[];
  /** A raft standby that has not joined yet: uninitialised, but unseal keys make it join the leader. */
  joinsOnUnseal?: boolean;
  /** Every request as "METHOD path". */
  log: string[];
  /** Authenticated requests with their bodies (configuration calls). */
  configured: { method: string; path: string; body: unknown }[];
}

export class FakeVault {
  readonly state: FakeVaultState;
  private server?: http.Server;
  private accepted = new Set<string>();

  constructor(init: Partial<FakeVaultState> = {}) {
    this.state = { initialized: false, sealed: true, seal: "shamir", keys: [], threshold: 0, progress: 0, revoked: [], log: [], configured: [], ...init };
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const body = text === "" ? undefined : (JSON.parse(text) as Record<string, unknown>);
        const [status, out] = this.handle(req.method ?? "GET", req.url ?? "/", body, req.headers["x-vault-token"] as string | undefined);
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(out === undefined ? "" : JSON.stringify(out));
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private sealStatus() {
    const s = this.state;
    return { type: s.seal === "shamir" ? "shamir" : "alicloudkms", initialized: s.initialized, sealed: s.sealed, t: s.threshold, n: s.keys.length, progress: s.progress };
  }

  private handle(method: string, url: string, body: Record<string, unknown> | undefined, token: string | undefined): [number, unknown] {
    const s = this.state;
    s.log.push(`${method} ${url}`);
    if (url === "/v1/sys/init" && method === "GET") return [200, { initialized: s.initialized }];
    if (url === "/v1/sys/init" && method === "PUT") {
      if (s.initialized) return [400, { errors: ["Vault is already initialized"] }];
      const shares = Number(s.seal === "shamir" ? body?.secret_shares : body?.recovery_shares);
      const threshold = Number(s.seal === "shamir" ? body?.secret_threshold : body?.recovery_threshold);
      s.keys = Array.from({ length: shares }, (_, i) => Buffer.from(`fake-${s.seal}-key-${i}-${Math.random()}`).toString("base64"));
      s.threshold = threshold;
      s.initialized = true;
      s.rootToken = `hvs.fake-root-${Math.random().toString(36).slice(2)}`;
      if (s.seal === "auto") s.sealed = false;
      const keys = s.seal === "shamir" ? { keys: s.keys, keys_base64: s.keys } : { keys: [], recovery_keys: s.keys, recovery_keys_base64: s.keys };
      return [200, { ...keys, root_token: s.rootToken }];
    }
    if (url === "/v1/sys/seal-status" && method === "GET") return [200, this.sealStatus()];
    if (url === "/v1/sys/unseal" && method === "PUT") {
      if (!s.initialized && !s.joinsOnUnseal) return [400, { errors: ["Vault is not initialized"] }];
      const key = String(body?.key ?? "");
      if (!s.keys.includes(key)) {
        s.progress = 0;
        this.accepted.clear();
        return [400, { errors: ["cipher: message authentication failed"] }];
      }
      if (s.sealed && !this.accepted.has(key)) {
        this.accepted.add(key);
        s.progress += 1;
        if (s.progress >= s.threshold) {
          s.sealed = false;
          s.initialized = true;
          s.progress = 0;
          this.accepted.clear();
        }
      }
      return [200, this.sealStatus()];
    }
    if (!token || token !== s.rootToken || s.revoked.includes(token)) return [403, { errors: ["permission denied"] }];
    if (s.sealed) return [503, { errors: ["Vault is sealed"] }];
    if (url === "/v1/auth/token/revoke-self" && method === "POST") {
      s.revoked.push(token);
      return [204, undefined];
    }
    s.configured.push({ method, path: url, body });
    return method === "GET" ? [200, { data: {} }] : [204, undefined];
  }

  /** Simulates a pod restart: storage survives, the server comes back sealed unless a KMS seal unseals it. */
  restart(): void {
    this.state.sealed = this.state.seal === "shamir";
    this.state.progress = 0;
    this.accepted.clear();
  }
}

/**
 * A stand-in Kubernetes API server for the pod proxy: checks the bearer token, strips
 * `/api/v1/namespaces/<ns>/pods/https:<pod>:<port>/proxy` and forwards to the Vault of that pod.
 */
export class FakeApiServerProxy {
  readonly seen: string[] = [];
  private server?: http.Server;
  constructor(
    private readonly token: string,
    private readonly pods: Record<string, string>,
  ) {}

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      this.seen.push(`${req.method} ${req.url}`);
      const m = /^\/api\/v1\/namespaces\/[^/]+\/pods\/https:([^:/]+):\d+\/proxy(\/.*)$/.exec(req.url ?? "");
      const upstream = m ? this.pods[m[1]] : undefined;
      if (req.headers.authorization !== `Bearer ${this.token}` || !m || !upstream) {
        res.writeHead(req.headers.authorization === `Bearer ${this.token}` ? 404 : 401, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ kind: "Status", status: "Failure" }));
        return;
      }
      const u = new URL(upstream);
      const { authorization: _drop, ...headers } = req.headers;
      const fwd = http.request({ host: u.hostname, port: u.port, method: req.method, path: m[2], headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      fwd.on("error", () => {
        res.writeHead(503).end(JSON.stringify({ kind: "Status", message: "no endpoints available" }));
      });
      req.pipe(fwd);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A kubeconfig whose current context reaches this server with the token. */
  kubeconfig(url: string): string {
    return [
      `clusters: [{name: c, cluster: {server: "${url}"}}]`,
      `users: [{name: u, user: {token: ${this.token}}}]`,
      "contexts: [{name: x, context: {cluster: c, user: u}}]",
      "current-context: x",
    ].join("\n");
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
