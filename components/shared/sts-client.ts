/**
 * The RRSA exchange client as it runs in a pod: sts-exchange.cjs with Alibaba's credentials
 * library, bundled by esbuild (components/shared/bundle.ts) into one CommonJS file that the
 * pinned Node image runs from a ConfigMap. The installed library must be the version
 * versions.ts pins: the bundle is deterministic, so the ConfigMap changes only with the code.
 */
import * as path from "node:path";
import { STS_CLIENT } from "../versions";
import { bundleScript, type LibraryPin } from "./bundle";

const ENTRY = path.join(__dirname, "sts-exchange.cjs");

/** sts-exchange.cjs with the library: the init container of the Jobs that run rclone. */
export function stsClientBundle(): string {
  return bundleWithStsClient(ENTRY);
}

/** A CommonJS entry file bundled with the pinned credentials library (and any other pinned library it requires). */
export function bundleWithStsClient(entry: string, others: readonly LibraryPin[] = []): string {
  return bundleScript({ entry }, [STS_CLIENT, ...others]);
}
