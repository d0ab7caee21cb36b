# shellcheck shell=bash
# Shared by pgbackup.sh, pgrestore.sh and pgdrill.sh; sourced, never run.
#
# Connection: the libpq variables PGHOST, PGPORT, PGUSER and PGPASSWORD (a superuser: the
# globals dump reads pg_authid, and the restore creates, renames and drops databases).
# Object store: BACKUP_REMOTE is an rclone path ending in the stage, e.g. "oss:<bucket>/<stage>";
# the remote itself is configured with RCLONE_CONFIG_<REMOTE>_* variables, never a file with keys.
# Databases: PGBACKUP_DATABASES lists, one per line, the databases that must exist and be backed
# up (the program's plan, components/postgres/plan.ts); nothing is taken from the server's list.
#
# Layout under BACKUP_REMOTE, for a backup run <T> (UTC, YYYYmmddTHHMMSSZ: names sort in time order):
#   _globals/<T>.sql    pg_dumpall --globals-only (roles, memberships, role settings)
#   <db>/<T>.counts     row count of each table and owner and privileges of each relation and
#                       schema, read in the dump's own snapshot
#   <db>/<T>.dump       pg_dump -Fc of one database
#   <db>/<T>.complete   written last, only when the three above are uploaded: their sha256 sums.
# A dump without its .complete marker is an unfinished run; restore and drill never use it.

# Databases whose name starts with these are the drill's scratch copies and the restore's
# databases in progress and safety copies; never platform databases (plan.ts reserves them).
# shellcheck disable=SC2034 # used by the scripts that source this file
PG_DRILL_PREFIX="pgdrill_"
# shellcheck disable=SC2034
PG_RESTORE_PREFIX="pgrestore_"
# shellcheck disable=SC2034
PG_GLOBALS_DIR="_globals"
# The one rule for database names, the same as plan.ts's: backup refuses to be given, and restore
# refuses to be asked for, any other name. 48 characters leave room for the restore's prefixes
# within PostgreSQL's 63.
PG_DB_NAME_RE='^[a-z][a-z0-9_]{0,47}$'

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

# Why a database name is not one the platform makes; nothing when it is.
db_name_problem() {
  local db="$1"
  if [[ ! "$db" =~ $PG_DB_NAME_RE ]]; then
    printf '%s' "'$db' is not a database name of the platform (a lower-case letter, then lower-case letters, digits or '_'; at most 48)"
  elif [[ "$db" == postgres || "$db" == "$PG_DRILL_PREFIX"* || "$db" == "$PG_RESTORE_PREFIX"* ]]; then
    printf '%s' "'$db' is a reserved name"
  fi
}

