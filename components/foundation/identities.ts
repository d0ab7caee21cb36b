/**
 * RAM users with one custom policy each and one access key. The access key secret is a Pulumi
 * secret from the moment it is read.
 */
import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import type { AccessKeyPair } from "../contracts";
import type { RamPolicyDocument } from "../shared/ram-policy";
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
