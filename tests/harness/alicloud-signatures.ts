/**
 * Test-side verifiers of Alibaba Cloud's request signatures, written from Alibaba's documents
 * and independent of the libraries the product uses: the loopback stand-ins for OSS, KMS and
 * SLB refuse a request these do not accept, as the real services do. The
 * RPC one reproduces the example its document gives (tests/unit/cloud-access.test.ts and
 * tests/integration/vault-unsealer.test.ts).
 */
import { createHmac } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";

/** RFC 3986 percent-encoding as the RPC document specifies (`~` unreserved; `!'()*` encoded). */
const rpcEncode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * RPC signature version 1.0 ("Request signatures", ECS/KMS/SLB/STS API references): the
 * parameters but Signature, encoded, sorted by name, joined with `&`; the string to sign is
 * `<METHOD>&%2F&<encoded canonical query>`; HMAC-SHA1 keyed with `<secret>&`, base64.
 */
export function rpcSignature(method: string, params: Record<string, string>, accessKeySecret: string): string {
  const canonical = Object.keys(params)
    .sort()
    .map((k) => `${rpcEncode(k)}=${rpcEncode(params[k])}`)
    .join("&");
  return createHmac("sha1", `${accessKeySecret}&`).update(`${method}&${rpcEncode("/")}&${rpcEncode(canonical)}`).digest("base64");
}

/** Whether the parameters (query for GET, form body for POST) carry a valid RPC 1.0 signature of the key. */
export function rpcSigned(method: string, params: Record<string, string>, key: { accessKeyId: string; accessKeySecret: string }): boolean {
  const { Signature, ...signed } = params;
  return (
    signed.AccessKeyId === key.accessKeyId &&
    signed.SignatureMethod === "HMAC-SHA1" &&
    signed.SignatureVersion === "1.0" &&
    typeof signed.SignatureNonce === "string" &&
    signed.SignatureNonce.length > 0 &&
    Signature === rpcSignature(method, signed, key.accessKeySecret)
  );
}

/**
 * OSS signature V1 ("Include a V1 signature in the Authorization header"): HMAC-SHA1 over
 * VERB, Content-MD5, Content-Type, Date, then every x-oss- header lowercased, sorted, as
 * `name:value\n`, then the canonical resource /bucket/key. The SDKs may carry the date in
 * x-oss-date instead of Date (ali-oss's client.js, which the document cites, does).
 */
export function ossV1StringToSign(method: string, headers: IncomingHttpHeaders | Record<string, string>, resource: string): string {
  const h = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v ?? "")]));
  const date = h.date ?? h["x-oss-date"] ?? "";
  const ossHeaders = Object.keys(h)
    .filter((k) => k.startsWith("x-oss-"))
    .sort()
    .map((k) => `${k}:${h[k].trim()}\n`)
    .join("");
  return `${method}\n${h["content-md5"] ?? ""}\n${h["content-type"] ?? ""}\n${date}\n${ossHeaders}${resource}`;
}

export const ossV1Signature = (accessKeySecret: string, stringToSign: string): string => createHmac("sha1", accessKeySecret).update(stringToSign, "utf8").digest("base64");

/** Whether the request carries a valid V1 Authorization of the key, dated within 15 minutes (as OSS demands). */
export function ossV1Signed(method: string, headers: IncomingHttpHeaders, resource: string, key: { accessKeyId: string; accessKeySecret: string }): boolean {
  const date = String(headers.date ?? headers["x-oss-date"] ?? "");
  if (!(Math.abs(Date.parse(date) - Date.now()) < 15 * 60_000)) return false;
  return headers.authorization === `OSS ${key.accessKeyId}:${ossV1Signature(key.accessKeySecret, ossV1StringToSign(method, headers, resource))}`;
}

/**
 * An RPC request as a loopback API sees it: its method and parameters, from the query and, for
 * POST, the form body (the signature covers them all).
 */
export async function readRpcRequest(req: IncomingMessage): Promise<{ method: string; params: Record<string, string> }> {
  let body = "";
  for await (const chunk of req) body += String(chunk);
  const url = new URL(req.url ?? "/", "http://x");
  const method = req.method ?? "";
  return { method, params: Object.fromEntries([...url.searchParams.entries(), ...new URLSearchParams(method === "POST" ? body : "").entries()]) };
}
