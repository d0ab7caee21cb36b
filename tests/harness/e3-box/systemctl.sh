#!/bin/bash
# E3-in-a-box stand-in for systemctl (installed as /usr/local/sbin/systemctl inside the test root,
# ahead of /usr/bin/systemctl on root's PATH). The box has no systemd as PID 1, so this starts and
# stops services from their real unit files: the units Debian ships and those the configuration
# script writes (ExecStartPre/ExecStart/ExecReload/ExecStop, Type, User/Group, Environment,
# EnvironmentFile, RuntimeDirectory, PIDFile, %i). What it does NOT do, recorded here and in the
# test: dependencies and ordering, sandboxing (ProtectSystem, PrivateTmp, NoNewPrivileges),
# restart policies, timers (the test runs the timers' services itself), cgroups.
# enable/disable/is-enabled are handed to the real systemctl, which edits symlinks offline.
set -uo pipefail
state=/run/edp-box
mkdir -p "$state" /var/log/edp-box

unit_file() {
  local name=$1 base template
  case "$name" in *.*) ;; *) name="$name.service" ;; esac
  for d in /etc/systemd/system /lib/systemd/system /usr/lib/systemd/system; do
    [ -f "$d/$name" ] && { echo "$d/$name"; return 0; }
  done
  if [[ "$name" == *@*.service ]]; then
    base=${name%%@*}; template="$base@.service"
    for d in /etc/systemd/system /lib/systemd/system /usr/lib/systemd/system; do
      [ -f "$d/$template" ] && { echo "$d/$template"; return 0; }
    done
  fi
  return 1
}

