/**
 * The E3 endpoint VM (manual §2.5, §4): the single host every edge device talks to. An ECS
 * instance from a Debian 12 image with the EIP the foundation reserved, a protected data disk
 * for registry storage, Git repositories and the package mirror, and its configuration delivered
 * by Alibaba Cloud Assistant (no inbound port; or over SSH, edp:e3.delivery) in commands whose
 * content changes with the hash of every rendered file. Cloud-init
 * only prepares the first boot and the instance ignores later changes to it (and to the image),
 * so changing an E3 setting re-runs the command and never replaces the VM or touches the disk.
 */
import * as alicloud from "@pulumi/alicloud";
import * as remote from "@pulumi/command/remote";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import type { StageConfig } from "../../config";
import type { FoundationOutputs } from "../contracts";
import { e3AlertRules, type PrometheusRuleManifest } from "./render/alerts";
import type { E3HostNames } from "./render/apache";
import { type E3File, filesHash, renderApplyScript } from "./render/apply";
import { E3_LAYOUT, type E3Settings, renderE3Files, renderHostSteps } from "./render/bundle";
import { CLOUD_ASSISTANT_PARTS, cloudAssistantParts } from "./render/delivery";
import { renderCloudInit } from "./render/cloud-init";
import { e3IngressRules } from "./rules";
import type { E3HubExtension } from "../sites/hub";

/** A CA certificate and its private key, PEM. */
export interface CaKeyPair {
  certPem: pulumi.Input<string>;
  keyPem: pulumi.Input<string>;
}

export interface E3Args {
  /** The stage's config: names, network, E3 settings, and whether stateful resources are protected. */
  cfg: Pick<StageConfig, "stage" | "names" | "network" | "e3" | "vault" | "protect">;
  /** The VPC, its vSwitches and the EIP reserved for E3. */
  foundation: Pick<FoundationOutputs, "vpcId" | "vpcCidr" | "vswitchIds" | "e3Eip">;
  /** Device CA chain (PEM) that client certificates must chain to: Vault's pki-devices CA. */
  deviceCaPem: pulumi.Input<string>;
  /** URL of the device CRL (PEM) Vault publishes, reached through the cluster's ingress. */
  crlUrl: pulumi.Input<string>;
  /**
   * The platform CA: it signs E3's bootstrap server certificate, and E3 trusts it for the CRL
   * download and for proxying to the cluster's ingress, whose certificates chain to it.
   */
  serverCa: CaKeyPair;
  /** Namespace of the platform's Prometheus, for the alert rule manifest. */
  monitoringNamespace?: string;
  /** Labels the platform Prometheus's ruleSelector matches, for the alert rule manifest. */
  alertRuleLabels?: Record<string, string>;
  /** The K3s sites' WireGuard hub and edp-access bastion (components/sites), added to E3's files. */
  hub?: pulumi.Input<E3HubExtension | undefined>;
}

/**
 * Every E3 component's host files by component name, for synth to write out. They hold the host's
 * secrets (a secret Output): synth masks each secret value with the marker naming its source, as
 * in every other file it writes, and refuses to write one it finds in the open.
 */
export const E3_RENDERED_FILES = new Map<string, pulumi.Output<E3File[]>>();

/** Public names of E3 (manual §4.2); the foundation creates their DNS records. */
export function e3HostNames(names: StageConfig["names"]): E3HostNames {
  return {
    docker: names.publicHost("edp-docker"),
    git: names.publicHost("edp-git"),
    monitoring: names.publicHost("edp-monitoring"),
    onboarding: names.publicHost("edp-onboarding"),
    packages: names.publicHost("edp-packages"),
    access: names.publicHost("edp-access"),
  };
}

/** Where Vault's device CRL is reached from E3 by default (manual §4.3: vault behind edp-service). */
export function defaultCrlUrl(names: StageConfig["names"]): string {
  return `https://${names.internalHost("edp-service")}/vault/v1/pki-devices/crl/pem`;
}

/** Debian 12 system images of Alibaba Cloud, e.g. debian_12_10_x64_20G_alibase_20250610.vhd. */
export const DEBIAN_12_IMAGE_REGEX = "^debian_12_[0-9]+_x64_20G_alibase_[0-9]+\\.vhd$";

