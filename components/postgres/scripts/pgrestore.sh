#!/usr/bin/env bash
# Restores one database from the object store: the latest dump, or a given one.
#
#   pgrestore.sh <database> [<timestamp>.dump]
#   (or PGRESTORE_DATABASE and PGRESTORE_DUMP in the environment, as the restore Job sets them)
#
# Everything that can be checked is checked before the server is touched: the dump exists, was
# made of this database, has a readable table of contents (pg_restore --list) and reads to its
# end. Only then: the roles of the same backup run that the server lacks are created (roles that
# exist keep their passwords, which belong to the platform's Secrets), new connections to the
# database are refused and open ones ended, and pg_restore -c -C replaces the database. Finally
# the restored row counts are compared with those recorded when the dump was taken.
#
# Environment: PGHOST PGPORT PGUSER PGPASSWORD (a superuser), BACKUP_REMOTE (see pglib.sh).
set -Eeuo pipefail
# shellcheck source=pglib.sh
source "$(dirname "${BASH_SOURCE[0]}")/pglib.sh"

db="${1:-${PGRESTORE_DATABASE:-}}"
wanted="${2:-${PGRESTORE_DUMP:-}}"
[[ -n "$db" ]] || die "usage: pgrestore.sh <database> [<timestamp>.dump]"
[[ "$db" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "'$db' is not a database name this platform uses (lower-case letters, digits, '_')"
require_env PGHOST PGUSER BACKUP_REMOTE

spool=$(mktemp -d "${PGBACKUP_SPOOL:-${TMPDIR:-/tmp}}/pgrestore.XXXXXX")
blocked=""
cleanup() {
  # A restore that stopped after new connections were refused but before pg_restore replaced
  # the database must not leave it unreachable.
  if [[ -n "$blocked" ]]; then
    psql_q -d postgres -v db="$db" <<'SQL' || log "could not re-allow connections to $db; run: ALTER DATABASE $db ALLOW_CONNECTIONS true"
SELECT format('ALTER DATABASE %I ALLOW_CONNECTIONS true', datname) FROM pg_database WHERE datname = :'db' \gexec
SQL
  fi
  rm -rf "$spool"
}
trap cleanup EXIT

# --- 1. Find, fetch and check the dump; nothing on the server changes before this succeeds.
if [[ -n "$wanted" ]]; then
  [[ "$wanted" == *.dump ]] || wanted="$wanted.dump"
  [[ "$wanted" =~ ^[0-9]{8}T[0-9]{6}Z\.dump$ ]] || die "'$wanted' is not a dump name (<YYYYmmddTHHMMSSZ>.dump); nothing was changed"
  name="$wanted"
else
  name=$(latest_object "$BACKUP_REMOTE/$db" .dump) || exit 1
  [[ -n "$name" ]] || die "no dump of $db under $BACKUP_REMOTE/$db/; nothing was changed"
fi
stamp="${name%.dump}"
dump="$spool/$name"
log "restoring $db from $BACKUP_REMOTE/$db/$name"
store copyto "$BACKUP_REMOTE/$db/$name" "$dump" 2>/dev/null || die "dump $BACKUP_REMOTE/$db/$name is missing or cannot be fetched; nothing was changed"

toc=$(pg_restore --list "$dump" 2>&1) || die "dump $name is unreadable (pg_restore --list: ${toc##*$'\n'}); nothing was changed"
dumped_db=$(sed -n 's/^;[[:space:]]*[Dd]bname: //p' <<<"$toc" | head -n 1)
[[ "$dumped_db" == "$db" ]] || die "dump $name is of database '$dumped_db', not '$db'; nothing was changed"
pg_restore -f /dev/null "$dump" 2>/dev/null || die "dump $name is damaged: it does not read to its end; nothing was changed"

globals="$spool/globals.sql"
if ! store copyto "$BACKUP_REMOTE/$PG_GLOBALS_DIR/$stamp.sql" "$globals" 2>/dev/null; then
  log "WARNING: no globals from backup run $stamp; roles are taken as they are on the server"
  globals=""
fi
counts="$spool/counts"
store copyto "$BACKUP_REMOTE/$db/$stamp.counts" "$counts" 2>/dev/null || counts=""

# --- 2. Roles first: pg_restore assigns ownership and grants to roles that must exist.
if [[ -n "$globals" ]]; then
  psql_q -d postgres -c "SELECT rolname FROM pg_roles" >"$spool/roles" || die "cannot read the server's roles; nothing was changed"
  # Statements about roles the server has are left out (matched by the role's name, quoted or
  # not, as pg_dumpall writes it); those about missing roles are run, and stop at any error.
  awk -v existing="$spool/roles" '
    BEGIN { while ((getline r < existing) > 0) have[r] = 1 }
    /^(CREATE|ALTER) ROLE / {
      rest = substr($0, index($0, "ROLE ") + 5)
      if (substr(rest, 1, 1) == "\"") {
        match(rest, /^"([^"]|"")*"/); name = substr(rest, 2, RLENGTH - 2); gsub(/""/, "\"", name)
      } else { match(rest, /^[^ ;]+/); name = substr(rest, 1, RLENGTH) }
      if (name in have) next
    }
    { print }' "$globals" >"$spool/globals-missing.sql"
  psql -X -q -v ON_ERROR_STOP=1 -d postgres -f "$spool/globals-missing.sql" >/dev/null ||
    die "restoring the roles of backup run $stamp failed; the database was not touched"
  log "roles: those missing on the server created from backup run $stamp"
fi

# --- 3. Refuse new connections and end open ones, so the database can be dropped.
exists=$(psql_q -d postgres -v db="$db" <<<"SELECT 1 FROM pg_database WHERE datname = :'db'") || die "cannot reach $PGHOST"
if [[ "$exists" == "1" ]]; then
  blocked=yes
  psql_q -d postgres -v db="$db" >/dev/null <<'SQL' || die "could not block connections to $db"
SELECT format('ALTER DATABASE %I ALLOW_CONNECTIONS false', :'db') \gexec
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :'db' AND pid <> pg_backend_pid();
SQL
  log "$db: new connections refused, open ones ended"
fi

# --- 4. Replace the database.
pg_restore --no-password -d postgres --clean --create --if-exists --exit-on-error "$dump" ||
  die "pg_restore of $name into $db failed; see the messages above"
# The database was recreated, with connections allowed: nothing to undo any more.
blocked=""
psql_q -d "$db" -c "ANALYZE" >/dev/null || log "WARNING: ANALYZE of $db failed"

# --- 5. Check the result against the row counts recorded with the dump.
if [[ -n "$counts" ]]; then
  count_rows "$db" >"$spool/restored" || die "cannot count the rows of the restored $db"
  if ! diff -u --label "backup $stamp" --label "restored $db" "$counts" "$spool/restored" >&2; then
    die "$db was restored from $name but its row counts differ from the backup's (diff above)"
  fi
  log "$db: row counts of $(wc -l <"$counts") table(s) match the backup"
else
  log "WARNING: no row counts recorded with $name; the restore was not checked against them"
fi
log "restore of $db from $name complete"
