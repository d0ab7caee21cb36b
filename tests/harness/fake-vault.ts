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
  /**
   * Raft without a leader: after an init or unseal, this many answers pass before the node is
   * active. Until then sys/health says standby (429) and token requests fail with 500, as Vault does.
   */
  electionDelay: number;
  /** Answers left until the leader is elected (set from electionDelay at each init or unseal). */
  leaderlessFor: number;
  /** Token requests to these paths fail with this status and error, once each. */
  failOnce: Record<string, [number, string]>;
  /** Auth methods enabled through sys/auth/<path>. */
  authMounts: string[];
}

export class FakeVault {
  readonly state: FakeVaultState;
  private server?: http.Server;
  private accepted = new Set<string>();

  constructor(init: Partial<FakeVaultState> = {}) {
    this.state = {
      initialized: false,
      sealed: true,
      seal: "shamir",
      keys: [],
      threshold: 0,
      progress: 0,
      revoked: [],
      log: [],
      configured: [],
      electionDelay: 0,
      leaderlessFor: 0,
      failOnce: {},
      authMounts: [],
      ...init,
    };
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

  /** Root tokens this Vault has issued (by init or generate-root) and not revoked. */
  private readonly tokens: string[] = [];
  private generation?: { nonce: string; otp: string; accepted: Set<string> };

  private handle(method: string, url: string, body: Record<string, unknown> | undefined, token: string | undefined): [number, unknown] {
    const s = this.state;
    s.log.push(`${method} ${url}`);
    const leaderless = s.initialized && !s.sealed && s.leaderlessFor > 0;
    if (leaderless) s.leaderlessFor -= 1;
    if (url === "/v1/sys/health" && method === "GET") {
      if (!s.initialized) return [501, { initialized: false, sealed: true, standby: true }];
      if (s.sealed) return [503, { initialized: true, sealed: true, standby: true }];
      if (leaderless) return [429, { initialized: true, sealed: false, standby: true }];
      return [200, { initialized: true, sealed: false, standby: false }];
    }
    if (url === "/v1/sys/init" && method === "GET") return [200, { initialized: s.initialized }];
    if (url === "/v1/sys/init" && method === "PUT") {
      if (s.initialized) return [400, { errors: ["Vault is already initialized"] }];
      const shares = Number(s.seal === "shamir" ? body?.secret_shares : body?.recovery_shares);
      const threshold = Number(s.seal === "shamir" ? body?.secret_threshold : body?.recovery_threshold);
      s.keys = Array.from({ length: shares }, (_, i) => Buffer.from(`fake-${s.seal}-key-${i}-${Math.random()}`).toString("base64"));
      s.threshold = threshold;
      s.initialized = true;
      s.rootToken = `hvs.fake-root-${Math.random().toString(36).slice(2)}`;
      this.tokens.push(s.rootToken);
      if (s.seal === "auto") {
        s.sealed = false;
        s.leaderlessFor = s.electionDelay;
      }
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
          s.leaderlessFor = s.electionDelay;
          s.initialized = true;
          s.progress = 0;
          this.accepted.clear();
        }
      }
      return [200, this.sealStatus()];
    }
    if (url.startsWith("/v1/sys/generate-root/")) return this.generateRoot(method, url, body);
    if (!token || !this.tokens.includes(token) || s.revoked.includes(token)) return [403, { errors: ["permission denied"] }];
    if (s.sealed) return [503, { errors: ["Vault is sealed"] }];
    if (leaderless) return [500, { errors: ["local node not active but active cluster node not found"] }];
    const failure = s.failOnce[url];
    if (failure) {
      delete s.failOnce[url];
      return [failure[0], { errors: [failure[1]] }];
    }
    if (url === "/v1/auth/token/revoke-self" && method === "POST") {
      s.revoked.push(token);
      return [204, undefined];
    }
    if (url === "/v1/sys/auth" && method === "GET") {
      const mounts = Object.fromEntries(["token/", ...s.authMounts].map((m) => [m, { type: m === "token/" ? "token" : "kubernetes" }]));
      return [200, { ...mounts, data: mounts }];
    }
    const mount = /^\/v1\/sys\/auth\/(.+)$/.exec(url);
    if (mount && method === "POST") {
      if (s.authMounts.includes(`${mount[1]}/`)) return [400, { errors: [`path is already in use at ${mount[1]}/`] }];
      s.authMounts.push(`${mount[1]}/`);
    }
    s.configured.push({ method, path: url, body });
    return method === "GET" ? [200, { data: {} }] : [204, undefined];
  }

  /** sys/generate-root with a one-time password, as Vault ≥ 1.10 does it (OTP made by Vault, token XORed and base64 without padding). */
  private generateRoot(method: string, url: string, body: Record<string, unknown> | undefined): [number, unknown] {
    const s = this.state;
    if (s.sealed) return [503, { errors: ["Vault is sealed"] }];
    const progress = () => ({ started: !!this.generation, nonce: this.generation?.nonce ?? "", progress: this.generation?.accepted.size ?? 0, required: s.threshold, complete: false, encoded_token: "" });
    if (url === "/v1/sys/generate-root/attempt" && method === "DELETE") {
      this.generation = undefined;
      return [204, undefined];
    }
    if (url === "/v1/sys/generate-root/attempt" && method === "PUT") {
      if (this.generation) return [400, { errors: ["root generation already in progress"] }];
      const token = `hvs.fake-root-${Math.random().toString(36).slice(2)}`;
      const otp = Array.from({ length: token.length }, () => "abcdefghijklmnopqrstuvwxyz0123456789"[Math.floor(Math.random() * 36)]).join("");
      this.generation = { nonce: `nonce-${Math.random().toString(36).slice(2)}`, otp, accepted: new Set() };
      return [200, { ...progress(), otp, otp_length: otp.length }];
    }
    if (url === "/v1/sys/generate-root/update" && method === "PUT") {
      const g = this.generation;
      if (!g) return [400, { errors: ["no root generation in progress"] }];
      if (body?.nonce !== g.nonce) return [400, { errors: ["incorrect nonce supplied"] }];
      const key = String(body?.key ?? "");
      if (!s.keys.includes(key)) return [400, { errors: ["root generation aborted: cipher: message authentication failed"] }];
      g.accepted.add(key);
      if (g.accepted.size < s.threshold) return [200, progress()];
      const token = `hvs.fake-root-${Math.random().toString(36).slice(2)}`.padEnd(g.otp.length, "x").slice(0, g.otp.length);
      this.tokens.push(token);
      s.rootToken = token;
      this.generation = undefined;
      const encoded = Buffer.from(Buffer.from(token).map((b, i) => b ^ g.otp.charCodeAt(i))).toString("base64").replace(/=+$/, "");
      return [200, { ...progress(), progress: g.accepted.size, complete: true, encoded_token: encoded }];
    }
    return [404, { errors: [] }];
  }

  /** Simulates a pod restart: storage survives, the server comes back sealed unless a KMS seal unseals it. */
  restart(): void {
    this.state.sealed = this.state.seal === "shamir";
    this.state.leaderlessFor = this.state.sealed ? 0 : this.state.electionDelay;
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
  /**
   * Per pod, how many proxied requests the API server answers itself before the pod is there:
   * first `missing` with 404 NotFound (no such pod), then `noIp` with 400 BadRequest (the pod is
   * scheduled but has no IP yet), as kube-apiserver's pod ResourceLocation does.
   */
  readonly pending: Record<string, { missing: number; noIp: number }> = {};
  constructor(
    private readonly token: string,
    private readonly pods: Record<string, string>,
  ) {}

  private static status(res: http.ServerResponse, code: number, reason: string, message: string): void {
    res.writeHead(code, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code }));
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      this.seen.push(`${req.method} ${req.url}`);
      const m = /^\/api\/v1\/namespaces\/[^/]+\/pods\/https:([^:/]+):\d+\/proxy(\/.*)$/.exec(req.url ?? "");
      const upstream = m ? this.pods[m[1]] : undefined;
      if (req.headers.authorization !== `Bearer ${this.token}`) return FakeApiServerProxy.status(res, 401, "Unauthorized", "Unauthorized");
      const pending = m ? this.pending[m[1]] : undefined;
      if (pending && pending.missing > 0) {
        pending.missing -= 1;
        return FakeApiServerProxy.status(res, 404, "NotFound", `pods "${m?.[1]}" not found`);
      }
      if (pending && pending.noIp > 0) {
        pending.noIp -= 1;
        return FakeApiServerProxy.status(res, 400, "BadRequest", " is not a valid IP");
      }
      if (!m || !upstream) return FakeApiServerProxy.status(res, 404, "NotFound", `pods "${m?.[1] ?? ""}" not found`);
      const u = new URL(upstream);
      const { authorization: _drop, ...headers } = req.headers;
      const fwd = http.request({ host: u.hostname, port: u.port, method: req.method, path: m[2], headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      fwd.on("error", () => {
        FakeApiServerProxy.status(res, 503, "ServiceUnavailable", "error trying to reach service: dial tcp: connect: connection refused");
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
