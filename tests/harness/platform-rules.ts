/**
 * The platform's own rules for Kubernetes objects, as pure functions over manifests (those a chart
 * renders, or the program's own): each returns the violations it finds, one line each.
 */

type Obj = Record<string, unknown>;

interface Container {
  name: string;
  image?: string;
  resources?: { limits?: Record<string, unknown> };
}

const label = (o: Obj) => {
  const m = (o.metadata ?? {}) as { name?: string; namespace?: string };
  return `${String(o.kind)} ${m.namespace ? `${m.namespace}/` : ""}${m.name ?? "<unnamed>"}`;
};

/** The pod template of a workload (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob). */
export function podSpecOf(o: Obj): Obj | undefined {
  const spec = o.spec as Obj | undefined;
  switch (o.kind) {
    case "Pod":
      return spec;
    case "CronJob":
      return ((spec?.jobTemplate as Obj | undefined)?.spec as { template?: { spec?: Obj } } | undefined)?.template?.spec;
    case "Deployment":
    case "StatefulSet":
    case "DaemonSet":
    case "ReplicaSet":
    case "Job":
      return (spec?.template as { spec?: Obj } | undefined)?.spec;
    default:
      return undefined;
  }
}

function containersOf(o: Obj): Container[] {
  const pod = podSpecOf(o) as { containers?: Container[]; initContainers?: Container[] } | undefined;
  return [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])];
}

/** Every container and init container has both a CPU and a memory limit. */
export function missingLimits(o: Obj): string[] {
  return containersOf(o)
    .filter((c) => !c.resources?.limits?.cpu || !c.resources?.limits?.memory)
    .map((c) => `${label(o)}: container ${c.name} has no ${["cpu", "memory"].filter((k) => !c.resources?.limits?.[k]).join(" and ")} limit`);
}

/** Every image names a tag or digest, and the tag is not `latest`. */
export function floatingImages(o: Obj): string[] {
  return containersOf(o)
    .filter((c) => {
      const image = c.image ?? "";
      if (image.includes("@sha256:")) return false;
      const tag = /:([^/:]+)$/.exec(image)?.[1];
      return !tag || tag === "latest";
    })
    .map((c) => `${label(o)}: container ${c.name} runs ${JSON.stringify(c.image)}, not a pinned tag`);
}

const GIB = 1024 ** 3;
const UNITS: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: GIB, Ti: 1024 ** 4, K: 1e3, M: 1e6, G: 1e9, T: 1e12, "": 1 };

/** Bytes of a Kubernetes quantity ("20Gi", "21474836480", "25G"); NaN when unreadable. */
export function quantityBytes(q: unknown): number {
  const m = /^([0-9.]+)(Ki|Mi|Gi|Ti|K|M|G|T|)$/.exec(String(q));
  return m ? Number(m[1]) * UNITS[m[2]] : NaN;
}

/** The smallest disk Alibaba Cloud makes (cloud disks are 20 GiB at least). */
export const MIN_VOLUME_GIB = 20;

/**
 * PVCs, and a StatefulSet's volume claim templates: at least 20 GiB, with a storage class that
 * exists; and a StatefulSet keeps its volumes when it is deleted or scaled down.
 */
export function volumeProblems(o: Obj, storageClasses: ReadonlySet<string>): string[] {
  const claims: { where: string; spec: Obj }[] = [];
  if (o.kind === "PersistentVolumeClaim") claims.push({ where: label(o), spec: (o.spec ?? {}) as Obj });
  if (o.kind === "StatefulSet") {
    for (const t of ((o.spec as Obj | undefined)?.volumeClaimTemplates ?? []) as Obj[]) {
      claims.push({ where: `${label(o)}: volume claim template ${(t.metadata as { name?: string } | undefined)?.name}`, spec: (t.spec ?? {}) as Obj });
    }
  }
  const out: string[] = [];
  const retention = ((o.spec as Obj | undefined)?.persistentVolumeClaimRetentionPolicy ?? {}) as { whenDeleted?: string; whenScaled?: string };
  for (const [when, policy] of Object.entries(retention)) {
    if (policy === "Delete") out.push(`${label(o)}: persistentVolumeClaimRetentionPolicy.${when} is Delete, so its volumes (and their data) go with the StatefulSet`);
  }
  for (const { where, spec } of claims) {
    const size = (spec.resources as { requests?: { storage?: unknown } } | undefined)?.requests?.storage;
    if (!(quantityBytes(size) >= MIN_VOLUME_GIB * GIB)) out.push(`${where}: asks for ${String(size)}, less than the ${MIN_VOLUME_GIB}Gi an Alibaba Cloud disk is at least`);
    const cls = spec.storageClassName;
    if (typeof cls !== "string" || cls === "") out.push(`${where}: names no storage class (the cluster's default is not part of the platform)`);
    else if (!storageClasses.has(cls)) out.push(`${where}: storage class ${cls} does not exist (have ${[...storageClasses].sort().join(", ")})`);
  }
  return out;
}

function selects(selector: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] }, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    if (e.operator === "In" && !(has && (e.values ?? []).includes(labels[e.key]))) return false;
    if (e.operator === "NotIn" && has && (e.values ?? []).includes(labels[e.key])) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

