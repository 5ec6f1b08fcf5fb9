# shellcheck shell=bash
# Helpers shared by heat.sh and keystone.sh (sourced, never run).
#
# Why this file exists: both services are started the same way (a Debian
# python, one background process, a pid file, a readiness poll, a PID-only
# stop), and both must stay safe when several copies run side by side on
# other ports. Keeping that logic in one place keeps the two scripts honest
# about the same rules: only loopback, only our own PIDs.

OS_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OS_REPO="$(cd "$OS_HERE/../.." && pwd)"
# Debian's interpreter: python3-heat/python3-keystone live in its
# dist-packages; a pyenv or venv python3 earlier on PATH does not see them.
OS_PY="${OPENSTACK_PYTHON:-/usr/bin/python3}"

os_now() { date +%s.%N; }

# seconds since $1 (from os_now), one decimal
os_elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

os_die() { echo "$OS_NAME: $*" >&2; exit 1; }

# A process is "ours" only if it is alive AND its command line still names
# the marker (our state dir). Guards against a stale pid file whose PID has
# been reused by an unrelated process.
os_pid_is_ours() {
  local pid="$1" marker="$2"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker"
}

# true when something already accepts TCP connections on 127.0.0.1:$1
os_port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Refuse to start when our pid file names a live process of ours, or when the
# port is taken (a readiness probe would otherwise talk to the other server).
os_check_can_start() {
  local pidfile="$1" marker="$2" port="$3" pid
  if [ -f "$pidfile" ]; then
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    if os_pid_is_ours "$pid" "$marker"; then
      os_die "already running with PID $pid (stop it first)"
    fi
    rm -f "$pidfile"
  fi
  if os_port_busy "$port"; then
    os_die "127.0.0.1:$port is already in use by another process; pick another port"
  fi
}

# SIGTERM the PID in $pidfile (only if it is ours), SIGKILL after $3 seconds.
os_stop_pidfile() {
  local pidfile="$1" marker="$2" grace="${3:-5}" pid i
  [ -f "$pidfile" ] || { echo "$OS_NAME: not running (no pid file)" >&2; return 0; }
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  if ! os_pid_is_ours "$pid" "$marker"; then
    echo "$OS_NAME: pid file names PID ${pid:-?}, which is not running (or not ours); removing the pid file" >&2
    rm -f "$pidfile"; return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    os_pid_is_ours "$pid" "$marker" || break
    sleep 0.1
  done
  if os_pid_is_ours "$pid" "$marker"; then
    echo "$OS_NAME: PID $pid still alive ${grace}s after SIGTERM; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do os_pid_is_ours "$pid" "$marker" || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
  echo "$OS_NAME: stopped PID $pid" >&2
}

# Kill a process we just started and that never became ready.
os_kill_started() {
  local pid="$1"
  kill -TERM "$pid" 2>/dev/null || return 0
  sleep 1
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# Tell where the log is and show its end; for failure paths.
os_show_log() {
  local log="$1"
  echo "$OS_NAME: log: $log (last 30 lines follow)" >&2
  if [ -s "$log" ]; then tail -n 30 "$log" >&2; else echo "  (log is empty or missing)" >&2; fi
}

# Fail early, with the remedy, when Debian's python lacks a module.
os_require_module() {
  local mod="$1" pkg="$2"
  [ -x "$OS_PY" ] || os_die "$OS_PY not found; run $OS_HERE/install.sh (as root)"
  "$OS_PY" -c "import $mod" 2>/dev/null \
    || os_die "$OS_PY cannot import '$mod' (package $pkg missing?); run $OS_HERE/install.sh (as root)"
  command -v curl >/dev/null || os_die "curl missing; run $OS_HERE/install.sh (as root)"
  command -v jq >/dev/null || os_die "jq missing; run $OS_HERE/install.sh (as root)"
}

# Switch a sqlite file to write-ahead logging. The setting is stored in the
# file, so every later connection (Heat's engine, Keystone) gets it.
os_sqlite_wal() {
  "$OS_PY" - "$1" <<'PY'
import sqlite3, sys
mode = sqlite3.connect(sys.argv[1]).execute('PRAGMA journal_mode=WAL').fetchone()[0]
if mode.lower() != 'wal':
    sys.exit('could not switch %s to WAL (got %s)' % (sys.argv[1], mode))
PY
}

# Ask Keystone for a project-scoped token. Prints "TOKEN PROJECT_ID", or
# nothing (and fails) when Keystone refuses. With BODY_FILE, the response
# (which holds the catalog) is also saved there.
#   os_keystone_token KEYSTONE_URL USER PASSWORD PROJECT [BODY_FILE]
os_keystone_token() {
  local url="$1" user="$2" pass="$3" project="$4" save="${5:-/dev/null}" body hdrs tok pid
  body="$(jq -cn --arg u "$user" --arg p "$pass" --arg pr "$project" '{auth: {
      identity: {methods: ["password"], password: {user: {name: $u, domain: {id: "default"}, password: $p}}},
      scope: {project: {name: $pr, domain: {id: "default"}}}}}')"
  hdrs="$(mktemp)"
  pid="$(curl -sf --max-time 10 -D "$hdrs" -H 'Content-Type: application/json' \
           -d "$body" "$url/auth/tokens" | tee "$save" | jq -r '.token.project.id // empty')" || { rm -f "$hdrs"; return 1; }
  tok="$(awk 'tolower($1) == "x-subject-token:" { print $2 }' "$hdrs" | tr -d '\r')"
  rm -f "$hdrs"
  [ -n "$tok" ] && [ -n "$pid" ] || return 1
  echo "$tok $pid"
}
