export { type CaKeyPair, DEBIAN_12_IMAGE_REGEX, defaultCrlUrl, E3, E3_RENDERED_FILES, type E3Args, e3HostNames } from "./e3";
export { type E3AlertParams, e3AlertRules, type PrometheusRuleManifest } from "./render/alerts";
export { e3IngressRules, type IngressRule } from "./rules";
