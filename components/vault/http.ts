/**
 * The Vault API's client, with the transport injectable: tests answer on
 * loopback, the deployer reaches each Vault pod through the Kubernetes API server's pod proxy
 * (kube.ts). Only node built-ins, because the dynamic provider that uses it is serialised.
 */
import { jsonRequest } from "../shared/json-http";

export type HttpMethod = "GET" | "PUT" | "POST" | "DELETE" | "LIST";

export interface VaultRequest {
  method: HttpMethod;
  /** API path starting with /v1/. */
  path: string;
  body?: unknown;
  /** Vault token, sent as X-Vault-Token. */
  token?: string;
}

export interface VaultResponse {
  status: number;
  /** Parsed JSON body, or undefined when the body is empty. */
  json: unknown;
}

/** Sends one request to one Vault server; rejects only when no HTTP answer arrived. */
export type HttpClient = (req: VaultRequest) => Promise<VaultResponse>;

export interface TransportOptions {
  /** Base URL the API path is appended to, e.g. http://127.0.0.1:8200 or an API-server proxy URL. */
  baseUrl: string;
  /** PEM CA bundle that signs the server's certificate. */
  ca?: string;
  /** PEM client certificate and key (Kubernetes API server authentication). */
  cert?: string;
  key?: string;
  /** Bearer token for the server in front of Vault (Kubernetes API server authentication). */
  bearerToken?: string;
  /** Milliseconds before a request is abandoned. */
  timeoutMs?: number;
}

/** An HttpClient over node:http(s). */
export function nodeHttpClient(opts: TransportOptions): HttpClient {
  const base = opts.baseUrl.replace(/\/+$/, "");
  return (req) => {
    const headers: Record<string, string> = {};
    if (req.token) headers["X-Vault-Token"] = req.token;
    if (opts.bearerToken) headers.Authorization = `Bearer ${opts.bearerToken}`;
    return jsonRequest({ method: req.method, url: new URL(base + req.path), body: req.body, headers, ca: opts.ca, cert: opts.cert, key: opts.key, timeoutMs: opts.timeoutMs ?? 15_000 });
  };
}