/** "type base64" of an OpenSSH public key line, without any comment. */
export const publicKeyWithoutComment = (line: string) => line.trim().split(/\s+/).slice(0, 2).join(" ");

/**
 * How long E3's bootstrap server certificate lives, and when Pulumi renews it (on the next
 * `pulumi up`). ACME on the host replaces it on the first configuration run and renews that.
 */
const SERVER_CERT_HOURS = 90 * 24;
const SERVER_CERT_RENEW_HOURS = 30 * 24;

/** E3's own files and host steps, with the sites' hub appended when there is one. */
function withHub(b: ReturnType<typeof renderE3Files>, hub: E3HubExtension | undefined) {
  return hub ? { ...b, files: [...b.files, ...hub.files], hostSteps: `${renderHostSteps()}${hub.hostSteps}` } : { ...b, hostSteps: renderHostSteps() };
}

export class E3 extends pulumi.ComponentResource {
  public readonly instanceId: pulumi.Output<string>;
  public readonly publicIp: pulumi.Output<string>;
  public readonly dataDiskId: pulumi.Output<string>;
  public readonly securityGroupId: pulumi.Output<string>;
  /** Public key of the packages user, for the master repository's authorized_keys (manual §4.7.1). */
  public readonly packagesPublicKey: pulumi.Output<string>;
  /** SHA-256 of every rendered configuration file: what the apply command is triggered by. */
  public readonly configHash: pulumi.Output<string>;
  /** Every file the configuration writes on the host (secret: it holds keys and passwords). */
  public readonly files: pulumi.Output<E3File[]>;
  /** PrometheusRule with the CRL alerts, for the platform's Prometheus to load. */
  public readonly alertRule: PrometheusRuleManifest;
  public readonly urls: Record<keyof E3HostNames, string>;

