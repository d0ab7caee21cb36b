export { registryKey, siteDesiredState, siteEdgeClusters, Sites, type SitesArgs } from "./sites";
