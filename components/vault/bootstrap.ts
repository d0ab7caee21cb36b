/**
 * Initialises and unseals Vault through its documented HTTP API (/v1/sys/init,
 * /v1/sys/seal-status, /v1/sys/unseal, /v1/sys/health), then hands a root token to a
 * configuration step and revokes it. Used by the VaultBootstrap dynamic provider during
 * `pulumi up`; the transport is injected so tests drive it against a loopback server.
 *
 * It waits rather than gives up: for the pod to exist and get an address (the API server's pod
 * proxy answers 400/404 until then), for Vault to listen, and for raft to elect a leader after
 * the init. Every failure after a successful init carries the keys (`keysOf`), so the caller can
 * record them before anything else; a later run finishes the configuration with those keys
 * (`configured: false`), generating a fresh root token through `sys/generate-root`.
 *
 * Only node built-ins and relative imports: the dynamic provider is serialised with its closure.
 */
import type { HttpClient, VaultRequest, VaultResponse } from "./http";

export type SealKind = "shamir" | "auto";

export interface VaultServer {
  /** Pod name, used in messages. */
  name: string;
  client: HttpClient;
}

export interface BootstrapOptions {
  /** Every Vault server; the first one is initialised, the others join it through raft. */
  servers: VaultServer[];
  /** shamir: we hold unseal keys; auto: a KMS seal unseals and init returns recovery keys. */
  seal: SealKind;
  /** Key shares made at init, and how many of them unseal (or authorise a root-token regeneration). */
  shares: number;
  threshold: number;
  /** Keys this stack already holds (from an earlier init), to unseal sealed servers. */
  knownKeys?: string[];
  /**
   * With knownKeys: false when the run that initialised Vault failed before the configuration
   * was applied and its root token revoked. This run then generates a root token with the keys,
   * configures, and revokes it. Defaults to true.
   */
  configured?: boolean;
  /** Attempts per wait (server reachable, unsealed, leader elected, each configuration call), and the pause between them. */
  attempts: number;
  delayMs: number;
  /** Runs once Vault is initialised, unsealed and active, with a root token (which is revoked afterwards). */
  configure?: (root: VaultSession) => Promise<void>;
  sleep?: (ms: number) => Promise<void>;
  /** Progress messages (what the bootstrap waits for); never carries a key or token. */
  log?: (message: string) => void;
}

export interface BootstrapResult {
  /** True when this run initialised Vault. */
  initialised: boolean;
  /** Unseal keys (shamir) or recovery keys (auto), base64; the same as knownKeys on later runs. */
  keys: string[];
  /** Servers this run unsealed with keys. */
  unsealed: string[];
  /** True when the configuration has been applied (by this run or an earlier one). */
  configured: boolean;
  /** True when no root token made by this run is left valid. */
  rootTokenRevoked: boolean;
}

/** A token bound to one server, for the configuration step. */
export interface VaultSession {
  request(method: VaultRequest["method"], path: string, body?: unknown): Promise<unknown>;
}

/**
 * A bootstrap failure. A plain Error with a name rather than a subclass: Pulumi's closure
 * serialisation of the dynamic provider does not keep a class that extends Error. After a
 * successful init the error also carries the keys, so that they are never lost with it.
 */
export function bootstrapError(message: string, keys?: string[]): Error {
  const e = new Error(message) as Error & { keys?: string[] };
  e.name = "VaultBootstrapError";
  if (keys) e.keys = keys;
  return e;
}

/** The keys a failed bootstrap had already obtained from Vault's init, if any. */
export function keysOf(e: unknown): string[] | undefined {
  const keys = (e as { keys?: unknown } | null)?.keys;
  return Array.isArray(keys) && keys.every((k) => typeof k === "string") ? keys : undefined;
}

interface InitStatus {
  initialized: boolean;
}
interface SealStatus {
  sealed: boolean;
  t: number;
  n: number;
  progress: number;
}
interface InitResponse {
  keys_base64?: string[];
  recovery_keys_base64?: string[];
  root_token: string;
}
interface GenerateRootStatus {
  nonce: string;
  otp?: string;
  progress: number;
  required: number;
  complete: boolean;
  encoded_token?: string;
}

/**
 * The Kubernetes API server answers for the pod proxy itself, with a `Status` object rather than
 * Vault's `{"errors": [...]}`: 404 while the pod does not exist, 400 while it has no IP (the
 * proxy refuses an empty address), 503 while nothing listens. Such a request never reached
 * Vault, so it can be sent again whatever its method.
 */
