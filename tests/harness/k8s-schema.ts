/**
 * Validates Kubernetes objects against their OpenAPI schemas: core kinds from kubernetes-models,
 * CRDs from the @kubernetes-models packages of the controllers we install. The packages are
 * ES modules, hence the dynamic import.
 */

/** Package that holds the models of an API group, for CRD groups; core groups come from kubernetes-models. */
const CRD_PACKAGES: Record<string, string> = {
  "cert-manager.io": "@kubernetes-models/cert-manager",
  "acme.cert-manager.io": "@kubernetes-models/cert-manager",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
  "kyverno.io": "@kubernetes-models/kyverno",
  "wgpolicyk8s.io": "@kubernetes-models/kyverno",
  "bitnami.com": "@kubernetes-models/sealed-secrets",
  "source.toolkit.fluxcd.io": "@kubernetes-models/flux-cd",
  "kustomize.toolkit.fluxcd.io": "@kubernetes-models/flux-cd",
  "helm.toolkit.fluxcd.io": "@kubernetes-models/flux-cd",
  "notification.toolkit.fluxcd.io": "@kubernetes-models/flux-cd",
  "image.toolkit.fluxcd.io": "@kubernetes-models/flux-cd",
};

type Model = new (data: unknown) => { validate(): void };

/** The model class for an apiVersion and kind, or an error saying why there is none. */
export async function modelFor(apiVersion: string, kind: string): Promise<Model> {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const pkg = group === "" ? "kubernetes-models" : (CRD_PACKAGES[group] ?? "kubernetes-models");
  const modulePath = group === "" ? `${pkg}/${version}` : `${pkg}/${group}/${version}`;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(modulePath)) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`no schema package for ${apiVersion} (looked for ${modulePath})`, { cause: e });
  }
  const model = mod[kind];
  if (typeof model !== "function") throw new Error(`no schema for kind ${kind} in ${apiVersion}`);
  return model as Model;
}

/** Throws with the object's kind/name and the schema's complaint when the object is invalid. */
export async function validateObject(obj: Record<string, unknown>): Promise<void> {
  const apiVersion = String(obj.apiVersion ?? "");
  const kind = String(obj.kind ?? "");
  const meta = (obj.metadata ?? {}) as { name?: string; namespace?: string };
  const label = `${kind} ${meta.namespace ? `${meta.namespace}/` : ""}${meta.name ?? "<unnamed>"} (${apiVersion})`;
  if (!apiVersion || !kind) throw new Error(`${label}: apiVersion and kind are required`);
  const Model = await modelFor(apiVersion, kind);
  try {
    new Model(obj).validate();
  } catch (e) {
    throw new Error(`${label}: ${(e as Error).message}`, { cause: e });
  }
}
