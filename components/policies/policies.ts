/**
 * The platform's Kyverno ClusterPolicies as pure data. See README.md in this folder for why each
 * policy has the failure policy it has and which namespaces Kyverno never sees.
 */
import type { Stage } from "../../config";

export interface ClusterPolicyObject {
  apiVersion: "kyverno.io/v1";
  kind: "ClusterPolicy";
  metadata: { name: string; annotations: Record<string, string> };
  spec: {
    failurePolicy: "Fail" | "Ignore";
    background: boolean;
    webhookTimeoutSeconds: number;
    webhookConfiguration?: { matchConditions: { name: string; expression: string }[] };
    rules: Record<string, unknown>[];
  };
}

/**
 * Namespaces the admission webhooks never cover, so that with Kyverno down the cluster can still
 * heal: the control plane's add-ons (kube-system), Kyverno itself, and the lease/public namespaces.
 */
export const RECOVERY_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease", "kyverno"] as const;

export interface PolicyScopes {
  /** Namespaces whose Pods must meet the baseline Pod Security Standard (fail closed). */
  podSecurity: string[];
  /** Namespaces where missing resource limits are refused. */
  limitsEnforced: string[];
  /** Namespaces where missing resource limits are only reported (chart-managed Pods). */
  limitsAudited: string[];
}

const podKinds = ["Pod"];
const inNamespaces = (namespaces: string[]) => ({ any: [{ resources: { kinds: podKinds, namespaces } }] });
const annotations = (title: string, description: string) => ({
  "policies.kyverno.io/title": title,
  "policies.kyverno.io/category": "EDP platform",
  "policies.kyverno.io/subject": "Pod",
  "policies.kyverno.io/description": description,
});

/** A CEL condition the API server evaluates before calling the webhook at all. */
export function namespaceCondition(namespaces: string[]): string {
  return `has(request.namespace) && request.namespace in [${namespaces.map((n) => `'${n}'`).join(", ")}]`;
}

export function baselinePodSecurity(namespaces: string[]): ClusterPolicyObject {
  return {
    apiVersion: "kyverno.io/v1",
    kind: "ClusterPolicy",
    metadata: { name: "baseline-pod-security", annotations: annotations("Baseline Pod Security", "Pods in platform namespaces meet the baseline Pod Security Standard.") },
    spec: {
      // A security control that fails open can be switched off by overloading Kyverno.
      failurePolicy: "Fail",
      background: true,
      webhookTimeoutSeconds: 10,
      // Requests outside these namespaces never reach Kyverno, so an outage cannot block them.
      webhookConfiguration: { matchConditions: [{ name: "platform-namespaces", expression: namespaceCondition(namespaces) }] },
      rules: [
        {
          name: "baseline",
          match: inNamespaces(namespaces),
          validate: { failureAction: "Enforce", podSecurity: { level: "baseline", version: "latest" } },
        },
      ],
    },
  };
}

const limitsPattern = {
  spec: {
    "=(initContainers)": [{ resources: { limits: { cpu: "?*", memory: "?*" } } }],
    containers: [{ resources: { limits: { cpu: "?*", memory: "?*" } } }],
  },
};

export function requireResourceLimits(enforced: string[], audited: string[]): ClusterPolicyObject {
  const rule = (name: string, namespaces: string[], failureAction: "Enforce" | "Audit") => ({
    name,
    match: inNamespaces(namespaces),
    validate: { failureAction, message: "Every container needs CPU and memory limits.", pattern: limitsPattern },
  });
  const rules = [rule("enforce-limits", enforced, "Enforce")];
  if (audited.length > 0) rules.push(rule("audit-limits", audited, "Audit"));
  return {
    apiVersion: "kyverno.io/v1",
    kind: "ClusterPolicy",
    metadata: { name: "require-resource-limits", annotations: annotations("Require resource limits", "Containers declare CPU and memory limits.") },
    spec: { failurePolicy: "Ignore", background: true, webhookTimeoutSeconds: 10, rules },
  };
}

export function disallowLatestTag(): ClusterPolicyObject {
  const images = (pattern: string, message: string, name: string) => ({
    name,
    match: { any: [{ resources: { kinds: podKinds } }] },
    exclude: { any: [{ resources: { namespaces: [...RECOVERY_NAMESPACES] } }] },
    validate: {
      failureAction: "Enforce",
      message,
      pattern: { spec: { "=(initContainers)": [{ image: pattern }], containers: [{ image: pattern }] } },
    },
  });
  return {
    apiVersion: "kyverno.io/v1",
    kind: "ClusterPolicy",
    metadata: { name: "disallow-latest-tag", annotations: annotations("Disallow latest tag", "Released stages run pinned images, never :latest or an untagged image.") },
    spec: {
      failurePolicy: "Ignore",
      background: true,
      webhookTimeoutSeconds: 10,
      rules: [images("*:*", "An image tag is required.", "require-image-tag"), images("!*:latest", "The tag latest is not allowed in this stage.", "forbid-latest")],
    },
  };
}

/** The policies of a stage: latest is tolerated only in testing (manual §3.6: development images there). */
export function platformPolicies(stage: Stage, scopes: PolicyScopes): ClusterPolicyObject[] {
  const out = [baselinePodSecurity(scopes.podSecurity), requireResourceLimits(scopes.limitsEnforced, scopes.limitsAudited)];
  if (stage !== "testing") out.push(disallowLatestTag());
  return out;
}