/**
 * PodDisruptionBudgets that stop a node drain: one that allows no disruption at all (maxUnavailable
 * 0), or whose minAvailable is every replica of the workload it covers. A PDB that covers no
 * workload among `objects` is reported too: it protects nothing, or its workload is elsewhere.
 */
export function blockingDisruptionBudgets(objects: Obj[]): string[] {
  const out: string[] = [];
  const workloads = objects.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet");
  for (const pdb of objects.filter((o) => o.kind === "PodDisruptionBudget")) {
    const spec = (pdb.spec ?? {}) as { maxUnavailable?: number | string; minAvailable?: number | string; selector?: Parameters<typeof selects>[0] };
    const ns = (pdb.metadata as { namespace?: string } | undefined)?.namespace;
    const covered = workloads.filter((w) => {
      const wns = (w.metadata as { namespace?: string } | undefined)?.namespace;
      const labels = ((w.spec as { template?: { metadata?: { labels?: Record<string, string> } } }).template?.metadata?.labels ?? {}) as Record<string, string>;
      return (wns ?? ns) === ns && spec.selector !== undefined && selects(spec.selector, labels);
    });
    if (covered.length === 0) {
      out.push(`${label(pdb)}: covers no Deployment or StatefulSet`);
      continue;
    }
    if (spec.maxUnavailable !== undefined && (spec.maxUnavailable === 0 || /^0+%$/.test(String(spec.maxUnavailable)))) {
      out.push(`${label(pdb)}: maxUnavailable ${spec.maxUnavailable} lets no pod of ${covered.map(label).join(", ")} move, so no node can drain`);
      continue;
    }
    if (spec.minAvailable === undefined) continue;
    const replicas = covered.reduce((n, w) => n + Number((w.spec as { replicas?: number }).replicas ?? 1), 0);
    const min = typeof spec.minAvailable === "string" && spec.minAvailable.endsWith("%") ? Math.ceil((replicas * parseInt(spec.minAvailable, 10)) / 100) : Number(spec.minAvailable);
    if (min >= replicas) out.push(`${label(pdb)}: minAvailable ${spec.minAvailable} with ${replicas} replica(s) of ${covered.map(label).join(", ")} lets no pod move, so no node can drain`);
  }
  return out;
}

/**
 * Deployments that mount a ReadWriteOnce claim and roll: the new pod waits for a disk the old pod
 * holds, on another node, and the rollout stalls. They must use the Recreate strategy.
 */
export function rollingOverSingleWriterVolumes(objects: Obj[]): string[] {
  const rwo = new Set(
    objects
      .filter((o) => o.kind === "PersistentVolumeClaim" && (((o.spec as Obj | undefined)?.accessModes ?? []) as string[]).includes("ReadWriteOnce"))
      .map((o) => (o.metadata as { name?: string }).name),
  );
  const out: string[] = [];
  for (const d of objects.filter((o) => o.kind === "Deployment")) {
    const strategy = ((d.spec as Obj | undefined)?.strategy as { type?: string } | undefined)?.type ?? "RollingUpdate";
    if (strategy === "Recreate") continue;
    const volumes = ((podSpecOf(d)?.volumes ?? []) as { persistentVolumeClaim?: { claimName?: string } }[]).map((v) => v.persistentVolumeClaim?.claimName).filter((c) => c && rwo.has(c));
    if (volumes.length > 0) out.push(`${label(d)}: rolls (${strategy}) over the ReadWriteOnce claim ${volumes.join(", ")}; use the Recreate strategy`);
  }
  return out;
}

interface Toleration {
  key?: string;
  operator?: string;
  effect?: string;
}

/** Whether a toleration lets a pod onto a node with KubeEdge's edge role taint (`node-role.kubernetes.io/edge:NoSchedule`). */
export function toleratesEdgeTaint(t: Toleration, edgeRole: string): boolean {
  const effectOk = t.effect === undefined || t.effect === "" || t.effect === "NoSchedule";
  if (!effectOk) return false;
  if (t.operator === "Exists") return t.key === undefined || t.key === "" || t.key === edgeRole;
  return t.key === edgeRole;
}

/**
 * KubeEdge nodes (seed 003) run no kube-proxy, no CNI and no ingress: a central workload that
 * tolerates their taint (DaemonSets that tolerate everything, mostly) must exclude them by node
 * affinity, as the guide's §2.6 does. A workload that requires edge nodes (the chart's MQTT
 * broker) is meant for them and is exempt. `keepsOff` is the project's own check of an affinity.
 */
export function edgePlacementProblems(o: Obj, edgeRole: string, keepsOff: (affinity: never) => boolean): string[] {
  const pod = podSpecOf(o) as { tolerations?: Toleration[]; affinity?: unknown } | undefined;
  if (!pod) return [];
  const terms = ((pod.affinity as { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: { matchExpressions?: { key: string; operator: string }[] }[] } } } | undefined)?.nodeAffinity
    ?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []);
  const meantForEdge = terms.length > 0 && terms.every((t) => (t.matchExpressions ?? []).some((e) => e.key === edgeRole && e.operator === "Exists"));
  if (meantForEdge) return [];
  if (!(pod.tolerations ?? []).some((t) => toleratesEdgeTaint(t, edgeRole))) return [];
  return keepsOff(pod.affinity as never) ? [] : [`${label(o)}: tolerates the KubeEdge edge taint but does not exclude ${edgeRole} nodes by required node affinity`];
}
