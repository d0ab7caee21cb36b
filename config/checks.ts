/**
 * Rules that relate several keys, or depend on the stage. Each returns problems with the key
 * path they concern; together with the schema's own issues they are reported at once.
 */
import type { ConfigProblem } from "./load";
import { readSealedSecretRefs } from "./sealed-secrets";
import { stageNames } from "./naming";
import { scheduleGaps } from "./cron";
import {
  DEVICE_CA_VALIDITY_DAYS,
  E3_SERVICE_PORTS,
  HELM_RELEASE_NAME_MAX,
  MIN_BACKUP_INTERVAL_SECONDS,
  NODE_POD_CIDR_PREFIX,
  OSS_BUCKET_NAME_MAX,
  POD_CIDR_PREFIX,
  PRIVILEGED_PORT_MAX,
  RESERVED_RANGES,
  SERVICE_CIDR_PREFIX,
  VPC_PREFIX,
  VSWITCH_PREFIX,
} from "./limits";
import { existingProblems } from "./existing";
import { kubeEdgeProblems } from "./kubeedge";
import { placeholderProblems, placeholderUses } from "./placeholders";
import { derivedTunnelAddress, hubTunnelAddress, kubeletRefusesLabel, pinnedAddressProblem, tunnelAddressOf } from "./sites";
import { caProblems, dockerConfigProblem, dockerConfigRegistries } from "./secrets";
import { DDM_GPG_VARIABLES, DDM_SSH_VARIABLES, type SecretKey, type StageInput } from "./schema";
import { EDP_SERVICES } from "./stages";
import { cidrContains, cidrsOverlap, type Ipv4Cidr, parseIpv4Cidr } from "./validators";

export interface CrossCheckContext {
  stack: string;
  secrets: Partial<Record<SecretKey, unknown>>;
  /** The time certificates are checked against; now by default. */
  now?: Date;
}

type CheckFn = (cfg: StageInput, ctx: CrossCheckContext) => ConfigProblem[];
/** A check and the config sections it reads: it runs whenever those sections are valid. */
type Check = { needs: (keyof StageInput)[]; run: CheckFn };

const cidrOf = (text: string) => parseIpv4Cidr(text) as Ipv4Cidr; // the schema has already rejected bad syntax
const prefixOf = (c: Ipv4Cidr) => 32 - Math.log2(c.last - c.first + 1);

const stageMatchesStack: CheckFn = (cfg, { stack }) =>
  cfg.stage === stack
    ? []
    : [{ key: "edp:stage", message: `is ${JSON.stringify(cfg.stage)} but the stack is ${JSON.stringify(stack)}: a stack's name is its stage` }];

