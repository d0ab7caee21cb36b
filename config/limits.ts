/**
 * Every limit the stage config is checked against that comes from the cloud, from Kubernetes or
 * from a component: one place, each figure with where it comes from. The schema, the cross-key
 * checks and the components that depend on the same figure import it from here.
 */

/**
 * ECS disks of category cloud_essd at the default performance level PL1, in GiB. Alibaba Cloud ECS
 * documentation, "ESSDs", specification table: PL1 capacity range 20~65,536 GiB (PL0 starts lower,
 * PL2/PL3 higher; the program creates cloud_essd without a level, i.e. PL1). ECS CreateInstance
 * and ACK node pools, SystemDisk.Size: a system disk holds at most 2,048 GiB.
 */
export const ESSD_PL1 = { minGb: 20, maxDataGb: 65_536, maxSystemGb: 2_048 } as const;

/**
 * ACK node pools: the project's own floor for a node's system disk. Images, container layers and
 * logs of the platform's pods live there; below 40 GiB kubelet's image garbage collection thrashes.
 */
export const NODE_POOL_MIN_SYSTEM_DISK_GB = 40;

/**
 * Persistent volumes on ACK are ECS disks made by the disk CSI plugin (StorageClass `edp-postgres`
 * is cloud_essd PL1; the default classes are ESSD/SSD/ultra disks): none is smaller than 20 GiB
 * (ACK documentation, "Disk volume overview", capacity range per disk).
 */
export const CSI_DISK_MIN_GB = ESSD_PL1.minGb;

/**
 * Address ranges Alibaba Cloud refuses for a VPC (VPC documentation, "Create and manage a VPC":
 * "You cannot use 100.64.0.0/10, 224.0.0.0/4, 127.0.0.0/8, or 169.254.0.0/16 as the IPv4 CIDR
 * block of the VPC"). 100.64.0.0/10 is also where Alibaba's own services (metadata, OSS internal
 * endpoints, DNS) live, so pod and service CIDRs must stay out of all of them too. 0.0.0.0/8 is
 * "this network" (RFC 1122) and 240.0.0.0/4 reserved (RFC 1112): no cloud routes them.
 */
export const RESERVED_RANGES: readonly { cidr: string; why: string }[] = [
  { cidr: "0.0.0.0/8", why: "'this network' (RFC 1122)" },
  { cidr: "100.64.0.0/10", why: "reserved by Alibaba Cloud for its services (metadata, internal endpoints, DNS)" },
  { cidr: "127.0.0.0/8", why: "loopback" },
  { cidr: "169.254.0.0/16", why: "link-local (instance metadata)" },
  { cidr: "224.0.0.0/4", why: "multicast" },
  { cidr: "240.0.0.0/4", why: "reserved (RFC 1112)" },
];

/** VPC documentation, "Create and manage a VPC": a VPC's mask is 8 to 28 bits. */
export const VPC_PREFIX = { min: 8, max: 28 } as const;
/** VPC documentation, "Create and manage a vSwitch": a vSwitch's mask is 16 to 29 bits. */
export const VSWITCH_PREFIX = { min: 16, max: 29 } as const;

/** ACK documentation, "Plan the network of an ACK cluster" (Flannel): the service CIDR's mask is 16 to 24 bits. */
export const SERVICE_CIDR_PREFIX = { min: 16, max: 24 } as const;
/** The pod CIDR holds at least one node's /24 (NODE_POD_CIDR_PREFIX) and is at most a /8. */
export const POD_CIDR_PREFIX = { min: 8, max: 24 } as const;
/**
 * Flannel on ACK hands each node a /24 of the pod CIDR (ACK's default node CIDR mask), so the pod
 * CIDR must hold one /24 per node the node pools may grow to.
 */
export const NODE_POD_CIDR_PREFIX = 24;

/**
 * Loki refuses retention periods below one day (Loki pkg/validation: "retention period must be
 * >= 24h"); its compactor applies retention per 24h index table.
 */
export const LOKI_MIN_RETENTION_HOURS = 24;

