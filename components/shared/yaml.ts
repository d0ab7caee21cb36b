/**
 * YAML the program writes for other tools (desired states, scripts' manifests, cloud-init, config
 * files). Two rules, each with its test:
 *
 * - Every object is spelt out where it occurs: no anchors or aliases (`&a1`/`*a1`,
 *   `&ref_0`/`*ref_0`), which Kubernetes' tools treat differently (kustomize's kyaml mishandled
 *   them from 3.9 to 4.4); the edge status writer's CronJob once carried one.
 *   tests/unit/program.test.ts checks every stage's published texts.
 * - A text reads the same to a YAML 1.1 reader as to a YAML 1.2 one. Half of the readers are 1.1:
 *   kubectl and Helm (sigs.k8s.io/yaml over go-yaml v2), docker-registry, cloud-init (PyYAML). A
 *   string such as `no`, `on`, `y` or `2026-01-01` is quoted, or a 1.1 reader sees a boolean or a
 *   date. The yaml library's default left them plain: an edge cluster named `no` got
 *   `cluster: no` in the identity ConfigMap its bootstrap script applies, which kubectl's reader
 *   takes for `false` (real Helm, which reads YAML through the same library, does:
 *   tests/integration/yaml-readers.test.ts). tests/unit/yaml-writing.test.ts has the cases, and
 *   that nothing else writes YAML.
 *
 * js-yaml 4 (the Pulumi SDK's own, pinned to the same version) quotes YAML 1.1's booleans (its
 * compatibility mode), nulls, dates and YAML 1.2's numbers by itself; it writes YAML 1.1-only
 * numbers such as `1_000` plain, which Helm reads as the number 1000, so its schema here also
 * knows YAML 1.1's ints and floats and quotes them. It writes a 1 KB
 * HelmRelease in about half the time js-yaml 5 took and makes 27 KiB of garbage where js-yaml 5
 * made 69 KiB, which desired states at fleet scale need (the README's scale section). Lines are
 * never folded: a long value stays on one line. The yaml library still does all the reading.
 */
import { DEFAULT_SCHEMA, dump, Type } from "js-yaml";

/**
 * A number to a YAML 1.1 reader once its underscores are dropped: the spec's ints and floats
 * (yaml.org/type/int.html and float.html: bases 2, 8, 10, 16 and 60, `.inf`, `.nan`), which PyYAML
 * reads, and Go's literals, which go-yaml v2 (kubectl, Helm) parses (`0o17`, `0X1F`, an exponent
 * without a sign).
 */
const YAML11_NUMBER = /^[-+]?(?:0[bB][01]+|0[oO]?[0-7]+|0[xX][0-9a-fA-F]+|[0-9]+(?::[0-5]?[0-9])*(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?|\.(?:inf|Inf|INF))$|^\.(?:nan|NaN|NAN)$/;

/**
 * A type the writer only tests strings against: one that a YAML 1.1 reader takes for a number
 * (or `=`, YAML 1.1's value key, which PyYAML cannot build) is written quoted.
 */
const YAML11_ONLY = new Type("tag:edp.local,2026:yaml-1.1-scalar", {
  kind: "scalar",
  resolve: (data: unknown) => typeof data === "string" && (data === "=" || YAML11_NUMBER.test(data.replace(/_/g, ""))),
});
const SCHEMA = DEFAULT_SCHEMA.extend({ implicit: [YAML11_ONLY] });

export function plainYaml(value: unknown): string {
  return dump(value, { schema: SCHEMA, noRefs: true, lineWidth: -1, quotingType: '"' });
}
