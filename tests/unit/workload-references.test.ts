/**
 * What workloads refer to must exist where Kubernetes looks for it, in every stage's whole
 * program: a Pod whose Secret or ConfigMap is missing in its namespace never starts, and a Vault
 * role bound to a ServiceAccount nobody runs as (or whose token is not mounted) lets no one in.
 */
import assert from "node:assert/strict";
import { STAGES } from "../../config";
import { runStage, type StageRun } from "../harness/stage";

type Obj = Record<string, unknown>;
interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  containers?: Container[];
  initContainers?: Container[];
  volumes?: {
    name: string;
    secret?: { secretName?: string };
    configMap?: { name?: string };
    projected?: { sources?: { secret?: { name?: string }; configMap?: { name?: string }; serviceAccountToken?: { audience?: string; path: string } }[] };
  }[];
  imagePullSecrets?: { name: string }[];
}
interface Container {
  name: string;
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: { name: string; key: string; optional?: boolean } } }[];
  envFrom?: { secretRef?: { name: string; optional?: boolean }; configMapRef?: { name: string; optional?: boolean } }[];
  volumeMounts?: { name: string; mountPath: string }[];
}

export interface Workload {
  kind: string;
  name: string;
  namespace: string;
  pod: PodSpec;
}

export function workloads(run: StageRun): Workload[] {
  const out: Workload[] = [];
  for (const { manifest } of run.kubernetesObjects()) {
    const meta = manifest.metadata as { name?: string; namespace?: string };
    const spec = manifest.spec as Obj | undefined;
    let pod: PodSpec | undefined;
    if (manifest.kind === "CronJob") pod = (spec?.jobTemplate as { spec?: { template?: { spec?: PodSpec } } })?.spec?.template?.spec;
    else if (["Deployment", "StatefulSet", "DaemonSet", "Job"].includes(String(manifest.kind))) pod = (spec?.template as { spec?: PodSpec })?.spec;
    if (pod) out.push({ kind: String(manifest.kind), name: String(meta.name), namespace: String(meta.namespace), pod });
  }
  return out;
}

/** Objects of a kind the program creates, as namespace/name → their keys. */
function objectsOf(run: StageRun, kind: "Secret" | "ConfigMap" | "ServiceAccount"): Map<string, { keys: Set<string>; manifest: Obj }> {
  const map = new Map<string, { keys: Set<string>; manifest: Obj }>();
  for (const { manifest } of run.kubernetesObjects()) {
    if (manifest.kind !== kind) continue;
    const meta = manifest.metadata as { name: string; namespace: string };
    const keys = new Set([...Object.keys((manifest.data ?? {}) as Obj), ...Object.keys((manifest.stringData ?? {}) as Obj)]);
    map.set(`${meta.namespace}/${meta.name}`, { keys, manifest });
  }
  return map;
}

