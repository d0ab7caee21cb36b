#!/usr/bin/env bash
# Restores one database from the object store: the latest complete backup run, or a given one.
#
#   pgrestore.sh <database> [<timestamp>.dump]
#   (or PGRESTORE_DATABASE and PGRESTORE_DUMP in the environment, as the restore Job sets them)
#
# No client ever sees a half-restored database:
#   1. everything that can be checked is checked before the server is touched: the run is
#      complete (its marker exists and the sums of dump, counts and globals match), the dump was
#      made of this database, has a readable table of contents and reads to its end;
#   2. the roles of the same run that the server lacks are created (roles that exist keep their
#      passwords, which belong to the platform's Secrets);
#   3. the dump is restored under a temporary name, pgrestore_new_<db>, that only superusers can
#      reach (CONNECTION LIMIT 0), and its row counts, owners and privileges are compared with
#      those the backup recorded. Until here the live database serves on, untouched; a failure
#      drops the temporary copy and changes nothing;
#   4. the swap: the PgBouncer pooler is paused (clients that connect meanwhile wait in it), new
#      connections to <db> are refused and its sessions ended, then in one
#      transaction <db> becomes pgrestore_old_<db> (the safety copy of what was replaced, kept
#      with connections refused) and the restored copy becomes <db>; the database's own settings
#      and grants from the dump are applied, and only then are connections allowed again and the
#      pooler resumed. A failure in the swap puts the old database back and resumes the pooler.
#
# Environment: PGHOST PGPORT PGUSER PGPASSWORD (a superuser), BACKUP_REMOTE (see pglib.sh);
# POOLER_NAME and POOLER_NAMESPACE, the Pooler to pause (none when unset), POOLER_SETTLE_SECONDS
# (default 10), how long the operator is given to pause PgBouncer before the swap.
set -Eeuo pipefail
# shellcheck source=pglib.sh
source "$(dirname "${BASH_SOURCE[0]}")/pglib.sh"

db="${1:-${PGRESTORE_DATABASE:-}}"
wanted="${2:-${PGRESTORE_DUMP:-}}"
[[ -n "$db" ]] || die "usage: pgrestore.sh <database> [<timestamp>.dump]"
problem=$(db_name_problem "$db")
[[ -z "$problem" ]] || die "$problem; nothing was changed"
require_env PGHOST PGUSER BACKUP_REMOTE

new="${PG_RESTORE_PREFIX}new_$db"
old="${PG_RESTORE_PREFIX}old_$db"
spool=$(mktemp -d "${PGBACKUP_SPOOL:-${TMPDIR:-/tmp}}/pgrestore.XXXXXX")
phase=checking
pooler=running
cleanup() {
  case "$phase" in
    restoring) drop_database "$new" || log "WARNING: could not drop $new; drop it by hand" ;;
    swapping) swap_back ;;
  esac
  if [[ "$pooler" == paused ]]; then
    pooler_set_paused false ||
      log "ERROR: the pooler $POOLER_NAME is still paused; resume it: kubectl -n $POOLER_NAMESPACE patch pooler $POOLER_NAME --type merge -p '{\"spec\":{\"pgbouncer\":{\"paused\":false}}}'"
  fi
  rm -rf "$spool"
}
trap cleanup EXIT

sql() { psql_q -d postgres -v db="$db" -v new="$new" -v old="$old"; }

# Undoes a swap that did not finish: the old database back under its name, open again; the
# restored copy dropped (when there was no old database, the restored copy under its name too).
swap_back() {
  if [[ "$exists" == 0 ]]; then
    drop_database "$db" || log "ERROR: could not drop the unfinished $db"
    drop_database "$new" || log "WARNING: could not drop $new; drop it by hand"
    return
  fi
  log "putting the old $db back"
  sql >/dev/null <<'SQL' || log "ERROR: could not put the old $db back: see pg_database for $db, $old and $new"
SELECT format('ALTER DATABASE %I ALLOW_CONNECTIONS false', :'db') \gexec
BEGIN;
SELECT format('ALTER DATABASE %I RENAME TO %I', :'db', :'new') FROM pg_database WHERE datname = :'db'
  AND EXISTS (SELECT 1 FROM pg_database WHERE datname = :'old') \gexec
SELECT format('ALTER DATABASE %I RENAME TO %I', :'old', :'db') FROM pg_database WHERE datname = :'old' \gexec
COMMIT;
SELECT format('ALTER DATABASE %I ALLOW_CONNECTIONS true', :'db') FROM pg_database WHERE datname = :'db' \gexec
SQL
  drop_database "$new" || log "WARNING: could not drop $new; drop it by hand"
}

# --- 1. Find, fetch and check the backup run; nothing on the server changes before this succeeds.
if [[ -n "$wanted" ]]; then
  [[ "$wanted" == *.dump ]] || wanted="$wanted.dump"
  [[ "$wanted" =~ ^[0-9]{8}T[0-9]{6}Z\.dump$ ]] || die "'$wanted' is not a dump name (<YYYYmmddTHHMMSSZ>.dump); nothing was changed"
  stamp="${wanted%.dump}"