  constructor(name: string, args: E3Args, opts?: pulumi.ComponentResourceOptions) {
    super("edp:e3:E3", name, {}, opts);
    const { cfg, foundation } = args;
    const e3 = cfg.e3;
    const prefix = `${cfg.names.prefix}-e3`;
    const child = { parent: this };
    // The data disk outlives a destroy in every stage (README, "What pulumi destroy will and will not delete").
    const stateful = { parent: this, protect: cfg.protect, retainOnDelete: true };
    const hosts = e3HostNames(cfg.names);
    const zoneId = cfg.network.zones[0]?.zoneId;
    const vswitchId = foundation.vswitchIds[0];
    if (!zoneId || !vswitchId) throw new pulumi.ResourceError("E3 needs the first zone's vSwitch of the foundation", this);

    // Keys: the deploy key logs the apply command in; the packages key is the manual's §4.7.1 key.
    const deployKey = new tls.PrivateKey(`${name}-deploy-key`, { algorithm: "ED25519" }, child);
    const packagesKey = new tls.PrivateKey(`${name}-packages-key`, { algorithm: "ED25519" }, child);

    const serverKey = new tls.PrivateKey(`${name}-server-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, child);
    const serverCsr = new tls.CertRequest(
      `${name}-server-csr`,
      { privateKeyPem: serverKey.privateKeyPem, subject: { commonName: hosts.onboarding, organization: "EDP" }, dnsNames: Object.values(hosts) },
      child,
    );
    const serverCa = { certPem: pulumi.output(args.serverCa.certPem), keyPem: pulumi.output(args.serverCa.keyPem) };
    const serverCert = new tls.LocallySignedCert(
      `${name}-server-cert`,
      {
        certRequestPem: serverCsr.certRequestPem,
        caCertPem: serverCa.certPem,
        caPrivateKeyPem: pulumi.secret(serverCa.keyPem),
        validityPeriodHours: SERVER_CERT_HOURS,
        earlyRenewalHours: SERVER_CERT_RENEW_HOURS,
        allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
      },
      child,
    );

    // Notary's server and signer talk gRPC over mutual TLS; a CA of their own keeps that private.
    const notaryCaKey = new tls.PrivateKey(`${name}-notary-ca-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, child);
    const notaryCa = new tls.SelfSignedCert(
      `${name}-notary-ca`,
      {
        privateKeyPem: notaryCaKey.privateKeyPem,
        subject: { commonName: `${prefix} notary CA` },
        isCaCertificate: true,
        validityPeriodHours: 10 * 365 * 24,
        allowedUses: ["cert_signing", "crl_signing"],
      },
      child,
    );
    const notaryLeaf = (role: "signer" | "server") => {
      const key = new tls.PrivateKey(`${name}-notary-${role}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, child);
      const csr = new tls.CertRequest(
        `${name}-notary-${role}-csr`,
        { privateKeyPem: key.privateKeyPem, subject: { commonName: `notary-${role}` }, dnsNames: [`notary-${role}`], ipAddresses: ["127.0.0.1"] },
        child,
      );
      const cert = new tls.LocallySignedCert(
        `${name}-notary-${role}-cert`,
        {
          certRequestPem: csr.certRequestPem,
          caCertPem: notaryCa.certPem,
          caPrivateKeyPem: notaryCaKey.privateKeyPem,
          validityPeriodHours: 5 * 365 * 24,
          earlyRenewalHours: 180 * 24,
          allowedUses: ["digital_signature", "key_encipherment", role === "signer" ? "server_auth" : "client_auth"],
        },
        child,
      );
      return { key, cert };
    };
    const notarySigner = notaryLeaf("signer");
    const notaryServer = notaryLeaf("server");

    // URL-safe specials only: the passwords end up in PostgreSQL connection URLs.
    const password = (suffix: string) =>
      new random.RandomPassword(`${name}-${suffix}`, { length: 32, special: true, overrideSpecial: "-_.~" }, child);
    const notaryServerDb = password("notary-server-db");
    const notarySignerDb = password("notary-signer-db");
    const notarySignerPassphrase = password("notary-signer-passphrase");
    const registrySecret = password("registry-http-secret");

    const securityGroup = new alicloud.ecs.SecurityGroup(
      `${name}-sg`,
      { securityGroupName: prefix, vpcId: foundation.vpcId, description: "E3 endpoint: HTTPS for devices; SSH and metrics for admins and the VPC" },
      child,
    );
    for (const rule of e3IngressRules({ sshPort: e3.sshPort, nodeExporterPort: e3.nodeExporterPort, adminCidrs: e3.adminCidrs, vpcCidr: foundation.vpcCidr })) {
      new alicloud.ecs.SecurityGroupRule(
        `${name}-in-${rule.key}`,
        {
          securityGroupId: securityGroup.id,
          type: "ingress",
          ipProtocol: "tcp",
          nicType: "intranet",
          policy: "accept",
          portRange: `${rule.port}/${rule.port}`,
          cidrIp: rule.cidr,
          priority: 1,
          description: rule.description,
        },
        child,
      );
    }

    // The instance's identity: no access key is ever stored on the host. No policy is attached
    // yet because nothing on E3 calls an Alibaba API; a future one is granted here, scoped.
    const role = new alicloud.ram.Role(
      `${name}-role`,
      {
        roleName: prefix,
        description: `Instance role of the E3 host (${cfg.stage})`,
        assumeRolePolicyDocument: JSON.stringify({
          Version: "1",
          Statement: [{ Action: "sts:AssumeRole", Effect: "Allow", Principal: { Service: ["ecs.aliyuncs.com"] } }],
        }),
      },
      child,
    );

    const image = alicloud.ecs.getImagesOutput({ nameRegex: DEBIAN_12_IMAGE_REGEX, owners: "system", mostRecent: true, osType: "linux" }, { parent: this });
    const imageId = image.images.apply((images) => {
      const first = images[0];
      if (!first) throw new Error(`no Debian 12 image matches ${DEBIAN_12_IMAGE_REGEX}`);
      return first.id;
    });

    const ssh = e3.delivery === "ssh";
    // The deploy user exists only when the configuration comes over SSH: one way in fewer otherwise.
    const userData = deployKey.publicKeyOpenssh.apply((key) =>
      Buffer.from(
        renderCloudInit({ hostname: `e3-${cfg.stage}`, sshPort: e3.sshPort, deploy: ssh ? { user: E3_LAYOUT.deployUser, publicKey: key } : undefined }),
      ).toString("base64"),
    );
    const instance = new alicloud.ecs.Instance(
      `${name}-vm`,
      {
        instanceName: prefix,
        hostName: `e3-${cfg.stage}`,
        description: "EDP E3 endpoint (Apache mTLS, registry, Notary, packages, Git)",
        imageId,
        instanceType: e3.instanceType,
        availabilityZone: zoneId,
        vswitchId,
        securityGroups: [securityGroup.id],
        systemDiskCategory: "cloud_essd",
        systemDiskSize: e3.systemDiskGb,
        internetMaxBandwidthOut: 0,
        roleName: role.roleName,
        userData,
        deletionProtection: cfg.protect,
        tags: { stage: cfg.stage, component: "e3" },
      },
      // First-boot data only, and a newer image must not rebuild the host: both are ignored later.
      { parent: this, ignoreChanges: ["userData", "imageId"] },
    );

    const dataDisk = new alicloud.ecs.EcsDisk(
      `${name}-data`,
      {
        diskName: `${prefix}-data`,
        description: "E3 data: registry storage, Git repositories, Debian package mirror",
        zoneId,
        category: "cloud_essd",
        size: e3.dataDiskGb,
        encrypted: true,
        deleteWithInstance: false,
        tags: { stage: cfg.stage, component: "e3" },
      },
      stateful,
    );
    const attachment = new alicloud.ecs.EcsDiskAttachment(
      `${name}-data-attachment`,
      { diskId: dataDisk.id, instanceId: instance.id, deleteWithInstance: false },
      child,
    );
    const eip = new alicloud.ecs.EipAssociation(`${name}-eip`, { allocationId: foundation.e3Eip.id, instanceId: instance.id }, child);

    const settings: pulumi.Output<E3Settings> = pulumi
      .all({
        deviceCaPem: args.deviceCaPem,
        crlUrl: args.crlUrl,
        serverCertPem: serverCert.certPem,
        serverCaPem: serverCa.certPem,
        serverKeyPem: serverKey.privateKeyPem,
        dataDiskId: dataDisk.id,
        packagesPrivate: packagesKey.privateKeyOpenssh,
        packagesPublic: packagesKey.publicKeyOpenssh,
        registryHttpSecret: registrySecret.result,
        serverDbPassword: notaryServerDb.result,
        signerDbPassword: notarySignerDb.result,
        signerPassphrase: notarySignerPassphrase.result,
        notaryCaPem: notaryCa.certPem,
        signerCertPem: notarySigner.cert.certPem,
        signerKeyPem: notarySigner.key.privateKeyPem,
        notaryServerCertPem: notaryServer.cert.certPem,
        notaryServerKeyPem: notaryServer.key.privateKeyPem,
      })
      .apply((v) => ({
        stage: cfg.stage,
        hosts,
        serviceUrl: `https://${cfg.names.internalHost("edp-service")}`,
        crlUrl: v.crlUrl,
        deviceCaPem: v.deviceCaPem,
        serverCertPem: `${v.serverCertPem.trim()}\n${v.serverCaPem.trim()}\n`,
        serverKeyPem: v.serverKeyPem,
        platformCaPem: v.serverCaPem,
        acme: { directoryUrl: e3.acme.directoryUrl, email: e3.acme.email },
        sshPort: e3.sshPort,
        nodeExporterPort: e3.nodeExporterPort,
        crlRefreshMinutes: e3.crlRefreshMinutes,
        customCaBundle: e3.customCaBundle,
        dataDiskId: v.dataDiskId,
        packages: { upstream: e3.packagesUpstream, upstreamPort: e3.packagesUpstreamPort, privateKeyOpenssh: v.packagesPrivate, publicKeyOpenssh: v.packagesPublic },
        registryHttpSecret: v.registryHttpSecret,
        notary: {
          serverDbPassword: v.serverDbPassword,
          signerDbPassword: v.signerDbPassword,
          signerPassphrase: v.signerPassphrase,
          caPem: v.notaryCaPem,
          signerCertPem: v.signerCertPem,
          signerKeyPem: v.signerKeyPem,
          serverCertPem: v.notaryServerCertPem,
          serverKeyPem: v.notaryServerKeyPem,
        },
      }));
    const bundle = pulumi.all([settings, args.hub]).apply(([s, hub]) => withHub(renderE3Files(s), hub));
    this.configHash = bundle.apply((b) => filesHash(b.files, b.dirs));
    const script = pulumi.secret(bundle.apply((b) => renderApplyScript(b.files, b.managedDirs, b.hostSteps, b.dirs)));
    this.files = pulumi.secret(bundle.apply((b) => b.files));
    // For synth (same process): the files depend on this component's children, so they cannot be
    // one of its registered inputs without a cycle.
    E3_RENDERED_FILES.set(name, this.files);