function fromApiServer(res: VaultResponse): boolean {
  const body = res.json as { kind?: unknown; apiVersion?: unknown } | undefined;
  return body?.kind === "Status" && body.apiVersion === "v1" && (res.status === 400 || res.status === 404 || res.status === 503);
}

// A function, not a Set: the closure serialiser turns a captured Set into a plain object.
// 429: a standby answered; 500: raft has no leader yet; 502-504: a proxy in between.
const retryable = (res: VaultResponse) =>
  fromApiServer(res) || res.status === 429 || res.status === 500 || (res.status >= 502 && res.status <= 504);

function errorsOf(res: VaultResponse): string {
  const body = res.json as { errors?: unknown; message?: unknown } | undefined;
  if (Array.isArray(body?.errors) && body.errors.length > 0) return `HTTP ${res.status}: ${body.errors.map(String).join("; ")}`;
  // The API server's Status says what it waits for: `pods "vault-0" not found`, ` is not a valid IP`.
  if (typeof body?.message === "string") return `HTTP ${res.status} from the API server: ${body.message}`;
  return `HTTP ${res.status}`;
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Logs the first wait, every change of reason, and every sixth attempt (half a minute at 5 s). */
function waitLogger(opts: BootstrapOptions, what: string): (attempt: number, reason: string) => void {
  let previous = "";
  return (attempt, reason) => {
    if (attempt === 1 || reason !== previous || attempt % 6 === 0) {
      const left = Math.round(((opts.attempts - attempt) * opts.delayMs) / 1000);
      opts.log?.(`${what} (${reason}); attempt ${attempt + 1} of ${opts.attempts}, at most ${left} s more`);
    }
    previous = reason;
  };
}

/**
 * Sends a request, retrying (boundedly) while the server cannot answer: connection refused, the
 * pod missing or without an address behind the API-server proxy, a standby or leaderless raft.
 * With `retry` false (a request that changes state and must not be repeated, such as
 * `PUT /v1/sys/init`) only answers that prove the request never reached Vault are retried.
 */
async function send(server: VaultServer, req: VaultRequest, opts: BootstrapOptions, retry: boolean): Promise<VaultResponse> {
  const sleep = opts.sleep ?? defaultSleep;
  const attempts = Math.max(1, opts.attempts);
  const waiting = waitLogger(opts, `${server.name}: waiting for ${req.method} ${req.path}`);
  let last = "";
  for (let i = 1; i <= attempts; i++) {
    try {
      const res = await server.client(req);
      if (!(retry ? retryable(res) : fromApiServer(res) && res.status !== 503)) return res;
      last = errorsOf(res);
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
      // No HTTP answer: only a request that may be repeated is sent again.
      if (!retry) throw bootstrapError(`Vault server ${server.name}: ${req.method} ${req.path} got no answer (${last}); not repeated, because Vault may have received it`);
    }
    if (i < attempts) {
      waiting(i, last);
      await sleep(opts.delayMs);
    }
  }
  throw bootstrapError(`Vault server ${server.name} is not reachable: ${req.method} ${req.path} failed ${attempts} time(s), last with: ${last}`);
}

async function expectOk<T>(server: VaultServer, req: VaultRequest, opts: BootstrapOptions, retry: boolean): Promise<T> {
  const res = await send(server, req, opts, retry);
  if (res.status < 200 || res.status >= 300) {
    throw bootstrapError(`Vault server ${server.name}: ${req.method} ${req.path} answered ${errorsOf(res)}`);
  }
  return res.json as T;
}

const initStatus = (s: VaultServer, o: BootstrapOptions) => expectOk<InitStatus>(s, { method: "GET", path: "/v1/sys/init" }, o, true);
const sealStatus = (s: VaultServer, o: BootstrapOptions) => expectOk<SealStatus>(s, { method: "GET", path: "/v1/sys/seal-status" }, o, true);

/** Submits keys until the server is unsealed; fails on a rejected key or when the keys run out. */
export async function unsealServer(server: VaultServer, keys: string[], opts: BootstrapOptions): Promise<void> {
  let status = await sealStatus(server, opts);
  for (const [i, key] of keys.entries()) {
    if (!status.sealed) return;
    const res = await send(server, { method: "PUT", path: "/v1/sys/unseal", body: { key } }, opts, false);
    if (res.status !== 200) {
      // Never echo the key itself: the message ends up in the deployment log.
      throw bootstrapError(`Vault server ${server.name} rejected unseal key ${i + 1} of ${keys.length}: ${errorsOf(res)}`);
    }
    status = res.json as SealStatus;
  }
  if (status.sealed) {
    throw bootstrapError(
      `Vault server ${server.name} is still sealed: ${status.progress} of ${status.t} key shares accepted after all ${keys.length} key(s) were submitted`,
    );
  }
}

async function waitUnsealedByKms(server: VaultServer, opts: BootstrapOptions): Promise<void> {
  const sleep = opts.sleep ?? defaultSleep;
  const waiting = waitLogger(opts, `${server.name}: waiting for the KMS seal to unseal Vault`);
  for (let i = 1; i <= opts.attempts; i++) {
    if (!(await sealStatus(server, opts)).sealed) return;
    if (i < opts.attempts) {
      waiting(i, "sealed");
      await sleep(opts.delayMs);
    }
  }
  throw bootstrapError(
    `Vault server ${server.name} is still sealed after ${opts.attempts} checks; with a KMS seal it unseals itself, so check its log for KMS errors (key, credentials, endpoint)`,
  );
}

/**
 * Waits until the server is the active node: `sys/health` answers 200. Right after an init or
 * an unseal, raft has no leader for a while; requests with a token then fail (500) and the
 * server reports itself as a standby (429).
 */
async function waitActive(server: VaultServer, opts: BootstrapOptions): Promise<void> {
  const sleep = opts.sleep ?? defaultSleep;
  const waiting = waitLogger(opts, `${server.name}: waiting for raft to elect a leader`);
  let last = "";
  for (let i = 1; i <= opts.attempts; i++) {
    try {
      const res = await server.client({ method: "GET", path: "/v1/sys/health" });
      if (res.status === 200) return;
      const body = res.json as { standby?: unknown; sealed?: unknown } | undefined;
      last = body?.standby === true ? `HTTP ${res.status}: standby` : body?.sealed === true ? `HTTP ${res.status}: sealed` : errorsOf(res);
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (i < opts.attempts) {
      waiting(i, last);
      await sleep(opts.delayMs);
    }
  }
  throw bootstrapError(`Vault server ${server.name} did not become the active node: sys/health answered ${opts.attempts} time(s), last with: ${last}`);
}

function session(server: VaultServer, token: string, opts: BootstrapOptions): VaultSession {
  return {
    // Every configuration call is idempotent (configuration.ts), so each is retried while raft settles.
    async request(method, path, body) {
      return expectOk<unknown>(server, { method, path, body, token }, opts, true);
    },
  };
}

/** XORs two equally long byte strings (Vault encodes a generated root token with the OTP). */
function xor(a: Buffer, b: Buffer): Buffer {
  if (a.length !== b.length) throw bootstrapError(`the encoded root token has ${a.length} bytes, the one-time password ${b.length}`);
  return Buffer.from(a.map((x, i) => x ^ (b[i] ?? 0)));
}

/**
 * Makes a new root token with the keys (`sys/generate-root`, the documented recovery path; with a
 * KMS seal the recovery keys authorise it). Used only when an earlier run initialised Vault but
 * did not finish configuring it: that run's root token is gone (revoked, or lost with its process).
 */
async function generateRoot(server: VaultServer, keys: string[], opts: BootstrapOptions): Promise<string> {
  const path = "/v1/sys/generate-root";
  // A stale attempt (an earlier run that failed half-way) would refuse a new one.
  await expectOk<unknown>(server, { method: "DELETE", path: `${path}/attempt` }, opts, true);
  const attempt = await expectOk<GenerateRootStatus>(server, { method: "PUT", path: `${path}/attempt`, body: {} }, opts, false);
  if (!attempt.otp) throw bootstrapError(`Vault server ${server.name} started a root token generation without a one-time password (Vault < 1.10?)`);
  let status = attempt;
  for (const [i, key] of keys.entries()) {
    if (status.complete) break;
    const res = await send(server, { method: "PUT", path: `${path}/update`, body: { key, nonce: attempt.nonce } }, opts, false);
    if (res.status !== 200) throw bootstrapError(`Vault server ${server.name} rejected key ${i + 1} of ${keys.length} for a root token: ${errorsOf(res)}`);
    status = res.json as GenerateRootStatus;
  }
  if (!status.complete || !status.encoded_token) {
    throw bootstrapError(`Vault server ${server.name}: root token generation incomplete, ${status.progress} of ${status.required} key shares accepted`);
  }
  return xor(Buffer.from(status.encoded_token, "base64"), Buffer.from(attempt.otp, "utf8")).toString("utf8");
}

/** Configures with a root token, then revokes it, also when configuration failed. */
async function configureWith(server: VaultServer, token: string, opts: BootstrapOptions): Promise<void> {
  const root = session(server, token, opts);
  try {
    if (opts.configure) {
      opts.log?.(`${server.name}: applying the bootstrap configuration (Kubernetes auth, configurer policy and role)`);
      await opts.configure(root);
    }
  } finally {
    // The root token exists only in this process: revoke it even when configuration failed.
    await root.request("POST", "/v1/auth/token/revoke-self");
    opts.log?.(`${server.name}: root token revoked`);
  }
}

/** Initialises Vault if needed, unseals what is sealed, configures once and revokes the root token. */
export async function bootstrapVault(opts: BootstrapOptions): Promise<BootstrapResult> {
  const [first] = opts.servers;
  if (!first) throw bootstrapError("no Vault server to bootstrap");
  if (opts.threshold < 1 || opts.threshold > opts.shares) {
    throw bootstrapError(`key threshold ${opts.threshold} must be between 1 and the number of shares (${opts.shares})`);
  }
  const unsealed: string[] = [];
  const unseal = async (keys: string[], server: VaultServer) => {
    const before = await sealStatus(server, opts);
    if (!before.sealed) return;
    if (opts.seal === "auto") await waitUnsealedByKms(server, opts);
    else {
      opts.log?.(`${server.name}: unsealing with ${opts.threshold} of ${keys.length} key shares`);
      await unsealServer(server, keys, opts);
      unsealed.push(server.name);
    }
  };

  opts.log?.(`${first.name}: asking whether Vault is initialised`);
  const status = await initStatus(first, opts);
  if (status.initialized) {
    const keys = opts.knownKeys ?? [];
    if (keys.length === 0) {
      throw bootstrapError(
        `Vault server ${first.name} is already initialised, but this stack holds no keys from that init. ` +
          "Either another process initialised it (treat Vault as compromised and rebuild its storage), or the stack state holding the keys was lost (see components/vault/README.md, \"Lost bootstrap state\").",
      );
    }
    // Standbys join through raft and may answer only later; only the first server must be up.
    await unseal(keys, first);
    if (opts.configured !== false) return { initialised: false, keys, unsealed, configured: true, rootTokenRevoked: true };
    // An earlier run initialised Vault and recorded the keys, but did not finish: finish now.
    opts.log?.(`${first.name}: finishing the bootstrap of an earlier run with the keys in the stack's state`);
    await waitActive(first, opts);
    const token = await generateRoot(first, keys, opts);
    await configureWith(first, token, opts);
    return { initialised: false, keys, unsealed, configured: true, rootTokenRevoked: true };
  }
  if (opts.knownKeys && opts.knownKeys.length > 0) {
    throw bootstrapError(
      `Vault server ${first.name} reports that it is not initialised, but this stack holds keys from an earlier init: its storage was lost or replaced. ` +
        "Vault will not be initialised again over keys in the state; see components/vault/README.md, \"Storage lost after the init\".",
    );
  }

  const body =
    opts.seal === "shamir"
      ? { secret_shares: opts.shares, secret_threshold: opts.threshold }
      : { recovery_shares: opts.shares, recovery_threshold: opts.threshold };
  opts.log?.(`${first.name}: initialising Vault`);
  const init = await expectOk<InitResponse>(first, { method: "PUT", path: "/v1/sys/init", body }, opts, false);
  const keys = (opts.seal === "shamir" ? init.keys_base64 : init.recovery_keys_base64) ?? [];
  if (keys.length !== opts.shares || typeof init.root_token !== "string") {
    throw bootstrapError(`Vault server ${first.name} answered the init with ${keys.length} key(s) instead of ${opts.shares}, or without a root token`, keys.length > 0 ? keys : undefined);
  }
  opts.log?.(`${first.name}: initialised with ${opts.shares} ${opts.seal === "shamir" ? "unseal" : "recovery"} key shares, threshold ${opts.threshold}`);

  // From here on every failure carries the keys: the caller records them before anything else.
  try {
    await unseal(keys, first);
    await waitActive(first, opts);
    await configureWith(first, init.root_token, opts);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw bootstrapError(`${message} (after a successful init: the keys are kept, and the next \`pulumi up\` finishes the bootstrap)`, keys);
  }
  return { initialised: true, keys, unsealed, configured: true, rootTokenRevoked: true };
}
