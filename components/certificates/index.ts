export { ACME_ISSUER, ACME_SERVER, type Exposure, issuerFor, PLATFORM_CA_ISSUER } from "./issuers";
