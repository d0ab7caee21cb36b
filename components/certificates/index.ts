export { CertManager, type CertManagerArgs } from "./cert-manager";
export { ACME_ISSUER, ACME_SERVER, type Exposure, issuerFor, PLATFORM_CA_ISSUER } from "./issuers";
export { acmeIssuer, caIssuer, certManagerValues } from "./values";