    if (ssh) {
      new remote.Command(
        `${name}-apply`,
        {
          connection: {
            host: foundation.e3Eip.ipAddress,
            port: e3.sshPort,
            user: E3_LAYOUT.deployUser,
            // @pulumi/command 4.5 has no dial-retry settings; its own retries cover an sshd that
            // is not up yet, and the script itself waits for cloud-init (renderApplyScript).
            privateKey: pulumi.secret(deployKey.privateKeyOpenssh),
          },
          // The script (with its secrets) travels on stdin: it is never written to the host's disk.
          create: "sudo bash -s",
          stdin: script,
          triggers: [this.configHash],
        },
        { parent: this, dependsOn: [eip, attachment], customTimeouts: { create: "40m", update: "40m" } },
      );
    } else {
      // Cloud Assistant: the parts' content embeds the hash, so a changed file replaces every
      // command and its invocation, and the host applies the new configuration.
      const parts = pulumi.secret(script.apply((s) => cloudAssistantParts(s)));
      let previous: pulumi.Resource[] = [attachment];
      for (let i = 0; i < CLOUD_ASSISTANT_PARTS; i++) {
        const last = i === CLOUD_ASSISTANT_PARTS - 1;
        const command = new alicloud.ecs.Command(
          `${name}-apply-${i + 1}`,
          {
            name: pulumi.interpolate`${prefix}-apply-${this.configHash.apply((h) => h.slice(0, 12))}-${i + 1}`,
            description: `EDP E3 configuration, part ${i + 1} of ${CLOUD_ASSISTANT_PARTS}`,
            type: "RunShellScript",
            commandContent: pulumi.secret(parts.apply((p) => Buffer.from(p[i] ?? "", "utf8").toString("base64"))),
            workingDir: "/root",
            // The last part waits for cloud-init and runs the whole apply on a still-booting VM.
            timeout: last ? 3600 : 120,
          },
          child,
        );
        const invocation = new alicloud.ecs.EcsInvocation(
          `${name}-apply-${i + 1}`,
          { commandId: command.id, instanceIds: [instance.id], repeatMode: "Once", username: "root" },
          { parent: this, dependsOn: previous, customTimeouts: { create: last ? "70m" : "15m" } },
        );
        previous = [invocation];
      }
    }

