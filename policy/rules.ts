/**
 * The platform's rules, as pure functions over one resource (type, name, inputs, protect) and the
 * stage it belongs to. The CrossGuard pack (policy/index.ts) runs them at `pulumi preview
 * --policy-pack`; the tests run them over every stage's synth records; `npm run promote` applies
 * the image-tag rules before it writes a stage file.
 */
import { EDP_SERVICES, type Stage, STAGES } from "../config/stages";

export interface PolicyResource {
  type: string;
  name: string;
  props: Record<string, unknown>;
  protect: boolean;
}

export interface PolicyContext {
  stage: Stage;
  /** The EDP image tags of the stage before this one (none for testing). */
  previousStageTags?: Record<string, string>;
}

export interface Rule {
  name: string;
  description: string;
  check(r: PolicyResource, ctx: PolicyContext): string[];
}

export const MIN_VOLUME_GIB = 20;

/** Resources whose loss loses data: protected in production. */
export const STATEFUL_TYPES = new Set([
  "alicloud:oss/bucket:Bucket",
  "alicloud:kms/key:Key",
  "alicloud:ecs/ecsDisk:EcsDisk",
  "kubernetes:core/v1:PersistentVolumeClaim",
  "kubernetes:postgresql.cnpg.io/v1:Cluster",
]);

const WORKLOAD_KINDS = new Set(["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"]);

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The pod spec of a Kubernetes workload, whatever its kind. */
export function podSpec(props: Obj): Obj | undefined {
  const kind = String(props.kind ?? "");
  if (!WORKLOAD_KINDS.has(kind)) return undefined;
  if (kind === "Pod") return obj(props.spec);
  if (kind === "CronJob") return obj(obj(obj(obj(obj(props.spec).jobTemplate).spec).template).spec);
  return obj(obj(obj(props.spec).template).spec);
}

export function containersOf(props: Obj): Obj[] {
  const spec = podSpec(props);
  if (!spec) return [];
  return [...arr(spec.initContainers), ...arr(spec.containers)].map(obj);
}

/** Splits an image reference into repository and tag (undefined when it has none or a digest only). */
export function imageTag(image: string): { repository: string; tag?: string } {
  const at = image.indexOf("@");
  const ref = at >= 0 ? image.slice(0, at) : image;
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  if (colon > slash) return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repository: ref, tag: at >= 0 ? undefined : "latest" };
}

/** `git describe` output: <tag>-<commits>-g<hash>. */
export const GIT_DESCRIBE = /-\d+-g[0-9a-f]{4,40}$/;
/** A SemVer pre-release (1.2.3-rc.1) that is not a `git describe` tag. */
export const PRE_RELEASE = /^v?\d+\.\d+\.\d+-/;

interface Version {
  core: number[];
  pre: string[];
}
function parseVersion(tag: string): Version | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$/.exec(tag);
  if (!m) return undefined;
  return { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ? m[4].split(".") : [] };
}
/** SemVer precedence; undefined when either is not a version. */
export function compareTags(a: string, b: string): number | undefined {
  const x = parseVersion(a);
  const y = parseVersion(b);
  if (!x || !y) return undefined;
  for (let i = 0; i < 3; i++) if (x.core[i] !== y.core[i]) return x.core[i] - y.core[i];
  if (x.pre.length === 0 || y.pre.length === 0) return y.pre.length - x.pre.length;
  for (let i = 0; i < Math.min(x.pre.length, y.pre.length); i++) {
    const p = x.pre[i];
    const q = y.pre[i];
    if (p === q) continue;
    const pn = /^\d+$/.test(p);
    const qn = /^\d+$/.test(q);
    if (pn && qn) return Number(p) - Number(q);
    if (pn !== qn) return pn ? -1 : 1;
    return p < q ? -1 : 1;
  }
  return x.pre.length - y.pre.length;
}

/**
 * The promotion rule for one EDP service's tag in a stage: no `latest` outside testing; in
 * production no pre-release and no `git describe` tag; and never a newer version than the stage
 * before had (a tag reaches staging and production only through testing). Shared by the pack and
 * by `npm run promote`.
 */
export function tagProblems(service: string, tag: string, stage: Stage, previousTag?: string): string[] {
  const out: string[] = [];
  if (tag === "latest") {
    if (stage !== "testing") out.push(`${service} uses "latest", which only testing may run`);
    return out;
  }
  if (stage === "production" && GIT_DESCRIBE.test(tag)) out.push(`${service}:${tag} is a \`git describe\` build, not a release; production runs releases only`);
  else if (stage === "production" && PRE_RELEASE.test(tag)) out.push(`${service}:${tag} is a pre-release; production runs releases only`);
  if (stage !== "testing" && previousTag !== undefined && previousTag !== tag) {
    const order = compareTags(tag, previousTag);
    const previous = STAGES[STAGES.indexOf(stage) - 1];
    if (order === undefined) out.push(`${service}:${tag} is not the tag ${previous} has (${previousTag}) and cannot be ordered against it: promote it through ${previous} first`);
    else if (order > 0) out.push(`${service}:${tag} is newer than ${previous}'s ${previousTag}: promote it through ${previous} first`);
  }
  return out;
}

