/**
 * One JSON request over node:http(s), for the dynamic providers that talk to the Kubernetes API
 * server and, through its pod proxy, to Vault (components/kubeedge/cluster-api.ts,
 * components/vault/http.ts). Only node built-ins: a dynamic provider is serialised with what its
 * functions capture.
 */
import * as http from "node:http";
import * as https from "node:https";

export interface JsonRequest {
  method: string;
  url: URL;
  /** Sent as JSON; absent means no body. */
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  /** PEM CA bundle that signs the server's certificate, and a PEM client certificate and key. */
  ca?: string;
  cert?: string;
  key?: string;
  timeoutMs: number;
}

export interface JsonResponse {
  status: number;
  /** The parsed body; undefined when empty, `{ raw }` (its first 200 characters) when not JSON. */
  json: unknown;
}

/** Sends one request; rejects only when no HTTP answer arrived (connection error or time-out). */
export function jsonRequest(req: JsonRequest): Promise<JsonResponse> {
  return new Promise((resolve, reject) => {
    const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
    const headers: Record<string, string> = { Accept: "application/json", ...req.headers };
    if (payload !== undefined) {
      headers["Content-Type"] = req.contentType ?? "application/json";
      headers["Content-Length"] = String(Buffer.byteLength(payload));
    }
    const lib = req.url.protocol === "https:" ? https : http;
    const r = lib.request(req.url, { method: req.method, headers, ca: req.ca, cert: req.cert, key: req.key, timeout: req.timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = text.trim() === "" ? undefined : JSON.parse(text);
        } catch {
          json = { raw: text.slice(0, 200) };
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    r.on("timeout", () => r.destroy(new Error(`${req.method} ${req.url.pathname}: timed out after ${req.timeoutMs} ms`)));
    r.on("error", reject);
    if (payload !== undefined) r.write(payload);
    r.end();
  });
}
