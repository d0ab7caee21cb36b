/** The stages of the manual (§2.3), in promotion order. A stack's name is its stage. */
export const STAGES = ["testing", "staging", "production"] as const;
export type Stage = (typeof STAGES)[number];

/** The EDP services of the manual (§2.4.2). Their image tags differ per stage. */
export const EDP_SERVICES = [
  "portalgateway",
  "masterdata",
  "injectionmoulding",
  "datadirectormonitoring",
  "datadirectormanagement",
  "devicemanagement",
  "onboarding",
  "edpgateway",
  "servicemanagement",
  "portal",
] as const;
export type EdpService = (typeof EDP_SERVICES)[number];

/** Pulumi config namespace of this project (`edp:<key>` in the stack files). */
export const CONFIG_NAMESPACE = "edp";

/** The stage a stage promotes into, or undefined for the last one. */
export function nextStage(stage: Stage): Stage | undefined {
  return STAGES[STAGES.indexOf(stage) + 1];
}

export function isStage(value: string): value is Stage {
  return (STAGES as readonly string[]).includes(value);
}
