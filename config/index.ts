export { type CertificateAndKey, ConfigError, type ConfigProblem, loadStageConfig, parseStageConfig, type RawConfig, type StageConfig, type StageSecrets } from "./load";
export type { StageNames } from "./naming";
export { EDP_SERVICES, type EdpService, nextStage, STAGES, type Stage } from "./stages";
export { DDM_GPG_VARIABLES, DDM_SSH_VARIABLES, type DdmVariable } from "./schema";
