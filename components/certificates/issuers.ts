/**
 * Which ClusterIssuer signs which name. Public names use ACME (Let's Encrypt) when the stage has
 * an ACME e-mail; everything else, and every VPC-internal name, is signed by the platform CA
 * (the manual's issuer-ca), which E3 and other VPC clients trust (manual §4.4).
 */

/** ClusterIssuer backed by the issuer-ca Secret. */
export const PLATFORM_CA_ISSUER = "platform-ca";
/** ClusterIssuer for public names via ACME http01 through ingress-nginx. */
export const ACME_ISSUER = "letsencrypt";
/** Let's Encrypt's production directory. */
export const ACME_SERVER = "https://acme-v02.api.letsencrypt.org/directory";

export type Exposure = "public" | "internal";

export function issuerFor(exposure: Exposure, acmeEmail: string | undefined): string {
  return exposure === "public" && acmeEmail !== undefined ? ACME_ISSUER : PLATFORM_CA_ISSUER;
}
