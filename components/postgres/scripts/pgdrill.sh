#!/usr/bin/env bash
# Restore drill: for every database the plan lists (PGBACKUP_DATABASES), takes its newest
# complete backup run and restores it the way pgrestore.sh does (same checks of the run, roles
# the server lacks created from the run's globals, pg_restore into a database only superusers
# reach), here into a scratch database pgdrill_<db>, then compares each table's row count and
# each object's owner and privileges with what the backup recorded in the dump's own snapshot.
# (The live database has moved on since the dump, so comparing with it would fail for any
# database in use; the recorded state is the source as dumped.)
# Fails loudly when a listed database has no complete backup, its newest is older than
# PGDRILL_MAX_AGE_SECONDS, it does not restore, or anything differs; names databases on the
# server the plan does not list. The scratch databases are dropped in any case.
#
# Environment: PGHOST PGPORT PGUSER PGPASSWORD (a superuser), BACKUP_REMOTE, PGBACKUP_DATABASES
# (see pglib.sh), optionally PGDRILL_MAX_AGE_SECONDS.
set -Eeuo pipefail
# shellcheck source=pglib.sh
source "$(dirname "${BASH_SOURCE[0]}")/pglib.sh"

require_env PGHOST PGUSER BACKUP_REMOTE
read_expected_databases
max_age="${PGDRILL_MAX_AGE_SECONDS:-}"
[[ -z "$max_age" || "$max_age" =~ ^[0-9]+$ ]] || die "PGDRILL_MAX_AGE_SECONDS must be a number of seconds, not '$max_age'"

spool=$(mktemp -d "${PGBACKUP_SPOOL:-${TMPDIR:-/tmp}}/pgdrill.XXXXXX")
scratch=""
drop_scratch() {
  [[ -n "$scratch" ]] || return 0
  drop_database "$scratch" || log "WARNING: could not drop scratch database $scratch"
  scratch=""
}
trap 'drop_scratch; rm -rf "$spool"' EXIT
failed=()

drill() {
  local db="$1" stamp age dir="$spool/$1"
  stamp=$(latest_complete "$BACKUP_REMOTE/$db") || return 1
  [[ -n "$stamp" ]] || { log "$db: no complete backup under $BACKUP_REMOTE/$db/"; return 1; }
  age=$(stamp_age "$stamp") || { log "$db: cannot read the time of run $stamp"; return 1; }
  if [[ -n "$max_age" ]] && ((age > max_age)); then
    log "$db: the newest complete backup, $stamp, is ${age}s old (more than ${max_age}s)"
    return 1
  fi
  mkdir -p "$dir" || return 1
  fetch_checked_run "$db" "$stamp" "$dir" || return 1
  restore_missing_roles "$dir/globals.sql" || return 1
  scratch="${PG_DRILL_PREFIX}${db}"
  drop_database "$scratch" || return 1
  restore_into "$scratch" "$dir" "$db" || return 1
  drop_scratch
  rm -rf "$dir"
  log "$db: backup run $stamp (${age}s old) restores as backed up"
}

read_server_databases "$spool/server-databases" || die "cannot list the databases of $PGHOST"
extras=$(extra_databases)
[[ -z "$extras" ]] || log "WARNING: database(s) on the server that the plan does not list, not backed up: $extras"
for db in "${EXPECTED_DATABASES[@]}"; do
  drill "$db" || { drop_scratch; failed+=("$db"); continue; }
  # Its backups restore, but the plan's database itself is gone: as loud as a failed restore.
  server_has "$db" || { log "$db: MISSING on the server"; failed+=("$db"); }
done

if ((${#failed[@]} > 0)); then die "restore drill FAILED for: ${failed[*]}"; fi
log "restore drill passed for ${#EXPECTED_DATABASES[@]} database(s)"