const network: CheckFn = (cfg) => {
  const out: ConfigProblem[] = [];
  const n = cfg.network;
  const ranges: [string, Ipv4Cidr][] = [
    ["edp:network.vpcCidr", cidrOf(n.vpcCidr)],
    ["edp:network.podCidr", cidrOf(n.podCidr)],
    ["edp:network.serviceCidr", cidrOf(n.serviceCidr)],
  ];
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      const [ka, a] = ranges[i];
      const [kb, b] = ranges[j];
      if (cidrsOverlap(a, b)) out.push({ key: kb, message: `${b.text} overlaps ${ka} (${a.text}); VPC, pod and service CIDRs must be disjoint` });
    }
  }
  const prefixRules: Record<string, { min: number; max: number; what: string }> = {
    "edp:network.vpcCidr": { ...VPC_PREFIX, what: "a VPC" },
    "edp:network.podCidr": { ...POD_CIDR_PREFIX, what: "the pod CIDR" },
    "edp:network.serviceCidr": { ...SERVICE_CIDR_PREFIX, what: "the service CIDR" },
  };
  for (const [key, range] of ranges) {
    for (const r of RESERVED_RANGES) {
      if (cidrsOverlap(range, cidrOf(r.cidr))) out.push({ key, message: `${range.text} overlaps ${r.cidr}, ${r.why}; Alibaba Cloud does not route it inside a VPC` });
    }
    const prefix = prefixOf(range);
    const rule = prefixRules[key];
    if (prefix < rule.min || prefix > rule.max) out.push({ key, message: `${range.text} is a /${prefix}; ${rule.what} must be a /${rule.min} to /${rule.max}` });
  }
  const nodes = (cfg.cluster?.create?.nodePools ?? []).reduce((sum, p) => sum + p.maxSize, 0);
  const podPrefix = prefixOf(ranges[1][1]);
  if (podPrefix <= NODE_POD_CIDR_PREFIX && 2 ** (NODE_POD_CIDR_PREFIX - podPrefix) < nodes) {
    out.push({
      key: "edp:network.podCidr",
      message: `${n.podCidr} holds ${2 ** (NODE_POD_CIDR_PREFIX - podPrefix)} node subnets (/${NODE_POD_CIDR_PREFIX} each) but the node pools may grow to ${nodes} nodes`,
    });
  }
  const vpc = ranges[0][1];
  const seenZones = new Set<string>();
  n.zones.forEach((z, i) => {
    const key = `edp:network.zones[${i}]`;
    if (!z.zoneId.startsWith(`${cfg.region}`)) out.push({ key: `${key}.zoneId`, message: `${z.zoneId} is not a zone of region ${cfg.region} (alicloud:region)` });
    if (seenZones.has(z.zoneId)) out.push({ key: `${key}.zoneId`, message: `${z.zoneId} is listed twice; use distinct zones` });
    seenZones.add(z.zoneId);
    const sw = cidrOf(z.vswitchCidr);
    const swPrefix = prefixOf(sw);
    if (swPrefix < VSWITCH_PREFIX.min || swPrefix > VSWITCH_PREFIX.max) {
      out.push({ key: `${key}.vswitchCidr`, message: `${sw.text} is a /${swPrefix}; a vSwitch must be a /${VSWITCH_PREFIX.min} to /${VSWITCH_PREFIX.max}` });
    }
    if (!cidrContains(vpc, sw)) out.push({ key: `${key}.vswitchCidr`, message: `${sw.text} is not inside edp:network.vpcCidr (${vpc.text})` });
    n.zones.slice(0, i).forEach((other, j) => {
      if (cidrsOverlap(cidrOf(other.vswitchCidr), sw)) out.push({ key: `${key}.vswitchCidr`, message: `${sw.text} overlaps edp:network.zones[${j}].vswitchCidr (${other.vswitchCidr})` });
    });
  });
  return out;
};

const cluster: CheckFn = (cfg, { secrets }) => {
  const create = cfg.cluster.create !== undefined;
  const adopt = secrets.clusterKubeconfig !== undefined;
  if (create && adopt) {
    return [{ key: "edp:cluster.create", message: "and edp:clusterKubeconfig are mutually exclusive: either create an ACK cluster or adopt one from a kubeconfig, not both" }];
  }
  if (!create && !adopt) {
    return [{ key: "edp:cluster.create", message: "is missing: set edp:cluster.create to create an ACK cluster, or edp:clusterKubeconfig (secret) to adopt one" }];
  }
  const out: ConfigProblem[] = [];
  if (create && cfg.cluster.rrsa !== undefined) {
    out.push({ key: "edp:cluster.rrsa", message: "is for an adopted cluster only: the program enables RRSA on the cluster it creates and reads the OIDC provider from ACK" });
  }
  const names = new Set<string>();
  cfg.cluster.create?.nodePools.forEach((p, i) => {
    if (p.minSize > p.maxSize) out.push({ key: `edp:cluster.create.nodePools[${i}].minSize`, message: `${p.minSize} is larger than maxSize ${p.maxSize}` });
    if (names.has(p.name)) out.push({ key: `edp:cluster.create.nodePools[${i}].name`, message: `${p.name} is used by another node pool` });
    names.add(p.name);
  });
  cfg.cluster.create?.apiServerCidrs.forEach((c, i) => {
    if (cidrOf(c).last - cidrOf(c).first + 1 > 2 ** 24) {
      out.push({ key: `edp:cluster.create.apiServerCidrs[${i}]`, message: `${c} opens the API server to more than a /8; name the admin networks` });
    }
  });
  return out;
};

