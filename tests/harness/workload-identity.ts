/**
 * Which RAM identity each pod of a stage's program uses to reach the cloud, read from what the
 * program registers: an access key by a Secret reference in a container's environment (traced
 * through the Secret to the AccessKey resource and its user), or an RRSA role by the
 * sts-exchange init container's ALIBABA_CLOUD_ROLE_ARN (traced to the Role resource).
 */
import { RESOURCE_OUTPUTS, mockId } from "../../scripts/lib/mock-outputs";
import type { StageRun } from "./stage";

export const RAM = {
  user: "alicloud:ram/user:User",
  accessKey: "alicloud:ram/accessKey:AccessKey",
  role: "alicloud:ram/role:Role",
  roleAttach: "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment",
  userAttach: "alicloud:ram/userPolicyAttachment:UserPolicyAttachment",
  policy: "alicloud:ram/policy:Policy",
} as const;

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
export interface Container {
  name: string;
  image?: string;
  command?: string[];
  env?: EnvVar[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
export interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  initContainers?: Container[];
  containers: Container[];
  volumes?: Record<string, unknown>[];
}

export interface Pod {
  /** "<kind> <namespace>/<name>" of the workload. */
  workload: string;
  namespace: string;
  name: string;
  spec: PodSpec;
}

const WORKLOADS: Record<string, (spec: Record<string, unknown>) => PodSpec | undefined> = {
  "kubernetes:batch/v1:CronJob": (s) => (s.jobTemplate as { spec?: { template?: { spec?: PodSpec } } } | undefined)?.spec?.template?.spec,
  "kubernetes:batch/v1:Job": (s) => (s.template as { spec?: PodSpec } | undefined)?.spec,
  "kubernetes:apps/v1:Deployment": (s) => (s.template as { spec?: PodSpec } | undefined)?.spec,
  "kubernetes:apps/v1:StatefulSet": (s) => (s.template as { spec?: PodSpec } | undefined)?.spec,
  "kubernetes:apps/v1:DaemonSet": (s) => (s.template as { spec?: PodSpec } | undefined)?.spec,
};

/** Every pod template the program registers as a typed workload. */
export function podsOf(run: StageRun): Pod[] {
  const out: Pod[] = [];
  for (const [type, specOf] of Object.entries(WORKLOADS)) {
    for (const r of run.ofType(type)) {
      const meta = (r.inputs.metadata ?? {}) as { name?: string; namespace?: string };
      const spec = specOf((r.inputs.spec ?? {}) as Record<string, unknown>);
      if (!spec) continue;
      const name = meta.name ?? r.name;
      const namespace = meta.namespace ?? "default";
      out.push({ workload: `${type.split(":").pop()} ${namespace}/${name}`, namespace, name, spec });
    }
  }
  return out;
}

/** The mock ARN of a registered Role, as the mock cloud answers it. */
export function roleArnOf(run: StageRun, resourceName: string): string {
  const role = run.get(RAM.role, resourceName);
  return String(RESOURCE_OUTPUTS[RAM.role](role.name, role.inputs).arn);
}

export type PodIdentity = { kind: "accessKey"; user: string } | { kind: "rrsa"; roleName: string; container: Container };

/** The identities a pod uses: keys through Secrets in its containers' env, roles through its exchange step. */
export function identitiesOf(run: StageRun, pod: Pod): PodIdentity[] {
  const secrets = new Map(
    run
      .ofType("kubernetes:core/v1:Secret")
      .map((s) => [`${(s.inputs.metadata as { namespace?: string }).namespace}/${(s.inputs.metadata as { name?: string }).name}`, (s.inputs.stringData ?? {}) as Record<string, string>]),
  );
  const userOfKeyId = new Map(run.ofType(RAM.accessKey).map((k) => [mockId(k.type, k.name), String(k.inputs.userName)]));
  const roleOfArn = new Map(run.ofType(RAM.role).map((r) => [roleArnOf(run, r.name), String(r.inputs.roleName)]));
  const out: PodIdentity[] = [];
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref && /ACCESS_KEY_ID$/.test(e.name)) {
        const keyId = secrets.get(`${pod.namespace}/${ref.name}`)?.[ref.key];
        const user = keyId === undefined ? undefined : userOfKeyId.get(keyId);
        if (user) out.push({ kind: "accessKey", user });
      }
      if (e.name === "ALIBABA_CLOUD_ROLE_ARN" && e.value) {
        const roleName = roleOfArn.get(e.value);
        if (!roleName) throw new Error(`${pod.workload}: ${c.name} names role ${e.value}, which the program does not create`);
        out.push({ kind: "rrsa", roleName, container: c });
      }
    }
  }
  return out;
}
