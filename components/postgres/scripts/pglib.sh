# shellcheck shell=bash
# Shared by pgbackup.sh, pgrestore.sh and pgdrill.sh; sourced, never run.
#
# Connection: the libpq variables PGHOST, PGPORT, PGUSER and PGPASSWORD (a superuser: the
# globals dump reads pg_authid, and the restore drops and creates databases).
# Object store: BACKUP_REMOTE is an rclone path ending in the stage, e.g. "oss:<bucket>/<stage>";
# the remote itself is configured with RCLONE_CONFIG_<REMOTE>_* variables, never a file with keys.
#
# Layout under BACKUP_REMOTE:
#   <db>/<timestamp>.dump     pg_dump -Fc of one database
#   <db>/<timestamp>.counts   row count of each table, taken in the dump's own snapshot
#   _globals/<timestamp>.sql  pg_dumpall --globals-only (roles, memberships, role settings)
# <timestamp> is UTC, YYYYmmddTHHMMSSZ, so names sort in time order.

# Databases whose name starts with this are the restore drill's scratch copies.
# shellcheck disable=SC2034 # used by the scripts that source this file
PG_DRILL_PREFIX="pgdrill_"
# shellcheck disable=SC2034
PG_GLOBALS_DIR="_globals"

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

require_env() {
  local name
  for name in "$@"; do
    [[ -n "${!name:-}" ]] || die "environment variable $name is not set"
  done
}

# psql that stops at the first error and prints nothing but results.
psql_q() { psql -X -q -v ON_ERROR_STOP=1 --no-psqlrc -A -t "$@"; }

# Every database that is backed up: all that accept connections except templates, the
# maintenance database and the drill's scratch copies.
list_databases() {
  psql_q -d postgres -c "SELECT datname FROM pg_database
    WHERE datallowconn AND NOT datistemplate AND datname <> 'postgres'
      AND left(datname, length('${PG_DRILL_PREFIX}')) <> '${PG_DRILL_PREFIX}'
    ORDER BY datname"
}

# SQL that, run with \gexec, prints "<schema>.<table><TAB><rows>" for every ordinary table
# (leaf partitions included, partitioned parents excluded so no row is counted twice).
COUNT_ROWS_SQL="SELECT format('SELECT %L || chr(9) || count(*) FROM %I.%I',
    format('%I.%I', n.nspname, c.relname), n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
  ORDER BY n.nspname, c.relname"

# Prints the row counts of a database's tables, sorted.
count_rows() {
  local db="$1"
  { printf '%s\n' "$COUNT_ROWS_SQL" '\gexec'; } | psql_q -d "$db" -f - | LC_ALL=C sort
}

# rclone without its "no config file" notice: the remote comes from RCLONE_CONFIG_* variables.
# RCLONE names the binary where it is not on PATH (the Jobs copy it into a shared volume).
store() { "${RCLONE:-rclone}" -q "$@"; }

# Newest object with the given suffix in a remote directory (names sort in time order), or
# nothing when there is none. Fails when the listing itself fails.
latest_object() {
  local dir="$1" suffix="$2" names status=0
  # stderr joins the listing: with -q rclone writes only errors there, and only on failure.
  names=$(store lsf --files-only "$dir/" 2>&1) || status=$?
  # Exit status 3 is rclone's "directory not found": a local remote's way of saying "empty"
  # (object stores list an absent prefix as empty).
  if [[ $status -eq 3 ]]; then return 0; fi
  [[ $status -eq 0 ]] || die "cannot list $dir (rclone exit status $status): $names"
  printf '%s\n' "$names" | grep -E "^[0-9]{8}T[0-9]{6}Z\\${suffix}\$" | LC_ALL=C sort | tail -n 1 || true
}