/**
 * The shortest time between two runs of the PostgreSQL backup and restore-drill CronJobs. The
 * jobs' activeDeadlineSeconds is the gap minus 5 minutes and their startingDeadlineSeconds a
 * quarter of it (components/postgres/plan.ts): below 15 minutes a dump cannot finish in time.
 */
export const MIN_BACKUP_INTERVAL_SECONDS = 15 * 60;

/**
 * The device CA Vault generates lives ten years (components/vault/vault.ts), and the PKI mount's
 * max-lease-ttl is 87600h (components/vault/configuration.ts): Vault will not issue a device
 * certificate that outlives its CA (leaf_not_after_behavior "err").
 */
export const DEVICE_CA_VALIDITY_DAYS = 3650;

/**
 * Ports E3's own services listen on (components/e3/render/bundle.ts): Apache serves 80 and 443 on
 * every address; the others listen on loopback, which sshd and the node exporter (bound to all
 * addresses) would collide with.
 */
export const E3_SERVICE_PORTS: readonly { port: number; service: string }[] = [
  { port: 80, service: "Apache (HTTP, ACME challenges)" },
  { port: 443, service: "Apache (HTTPS, mutual TLS)" },
  { port: 4443, service: "notary-server" },
  { port: 5000, service: "docker-registry" },
  { port: 5432, service: "PostgreSQL (Notary's database)" },
  { port: 7899, service: "notary-signer" },
];
/** Port numbers of E3's loopback services, by service (the same as E3_SERVICE_PORTS); bundle.ts builds their listen addresses from these. */
export const E3_PORTS = { registry: 5000, notaryServer: 4443, notarySigner: 7899, postgres: 5432 } as const;

/** Ports below 1024 need root to bind; sshd may, the node exporter runs unprivileged. */
export const PRIVILEGED_PORT_MAX = 1023;

/** Helm: release names are at most 53 characters (helm/helm pkg/action, releaseNameMaxLen). */
export const HELM_RELEASE_NAME_MAX = 53;

/**
 * Helm chart names (helm/helm pkg/chartutil, `helm create`: ^[a-zA-Z0-9._-]+$; Helm's best
 * practices: lower-case letters, digits and dashes). Flux resolves the chart by this name in the
 * repository index or as the last path element of an OCI reference, so it is held to the strict
 * form, and to a DNS label's 63 characters, since Flux also names the HelmChart after it.
 */
export const HELM_CHART_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** OSS bucket names: 3 to 63 characters of [a-z0-9-], starting and ending alphanumeric (OSS "Bucket naming conventions"). */
export const OSS_BUCKET_NAME_MAX = 63;

/** Kubernetes DNS-1123 label (namespaces, Service and cluster names): at most 63 characters. */
export const DNS1123_LABEL_MAX = 63;

/** RFC 1035 domain names: at most 253 characters in text form. */
export const DOMAIN_NAME_MAX = 253;

/** OCI distribution spec: a tag is at most 128 characters of [A-Za-z0-9_.-]. */
export const IMAGE_TAG_MAX = 128;

/** Raft needs a majority of voters; the Vault chart's HA mode is sized 1 to 7 (odd). */
export const VAULT_REPLICAS = { min: 1, max: 7 } as const;

/** CloudNativePG: one primary plus up to four standbys is what the stage's node pools carry. */
export const POSTGRES_INSTANCES = { min: 1, max: 5 } as const;

/**
 * Longest text value this program accepts in a single config string, a guard against pasted
 * files and runaway values in names that reach shell scripts, YAML, HCL and Apache config.
 */
export const MAX_NAME_LENGTH = 253;

/**
 * KubeEdge CloudCore replicas: CloudCore runs active-active behind one address since KubeEdge
 * 1.5 (kubeedge/kubeedge docs, "CloudCore HA"); more than three buys nothing for the stage's
 * fleet sizes.
 */
export const CLOUDCORE_REPLICAS = { min: 1, max: 3 } as const;

/** Kubernetes label values (apimachinery validation, IsValidLabelValue): at most 63 characters. */
export const LABEL_VALUE_MAX = 63;
