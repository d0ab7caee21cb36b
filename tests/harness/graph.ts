/**
 * What each recorded resource waits for before the engine creates it, from the options the
 * program gave: its parent (the SDK registers a child only after its parent, and a component only
 * after the component's own dependsOn), its explicit dependsOn (a component there stands for all
 * of its descendants, as the Node SDK expands it), and its provider (a resource waits for its
 * provider, and the provider for the provider's own dependencies). Output-carried (property)
 * dependencies are not counted: the mock monitor does not report them, so an ordering the tests
 * rely on must be an explicit one.
 */
import type { RecordedResource } from "../../scripts/lib/mock-runtime";

export class DependencyGraph {
  private readonly byUrn = new Map<string, RecordedResource>();
  private readonly children = new Map<string, string[]>();
  private readonly closures = new Map<string, Set<string>>();

  constructor(resources: RecordedResource[]) {
    for (const r of resources) {
      this.byUrn.set(r.urn, r);
      if (r.parent) this.children.set(r.parent, [...(this.children.get(r.parent) ?? []), r.urn]);
    }
  }

  resource(urn: string): RecordedResource | undefined {
    return this.byUrn.get(urn);
  }

  /** Every resource below a resource in the parent tree. */
  descendants(urn: string): string[] {
    const out: string[] = [];
    const stack = [...(this.children.get(urn) ?? [])];
    while (stack.length > 0) {
      const u = stack.pop() as string;
      out.push(u);
      stack.push(...(this.children.get(u) ?? []));
    }
    return out;
  }

  /** The provider a resource's registration names (explicit or inherited), as a URN. */
  providerOf(r: RecordedResource): string | undefined {
    if (r.providerRef) return r.providerRef.split("::").slice(0, -1).join("::");
    return r.options.provider;
  }

  private direct(urn: string): string[] {
    const r = this.byUrn.get(urn);
    if (!r) return [];
    const out: string[] = [];
    if (r.parent && this.byUrn.has(r.parent)) out.push(r.parent);
    for (const d of r.options.dependsOn) {
      out.push(d);
      const dep = this.byUrn.get(d);
      if (dep && !dep.custom) out.push(...this.descendants(d));
    }
    const provider = this.providerOf(r);
    if (provider) out.push(provider);
    return out;
  }

  /** URNs of every resource that must be complete before this one is created. */
  waitsFor(urn: string): Set<string> {
    const hit = this.closures.get(urn);
    if (hit) return hit;
    const seen = new Set<string>();
    const stack = this.direct(urn);
    while (stack.length > 0) {
      const u = stack.pop() as string;
      if (seen.has(u) || u === urn) continue;
      seen.add(u);
      stack.push(...this.direct(u));
    }
    this.closures.set(urn, seen);
    return seen;
  }

  /** The resources of the given ones this resource waits for. */
  waitsForAny(urn: string, candidates: RecordedResource[]): RecordedResource[] {
    const all = this.waitsFor(urn);
    return candidates.filter((c) => all.has(c.urn));
  }
}