    this.instanceId = instance.id;
    this.publicIp = foundation.e3Eip.ipAddress;
    this.dataDiskId = dataDisk.id;
    this.securityGroupId = securityGroup.id;
    this.packagesPublicKey = packagesKey.publicKeyOpenssh.apply((k) => `${publicKeyWithoutComment(k)} packages@e3-${cfg.stage}`);
    this.alertRule = e3AlertRules({
      namespace: args.monitoringNamespace ?? "monitoring",
      stage: cfg.stage,
      crlRefreshMinutes: e3.crlRefreshMinutes,
      // Critical once less than a third of a CRL's lifetime is left: time for a human to act.
      crlCriticalHours: Math.max(1, Math.floor(cfg.vault.crlExpiryHours / 3)),
      labels: args.alertRuleLabels,
    });
    this.urls = Object.fromEntries(Object.entries(hosts).map(([k, h]) => [k, `https://${h}`])) as Record<keyof E3HostNames, string>;

    this.registerOutputs({
      instanceId: this.instanceId,
      publicIp: this.publicIp,
      dataDiskId: this.dataDiskId,
      securityGroupId: this.securityGroupId,
      packagesPublicKey: this.packagesPublicKey,
      configHash: this.configHash,
      urls: this.urls,
    });
  }
}
