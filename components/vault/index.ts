export { KEY_SHARES, KEY_THRESHOLD, Vault, type VaultArgs } from "./vault";
export { VAULT_SCRAPE_JOB, vaultAlertRules, vaultDashboard, vaultServiceMonitor } from "./monitoring";
