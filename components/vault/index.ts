export { KEY_SHARES, KEY_THRESHOLD, Vault, type VaultArgs } from "./vault";