const images: CheckFn = (cfg) => {
  const out: ConfigProblem[] = [];
  for (const service of EDP_SERVICES) {
    const tag = cfg.images.tags[service];
    if (tag === undefined) out.push({ key: `edp:images.tags.${service}`, message: "is missing: every EDP service needs an image tag" });
    else if (tag === "latest" && cfg.stage !== "testing") {
      out.push({ key: `edp:images.tags.${service}`, message: `is "latest", which is not allowed in ${cfg.stage}: pin a release tag` });
    }
  }
  for (const service of Object.keys(cfg.images.tags)) {
    if (!(EDP_SERVICES as readonly string[]).includes(service)) {
      out.push({ key: `edp:images.tags.${service}`, message: `is not an EDP service (expected one of ${EDP_SERVICES.join(", ")})` });
    }
  }
  return out;
};

const vault: CheckFn = (cfg) => {
  const out: ConfigProblem[] = [];
  if (cfg.vault.seal === "shamir" && cfg.stage !== "testing") {
    out.push({ key: "edp:vault.seal", message: `is "shamir", which only testing may use; ${cfg.stage} unseals automatically with alicloudkms` });
  }
  if (cfg.vault.replicas % 2 === 0) out.push({ key: "edp:vault.replicas", message: `is ${cfg.vault.replicas}; raft needs an odd number of voters` });
  // Apache rejects every certificate once its CRL has expired, so a CRL must outlive several refreshes.
  if (cfg.vault.crlExpiryHours * 60 < 4 * cfg.e3.crlRefreshMinutes) {
    out.push({ key: "edp:vault.crlExpiryHours", message: `(${cfg.vault.crlExpiryHours} h) must be at least four E3 refresh periods (edp:e3.crlRefreshMinutes = ${cfg.e3.crlRefreshMinutes})` });
  }
  return out;
};

const e3: CheckFn = (cfg) => {
  const out: ConfigProblem[] = [];
  for (const field of ["sshPort", "nodeExporterPort"] as const) {
    const p = cfg.e3[field];
    const taken = E3_SERVICE_PORTS.find((s) => s.port === p);
    if (taken) out.push({ key: `edp:e3.${field}`, message: `${p} is taken on E3 by ${taken.service}` });
  }
  // The node exporter runs as an unprivileged user, which cannot bind a privileged port.
  if (cfg.e3.nodeExporterPort <= PRIVILEGED_PORT_MAX) {
    out.push({ key: "edp:e3.nodeExporterPort", message: `${cfg.e3.nodeExporterPort} is a privileged port (below ${PRIVILEGED_PORT_MAX + 1}); the node exporter runs unprivileged` });
  }
  if (cfg.e3.sshPort === cfg.e3.nodeExporterPort) out.push({ key: "edp:e3.nodeExporterPort", message: `${cfg.e3.nodeExporterPort} is also edp:e3.sshPort` });
  cfg.e3.adminCidrs.forEach((c, i) => {
    if (cidrOf(c).last - cidrOf(c).first + 1 > 2 ** 24) {
      out.push({ key: `edp:e3.adminCidrs[${i}]`, message: `${c} opens the maintenance ports to more than a /8; name the admin networks` });
    }
  });
  return out;
};

