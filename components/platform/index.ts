export { CentralPlatform, type CentralPlatformArgs } from "./central-platform";