# Prints the values of key $2 of unit $1 (unit file, then its drop-ins), %i substituted.
values() {
  local name=$1 key=$2 file instance="" dropins=()
  case "$name" in *.*) ;; *) name="$name.service" ;; esac
  file=$(unit_file "$name") || return 1
  [[ "$name" == *@*.service ]] && { instance=${name#*@}; instance=${instance%.service}; }
  for d in /etc/systemd/system /lib/systemd/system; do
    for f in "$d/$name.d"/*.conf; do [ -f "$f" ] && dropins+=("$f"); done
  done
  cat "$file" "${dropins[@]}" | sed -n "s/^$key=//p" | sed "s/%i/$instance/g; s/%I/$instance/g"
}
value() { values "$1" "$2" | tail -n 1; }

load_env() {
  local unit=$1 line file
  while IFS= read -r line; do [ -n "$line" ] && export "${line?}"; done < <(values "$unit" Environment | tr ' ' '\n')
  while IFS= read -r file; do
    [ -n "$file" ] || continue
    if [[ "$file" == -* ]]; then file=${file#-}; [ -f "$file" ] || continue; fi
    set -a; . "$file"; set +a
  done < <(values "$unit" EnvironmentFile)
}

# Runs one Exec line as the unit's user, with its environment; a leading "-" ignores failure.
run_line() {
  local unit=$1 line=$2 background=${3:-0} ignore=0 user group
  while [[ "$line" == [-+@!]* ]]; do [[ "$line" == -* ]] && ignore=1; line=${line:1}; done
  user=$(value "$unit" User); group=$(value "$unit" Group)
  local as=()
  if [ -n "$user" ]; then as=(setpriv --reuid="$user" --regid="${group:-$user}" --init-groups); fi
  if [ "$background" = 1 ]; then
    ( load_env "$unit"; export MAINPID=""; exec setsid "${as[@]}" bash -c "exec $line" </dev/null >>"/var/log/edp-box/$unit.log" 2>&1 ) &
    echo $! > "$state/$unit.pid"
    return 0
  fi
  ( load_env "$unit"; export MAINPID; MAINPID=$(cat "$state/$unit.pid" 2>/dev/null || true); "${as[@]}" bash -c "$line" </dev/null >>"/var/log/edp-box/$unit.log" 2>&1 )
  local rc=$?
  [ "$ignore" = 1 ] && return 0
  return $rc
}

canon() { case "$1" in *.*) echo "$1" ;; *) echo "$1.service" ;; esac; }

is_active() {
  local unit=$1 pid pidfile
  [ -f "$state/$unit.active" ] || return 3
  pidfile=$(value "$unit" PIDFile)
  if [ -n "$pidfile" ]; then pid=$(cat "$pidfile" 2>/dev/null) || return 3; kill -0 "$pid" 2>/dev/null || return 3; return 0; fi
  if [ -f "$state/$unit.pid" ]; then kill -0 "$(cat "$state/$unit.pid")" 2>/dev/null || return 3; fi
  return 0
}

start() {
  local unit=$1 type line dir
  is_active "$unit" && return 0
  unit_file "$unit" >/dev/null || { echo "Unit $unit not found." >&2; return 5; }
  type=$(value "$unit" Type); type=${type:-simple}
  while IFS= read -r dir; do
    [ -n "$dir" ] && install -d -m "$(value "$unit" RuntimeDirectoryMode || echo 0755)" "/run/$dir"
  done < <(values "$unit" RuntimeDirectory | tr ' ' '\n')
  while IFS= read -r line; do run_line "$unit" "$line" || { echo "$unit: ExecStartPre failed" >&2; return 1; }; done < <(values "$unit" ExecStartPre)
  line=$(value "$unit" ExecStart)
  case "$type" in
    forking | oneshot)
      run_line "$unit" "$line" || { echo "$unit: ExecStart failed (see /var/log/edp-box/$unit.log)" >&2; return 1; }
      [ "$type" = oneshot ] && return 0 ;;
    *)
      run_line "$unit" "$line" 1
      sleep 0.5
      kill -0 "$(cat "$state/$unit.pid")" 2>/dev/null || { echo "$unit: exited at once (see /var/log/edp-box/$unit.log)" >&2; return 1; } ;;
  esac
  touch "$state/$unit.active"
}

stop() {
  local unit=$1 line pid
  is_active "$unit" || { rm -f "$state/$unit.active"; return 0; }
  line=$(value "$unit" ExecStop)
  if [ -n "$line" ]; then run_line "$unit" "$line"; fi
  if [ -f "$state/$unit.pid" ]; then
    pid=$(cat "$state/$unit.pid")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    rm -f "$state/$unit.pid"
  fi
  rm -f "$state/$unit.active"
}

reload() {
  local unit=$1 line lines
  lines=$(values "$unit" ExecReload)
  [ -n "$lines" ] || { stop "$unit" && start "$unit"; return; }
  while IFS= read -r line; do run_line "$unit" "$line" || return 1; done <<< "$lines"
}

cmd=""; quiet=0; now=0; units=()
for a in "$@"; do
  case "$a" in
    --quiet | -q) quiet=1 ;;
    --now) now=1 ;;
    --no-block | --no-pager | --system) ;;
    -*) ;;
    *) if [ -z "$cmd" ]; then cmd=$a; else units+=("$(canon "$a")"); fi ;;
  esac
done

rc=0
case "$cmd" in
  daemon-reload) exit 0 ;;
  enable | disable | is-enabled)
    /usr/bin/systemctl "$cmd" "${units[@]}" >/dev/null 2>&1 || rc=$?
    if [ "$cmd" = enable ] && [ "$now" = 1 ]; then
      for u in "${units[@]}"; do case "$u" in *.timer) touch "$state/$u.active" ;; *) start "$u" || rc=1 ;; esac; done
    fi ;;
  start) for u in "${units[@]}"; do start "$u" || rc=1; done ;;
  stop) for u in "${units[@]}"; do stop "$u" || rc=1; done ;;
  restart) for u in "${units[@]}"; do stop "$u"; start "$u" || rc=1; done ;;
  reload)
    for u in "${units[@]}"; do
      if is_active "$u"; then reload "$u" || rc=1; else echo "$u is not active, cannot reload." >&2; rc=1; fi
    done ;;
  try-reload-or-restart) for u in "${units[@]}"; do if is_active "$u"; then reload "$u" || rc=1; fi; done ;;
  reload-or-restart) for u in "${units[@]}"; do if is_active "$u"; then reload "$u" || rc=1; else start "$u" || rc=1; fi; done ;;
  is-active)
    for u in "${units[@]}"; do
      if is_active "$u"; then [ "$quiet" = 1 ] || echo active; else [ "$quiet" = 1 ] || echo inactive; rc=3; fi
    done ;;
  *) echo "systemctl stand-in: unsupported command $cmd" >&2; exit 1 ;;
esac
exit $rc