const edge: CheckFn = (cfg, { secrets }) => {
  const out: ConfigProblem[] = [];
  const kubeconfigs = (secrets.edgeKubeconfigs ?? {}) as Record<string, unknown>;
  const byName = new Map<string, (typeof cfg.edgeClusters)[number]>();
  const firstIndex = new Map<string, number>();
  const duplicated = new Set<string>();
  cfg.edgeClusters.forEach((c, i) => {
    const first = firstIndex.get(c.name);
    if (first !== undefined) {
      out.push({ key: `edp:edgeClusters[${i}].name`, message: `${c.name} is used by another edge cluster (edp:edgeClusters[${first}].name); cluster names must be unique` });
      duplicated.add(c.name);
      return;
    }
    firstIndex.set(c.name, i);
    byName.set(c.name, c);
    if (c.bootstrap === "direct" && kubeconfigs[c.name] === undefined) {
      out.push({ key: `edp:edgeClusters[${i}].bootstrap`, message: `is direct but edp:edgeKubeconfigs.${c.name} (secret) is not set` });
    }
    const hosts = new Set<string>();
    c.hosts.forEach((h, j) => {
      if (hosts.has(h)) out.push({ key: `edp:edgeClusters[${i}].hosts[${j}]`, message: `${h} is listed twice` });
      hosts.add(h);
    });
    for (const h of Object.keys(c.specialisedHosts)) {
      if (!hosts.has(h)) out.push({ key: `edp:edgeClusters[${i}].specialisedHosts.${h}`, message: `${h} is not in edp:edgeClusters[${i}].hosts (${c.hosts.join(", ") || "none listed"})` });
    }
  });
  // A K3s site is an edge cluster bootstrapped by script whose hosts are its devices (edp:sites).
  for (const site of cfg.sites ?? []) {
    if (!byName.has(site.name)) byName.set(site.name, { name: site.name, bootstrap: "script", hosts: site.devices.map((d) => d.name), sealedSecretsKeyVersion: 1, syncInterval: "5m", specialisedHosts: {}, sealedSecrets: [] });
  }
  for (const name of Object.keys(kubeconfigs)) {
    const c = byName.get(name);
    if (!c) out.push({ key: `edp:edgeKubeconfigs.${name}`, message: "names no cluster in edp:edgeClusters" });
    else if (c.bootstrap !== "direct") out.push({ key: `edp:edgeKubeconfigs.${name}`, message: "is set but that cluster bootstraps by script; remove it or set bootstrap: direct" });
  }
  const seen = new Set<string>();
  cfg.deployments.forEach((d, i) => {
    const key = `edp:deployments[${i}]`;
    if (!(d.template in cfg.chartTemplates)) {
      out.push({ key: `${key}.template`, message: `${JSON.stringify(d.template)} is not in edp:chartTemplates (${Object.keys(cfg.chartTemplates).join(", ") || "none defined"})` });
    }
    const c = byName.get(d.cluster);
    if (!c) out.push({ key: `${key}.cluster`, message: `${JSON.stringify(d.cluster)} is not in edp:edgeClusters or edp:sites` });
    // Which of two same-named clusters is meant cannot be known: the duplicate is the problem, reported on the cluster.
    else if (duplicated.has(d.cluster)) {
      // nothing to blame on the deployment
    } else if (d.hostname !== undefined && !c.hosts.includes(d.hostname)) {
      out.push({ key: `${key}.hostname`, message: `${JSON.stringify(d.hostname)} is not a host of edge cluster ${c.name} (${c.hosts.join(", ") || "no hosts listed"})` });
    }
    // Flux names the Helm release after the HelmRelease, and Helm limits release names to 53 characters.
    if (d.name.length > HELM_RELEASE_NAME_MAX) {
      out.push({ key: `${key}.name`, message: `${d.name} is ${d.name.length} characters; Helm release names are limited to ${HELM_RELEASE_NAME_MAX}` });
    }
    const template = cfg.chartTemplates[d.template];
    const uses = [
      ...(template ? placeholderUses(template.values, `edp:chartTemplates.${d.template}.values`) : []),
      ...placeholderUses(d.values, `${key}.values`),
    ];
    for (const use of uses) {
      if (use.word === "hostname" && d.hostname === undefined) {
        out.push({
          key: `${key}.hostname`,
          message: `is not set, so deployment ${d.name} floats, but {{hostname}} is used at ${use.path}; pin it to a host or use a template without {{hostname}}`,
        });
      }
    }
    for (const p of placeholderProblems(d.values, `${key}.values`)) out.push({ key: p.path, message: `${p.message} (deployment ${d.name})` });
    const id = `${d.cluster}/${d.name}`;
    if (seen.has(id)) out.push({ key: `${key}.name`, message: `${d.name} is deployed twice to cluster ${d.cluster}` });
    seen.add(id);
  });
  for (const [name, template] of Object.entries(cfg.chartTemplates)) {
    for (const p of placeholderProblems(template.values, `edp:chartTemplates.${name}.values`)) out.push({ key: p.path, message: p.message });
  }
  return out;
};

