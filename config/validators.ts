/**
 * Pure syntax checks used by the config schema. No Pulumi, no cloud: exported so that tests
 * can exercise them with tables of cases.
 */
import { X509Certificate } from "node:crypto";
import ipaddr from "ipaddr.js";
import { kubernetesScheduleProblem } from "./cron";
import { DNS1123_LABEL_MAX, DOMAIN_NAME_MAX, IMAGE_TAG_MAX } from "./limits";

/** RFC 1123 host name: labels of [a-z0-9-], not starting or ending with '-', at least two labels. */
export function isDomainName(value: string): boolean {
  if (value.length > DOMAIN_NAME_MAX) return false;
  const labels = value.split(".");
  if (labels.length < 2) return false;
  return labels.every((l) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l)) && !/^[0-9]+$/.test(labels[labels.length - 1]);
}

/** Kubernetes DNS-1123 label: what a namespace, cluster or host name must be. */
export function isDns1123Label(value: string): boolean {
  return value.length <= DNS1123_LABEL_MAX && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value);
}

export interface Ipv4Cidr {
  text: string;
  first: number;
  last: number;
}

/** Parses an IPv4 CIDR whose address is the network address (no host bits set). */
export function parseIpv4Cidr(value: string): Ipv4Cidr | string {
  if (!ipaddr.IPv4.isValidCIDR(value)) return "is not an IPv4 CIDR such as 10.0.0.0/16";
  const [addr, prefix] = ipaddr.IPv4.parseCIDR(value);
  const base = addr.toByteArray().reduce((acc, b) => acc * 256 + b, 0);
  const size = 2 ** (32 - prefix);
  if (base % size !== 0) {
    const network = ipaddr.IPv4.networkAddressFromCIDR(value).toString();
    return `has host bits set: the network address of /${prefix} is ${network}`;
  }
  return { text: value, first: base, last: base + size - 1 };
}

export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return a.first <= b.last && b.first <= a.last;
}

export function cidrContains(outer: Ipv4Cidr, inner: Ipv4Cidr): boolean {
  return outer.first <= inner.first && inner.last <= outer.last;
}

/** A schedule Kubernetes CronJobs accept (config/cron.ts says exactly which), or why not. */
export function cronProblem(value: string): string | undefined {
  const problem = kubernetesScheduleProblem(value);
  return problem === undefined ? undefined : `is not a Kubernetes CronJob schedule: ${problem}`;
}

/** Alibaba Cloud region ids where the services this program uses (ACK, OSS, KMS, DNS) exist. */
export const ALICLOUD_REGIONS = [
  "eu-central-1",
  "eu-west-1",
  "cn-hangzhou",
  "cn-shanghai",
  "cn-beijing",
  "cn-shenzhen",
  "cn-hongkong",
  "ap-southeast-1",
  "ap-southeast-3",
  "ap-southeast-5",
  "ap-northeast-1",
  "us-west-1",
  "us-east-1",
  "me-east-1",
] as const;

/** Classic/application load balancer ids as Alibaba prints them: `lb-` plus 15 to 30 lowercase letters and digits. */
export const LOAD_BALANCER_ID = /^lb-[a-z0-9]{15,30}$/;

/** An OCI image tag: up to 128 characters of [A-Za-z0-9_.-], not starting with '.' or '-'. */
export const IMAGE_TAG = new RegExp(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,${IMAGE_TAG_MAX - 1}}$`);

/**
 * SemVer 2.0.0 (semver.org, §2, §9, §10): MAJOR.MINOR.PATCH without leading zeros, an optional
 * pre-release of dot-separated identifiers (numeric ones without leading zeros) and optional
 * build metadata. Helm requires chart versions to be SemVer 2.
 */
const NUM = "(0|[1-9][0-9]*)";
const PRE_ID = "(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)";
export const SEMVER = new RegExp(`^${NUM}\\.${NUM}\\.${NUM}(-${PRE_ID}(\\.${PRE_ID})*)?(\\+[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?$`);

/** Every PEM CERTIFICATE block of a bundle parses as an X.509 certificate. */
export function pemCertificatesParse(bundle: string): boolean {
  const blocks = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return (
    blocks.length > 0 &&
    blocks.every((b) => {
      try {
        new X509Certificate(b);
        return true;
      } catch {
        return false;
      }
    })
  );
}

/**
 * A WireGuard key as `wg` writes and reads it: the standard base64 of exactly 32 bytes (44
 * characters ending in "="). `wg` refuses anything else (wireguard-tools, encoding.c key_from_base64).
 */
export function isWireGuardKey(value: string): boolean {
  return /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(value) && Buffer.from(value, "base64").length === 32;
}

/** An OpenSSH public key line of a type a current sshd accepts: `type base64 [comment]`. */
export const SSH_PUBLIC_KEY = /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com|ssh-rsa) [A-Za-z0-9+/]+={0,2}( [^\n\r]*)?$/;

/** The dotted-quad form of an IPv4 address held as a number. */
export const ipv4ToString = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");

/** Parses a dotted-quad IPv4 address into a number, or undefined. */
export function parseIpv4(value: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(value);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255) || m.slice(1).some((p) => p.length > 1 && p.startsWith("0"))) return undefined;
  return parts.reduce((acc, p) => acc * 256 + p, 0);
}
