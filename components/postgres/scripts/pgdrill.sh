#!/usr/bin/env bash
# Restore drill: for every database of the server, restores its latest dump into a scratch
# database (pgdrill_<db>) and compares each table's row count with the count the backup
# recorded in the dump's own snapshot. (The live database has moved on since the dump, so its
# counts would differ for any database in use; the recorded ones are the source as dumped.)
# Fails loudly, with the differing tables, when a dump is missing, does not restore, or its
# rows differ; the scratch databases are dropped in any case.
#
# Environment: PGHOST PGPORT PGUSER PGPASSWORD (a superuser), BACKUP_REMOTE (see pglib.sh).
set -Eeuo pipefail
# shellcheck source=pglib.sh
source "$(dirname "${BASH_SOURCE[0]}")/pglib.sh"

require_env PGHOST PGUSER BACKUP_REMOTE

spool=$(mktemp -d "${PGBACKUP_SPOOL:-${TMPDIR:-/tmp}}/pgdrill.XXXXXX")
scratch=""
drop_scratch() {
  [[ -n "$scratch" ]] || return 0
  PGOPTIONS="-c client_min_messages=warning" dropdb --no-password --if-exists --force "$scratch" || log "WARNING: could not drop scratch database $scratch"
  scratch=""
}
trap 'drop_scratch; rm -rf "$spool"' EXIT
failed=()

drill() {
  local db="$1" name stamp
  name=$(latest_object "$BACKUP_REMOTE/$db" .dump) || return 1
  [[ -n "$name" ]] || { log "$db: no dump under $BACKUP_REMOTE/$db/"; return 1; }
  stamp="${name%.dump}"
  store copyto "$BACKUP_REMOTE/$db/$name" "$spool/dump" || { log "$db: cannot fetch $name"; return 1; }
  store copyto "$BACKUP_REMOTE/$db/$stamp.counts" "$spool/expected" 2>/dev/null ||
    { log "$db: no row counts recorded with $name"; return 1; }

  scratch="${PG_DRILL_PREFIX}${db}"
  scratch="${scratch:0:63}"
  PGOPTIONS="-c client_min_messages=warning" dropdb --no-password --if-exists --force "$scratch" || return 1
  createdb --no-password "$scratch" || return 1
  pg_restore --no-password -d "$scratch" --exit-on-error "$spool/dump" || { log "$db: $name does not restore"; return 1; }
  count_rows "$scratch" >"$spool/restored" || return 1
  drop_scratch
  if ! diff -u --label "$db as dumped ($stamp)" --label "$db restored" "$spool/expected" "$spool/restored" >&2; then
    log "$db: MISMATCH between the rows of $name and the rows the backup recorded (diff above)"
    return 1
  fi
  log "$db: $name restores; row counts of $(wc -l <"$spool/expected") table(s) match"
}

databases=$(list_databases) || die "cannot list the databases of $PGHOST"
[[ -n "$databases" ]] || die "the server has no database to drill"
for db in $databases; do
  drill "$db" || { drop_scratch; failed+=("$db"); }
done

if ((${#failed[@]} > 0)); then die "restore drill FAILED for: ${failed[*]}"; fi
log "restore drill passed for $(wc -w <<<"$databases") database(s)"
