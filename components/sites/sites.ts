/**
 * K3s edge sites (seed 004): the WireGuard hub's keys and files for E3, each device's enrolment
 * script, the sites' K3s join tokens, and the device registry (stack output and an object in
 * OSS). Wiring only: everything is rendered by the pure modules next to this file.
 */
import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { StageConfig } from "../../config";
import type { KubeObject } from "../edge/templates";
import { toMultiDocYaml } from "../edge/manifests";
import { enrolCommand, renderEnrolmentScript } from "./enrol-script";
import { type E3HubExtension, renderHubExtension } from "./hub";
import { calicoGlobalPolicies, fluxHelmChart } from "./k3s-manifests";
import { planSites, type PlannedDevice, reachableAddresses, type SitesPlan } from "./plan";
import { renderReconcileScript, renderReconcileUnits, siteDevicesConfigMap } from "./reconcile";
import { type DeviceRegistry, nextRegistry, parsePreviousRegistry, type RegistryDevice, taintState } from "./registry";
import { renderDeviceConfig, wireGuardPublicKey } from "./wireguard";

type SitesConfig = Pick<StageConfig, "stage" | "sites" | "siteHub">;

/** OSS key of the registry in the manifests bucket (no edge identity can read it: theirs is <stage>/clusters/<name>/). */
export const registryKey = (stage: string) => `${stage}/sites/registry.json`;

/** A site as the edge fleet sees it: a cluster bootstrapped by script (by its server's enrolment), its devices as hosts. */
export function siteEdgeClusters(cfg: SitesConfig): StageConfig["edgeClusters"] {
  return cfg.sites.map((s) => ({ name: s.name, bootstrap: "script" as const, hosts: s.devices.map((d) => d.name), sealedSecretsKeyVersion: 1, syncInterval: "5m", specialisedHosts: {}, sealedSecrets: [] }));
}

/** What each site's desired state carries besides its deployments: the device list its server applies. */
export function siteDesiredState(cfg: SitesConfig): Record<string, KubeObject[]> {
  const plan = planSites(cfg.stage, cfg.sites, cfg.siteHub);
  return Object.fromEntries(plan.sites.map((s) => [s.name, [siteDevicesConfigMap(s)]]));
}

export interface SitesArgs {
  /** The stage's sites and hub settings. */
  config: SitesConfig & { names: Pick<StageConfig["names"], "prefix"> };
  /** E3's public address: the devices' WireGuard endpoint. */
  hubAddress: pulumi.Input<string>;
  /** The manifests bucket, where the registry is written. */
  manifestsBucket: pulumi.Input<string>;
  /** Each site's desired-state bootstrap script (EdgeClusters.bootstrapScripts), run by its server's enrolment. */
  siteBootstrapScripts: pulumi.Input<Record<string, string>>;
  /** The registry this stack last deployed (its own `siteRegistry` output), to record removals. */
  previousRegistry?: pulumi.Input<unknown>;
}

export class Sites extends pulumi.ComponentResource {
  /** The hub's files and host steps for E3 (secret: the hub's private key is in them); undefined without sites. */
  public readonly hub: pulumi.Output<E3HubExtension | undefined>;
  public readonly hubPublicKey: pulumi.Output<string | undefined>;
  /** Enrolment script per `<site>/<device>`; secret. */
  public readonly enrolmentScripts: pulumi.Output<Record<string, string>>;
  /** The command that enrols each device. Not secret. */
  public readonly enrolmentCommands: Record<string, string>;
  /** The device registry (also in OSS at registryKey(stage)). */
  public readonly registry: pulumi.Output<DeviceRegistry>;
  private readonly listenPort: number;
  private readonly sourceCidrs: string[];
  private readonly plan: SitesPlan;
  private readonly name: string;