/** The Kubernetes auth roles Vault is configured with: by the bootstrap (root token) and by the configuration job. */
export function vaultRoles(run: StageRun): { role: string; serviceAccount: string; namespace: string }[] {
  const roles: { role: string; serviceAccount: string; namespace: string }[] = [];
  const bootstrap = run.resources.find((r) => r.type === "pulumi-nodejs:dynamic:Resource" && r.inputs.kind === "edp:vault:bootstrap");
  assert.ok(bootstrap, "no Vault bootstrap");
  for (const call of bootstrap.inputs.plan as { path: string; body: { bound_service_account_names?: string[]; bound_service_account_namespaces?: string[] } }[]) {
    const m = /\/auth\/[^/]+\/role\/([^/]+)$/.exec(call.path);
    if (!m) continue;
    for (const sa of call.body.bound_service_account_names ?? []) for (const ns of call.body.bound_service_account_namespaces ?? []) roles.push({ role: m[1], serviceAccount: sa, namespace: ns });
  }
  const configure = run.kubernetesObjects().find(({ manifest }) => manifest.kind === "ConfigMap" && (manifest.metadata as { name: string }).name === "vault-configure");
  assert.ok(configure, "no vault-configure ConfigMap");
  const script = String((configure.manifest.data as Obj)["configure.sh"]);
  const re = /vault write '[^']*\/role\/([^']+)' \\\n\s+bound_service_account_names='([^']+)' bound_service_account_namespaces='([^']+)'/g;
  for (const m of script.matchAll(re)) roles.push({ role: m[1], serviceAccount: m[2], namespace: m[3] });
  return roles;
}

describe("workload references in every stage", function () {
  this.timeout(300_000);

  for (const stage of STAGES) {
    describe(stage, () => {
      it("finds every Secret and ConfigMap a workload references in the workload's namespace, with the keys it reads", async () => {
        const run = await runStage(stage);
        assert.equal(run.error, undefined, run.error);
        const secrets = objectsOf(run, "Secret");
        // Secrets an operator creates for an object of the program: CloudNativePG makes the
        // cluster's CA, server and replication certificates as <cluster>-ca, -server, -replication.
        for (const { manifest } of run.kubernetesObjects()) {
          if (manifest.kind !== "Cluster" || !String(manifest.apiVersion).startsWith("postgresql.cnpg.io/")) continue;
          const m = manifest.metadata as { name: string; namespace: string };
          for (const suffix of ["ca", "server", "replication"]) secrets.set(`${m.namespace}/${m.name}-${suffix}`, { keys: new Set(["ca.crt", "tls.crt", "tls.key"]), manifest: {} });
        }
        const configMaps = objectsOf(run, "ConfigMap");
        const missing: string[] = [];
        const need = (store: Map<string, { keys: Set<string> }>, what: string, w: Workload, name: string | undefined, key?: string, optional?: boolean) => {
          if (name === undefined || optional) return;
          const found = store.get(`${w.namespace}/${name}`);
          if (!found) missing.push(`${w.kind} ${w.namespace}/${w.name}: ${what} ${name} does not exist in ${w.namespace}`);
          else if (key !== undefined && !found.keys.has(key)) missing.push(`${w.kind} ${w.namespace}/${w.name}: ${what} ${name} has no key ${key}`);
        };
        const all = workloads(run);
        assert.ok(all.length >= 15, `only ${all.length} workloads`);
        // Kubernetes' root-CA publisher puts kube-root-ca.crt (key ca.crt) into every namespace.
        for (const w of all) configMaps.set(`${w.namespace}/kube-root-ca.crt`, { keys: new Set(["ca.crt"]), manifest: {} });
        for (const w of all) {
          for (const c of [...(w.pod.containers ?? []), ...(w.pod.initContainers ?? [])]) {
            for (const e of c.env ?? []) {
              const s = e.valueFrom?.secretKeyRef;
              if (s) need(secrets, "Secret", w, s.name, s.key, s.optional);
              const m = e.valueFrom?.configMapKeyRef;
              if (m) need(configMaps, "ConfigMap", w, m.name, m.key, m.optional);
            }
            for (const f of c.envFrom ?? []) {
              if (f.secretRef) need(secrets, "Secret", w, f.secretRef.name, undefined, f.secretRef.optional);
              if (f.configMapRef) need(configMaps, "ConfigMap", w, f.configMapRef.name, undefined, f.configMapRef.optional);
            }
          }
          for (const v of w.pod.volumes ?? []) {
            need(secrets, "Secret", w, v.secret?.secretName);
            need(configMaps, "ConfigMap", w, v.configMap?.name);
            for (const src of v.projected?.sources ?? []) {
              need(secrets, "Secret", w, src.secret?.name);
              need(configMaps, "ConfigMap", w, src.configMap?.name);
            }
          }
          for (const p of w.pod.imagePullSecrets ?? []) need(secrets, "Secret", w, p.name);
        }
        assert.deepEqual(missing, []);
      });

      it("gives every EDP service with a database its connection, as Spring reads it, from a Secret in its own namespace", async () => {
        const run = await runStage(stage);
        const secrets = objectsOf(run, "Secret");
        const databases = (run.output("postgresDatabases").value as string[]).filter((d) => !["keycloak", "vault"].includes(d));
        assert.ok(databases.length >= 5, databases.join(","));
        for (const db of databases) {
          const w = workloads(run).find((x) => x.kind === "Deployment" && x.name === db);
          assert.ok(w, `no Deployment ${db}`);
          const refs = (w.pod.containers ?? []).flatMap((c) => (c.envFrom ?? []).map((f) => f.secretRef?.name));
          const secret = refs.map((n) => secrets.get(`${w.namespace}/${n}`)).find((s) => s?.keys.has("SPRING_DATASOURCE_URL"));
          assert.ok(secret, `${db} gets no SPRING_DATASOURCE_URL`);
          const data = secret.manifest.stringData as Record<string, string>;
          assert.equal(data.SPRING_DATASOURCE_URL, `jdbc:postgresql://postgres-rw.postgres.svc:5432/${db}`);
          assert.equal(data.SPRING_DATASOURCE_USERNAME, db);
          assert.ok(data.SPRING_DATASOURCE_PASSWORD.length >= 16);
          const rec = run.resources.find((r) => r.type === "kubernetes:core/v1:Secret" && (r.inputs.metadata as { name: string }).name === `${db}-database`);
          assert.ok(rec?.secretPaths.some((p) => p.startsWith("stringData")), `${db}-database is not a Pulumi secret`);
        }
      });

      it("binds every Vault role to a ServiceAccount that exists and that a workload runs as, with its token mounted", async () => {
        const run = await runStage(stage);
        const accounts = objectsOf(run, "ServiceAccount");
        const roles = vaultRoles(run);
        assert.deepEqual([...new Set(roles.map((r) => r.role))].sort(), ["edp-configurer", "edp-onboarding", "edp-snapshot"]);
        for (const r of roles) {
          const sa = accounts.get(`${r.namespace}/${r.serviceAccount}`);
          assert.ok(sa, `Vault role ${r.role}: ServiceAccount ${r.namespace}/${r.serviceAccount} does not exist`);
          const users = workloads(run).filter((w) => w.namespace === r.namespace && w.pod.serviceAccountName === r.serviceAccount);
          assert.ok(users.length > 0, `Vault role ${r.role}: no workload runs as ${r.namespace}/${r.serviceAccount}`);
          for (const w of users) {
            const automounted: boolean = w.pod.automountServiceAccountToken ?? (sa.manifest.automountServiceAccountToken as boolean | undefined) ?? true;
            // Or an API-audience token projected where the Vault login reads it, into the containers that log in.
            const apiTokens = new Set(
              (w.pod.volumes ?? []).filter((v) => v.projected?.sources?.some((src) => src.serviceAccountToken && !src.serviceAccountToken.audience && src.serviceAccountToken.path === "token")).map((v) => v.name),
            );
            const projected = [...(w.pod.initContainers ?? []), ...(w.pod.containers ?? [])].some((c) =>
              (c.volumeMounts ?? []).some((m) => apiTokens.has(m.name) && m.mountPath === "/var/run/secrets/kubernetes.io/serviceaccount"),
            );
            assert.ok(automounted || projected, `${w.kind} ${w.namespace}/${w.name} runs as ${r.serviceAccount} without its token`);
          }
        }
      });
    });
  }
});
