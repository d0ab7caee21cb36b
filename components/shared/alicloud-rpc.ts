/**
 * Alibaba Cloud's RPC-style API signature (version 1.0, HMAC-SHA1), as documented for ECS, SLB,
 * KMS and STS: the common parameters are added, every parameter is percent-encoded (RFC 3986,
 * with `~` unreserved), sorted by name, joined, and the string `<METHOD>&%2F&<encoded query>`
 * is signed with `<secret>&`.
 */
import { createHmac, randomUUID } from "node:crypto";

export interface RpcCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  /** STS token of temporary credentials. */
  securityToken?: string;
}

export const percentEncode = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The string RPC signs: method, the encoded path "/", and the encoded canonical query. */
export function stringToSign(method: "GET" | "POST", params: Record<string, string>): string {
  const canonical = Object.keys(params)
    .sort()
    .map((k) => `${percentEncode(k)}=${percentEncode(params[k])}`)
    .join("&");
  return `${method}&${percentEncode("/")}&${percentEncode(canonical)}`;
}

export const rpcSignature = (method: "GET" | "POST", params: Record<string, string>, accessKeySecret: string): string =>
  createHmac("sha1", `${accessKeySecret}&`).update(stringToSign(method, params)).digest("base64");

/** The signed query string of a call (parameters plus the common ones plus Signature). */
export function signedRpcQuery(
  params: Record<string, string>,
  credentials: RpcCredentials,
  method: "GET" | "POST",
  now: { nonce: string; timestamp: string } = { nonce: randomUUID(), timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, "Z") },
): string {
  const all: Record<string, string> = {
    ...params,
    Format: "JSON",
    AccessKeyId: credentials.accessKeyId,
    SignatureMethod: "HMAC-SHA1",
    SignatureVersion: "1.0",
    SignatureNonce: now.nonce,
    Timestamp: now.timestamp,
    ...(credentials.securityToken ? { SecurityToken: credentials.securityToken } : {}),
  };
  const query = Object.keys(all)
    .sort()
    .map((k) => `${percentEncode(k)}=${percentEncode(all[k])}`)
    .join("&");
  return `${query}&Signature=${percentEncode(rpcSignature(method, all, credentials.accessKeySecret))}`;
}