  constructor(name: string, args: SitesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("edp:sites:Sites", name, {}, opts);
    const cfg = args.config;
    const child = { parent: this };
    const plan = planSites(cfg.stage, cfg.sites, cfg.siteHub);
    this.plan = plan;
    this.name = name;
    this.listenPort = cfg.siteHub.listenPort;
    this.sourceCidrs = cfg.siteHub.deviceSourceCidrs;

    if (plan.devices.length === 0) {
      this.hub = pulumi.output(undefined);
      this.hubPublicKey = pulumi.output(undefined);
      this.enrolmentScripts = pulumi.secret(pulumi.output({} as Record<string, string>));
      this.enrolmentCommands = {};
      this.registry = pulumi.output(nextRegistry(cfg.stage, [], undefined, new Date(0)));
      this.registerOutputs({});
      return;
    }

    // WireGuard private keys are 32 random bytes (wg genkey does the same; X25519 clamps on use).
    const hubKey = new random.RandomBytes(`${name}-hub-key`, { length: 32 }, child).base64;
    const hubPublicKey = hubKey.apply(wireGuardPublicKey);
    const generated: Record<string, pulumi.Output<string>> = {};
    for (const d of plan.devices.filter((x) => x.keySource === "generated")) {
      generated[d.id] = new random.RandomBytes(`${name}-${d.site}-${d.name}-key`, { length: 32 }, child).base64;
    }
    const publicKeys: pulumi.Output<Record<string, string>> = pulumi
      .all(Object.fromEntries(plan.devices.map((d) => [d.id, d.publicKey !== undefined ? pulumi.output(d.publicKey) : generated[d.id].apply(wireGuardPublicKey)])))
      .apply((keys) => keys as Record<string, string>);
    // Not secret: a public key is public, and the registry lists them.
    const publicKeysPlain = pulumi.unsecret(publicKeys);

    const tokens = Object.fromEntries(
      plan.sites.map((s) => [s.name, new random.RandomPassword(`${name}-${s.name}-k3s-token`, { length: 48, special: false }, child).result]),
    );

    this.hub = pulumi.secret(
      pulumi.all([hubKey, publicKeysPlain]).apply(([hubPrivateKey, keys]) =>
        renderHubExtension({ plan, hubPrivateKey, listenPort: cfg.siteHub.listenPort, publicKeys: keys, operators: cfg.siteHub.operators }),
      ),
    );
    this.hubPublicKey = hubPublicKey;

    const scripts: Record<string, pulumi.Output<string>> = {};
    for (const site of plan.sites) {
      const siteCfg = cfg.sites.find((s) => s.name === site.name);
      const joinsOverTunnel = siteCfg?.serverLanAddress === undefined;
      for (const d of site.devices) {
        scripts[d.id] = pulumi
          .all([hubPublicKey, args.hubAddress, publicKeysPlain, tokens[site.name], generated[d.id] ?? pulumi.output(undefined), pulumi.output(args.siteBootstrapScripts)])
          .apply(([hubPub, hubIp, keys, token, privateKey, bootstraps]) =>
            this.script(cfg.stage, site.name, d, { hubPub, hubEndpoint: `${hubIp}:${cfg.siteHub.listenPort}`, publicKey: keys[d.id], token, privateKey, bootstrap: bootstraps[site.name], joinsOverTunnel }),
          );
      }
    }
    this.enrolmentScripts = pulumi.secret(pulumi.all(scripts)) as pulumi.Output<Record<string, string>>;
    this.enrolmentCommands = Object.fromEntries(plan.devices.map((d) => [d.id, enrolCommand(cfg.stage, d.site, d.name)]));

    this.registry = pulumi.all([publicKeysPlain, pulumi.output(args.previousRegistry)]).apply(([keys, previous]) => {
      const devices = plan.sites.flatMap((s) =>
        s.devices.map(
          (d): RegistryDevice => ({
            site: d.site,
            name: d.name,
            uuid: d.uuid,
            role: d.role,
            tunnelAddress: d.address,
            publicKey: keys[d.id],
            keySource: d.keySource,
            taint: taintState(s, d),
            maintenance: d.maintenance,
            labels: d.labels,
          }),
        ),
      );
      return nextRegistry(cfg.stage, devices, parsePreviousRegistry(previous), new Date());
    });
    new alicloud.oss.BucketObject(
      `${name}-registry`,
      { bucket: args.manifestsBucket, key: registryKey(cfg.stage), content: this.registry.apply((r) => `${JSON.stringify(r, null, 2)}\n`), contentType: "application/json" },
      child,
    );

    // Only a small fact goes into the component's state: the scripts and the registry grow with the
    // devices and are stack outputs already (tests/unit/program.test.ts holds the rule).
    this.registerOutputs({ hubPublicKey: this.hubPublicKey });
  }

  private script(
    stage: string,
    siteName: string,
    d: PlannedDevice,
    v: { hubPub: string; hubEndpoint: string; publicKey: string; token: string; privateKey?: string; bootstrap?: string; joinsOverTunnel: boolean },
  ): string {
    const site = this.plan.sites.find((s) => s.name === siteName);
    if (!site) throw new Error(`no site ${siteName}`);
    const isServer = d.role === "server";
    if (isServer && !v.bootstrap) throw new pulumi.ResourceError(`site ${siteName} has no desired-state bootstrap script (is it missing from the edge fleet?)`, this);
    const units = renderReconcileUnits();
    return renderEnrolmentScript({
      stage,
      site,
      joinsOverTunnel: v.joinsOverTunnel,
      device: d,
      token: v.token,
      publicKey: v.publicKey,
      generatedPrivateKey: v.privateKey,
      wireGuardConfig: renderDeviceConfig({
        id: d.id,
        address: d.address,
        hubPublicKey: v.hubPub,
        hubEndpoint: v.hubEndpoint,
        hubAddress: this.plan.hubAddress,
        siteAddresses: reachableAddresses(this.plan, d),
      }),
      ...(isServer
        ? {
            serverManifests: { "edp-global-policies.yaml": toMultiDocYaml(calicoGlobalPolicies()), "edp-flux.yaml": toMultiDocYaml([fluxHelmChart()]) },
            siteBootstrapScript: v.bootstrap,
            reconcile: { script: renderReconcileScript(siteName), ...units },
          }
        : {}),
    });
  }

  /** Opens the hub's UDP port on E3's security group to the configured device sources (only when there are sites). */
  openHubPort(securityGroupId: pulumi.Input<string>): void {
    if (this.plan.devices.length === 0) return;
    this.sourceCidrs.forEach((cidr, i) => {
      new alicloud.ecs.SecurityGroupRule(
        `${this.name}-hub-in-${i}`,
        {
          securityGroupId,
          type: "ingress",
          ipProtocol: "udp",
          nicType: "intranet",
          policy: "accept",
          portRange: `${this.listenPort}/${this.listenPort}`,
          cidrIp: cidr,
          priority: 1,
          description: `WireGuard hub of the K3s sites, from ${cidr}`,
        },
        { parent: this },
      );
    });
  }

}