/** K3s sites, their devices and the WireGuard hub on E3 (config/sites.ts). */
const sites: CheckFn = (cfg) => {
  const out: ConfigProblem[] = [];
  const hub = cfg.siteHub;
  const tunnel = cidrOf(hub.tunnelCidr);
  const tunnelPrefix = prefixOf(tunnel);
  if (tunnelPrefix < 16 || tunnelPrefix > 29) out.push({ key: "edp:siteHub.tunnelCidr", message: `${hub.tunnelCidr} is a /${tunnelPrefix}; the tunnel range must be a /16 to /29` });
  const central: [string, string][] = [
    ["edp:network.vpcCidr", cfg.network.vpcCidr],
    ["edp:network.podCidr", cfg.network.podCidr],
    ["edp:network.serviceCidr", cfg.network.serviceCidr],
  ];
  for (const [key, text] of central) {
    if (cidrsOverlap(tunnel, cidrOf(text))) out.push({ key: "edp:siteHub.tunnelCidr", message: `${hub.tunnelCidr} overlaps ${key} (${text}); E3 would not know where to route` });
  }
  const e3Ports = new Map<number, string>(E3_SERVICE_PORTS.map((p) => [p.port, p.service]));
  // The hub listens on UDP; E3's own services are TCP, but one port per service keeps the firewall readable.
  if (e3Ports.has(hub.listenPort)) out.push({ key: "edp:siteHub.listenPort", message: `${hub.listenPort} is E3's ${e3Ports.get(hub.listenPort)}` });
  if (hub.listenPort === cfg.e3.sshPort || hub.listenPort === cfg.e3.nodeExporterPort) out.push({ key: "edp:siteHub.listenPort", message: `${hub.listenPort} is also edp:e3.sshPort or edp:e3.nodeExporterPort` });
  const operatorNames = new Set<string>();
  const operatorKeys = new Map<string, string>();
  hub.operators.forEach((o, i) => {
    if (operatorNames.has(o.name)) out.push({ key: `edp:siteHub.operators[${i}].name`, message: `${o.name} is listed twice` });
    operatorNames.add(o.name);
    const key = o.sshPublicKey.split(" ").slice(0, 2).join(" ");
    const other = operatorKeys.get(key);
    if (other !== undefined) out.push({ key: `edp:siteHub.operators[${i}].sshPublicKey`, message: `is also the key of operator ${other}; each operator has their own key, so every session names who opened it` });
    operatorKeys.set(key, o.name);
  });

  const clusterNames = new Set(cfg.edgeClusters.map((c) => c.name));
  const siteIndex = new Map<string, number>();
  const deviceAt = new Map<string, string>();
  const keyAt = new Map<string, string>();
  const addressAt = new Map<string, string>();
  const hubAddress = hubTunnelAddress(hub.tunnelCidr);
  cfg.sites.forEach((site, i) => {
    const sk = `edp:sites[${i}]`;
    if (siteIndex.has(site.name)) out.push({ key: `${sk}.name`, message: `${site.name} is used by another site (edp:sites[${siteIndex.get(site.name)}].name); site names must be unique` });
    siteIndex.set(site.name, i);
    if (clusterNames.has(site.name)) out.push({ key: `${sk}.name`, message: `${site.name} is also an edge cluster in edp:edgeClusters; deployments name one or the other, so names are shared` });
    const podRange = cidrOf(site.clusterCidr);
    const svcRange = cidrOf(site.serviceCidr);
    if (cidrsOverlap(podRange, svcRange)) out.push({ key: `${sk}.serviceCidr`, message: `${site.serviceCidr} overlaps ${sk}.clusterCidr (${site.clusterCidr})` });
    for (const [field, range] of [["clusterCidr", podRange], ["serviceCidr", svcRange]] as const) {
      if (cidrsOverlap(range, tunnel)) out.push({ key: `${sk}.${field}`, message: `${range.text} overlaps edp:siteHub.tunnelCidr (${hub.tunnelCidr}); the device would route tunnel traffic into the cluster` });
    }
    const servers = site.devices.filter((d) => d.role === "server");
    if (servers.length !== 1) out.push({ key: `${sk}.devices`, message: `has ${servers.length} servers (${servers.map((d) => d.name).join(", ") || "none"}); a site has exactly one K3s server` });
    if (site.devices.some((d) => d.role === "agent") && site.serverLanAddress === undefined && site.deviceTraffic !== "site") {
      out.push({ key: `${sk}.serverLanAddress`, message: "is not set and deviceTraffic is hub-only, so the agents could not reach the K3s server: set the server's LAN address, or deviceTraffic: site to join over the tunnel" });
    }
    site.devices.forEach((d, j) => {
      const dk = `${sk}.devices[${j}]`;
      const other = deviceAt.get(d.name);
      if (other !== undefined) out.push({ key: `${dk}.name`, message: `${d.name} is also ${other}; device names are node and peer names and must be unique across every site` });
      deviceAt.set(d.name, `${dk}.name`);
      if (d.publicKey !== undefined && d.generateKey) out.push({ key: `${dk}.generateKey`, message: "is true but publicKey is set too; use the device's own key (preferred) or generate one, not both" });
      if (d.publicKey === undefined && !d.generateKey) out.push({ key: `${dk}.publicKey`, message: "is not set: give the public key the device made (`wg genkey | tee /etc/wireguard/edp0.key | wg pubkey`), or set generateKey: true" });
      if (d.publicKey !== undefined) {
        const owner = keyAt.get(d.publicKey);
        if (owner !== undefined) out.push({ key: `${dk}.publicKey`, message: `is also the key of ${owner}; the hub tells devices apart by their keys` });
        keyAt.set(d.publicKey, `${dk}`);
      }
      for (const label of Object.keys(d.labels)) {
        if (kubeletRefusesLabel(label)) out.push({ key: `${dk}.labels.${label}`, message: "is in the kubernetes.io or k8s.io namespace, which kubelet refuses to set on its own node (NodeRestriction)" });
      }
      let address: string;
      if (d.tunnelAddress !== undefined) {
        const problem = pinnedAddressProblem(hub.tunnelCidr, d.tunnelAddress);
        if (problem) {
          out.push({ key: `${dk}.tunnelAddress`, message: problem });
          return;
        }
        address = d.tunnelAddress;
      } else address = tunnelAddressOf(hub.tunnelCidr, site.name, d);
      if (address === hubAddress) return; // excluded by the range; kept for clarity
      const holder = addressAt.get(address);
      if (holder !== undefined) {
        const derived = d.tunnelAddress === undefined && address === derivedTunnelAddress(hub.tunnelCidr, site.name, d.name);
        out.push({
          key: `${dk}.tunnelAddress`,
          message: `${address} is also the tunnel address of ${holder}${derived ? "; the derived addresses collide: pin one of them with tunnelAddress" : ""}`,
        });
      } else addressAt.set(address, `${site.name}/${d.name}`);
    });
  });
  return out;
};

