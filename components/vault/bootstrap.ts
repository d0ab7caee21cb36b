/**
 * Initialises and unseals Vault through its documented HTTP API (/v1/sys/init,
 * /v1/sys/seal-status, /v1/sys/unseal), then hands the root token to a configuration step and
 * revokes it. Used by the VaultBootstrap dynamic provider during `pulumi up`; the transport is
 * injected so tests drive it against a loopback server.
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
  /** Attempts per request while a server is not reachable yet, and the pause between them. */
  attempts: number;
  delayMs: number;
  /** Runs once, right after a fresh init, with the root token (which is revoked afterwards). */
  configure?: (root: VaultSession) => Promise<void>;
  sleep?: (ms: number) => Promise<void>;
  log?: (message: string) => void;
}

export interface BootstrapResult {
  /** True when this run initialised Vault. */
  initialised: boolean;
  /** Unseal keys (shamir) or recovery keys (auto), base64; the same as knownKeys on later runs. */
  keys: string[];
  /** Servers this run unsealed with keys. */
  unsealed: string[];
  /** True when the root token of a fresh init was revoked (always, unless configure failed). */
  rootTokenRevoked: boolean;
}

/** A token bound to one server, for the configuration step. */
export interface VaultSession {
  request(method: VaultRequest["method"], path: string, body?: unknown): Promise<unknown>;
}

/**
 * A bootstrap failure. A plain Error with a name rather than a subclass: Pulumi's closure
 * serialisation of the dynamic provider does not keep a class that extends Error.
 */
export function bootstrapError(message: string): Error {
  const e = new Error(message);
  e.name = "VaultBootstrapError";
  return e;
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

// A function, not a Set: the closure serialiser turns a captured Set into a plain object.
const retryable = (status: number) => status === 429 || status === 500 || (status >= 502 && status <= 504);

function errorsOf(res: VaultResponse): string {
  const body = res.json as { errors?: unknown } | undefined;
  return Array.isArray(body?.errors) && body.errors.length > 0 ? body.errors.map(String).join("; ") : `HTTP ${res.status}`;
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Sends a request, retrying (boundedly) while the server cannot answer: connection refused,
 * a pod not ready behind the API-server proxy (502/503). Requests that change state are sent
 * once, because a lost answer to `PUT /v1/sys/init` must not turn into a second init.
 */
async function send(server: VaultServer, req: VaultRequest, opts: BootstrapOptions, retry: boolean): Promise<VaultResponse> {
  const sleep = opts.sleep ?? defaultSleep;
  const attempts = retry ? Math.max(1, opts.attempts) : 1;
  let last = "";
  for (let i = 1; i <= attempts; i++) {
    try {
      const res = await server.client(req);
      if (!retryable(res.status) || !retry) return res;
      last = errorsOf(res);
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (i < attempts) {
      opts.log?.(`${server.name}: ${req.method} ${req.path} not answered yet (${last}); attempt ${i + 1} of ${attempts} in ${opts.delayMs} ms`);
      await sleep(opts.delayMs);
    }
  }
  throw bootstrapError(`Vault server ${server.name} is not reachable: ${req.method} ${req.path} failed ${attempts} time(s), last with: ${last}`);
}

async function expectOk<T>(server: VaultServer, req: VaultRequest, opts: BootstrapOptions, retry: boolean): Promise<T> {
  const res = await send(server, req, opts, retry);
  if (res.status < 200 || res.status >= 300) {
    throw bootstrapError(`Vault server ${server.name}: ${req.method} ${req.path} answered ${res.status}: ${errorsOf(res)}`);
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
  for (let i = 1; i <= opts.attempts; i++) {
    if (!(await sealStatus(server, opts)).sealed) return;
    if (i < opts.attempts) await sleep(opts.delayMs);
  }
  throw bootstrapError(
    `Vault server ${server.name} is still sealed after ${opts.attempts} checks; with a KMS seal it unseals itself, so check its log for KMS errors (key, credentials, endpoint)`,
  );
}

function session(server: VaultServer, token: string, opts: BootstrapOptions): VaultSession {
  return {
    async request(method, path, body) {
      return expectOk<unknown>(server, { method, path, body, token }, opts, method === "GET" || method === "LIST");
    },
  };
}

/** Initialises Vault if needed, unseals what is sealed, configures once and revokes the root token. */
export async function bootstrapVault(opts: BootstrapOptions): Promise<BootstrapResult> {
  const [first] = opts.servers;
  if (!first) throw bootstrapError("no Vault server to bootstrap");
  if (opts.threshold < 1 || opts.threshold > opts.shares) {
    throw bootstrapError(`key threshold ${opts.threshold} must be between 1 and the number of shares (${opts.shares})`);
  }
  const unsealed: string[] = [];
  const unsealAll = async (keys: string[], servers: VaultServer[]) => {
    for (const server of servers) {
      const before = await sealStatus(server, opts);
      if (!before.sealed) continue;
      if (opts.seal === "auto") await waitUnsealedByKms(server, opts);
      else {
        await unsealServer(server, keys, opts);
        unsealed.push(server.name);
      }
    }
  };

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
    await unsealAll(keys, [first]);
    return { initialised: false, keys, unsealed, rootTokenRevoked: true };
  }

  const body =
    opts.seal === "shamir"
      ? { secret_shares: opts.shares, secret_threshold: opts.threshold }
      : { recovery_shares: opts.shares, recovery_threshold: opts.threshold };
  const init = await expectOk<InitResponse>(first, { method: "PUT", path: "/v1/sys/init", body }, opts, false);
  const keys = (opts.seal === "shamir" ? init.keys_base64 : init.recovery_keys_base64) ?? [];
  if (keys.length !== opts.shares || typeof init.root_token !== "string") {
    throw bootstrapError(`Vault server ${first.name} answered the init with ${keys.length} key(s) instead of ${opts.shares}, or without a root token`);
  }
  opts.log?.(`${first.name}: initialised with ${opts.shares} ${opts.seal === "shamir" ? "unseal" : "recovery"} key shares, threshold ${opts.threshold}`);
  await unsealAll(keys, [first]);

  const root = session(first, init.root_token, opts);
  try {
    if (opts.configure) await opts.configure(root);
  } finally {
    // The root token exists only in this process: revoke it even when configuration failed.
    await root.request("POST", "/v1/auth/token/revoke-self");
  }
  return { initialised: true, keys, unsealed, rootTokenRevoked: true };
}