else
  stamp=$(latest_complete "$BACKUP_REMOTE/$db") || die "cannot list the backups of $db; nothing was changed"
  [[ -n "$stamp" ]] || die "no complete backup of $db under $BACKUP_REMOTE/$db/; nothing was changed"
fi
log "restoring $db from backup run $stamp ($BACKUP_REMOTE/$db/$stamp.dump)"
fetch_checked_run "$db" "$stamp" "$spool" || die "backup run $stamp of $db cannot be restored (see above); nothing was changed"

exists=$(sql <<<"SELECT count(*) FROM pg_database WHERE datname = :'db'") || die "cannot reach $PGHOST; nothing was changed"
kept=$(sql <<<"SELECT count(*) FROM pg_database WHERE datname = :'old'") || die "cannot reach $PGHOST; nothing was changed"
[[ "$kept" == 0 || "$exists" == 0 ]] ||
  die "$old, the safety copy of an earlier restore, still exists: drop it (DROP DATABASE $old) or rename it first; nothing was changed"

# --- 2. Roles first: pg_restore assigns ownership and grants to roles that must exist.
restore_missing_roles "$spool/globals.sql" || die "restoring the roles of backup run $stamp failed; the database was not touched"
log "roles: those missing on the server created from backup run $stamp"

# --- 3. Restore under the temporary name and check it; the live database serves on meanwhile.
drop_database "$new" || die "cannot drop $new, left over from an earlier restore; the database was not touched"
phase=restoring
restore_into "$new" "$spool" "$db" || die "the restore of $stamp did not come out as backed up; $db was not touched"
# The database's own settings, comment and grants are not part of a restore without --create;
# they are applied by name after the swap, from the dump's own statements.
pg_restore --create --list "$spool/dump" |
  grep -E "^[0-9]+; [0-9]+ [0-9]+ (COMMENT - DATABASE|ACL - DATABASE|SECURITY LABEL - DATABASE|DATABASE PROPERTIES -) " >"$spool/dbprops.list" || :
: >"$spool/dbprops.sql"
if [[ -s "$spool/dbprops.list" ]]; then
  pg_restore --create -L "$spool/dbprops.list" -f - "$spool/dump" | grep -v '^\\connect ' >"$spool/dbprops.sql" ||
    die "cannot read the database settings of dump $stamp; $db was not touched"
fi
sql >/dev/null <<'SQL' || die "cannot close $new for the swap; $db was not touched"
SELECT format('ALTER DATABASE %I ALLOW_CONNECTIONS false', :'new') \gexec
SELECT format('ALTER DATABASE %I CONNECTION LIMIT -1', :'new') \gexec
SQL

# --- 4. The swap.
if [[ -n "${POOLER_NAME:-}" ]]; then
  pooler_set_paused true || die "cannot pause the pooler $POOLER_NAME; $db was not touched"
  pooler=paused
  # PgBouncer's PAUSE completes once the server connections are released; the swap below ends
  # the sessions that hold them. The wait gives the operator time to send PAUSE to every pod.
  sleep "${POOLER_SETTLE_SECONDS:-10}"
  log "pooler $POOLER_NAME paused: clients connecting now wait in it until the swap is done"
fi
phase=swapping
if [[ "$exists" == 1 ]]; then
  for attempt in 1 2 3 4 5; do
    # pg_terminate_backend waits (up to 10s) for each session to end, so the rename finds none.
    if sql >/dev/null 2>"$spool/swap.err" <<'SQL'; then break; fi
SELECT format('ALTER DATABASE %I ALLOW_CONNECTIONS false', :'db') \gexec
SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity WHERE datname = :'db' AND pid <> pg_backend_pid();
BEGIN;
SELECT format('ALTER DATABASE %I RENAME TO %I', :'db', :'old') \gexec
SELECT format('ALTER DATABASE %I RENAME TO %I', :'new', :'db') \gexec
COMMIT;
SQL
    log "swap attempt $attempt: $(tail -n 1 "$spool/swap.err")"
    ((attempt < 5)) || die "the swap failed; $db is put back as it was"
    sleep 1
  done
  log "$db: sessions ended; the restored database is $db, the replaced one kept as $old (connections refused)"
else
  sql >/dev/null <<<"SELECT format('ALTER DATABASE %I RENAME TO %I', :'new', :'db') \gexec" || die "renaming $new to $db failed"
  log "$db did not exist; the restored database is $db"
fi
psql -X -q -v ON_ERROR_STOP=1 -d postgres -f "$spool/dbprops.sql" >/dev/null || die "applying the database settings and grants of dump $stamp failed; $db is put back as it was"
sql >/dev/null <<<"SELECT format('ALTER DATABASE %I ALLOW_CONNECTIONS true', :'db') \gexec" || die "cannot open the restored $db; it is put back as it was"
phase=finished
if [[ "$pooler" == paused ]]; then
  pooler_set_paused false || die "the restored $db is open, but the pooler $POOLER_NAME could not be resumed: resume it by hand"
  pooler=running
  log "pooler $POOLER_NAME resumed"
fi
log "restore of $db from backup run $stamp complete; once it is no longer needed: DROP DATABASE $old"
