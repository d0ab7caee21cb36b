#!/usr/bin/env bash
# Backs up the databases the platform's plan lists (PGBACKUP_DATABASES) to the object store:
#   - pg_dumpall --globals-only (roles, memberships, role settings: what pg_dump leaves out),
#   - per database, pg_dump -Fc taken in an exported snapshot, with the row count of each table
#     and the owner and privileges of each object read in that same snapshot (the restore and
#     the drill check a restored dump against them),
#   - per database, last, a completion marker with the sums of the three files.
# Each dump is written to a local spool, read back in full with pg_restore, and only then
# uploaded: a dump that broke half-way must never land under a name the restore would pick
# (the object store has no atomic rename, and the backup key may not delete).
# A listed database that is missing on the server, or cannot be dumped, fails the run (after
# the others are backed up); a database on the server that the plan does not list is named in
# the log and not backed up.
#
# Environment: PGHOST PGPORT PGUSER PGPASSWORD, BACKUP_REMOTE, PGBACKUP_DATABASES (see pglib.sh),
# optionally PGBACKUP_SPOOL (a directory with room for the largest dump; default: a temporary
# directory) and PGBACKUP_LOCK_WAIT_TIMEOUT (how long a dump waits for a table lock before it
# fails, rather than hanging until the Job's deadline; default 10min).
set -Eeuo pipefail
# shellcheck source=pglib.sh
source "$(dirname "${BASH_SOURCE[0]}")/pglib.sh"

require_env PGHOST PGUSER BACKUP_REMOTE
read_expected_databases
export PGBACKUP_LOCK_WAIT_TIMEOUT="${PGBACKUP_LOCK_WAIT_TIMEOUT:-10min}"

spool=$(mktemp -d "${PGBACKUP_SPOOL:-${TMPDIR:-/tmp}}/pgbackup.XXXXXX")
trap 'rm -rf "$spool"' EXIT
stamp=$(date -u +%Y%m%dT%H%M%SZ)
failed=()
globals_sum=""

# Uploads a spooled file; the destination never exists (the timestamp is new), so rclone need
# not read the bucket (the backup key may only write). rclone's own words go to the log.
upload() {
  store copyto --no-check-dest --retries 3 "$1" "$2"
}

backup_globals() {
  local out="$spool/globals.sql"
  pg_dumpall --globals-only --no-password -f "$out" || return 1
  globals_sum=$(sha256sum <"$out") || return 1
  upload "$out" "$BACKUP_REMOTE/$PG_GLOBALS_DIR/$stamp.sql" || return 1
  rm -f "$out"
}

# Dumps one database and counts its rows in one snapshot: psql exports the snapshot and holds
# its transaction open while pg_dump runs from psql's shell escape, then counts the rows in the
# same transaction. Every step checks its own status: set -e does not act inside a function
# called from `if`.
backup_database() {
  local db="$1" dump="$spool/dump" counts="$spool/counts" dump_sum counts_sum
  rm -f "$dump" "$dump.ok" "$counts" "$counts.unsorted"
  # shellcheck disable=SC2016 # the shell escape and the backquotes expand their variables themselves, from psql's environment
  {
    printf '%s\n' 'SET lock_timeout = :'"'"'lock_timeout'"'"';' \
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;' \
      'SELECT pg_export_snapshot() AS snapshot \gset' \
      '\setenv PGBACKUP_SNAPSHOT :snapshot' \
      '\! pg_dump --no-password --snapshot="$PGBACKUP_SNAPSHOT" --lock-wait-timeout="$PGBACKUP_LOCK_WAIT_TIMEOUT" -Fc -d "$PGBACKUP_DB" -f "$PGBACKUP_OUT" && : > "$PGBACKUP_OUT.ok"' \
      '\set dumped `test -f "$PGBACKUP_OUT.ok" && echo true || echo false`' \
      '\if :dumped' '\o '"$counts.unsorted" "$COUNT_ROWS_SQL" '\gexec' "$PRIVILEGES_SQL;" '\o' '\endif' 'COMMIT;'
  } | PGBACKUP_DB="$db" PGBACKUP_OUT="$dump" psql_q -v lock_timeout="$PGBACKUP_LOCK_WAIT_TIMEOUT" -d "$db" -f - ||
    { log "$db: snapshot session failed"; return 1; }
  # psql cannot see the shell escape's exit status (before PostgreSQL 16): the marker can.
  [[ -f "$dump.ok" ]] || { log "$db: pg_dump failed"; return 1; }
  LC_ALL=C sort "$counts.unsorted" >"$counts" || { log "$db: sorting the row counts failed"; return 1; }
  # The table of contents first (what the restore checks), then the whole archive, which proves
  # the dump is complete and not only that its header is.
  pg_restore --list "$dump" >/dev/null || { log "$db: the dump has no readable table of contents"; return 1; }
  pg_restore -f /dev/null "$dump" || { log "$db: the dump is not readable to its end"; return 1; }
  dump_sum=$(sha256sum <"$dump") || { log "$db: cannot checksum the dump"; return 1; }
  counts_sum=$(sha256sum <"$counts") || { log "$db: cannot checksum the row counts"; return 1; }
  # Counts before the dump, the marker last: a run is complete for this database only when the
  # marker exists, and the marker exists only when everything it vouches for was uploaded.
  upload "$counts" "$BACKUP_REMOTE/$db/$stamp.counts" || { log "$db: upload of the row counts failed"; return 1; }
  upload "$dump" "$BACKUP_REMOTE/$db/$stamp.dump" || { log "$db: upload of the dump failed"; return 1; }
  [[ -n "$globals_sum" ]] || { log "$db: dump uploaded, but without the globals of this run it is not complete"; return 1; }
  printf '%s  %s\n' "${counts_sum%% *}" "$db/$stamp.counts" "${dump_sum%% *}" "$db/$stamp.dump" \
    "${globals_sum%% *}" "$PG_GLOBALS_DIR/$stamp.sql" >"$spool/complete" || return 1
  upload "$spool/complete" "$BACKUP_REMOTE/$db/$stamp.complete" || { log "$db: upload of the completion marker failed"; return 1; }
  rm -f "$dump" "$dump.ok" "$counts" "$counts.unsorted" "$spool/complete"
}

log "backup $stamp to $BACKUP_REMOTE of ${#EXPECTED_DATABASES[@]} database(s): ${EXPECTED_DATABASES[*]}"
if backup_globals; then log "globals: ok"; else log "globals: FAILED"; failed+=("$PG_GLOBALS_DIR"); fi

read_server_databases "$spool/server-databases" || die "cannot list the databases of $PGHOST"
extras=$(extra_databases)
[[ -z "$extras" ]] || log "WARNING: database(s) on the server that the plan does not list, NOT backed up: $extras"

for db in "${EXPECTED_DATABASES[@]}"; do
  if ! server_has "$db"; then
    log "$db: MISSING on the server (dropped or renamed?); its last dumps expire with the bucket's retention"
    failed+=("$db")
  elif backup_database "$db"; then
    log "$db: ok"
  else
    log "$db: FAILED"
    failed+=("$db")
  fi
done

if ((${#failed[@]} > 0)); then die "backup $stamp incomplete; failed: ${failed[*]}"; fi
log "backup $stamp complete: globals and ${#EXPECTED_DATABASES[@]} database(s)"
