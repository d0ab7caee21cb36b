/**
 * VaultBootstrap: a Pulumi dynamic resource that initialises Vault on the first `pulumi up`.
 * It reaches each pod through the Kubernetes API server's pod proxy with the stack's kubeconfig,
 * runs bootstrapVault, and keeps what the init returned (unseal or recovery keys) only as
 * Pulumi secrets in the stack's state. The root token never leaves the provider's memory and
 * is revoked before `create` returns.
 *
 * The bootstrap happens once: later inputs (a rotated kubeconfig, say) change nothing, and
 * deleting the resource leaves Vault alone (its data lives on the StatefulSet's volumes).
 */
import * as pulumi from "@pulumi/pulumi";
import { BundledDynamicResource } from "../shared/dynamic-provider";
import { BOOTSTRAP_KIND, type VaultBootstrapInputs } from "./bootstrap-provider";

export type VaultBootstrapArgs = { [K in keyof Omit<VaultBootstrapInputs, "kind">]: pulumi.Input<VaultBootstrapInputs[K]> };

export class VaultBootstrap extends BundledDynamicResource {
  /** Unseal keys (shamir) or recovery keys (KMS seal), base64; secret. */
  declare readonly keys: pulumi.Output<string[]>;

  constructor(name: string, args: VaultBootstrapArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      { file: require.resolve("./bootstrap-provider"), name: "vaultBootstrapProvider" },
      name,
      { ...args, kind: BOOTSTRAP_KIND, keys: undefined, initialisedAt: undefined, configured: undefined },
      { ...opts, additionalSecretOutputs: ["keys", "kubeconfig", "adoptedKeys"] },
    );
  }
}
