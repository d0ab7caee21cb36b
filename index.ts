/**
 * The Edge Device Platform, one stack per stage. Config is read and validated first, so an
 * invalid stack file stops the program before any resource is registered.
 */
import * as random from "@pulumi/random";
import { loadStageConfig } from "./config";

const cfg = loadStageConfig();

const probe = new random.RandomPassword("probe", { length: 24, special: false });

export const stage = cfg.stage;
export const portalUrl = `https://${cfg.names.publicHost("edp-portal")}/device-management`;
export const probeSecret = probe.result;
