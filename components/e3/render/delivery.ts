/**
 * Delivery of the apply script through Alibaba Cloud Assistant: no inbound port, so a deploy from
 * a hosted CI runner can configure E3. A Cloud Assistant command holds at most 18 KB of
 * Base64-encoded content, so the gzipped script is cut into a fixed number of parts (a fixed
 * number, because Pulumi must know how many resources there are before the secrets resolve). Each
 * part writes its piece atomically under /run (tmpfs: the script never reaches the disk); the last
 * part waits until every piece is there, whatever order Cloud Assistant ran them in, checks the
 * whole against its SHA-256, and runs it.
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";

/** Cloud Assistant's limit on a command's Base64-encoded content (CreateCommand). */
export const CLOUD_ASSISTANT_MAX_CONTENT_BYTES = 18 * 1024;
/** Parts the script is cut into; the unit tests show the production scripts fit with room to spare. */
export const CLOUD_ASSISTANT_PARTS = 6;
/** Seconds the last part may wait for the other parts to arrive. */
const PARTS_WAIT_SECONDS = 600;

/** The most payload characters one part can carry so that its Base64 content stays under the limit. */
export function partCapacity(maxContentBytes = CLOUD_ASSISTANT_MAX_CONTENT_BYTES): number {
  // Base64 turns 3 bytes into 4; keep 1 KiB for the part's own shell lines.
  return Math.floor((maxContentBytes * 3) / 4) - 1024;
}

/**
 * Cuts `script` into `parts` shell scripts for Cloud Assistant (RunShellScript, run as root).
 * Throws, naming the sizes, when the script does not fit.
 */
export function cloudAssistantParts(script: string, parts = CLOUD_ASSISTANT_PARTS, maxContentBytes = CLOUD_ASSISTANT_MAX_CONTENT_BYTES): string[] {
  const sha = createHash("sha256").update(script).digest("hex");
  const payload = gzipSync(Buffer.from(script, "utf8"), { level: 9 }).toString("base64");
  const size = Math.ceil(payload.length / parts);
  if (size > partCapacity(maxContentBytes)) {
    throw new Error(
      `the E3 apply script (${script.length} bytes, ${payload.length} gzipped and Base64-encoded) does not fit in ${parts} Cloud Assistant commands of ${maxContentBytes} bytes; raise CLOUD_ASSISTANT_PARTS`,
    );
  }
  const dir = `/run/edp-apply/${sha.slice(0, 16)}`;
  const name = (i: number) => `part-${String(i).padStart(2, "0")}`;
  return Array.from({ length: parts }, (_, i) => {
    const piece = payload.slice(i * size, (i + 1) * size);
    const write = `#!/bin/bash
# Rendered by the EDP Pulumi program (components/e3/render/delivery.ts): part ${i + 1} of ${parts} of the E3 apply script.
set -euo pipefail
umask 077
dir=${dir}
install -d -m 0700 /run/edp-apply "$dir"
cat > "$dir/.${name(i)}" <<'EDP_PART'
${piece.replace(/(.{76})/g, "$1\n")}
EDP_PART
mv -f "$dir/.${name(i)}" "$dir/${name(i)}"
`;
    if (i < parts - 1) return write;
    return `${write}
# The last part: wait for every part, check the whole, run it, and leave nothing behind.
for _ in $(seq 1 ${PARTS_WAIT_SECONDS / 5}); do
  [ "$(find "$dir" -maxdepth 1 -name 'part-*' | wc -l)" -ge ${parts} ] && break
  sleep 5
done
[ "$(find "$dir" -maxdepth 1 -name 'part-*' | wc -l)" -ge ${parts} ] || { echo "only some parts of the E3 apply script arrived" >&2; exit 1; }
cat "$dir"/part-* | tr -d '\\n' | base64 -d | gunzip > "$dir/apply.sh"
echo "${sha}  $dir/apply.sh" | sha256sum --check --quiet || { echo "the E3 apply script is corrupt" >&2; exit 1; }
rc=0
bash "$dir/apply.sh" || rc=$?
rm -rf "$dir"
exit "$rc"
`;
  });
}
