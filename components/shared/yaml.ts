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
 * js-yaml 5 quotes every one of them, numbers with underscores (`1_000`) included, which js-yaml 4
 * (the Pulumi SDK's own, four times as fast as the yaml library) left plain; js-yaml 5 writes about
 * twice as fast as the yaml library, which desired states at fleet scale need (the README's scale
 * section). Lines are never folded: a long value stays on one line. The yaml library still does
 * all the reading.
 */
import { dump } from "js-yaml";

export function plainYaml(value: unknown): string {
  return dump(value, { noRefs: true, lineWidth: -1, quoteStyle: "double" });
}