/** OSS allows 63 characters in a bucket name; the prefix is shared by the stage's longest name. */
const bucketNames: CheckFn = (cfg) => {
  const names = stageNames(cfg);
  return [names.manifestsBucket, names.backupBucket, names.vaultSnapshotBucket]
    .filter((n) => n.length > OSS_BUCKET_NAME_MAX)
    .map((n) => ({ key: "edp:bucketPrefix", message: `makes the bucket name ${n} ${n.length} characters long; OSS allows 3 to ${OSS_BUCKET_NAME_MAX}` }));
};

/** Names only keys, never values: these are secrets. */
const ddmFiles: CheckFn = (_cfg, { secrets }) => {
  const files = secrets.ddmFiles as Record<string, unknown> | undefined;
  if (files === undefined) return [];
  const out: ConfigProblem[] = [];
  for (const name of DDM_GPG_VARIABLES) {
    if (typeof files[name] !== "string" || files[name] === "") out.push({ key: `edp:ddmFiles.${name}`, message: "is missing: every GPG value of datadirectormangement-files is required (manual §3.2.2)" });
  }
  const ssh = DDM_SSH_VARIABLES.filter((n) => files[n] !== undefined);
  if (ssh.length === 1) {
    out.push({ key: `edp:ddmFiles.${ssh[0]}`, message: `is set without its pair (${DDM_SSH_VARIABLES.join(", ")}): set both, or neither to have the pair generated` });
  }
  const known = new Set<string>([...DDM_GPG_VARIABLES, ...DDM_SSH_VARIABLES]);
  for (const name of Object.keys(files)) {
    if (!known.has(name)) out.push({ key: `edp:ddmFiles.${name}`, message: `is not a datadirectormangement-files variable (expected ${[...known].join(", ")})` });
  }
  return out;
};

