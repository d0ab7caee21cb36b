/**
 * YAML the program writes for other tools (desired states, scripts' manifests, cloud-init, config
 * files): every object spelt out where it occurs. The yaml library's default makes an anchor and
 * an alias (`&a1`, `*a1`) of an object the program uses twice, which Kubernetes' tools treat
 * differently (kustomize's kyaml mishandled them from 3.9 to 4.4); the edge status writer's
 * CronJob carried one. tests/unit/program.test.ts checks every stage's published texts for them,
 * and tests/unit/yaml-writing.test.ts that nothing else in the program calls YAML.stringify.
 */
import YAML from "yaml";

export function plainYaml(value: unknown, options: Omit<YAML.ToStringOptions & YAML.CreateNodeOptions, "aliasDuplicateObjects"> = {}): string {
  return YAML.stringify(value, { ...options, aliasDuplicateObjects: false });
}
