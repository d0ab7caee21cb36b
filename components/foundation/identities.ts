/**
 * The identities of the central cluster's workloads: RAM users with one custom policy each and
 * one access key (the access key secret is a Pulumi secret from the moment it is read), or RAM
 * roles with one custom policy each that ServiceAccounts assume through RRSA.
 */
import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import type { AccessKeyPair, ServiceAccountRef } from "../contracts";
import type { RamPolicyDocument } from "../shared/ram-policy";
import { RRSA_MAX_SESSION_SECONDS, type RrsaProvider, rrsaTrustPolicy } from "../shared/rrsa";
import { renderPolicy } from "./policies";
import type { Scope } from "./scope";

export interface Identity extends AccessKeyPair {
  user: alicloud.ram.User;
  policy: alicloud.ram.Policy;
}

export function createIdentity(scope: Scope, id: string, description: string, document: pulumi.Output<RamPolicyDocument>): Identity {
  const { name, parent, cfg } = scope;
  const resourceName = `${cfg.names.prefix}-${id}`;
  const user = new alicloud.ram.User(`${name}-${id}`, { name: resourceName, displayName: resourceName, comments: description, force: true }, { parent });
  const policy = new alicloud.ram.Policy(
    `${name}-${id}`,
    { policyName: resourceName, description, policyDocument: document.apply(renderPolicy), force: true },
    { parent },
  );
  new alicloud.ram.UserPolicyAttachment(`${name}-${id}`, { userName: user.name, policyName: policy.policyName, policyType: "Custom" }, { parent });
  const key = new alicloud.ram.AccessKey(`${name}-${id}`, { userName: user.name }, { parent, additionalSecretOutputs: ["secret"] });
  return { user, policy, accessKeyId: key.id, accessKeySecret: pulumi.secret(key.secret) };
}

export interface RoleIdentity {
  role: alicloud.ram.Role;
  policy: alicloud.ram.Policy;
}

/**
 * A RAM role for ServiceAccounts of the central cluster (RRSA): trusted through the cluster's
 * OIDC provider by exactly the given subjects, with the identity's one custom policy and no
 * access key. Sessions last at most RRSA_MAX_SESSION_SECONDS.
 */
export function createRrsaRole(
  scope: Scope,
  id: string,
  description: string,
  document: pulumi.Output<RamPolicyDocument>,
  provider: pulumi.Output<RrsaProvider>,
  serviceAccounts: readonly ServiceAccountRef[],
): RoleIdentity {
  const { name, parent, cfg } = scope;
  const resourceName = `${cfg.names.prefix}-${id}`;
  const role = new alicloud.ram.Role(
    `${name}-${id}`,
    {
      roleName: resourceName,
      description,
      assumeRolePolicyDocument: provider.apply((p) => JSON.stringify(rrsaTrustPolicy(p, serviceAccounts))),
      maxSessionDuration: RRSA_MAX_SESSION_SECONDS,
      force: true,
    },
    { parent },
  );
  const policy = new alicloud.ram.Policy(
    `${name}-${id}`,
    { policyName: resourceName, description, policyDocument: document.apply(renderPolicy), force: true },
    { parent },
  );
  new alicloud.ram.RolePolicyAttachment(`${name}-${id}`, { roleName: role.roleName, policyName: policy.policyName, policyType: "Custom" }, { parent });
  return { role, policy };
}