/** The backup and restore-drill Jobs need time to finish before the next run (config/limits.ts). */
const backupIntervals: CheckFn = (cfg) => {
  const out: ConfigProblem[] = [];
  for (const field of ["schedule", "drillSchedule"] as const) {
    const schedule = cfg.postgres.backup[field];
    let gaps: { min: number; max: number };
    try {
      gaps = scheduleGaps(schedule);
    } catch (e) {
      out.push({ key: `edp:postgres.backup.${field}`, message: `${JSON.stringify(schedule)} ${(e as Error).message}` });
      continue;
    }
    if (gaps.min < MIN_BACKUP_INTERVAL_SECONDS) {
      out.push({
        key: `edp:postgres.backup.${field}`,
        message: `${JSON.stringify(schedule)} runs ${gaps.min / 60} minutes apart at the closest; a backup Job needs at least ${MIN_BACKUP_INTERVAL_SECONDS / 60} minutes between runs`,
      });
    }
  }
  return out;
};

/** Alerts must reach someone: a receiver in every stage, a dead man's switch beyond testing, and the secrets each needs (names only). */
const alerting: CheckFn = (cfg, { secrets }) => {
  const a = cfg.alerting;
  const out: ConfigProblem[] = [];
  if (!a.email && !a.webhook) out.push({ key: "edp:alerting", message: "needs a receiver (email and/or webhook): without one, alerts go nowhere" });
  if (!a.deadMansSwitch && cfg.stage !== "testing") out.push({ key: "edp:alerting.deadMansSwitch", message: `is required in ${cfg.stage}: nobody notices a broken alerting path otherwise` });
  // Absent means {} here: each secret the receivers need is then reported by its key.
  const given = (secrets.alertingSecrets ?? {}) as Record<string, unknown>;
  const needs: [boolean, string, string][] = [
    [Boolean(a.email?.username), "smtpPassword", "edp:alerting.email.username is set"],
    [Boolean(a.webhook), "webhookUrl", "edp:alerting.webhook is set"],
    [Boolean(a.deadMansSwitch), "deadMansSwitchUrl", "edp:alerting.deadMansSwitch is set"],
  ];
  for (const [needed, key, why] of needs) {
    const v = given[key];
    if (needed && (typeof v !== "string" || v === "")) out.push({ key: `edp:alertingSecrets.${key}`, message: `is missing (secret): ${why}` });
    if (needed && key !== "smtpPassword" && typeof v === "string" && v !== "" && !/^https:\/\/\S+$/.test(v)) {
      out.push({ key: `edp:alertingSecrets.${key}`, message: "is not an https:// URL" });
    }
  }
  return out;
};