const isEdpService = (repository: string) => (EDP_SERVICES as readonly string[]).includes(repository.split("/").pop() ?? "");

export const RULES: Rule[] = [
  {
    name: "production-stateful-protected",
    description: "In production, resources holding data (buckets, KMS keys, disks, PVCs, database clusters) are protected.",
    check: (r, ctx) => (ctx.stage === "production" && STATEFUL_TYPES.has(r.type) && !r.protect ? [`${r.type} ${r.name} holds data and is not protected in production`] : []),
  },
  {
    name: "no-public-oss",
    description: "No OSS bucket or bucket ACL is public.",
    check: (r) => {
      if (r.type !== "alicloud:oss/bucket:Bucket" && r.type !== "alicloud:oss/bucketAcl:BucketAcl") return [];
      const acl = String(r.props.acl ?? "private");
      return acl.startsWith("public") ? [`${r.type} ${r.name} has acl ${acl}; buckets stay private`] : [];
    },
  },
  {
    name: "no-ram-wildcard",
    description: "No RAM policy grants `*` as an action or a resource.",
    check: (r) => {
      if (r.type !== "alicloud:ram/policy:Policy") return [];
      const raw = r.props.policyDocument ?? r.props.document;
      let doc: Obj;
      try {
        doc = typeof raw === "string" ? (JSON.parse(raw) as Obj) : obj(raw);
      } catch {
        return [`${r.type} ${r.name} has a policy document that is not JSON`];
      }
      const out: string[] = [];
      arr(doc.Statement).map(obj).forEach((st, i) => {
        if (st.Effect === "Deny") return;
        const actions = arr(typeof st.Action === "string" ? [st.Action] : st.Action).map(String);
        const resources = arr(typeof st.Resource === "string" ? [st.Resource] : st.Resource).map(String);
        // "*" alone, or "oss:*"-style wildcards over a whole service.
        if (actions.some((a) => a === "*" || a.endsWith(":*"))) out.push(`${r.name} statement ${i} allows action ${actions.join(", ")}`);
        if (resources.some((x) => x === "*")) out.push(`${r.name} statement ${i} applies to resource *`);
      });
      return out;
    },
  },
  {
    name: "image-tags",
    description:
      "No `latest` image outside testing; production runs no pre-release or `git describe` tag; an EDP service's tag in staging or production is never newer than the stage before had.",
    check: (r, ctx) =>
      containersOf(r.props).flatMap((c) => {
        const { repository, tag } = imageTag(String(c.image ?? ""));
        if (tag === undefined) return [];
        if (!isEdpService(repository)) return tag === "latest" && ctx.stage !== "testing" ? [`${r.name}: ${repository} uses "latest", which only testing may run`] : [];
        const service = repository.split("/").pop() ?? repository;
        return tagProblems(service, tag, ctx.stage, ctx.previousStageTags?.[service]).map((p) => `${r.name}: ${p}`);
      }),
  },
  {
    name: "volume-size",
    description: `Volumes (PVCs, ECS disks) are at least ${MIN_VOLUME_GIB} GiB: Alibaba cloud disks are not smaller.`,
    check: (r) => {
      const size = volumeGiB(r);
      return size !== undefined && size < MIN_VOLUME_GIB ? [`${r.type} ${r.name} is ${size} GiB; volumes are at least ${MIN_VOLUME_GIB} GiB`] : [];
    },
  },
  {
    name: "container-limits",
    // A memory limit is what keeps one container from taking a node down; a CPU limit only
    // throttles (the platform's batch jobs leave it out on purpose), so it is not required.
    description: "Every container sets resource limits, at least memory.",
    check: (r) =>
      containersOf(r.props).flatMap((c) => (obj(obj(c.resources).limits).memory === undefined ? [`${r.name}: container ${String(c.name)} has no memory limit`] : [])),
  },
];

const UNITS: Record<string, number> = { Ki: 2 ** -20, Mi: 2 ** -10, Gi: 1, Ti: 2 ** 10, K: 1e3 / 2 ** 30, M: 1e6 / 2 ** 30, G: 1e9 / 2 ** 30, T: 1e12 / 2 ** 30 };

/** A Kubernetes quantity in GiB. */
export function quantityGiB(q: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?$/.exec(q);
  if (!m) return undefined;
  return Number(m[1]) * (m[2] ? UNITS[m[2]] : 2 ** -30);
}

function volumeGiB(r: PolicyResource): number | undefined {
  if (r.type === "kubernetes:core/v1:PersistentVolumeClaim") {
    const q = obj(obj(obj(r.props.spec).resources).requests).storage;
    return typeof q === "string" ? quantityGiB(q) : undefined;
  }
  if (r.type === "alicloud:ecs/ecsDisk:EcsDisk" || r.type === "alicloud:ecs/disk:Disk") return typeof r.props.size === "number" ? r.props.size : undefined;
  return undefined;
}

/** Every violation of every rule for one resource, each prefixed by its rule's name. */
export function violations(r: PolicyResource, ctx: PolicyContext): string[] {
  return RULES.flatMap((rule) => rule.check(r, ctx).map((m) => `${rule.name}: ${m}`));
}
