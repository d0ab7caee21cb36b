/**
 * E3's apply script as a stage run delivers it, and the files it writes: shared by the tests
 * that read E3's host configuration out of a whole program run.
 */
import { gunzipSync } from "node:zlib";
import type { StageRun } from "./stage";

/** The apply script as it reaches the host: from SSH's stdin, or reassembled from the Cloud Assistant parts. */
export function e3ScriptOf(r: StageRun): string {
  const ssh = r.ofType("command:remote:Command").filter((c) => c.name === "e3-apply");
  if (ssh.length) return String(ssh[0].inputs.stdin);
  const parts = r
    .ofType("alicloud:ecs/command:Command")
    .filter((c) => c.name.startsWith("e3-apply-"))
    .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }))
    .map((c) => Buffer.from(String(c.inputs.commandContent), "base64").toString("utf8"));
  if (parts.length === 0) throw new Error("the run delivers no E3 apply script (neither SSH nor Cloud Assistant)");
  const payload = parts.map((p) => /<<'EDP_PART'\n([\s\S]*?)\nEDP_PART/.exec(p)?.[1] ?? "").join("").replace(/\n/g, "");
  return gunzipSync(Buffer.from(payload, "base64")).toString("utf8");
}

/** The files an apply script writes, decoded: path → content. */
export function e3FilesOf(script: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of script.matchAll(/^put '([^']+)' \S+ \S+ \S+ <<'EDP_FILE'\n([\s\S]*?)\nEDP_FILE$/gm)) {
    out.set(m[1], Buffer.from(m[2].replace(/\n/g, ""), "base64").toString("utf8"));
  }
  return out;
}
