/**
 * Password rules of the manual (§3.2.2): no `\n \r @ : & ?`, and only characters valid in JDBC
 * URLs, because some passwords end up in connection strings. We allow the URI "unreserved"
 * specials, which no URL or JDBC parser treats specially.
 */
import * as random from "@pulumi/random";
import type * as pulumi from "@pulumi/pulumi";

/** Specials random.RandomPassword may use. */
export const PASSWORD_SPECIALS = "-_.~";
/** Characters the manual forbids in passwords. */
export const FORBIDDEN_PASSWORD_CHARS = ["\n", "\r", "@", ":", "&", "?"] as const;

/** Why a password breaks the manual's rules, or undefined when it is fine. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < 16) return "is shorter than 16 characters";
  const bad = FORBIDDEN_PASSWORD_CHARS.find((c) => password.includes(c));
  if (bad !== undefined) return `contains the forbidden character ${JSON.stringify(bad)}`;
  const other = [...password].find((c) => !/[A-Za-z0-9]/.test(c) && !PASSWORD_SPECIALS.includes(c));
  if (other !== undefined) return `contains ${JSON.stringify(other)}, which is not valid unencoded in a JDBC URL`;
  return undefined;
}

/** A generated password that obeys the rules above. */
export function safePassword(name: string, opts: pulumi.CustomResourceOptions, length = 32): random.RandomPassword {
  return new random.RandomPassword(name, { length, special: true, overrideSpecial: PASSWORD_SPECIALS, minSpecial: 1, minNumeric: 2 }, opts);
}

/** One htpasswd line (`user:hash`), as ingress-nginx's basic auth reads it. */
export function htpasswdLine(user: string, bcryptHash: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(user)) throw new Error(`htpasswd user ${JSON.stringify(user)} must be letters, digits, '.', '_' or '-'`);
  if (!/^\$2[aby]\$[0-9]{2}\$/.test(bcryptHash)) throw new Error("not a bcrypt hash");
  return `${user}:${bcryptHash}\n`;
}