/** Vault refuses to issue a device certificate that would outlive its CA. */
const deviceCertLifetime: CheckFn = (cfg, { secrets, now = new Date() }) => {
  const ttl = cfg.vault.deviceCertTtlDays;
  const ca = secrets.deviceCa as { crt?: unknown; key?: unknown } | undefined;
  if (ca === undefined) {
    return ttl > DEVICE_CA_VALIDITY_DAYS
      ? [{ key: "edp:vault.deviceCertTtlDays", message: `is ${ttl} days, longer than the ${DEVICE_CA_VALIDITY_DAYS}-day lifetime of the device CA Vault generates` }]
      : [];
  }
  const facts = caProblems(ca.crt, ca.key, now);
  if (Array.isArray(facts)) return []; // reported on edp:deviceCa itself
  const left = Math.floor((facts.notAfter.getTime() - now.getTime()) / 86_400_000);
  return ttl > left
    ? [{ key: "edp:vault.deviceCertTtlDays", message: `is ${ttl} days, but the device CA (edp:deviceCa) expires in ${left} days (${facts.notAfter.toISOString().slice(0, 10)}); a device certificate cannot outlive its CA` }]
    : [];
};

/** The pull secret must hold credentials for the registry the images come from. */
const pullCredentials: CheckFn = (cfg, { secrets }) => {
  const json = secrets.dockerPullJson;
  if (typeof json !== "string" || dockerConfigProblem(json) !== undefined) return [];
  const host = cfg.images.registry.split("/")[0];
  const registries = dockerConfigRegistries(json);
  return registries.includes(host)
    ? []
    : [{ key: "edp:dockerPullJson", message: `has no credentials for ${host}, the registry of edp:images.registry (it has: ${registries.join(", ")})` }];
};

/** A PSK given for EdgeMesh while EdgeMesh is off is a mistake in one of the two keys. */
const edgeMeshPskUsed = (cfg: StageInput, { secrets }: CrossCheckContext): ConfigProblem[] =>
  secrets.edgeMeshPsk !== undefined && cfg.kubeEdge?.edgeMesh !== true
    ? [{ key: "edp:edgeMeshPsk", message: "is set, but edp:kubeEdge.edgeMesh is not true, so nothing uses it; enable EdgeMesh or remove the key" }]
    : [];

const CHECKS: Check[] = [
  { needs: ["stage"], run: stageMatchesStack },
  { needs: ["stage", "bucketPrefix", "dns"], run: bucketNames },
  { needs: ["region", "network"], run: network },
  { needs: ["cluster"], run: cluster },
  { needs: ["stage", "images"], run: images },
  { needs: ["stage", "vault", "e3"], run: vault },
  { needs: ["e3"], run: e3 },
  { needs: ["edgeClusters", "chartTemplates", "deployments"], run: edge },
  { needs: ["network", "e3", "edgeClusters", "sites", "siteHub"], run: sites },
  { needs: ["edgeClusters", "deployments"], run: (cfg) => readSealedSecretRefs(cfg).problems },
  { needs: [], run: ddmFiles },
  { needs: ["postgres"], run: backupIntervals },
  { needs: ["vault"], run: deviceCertLifetime },
  { needs: ["images"], run: pullCredentials },
  { needs: ["stage", "bucketPrefix", "dns", "network", "cluster", "existing"], run: (cfg, { secrets }) => existingProblems(cfg, secrets.clusterKubeconfig !== undefined) },
  { needs: ["stage", "kubeEdge", "chartTemplates"], run: kubeEdgeProblems },
  { needs: [], run: edgeMeshPskUsed },
  { needs: ["stage", "alerting"], run: alerting },
];

/**
 * Runs every check whose sections are present in `cfg`. When some sections failed the schema,
 * the caller passes only the valid ones, so rules about the others still report at once.
 */
export function crossChecks(cfg: Partial<StageInput>, ctx: CrossCheckContext): ConfigProblem[] {
  return CHECKS.filter((c) => c.needs.every((k) => cfg[k] !== undefined)).flatMap((c) => c.run(cfg as StageInput, ctx));
}
