/**
 * Two customer-managed KMS keys, each with an alias: one only for Vault's auto-unseal, one for
 * server-side encryption of the data buckets (PostgreSQL dumps, Vault snapshots). Two keys, not
 * one, because every identity that reads or writes such a bucket needs kms:Decrypt on its key;
 * on a shared key the backup job could also decrypt Vault's sealed root key.
 */
import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import { adoptOptions } from "../shared/adopt";
import { kmsKeyArn } from "../shared/ram-policy";
import type { Scope } from "./scope";

export interface StageKey {
  key: alicloud.kms.Key;
  alias: alicloud.kms.Alias;
  /** ARN built from the region, account and key id, the form RAM policies name. */
  arn: pulumi.Output<string>;
}

export interface StageKeys {
  vaultUnseal: StageKey;
  buckets: StageKey;
}

function stageKey(scope: Scope, id: string, description: string, accountId: pulumi.Output<string>, existingId?: string): StageKey {
  const { name, parent, cfg, tags } = scope;
  const key = new alicloud.kms.Key(
    `${name}-${id}`,
    {
      description,
      keySpec: "Aliyun_AES_256",
      keyUsage: "ENCRYPT/DECRYPT",
      automaticRotation: "Enabled",
      rotationInterval: "365d",
      // Scheduled deletion can be cancelled during the pending window; production gets the longest one.
      pendingWindowInDays: cfg.protect ? 30 : 7,
      deletionProtection: cfg.protect ? "Enabled" : "Disabled",
      deletionProtectionDescription: cfg.protect ? "Production data and Vault's seal depend on this key" : undefined,
      tags,
    },
    // Retained in every stage: the retained buckets' objects are unreadable without their key.
    { parent, protect: cfg.protect, retainOnDelete: true, ...adoptOptions("alicloud:kms/key:Key", existingId) },
  );
  const alias = new alicloud.kms.Alias(`${name}-${id}`, { aliasName: `alias/${cfg.names.prefix}-${id}`, keyId: key.id }, { parent });
  const arn = pulumi.all([accountId, key.id]).apply(([account, keyId]) => kmsKeyArn(cfg.region, account, keyId));
  return { key, alias, arn };
}

export function createKeys(scope: Scope, accountId: pulumi.Output<string>): StageKeys {
  return {
    vaultUnseal: stageKey(scope, "vault-unseal", `Vault auto-unseal, stage ${scope.cfg.stage}`, accountId, scope.cfg.existing.kms?.vaultUnseal),
    buckets: stageKey(scope, "buckets", `OSS server-side encryption, stage ${scope.cfg.stage}`, accountId, scope.cfg.existing.kms?.buckets),
  };
}