# Reads PGBACKUP_DATABASES into the array EXPECTED_DATABASES; dies on an empty list, a name the
# platform does not make, or a name listed twice, before anything is touched.
read_expected_databases() {
  local line problem
  declare -gA _seen_db=()
  EXPECTED_DATABASES=()
  while IFS= read -r line || [[ -n "$line" ]]; do
    [[ -n "$line" ]] || continue
    problem=$(db_name_problem "$line")
    [[ -z "$problem" ]] || die "PGBACKUP_DATABASES: $problem"
    [[ -z "${_seen_db[$line]:-}" ]] || die "PGBACKUP_DATABASES: '$line' is listed twice"
    _seen_db[$line]=1
    EXPECTED_DATABASES+=("$line")
  done <<<"${PGBACKUP_DATABASES:-}"
  ((${#EXPECTED_DATABASES[@]} > 0)) || die "PGBACKUP_DATABASES lists no database"
}

# psql that stops at the first error and prints nothing but results.
psql_q() { psql -X -q -v ON_ERROR_STOP=1 --no-psqlrc -A -t "$@"; }

# Every database of the server other than templates, the maintenance database, the drill's and
# the restore's own, into the array SERVER_DATABASES. NUL-separated, so any name (spaces,
# newlines) arrives whole.
read_server_databases() {
  local out="$1"
  psql_q -d postgres -0 -c "SELECT datname FROM pg_database
    WHERE NOT datistemplate AND datname <> 'postgres'
      AND left(datname, length('${PG_DRILL_PREFIX}')) <> '${PG_DRILL_PREFIX}'
      AND left(datname, length('${PG_RESTORE_PREFIX}')) <> '${PG_RESTORE_PREFIX}'
    ORDER BY datname" >"$out" || return 1
  mapfile -d '' -t SERVER_DATABASES <"$out" || return 1
}

# Prints the quoted names of the server's databases that the plan does not list (one line), or nothing.
extra_databases() {
  local db w wanted extra=()
  for db in "${SERVER_DATABASES[@]}"; do
    wanted=""
    for w in "${EXPECTED_DATABASES[@]}"; do [[ "$w" == "$db" ]] && wanted=yes; done
    [[ -n "$wanted" ]] || extra+=("'$db'")
  done
  ((${#extra[@]} == 0)) || printf '%s\n' "${extra[*]}"
}

# True when the server has the database.
server_has() {
  local db="$1" have
  for have in "${SERVER_DATABASES[@]}"; do [[ "$have" == "$db" ]] && return 0; done
  return 1
}

# SQL that, run with \gexec, prints "<schema>.<table><TAB><rows>" for every ordinary table
# (leaf partitions included, partitioned parents excluded so no row is counted twice).
COUNT_ROWS_SQL="SELECT format('SELECT %L || chr(9) || count(*) FROM %I.%I',
    format('%I.%I', n.nspname, c.relname), n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
  ORDER BY n.nspname, c.relname"

# SQL printing the owner and privileges of every schema and relation (tables, views, sequences,
# ...) that pg_dump carries: what a restore must bring back besides the rows (roles and grants).
PRIVILEGES_SQL="SELECT format('privileges of schema %I%sowner=%s acl=%s', n.nspname, chr(9),
    pg_get_userbyid(n.nspowner), coalesce(n.nspacl::text, 'default'))
  FROM pg_namespace n
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp%'
    AND n.nspname NOT LIKE 'pg_toast_temp%'
  UNION ALL
  SELECT format('privileges of %s %I.%I%sowner=%s acl=%s', c.relkind, n.nspname, c.relname, chr(9),
    pg_get_userbyid(c.relowner), coalesce(c.relacl::text, 'default'))
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'"

# Prints the row counts of a database's tables and the owners and privileges of its objects, sorted.
count_rows() {
  local db="$1" out
  out=$({ printf '%s\n' "$COUNT_ROWS_SQL" '\gexec' "$PRIVILEGES_SQL;"; } | psql_q -d "$db" -f -) || return 1
  printf '%s\n' "$out" | LC_ALL=C sort || return 1
}

# The PgBouncer Pooler in front of the database (a CloudNativePG Pooler), paused for a restore's
# swap: CloudNativePG turns spec.pgbouncer.paused into PgBouncer's PAUSE and RESUME, so clients
# that connect meanwhile wait in the pooler (up to its query_wait_timeout) instead of failing on
# a database that refuses connections, and continue on the restored one. POOLER_NAME unset (a
# restore run by hand outside the cluster): there is no pooler to pause. KUBECTL names the binary
# where it is not on PATH (the restore Job copies it into a shared volume).
pooler_set_paused() {
  local paused="$1" err
  [[ -n "${POOLER_NAME:-}" ]] || return 0
  err=$("${KUBECTL:-kubectl}" --namespace "${POOLER_NAMESPACE:?POOLER_NAMESPACE is not set}" patch pooler.postgresql.cnpg.io "$POOLER_NAME" \
    --type merge --patch "{\"spec\":{\"pgbouncer\":{\"paused\":$paused}}}" 2>&1) || {
    log "cannot set paused=$paused on pooler $POOLER_NAME: ${err:-kubectl gave no reason}"
    return 1
  }
}

# rclone without its "no config file" notice: the remote comes from RCLONE_CONFIG_* variables.
# RCLONE names the binary where it is not on PATH (the Jobs copy it into a shared volume).
store() { "${RCLONE:-rclone}" -q "$@"; }

# Copies an object to a local file; on failure prints rclone's own words to stderr and fails.
fetch() {
  local from="$1" to="$2" err
  err=$(store copyto "$from" "$to" 2>&1) || {
    log "cannot fetch $from: ${err:-rclone gave no reason}"
    return 1
  }
}

# Names of the objects in a remote directory, into the file given; fails (with rclone's words)
# when the listing fails. An absent directory lists as empty.
list_objects() {
  local dir="$1" out="$2" status=0 err
  err=$(store lsf --files-only "$dir/" 2>&1 >"$out") || status=$?
  # Exit status 3 is rclone's "directory not found": a local remote's way of saying "empty"
  # (object stores list an absent prefix as empty).
  if [[ $status -eq 3 ]]; then : >"$out"; return 0; fi
  [[ $status -eq 0 ]] || { log "cannot list $dir (rclone exit status $status): $err"; return 1; }
}

# Timestamp of the newest complete backup run of a database (its .complete marker exists), or
# nothing when there is none. Fails when the listing fails.
latest_complete() {
  local dir="$1" listing stamps
  listing=$(mktemp) || return 1
  list_objects "$dir" "$listing" || { rm -f "$listing"; return 1; }
  stamps=$(grep -E '^[0-9]{8}T[0-9]{6}Z\.complete$' "$listing" | LC_ALL=C sort) || stamps=""
  rm -f "$listing"
  [[ -z "$stamps" ]] || printf '%s\n' "${stamps##*$'\n'}" | sed 's/\.complete$//'
}

# Seconds since a backup timestamp (YYYYmmddTHHMMSSZ).
stamp_age() {
  local s="$1" at
  at=$(date -u -d "${s:0:4}-${s:4:2}-${s:6:2}T${s:9:2}:${s:11:2}:${s:13:2}Z" +%s) || return 1
  echo $(($(date -u +%s) - at))
}

# Fetches the complete backup run <stamp> of <db> into <dir> (dump, counts, globals.sql) and checks
# it: the marker's sums match, the dump's table of contents is readable and names this database,
# and the dump reads to its end. Prints why not and fails otherwise; touches no database.
fetch_checked_run() {
  local db="$1" stamp="$2" dir="$3" toc dumped_db sums
  fetch "$BACKUP_REMOTE/$db/$stamp.complete" "$dir/complete" ||
    { log "backup run $stamp of $db is not complete (no $stamp.complete marker)"; return 1; }
  fetch "$BACKUP_REMOTE/$db/$stamp.dump" "$dir/dump" || return 1
  fetch "$BACKUP_REMOTE/$db/$stamp.counts" "$dir/counts" || return 1
  fetch "$BACKUP_REMOTE/$PG_GLOBALS_DIR/$stamp.sql" "$dir/globals.sql" || return 1
  # The marker names the files as the backup wrote them; check them under the names here.
  sums=$(sed -e "s#  $db/$stamp\\.dump\$#  $dir/dump#" -e "s#  $db/$stamp\\.counts\$#  $dir/counts#" \
    -e "s#  $PG_GLOBALS_DIR/$stamp\\.sql\$#  $dir/globals.sql#" "$dir/complete") || return 1
  [[ $(grep -c . <<<"$sums") -eq 3 ]] || { log "the marker of run $stamp of $db does not list its three files"; return 1; }
  sha256sum --quiet --check <<<"$sums" >&2 || { log "run $stamp of $db: a file differs from what the backup uploaded (sha256)"; return 1; }
  toc=$(pg_restore --list "$dir/dump" 2>&1) || { log "dump $stamp of $db is unreadable (pg_restore --list: ${toc##*$'\n'})"; return 1; }
  dumped_db=$(sed -n 's/^;[[:space:]]*[Dd]bname: //p' <<<"$toc" | head -n 1)
  [[ "$dumped_db" == "$db" ]] || { log "dump $stamp under $db/ is of database '$dumped_db', not '$db'"; return 1; }
  pg_restore -f /dev/null "$dir/dump" 2>/dev/null || { log "dump $stamp of $db is damaged: it does not read to its end"; return 1; }
}

# Creates the roles of a globals dump that the server lacks; roles that exist keep their
# passwords (they belong to the platform's Secrets). Statements about existing roles are left
# out (matched by the role's name, quoted or not, as pg_dumpall writes it).
restore_missing_roles() {
  local globals="$1" dir
  dir=$(dirname "$globals")
  psql_q -d postgres -c "SELECT rolname FROM pg_roles" >"$dir/roles" || { log "cannot read the server's roles"; return 1; }
  awk -v existing="$dir/roles" '
    BEGIN { while ((getline r < existing) > 0) have[r] = 1 }
    /^(CREATE|ALTER) ROLE / {
      rest = substr($0, index($0, "ROLE ") + 5)
      if (substr(rest, 1, 1) == "\"") {
        match(rest, /^"([^"]|"")*"/); name = substr(rest, 2, RLENGTH - 2); gsub(/""/, "\"", name)
      } else { match(rest, /^[^ ;]+/); name = substr(rest, 1, RLENGTH) }
      if (name in have) next
    }
    { print }' "$globals" >"$dir/globals-missing.sql" || return 1
  psql -X -q -v ON_ERROR_STOP=1 -d postgres -f "$dir/globals-missing.sql" >/dev/null || { log "creating the missing roles failed"; return 1; }
}

# Owner of the database in a dump (its DATABASE entry), for creating the target before pg_restore.
dump_owner() {
  local dump="$1" db="$2" line
  line=$(pg_restore --create --list "$dump" | grep -E "^[0-9]+; [0-9]+ [0-9]+ DATABASE - $db " | head -n 1) || return 1
  [[ -n "$line" ]] || return 1
  printf '%s\n' "${line#* DATABASE - "$db" }"
}

# Restores a checked dump into a new database <target> that only superusers can reach
# (CONNECTION LIMIT 0; its name is one no client uses), then ANALYZE, then compares its row counts
# and privileges with those the backup recorded. Fails, with a diff, when anything differs.
restore_into() {
  local target="$1" dir="$2" label="$3" owner
  owner=$(dump_owner "$dir/dump" "$label") || { log "the dump has no DATABASE entry for $label"; return 1; }
  psql_q -d postgres -v db="$target" -v owner="$owner" >/dev/null <<'SQL' || { log "cannot create $target"; return 1; }
SELECT format('CREATE DATABASE %I OWNER %I TEMPLATE template0 CONNECTION LIMIT 0', :'db', :'owner') \gexec
SQL
  pg_restore --no-password -d "$target" --exit-on-error "$dir/dump" || { log "pg_restore into $target failed (messages above)"; return 1; }
  psql_q -d "$target" -c "ANALYZE" >/dev/null || { log "ANALYZE of $target failed"; return 1; }
  count_rows "$target" >"$dir/restored" || { log "cannot count the rows of $target"; return 1; }
  if ! diff -u --label "$label as backed up" --label "$label restored" "$dir/counts" "$dir/restored" >&2; then
    log "$label: MISMATCH between the restored rows or privileges and those the backup recorded (diff above)"
    return 1
  fi
  log "$label: row counts and privileges of $(grep -c . "$dir/counts") object(s) match the backup"
}

# Drops a database, ending its sessions; quiet when it does not exist.
drop_database() {
  PGOPTIONS="-c client_min_messages=warning" dropdb --no-password --if-exists --force "$1"
}
