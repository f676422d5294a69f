# shellcheck shell=bash
# Shared helpers for the local service rig (sourced by scripts/services.sh and the
# per-service scripts). Everything lives in the git-ignored .pandaflow/ folder of the
# repo; downloaded jars live in a cache OUTSIDE the clone so `git clean` or a fresh
# worktree does not re-download ~150 MB.

REPO_ROOT="${REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
RIG_DIR="$REPO_ROOT/scripts/services"
STATE_DIR="$REPO_ROOT/.pandaflow"
CACHE_DIR="${PANDAFLOW_CACHE:-$HOME/.cache/pandaflow}"

# Ports: defaults are deliberately non-standard so a developer's own Kafka/Postgres/
# Cassandra on the usual ports never collides with the rig.
BROKER_PORT="${PANDAFLOW_BROKER_PORT:-19092}"
BROKER_CONTROLLER_PORT="${PANDAFLOW_BROKER_CONTROLLER_PORT:-$((BROKER_PORT + 1))}"
PG_PORT="${PANDAFLOW_PG_PORT:-55432}"
CASSANDRA_PORT="${PANDAFLOW_CASSANDRA_PORT:-19042}"
CASSANDRA_STORAGE_PORT="${PANDAFLOW_CASSANDRA_STORAGE_PORT:-17000}"
CASSANDRA_JMX_PORT="${PANDAFLOW_CASSANDRA_JMX_PORT:-17199}"
CASSANDRA_LOCAL_DC="datacenter1" # what SimpleSnitch reports

# Readiness budgets (seconds). Cassandra is slow to boot on 2 cores next to a JVM broker.
BROKER_TIMEOUT="${PANDAFLOW_BROKER_TIMEOUT:-90}"
PG_TIMEOUT="${PANDAFLOW_PG_TIMEOUT:-60}"
CASSANDRA_TIMEOUT="${PANDAFLOW_CASSANDRA_TIMEOUT:-240}"

log() { printf 'pandaflow: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

svc_dir() { echo "$STATE_DIR/$1"; }
svc_log() { echo "$STATE_DIR/$1/$1.log"; }
svc_pidfile() { echo "$STATE_DIR/$1/$1.pid"; }

# Is something accepting TCP connections on 127.0.0.1:<port>? Uses bash's /dev/tcp so it
# needs neither ss nor nc; `timeout` guards against a SYN that is never answered.
port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

# The pid recorded for a service, if that process is still alive AND is one of ours
# (its command line mentions our .pandaflow dir): a stale pid file whose number was
# recycled by an unrelated process must not count as "running".
svc_pid() {
  local pidfile pid
  pidfile="$(svc_pidfile "$1")"
  [[ -f "$pidfile" ]] || return 1
  pid="$(head -n1 "$pidfile" 2>/dev/null || true)"
  pid_alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$STATE_DIR" || return 1
  echo "$pid"
}

# Launch a long-running command detached from our session (setsid + nohup), so it
# survives the calling shell, CI step or `exec` in with-services.sh, and cannot be
# killed by a Ctrl-C aimed at the script. stdout/stderr go to the service log.
# fd 9 (services.sh's lock) is closed so a long-lived service never holds the lock.
# Prints the pid.
spawn() {
  local logfile="$1"
  shift
  setsid nohup "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
  echo $!
}

# Stop a pid: SIGTERM, wait up to <secs>, then SIGKILL. JVMs run shutdown hooks on
# TERM (Kafka flushes and closes its log cleanly), so give them time first.
stop_pid() {
  local pid="$1" secs="${2:-30}" i
  pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < secs * 4; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.25
  done
  log "pid $pid ignored SIGTERM for ${secs}s, sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  sleep 0.5
}

# Real protocol round trip through the repo's own client libraries (probe.mjs).
# Returns 0 answered, 1 not answering, 2 cannot probe (node or node_modules missing).
node_probe() {
  command -v node >/dev/null || return 2
  [[ -d "$REPO_ROOT/node_modules" ]] || return 2
  local rc=0
  node "$RIG_DIR/probe.mjs" "$@" >/dev/null 2>&1 || rc=$?
  return "$rc"
}

# First host:port of a comma-separated list (for the TCP fallback check).
first_hostport() { echo "${1%%,*}"; }
tcp_open() { # tcp_open host:port
  local hp="$1"
  timeout 2 bash -c "exec 3<>/dev/tcp/${hp%:*}/${hp##*:}" 2>/dev/null
}

# Resolve Maven artifacts (and their runtime dependencies) into <dest>/lib using one
# of the small poms in scripts/services. Skipped entirely when the jars are cached.
# Written to a temp dir first and renamed, so an interrupted download never leaves a
# half-filled lib dir that a later run would trust.
maven_fetch() { # maven_fetch <pom> <dest-dir> <-Dprop=value>...
  local pom="$1" dest="$2"
  shift 2
  if [[ -f "$dest/.complete" ]]; then return 0; fi
  command -v mvn >/dev/null || die "mvn (Maven) is needed to fetch $(basename "$dest") jars; install Maven or put the jars in $dest/lib"
  mkdir -p "$(dirname "$dest")"
  local tmp="$dest.tmp.$$"
  rm -rf "$tmp"
  log "fetching $(basename "$dest") jars with Maven into $dest (first run only)"
  if ! mvn -q -B -f "$pom" "$@" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp/lib" >"$tmp.mvn.log" 2>&1; then
    tail -n 40 "$tmp.mvn.log" >&2
    rm -rf "$tmp"
    return 1
  fi
  rm -f "$tmp.mvn.log"
  touch "$tmp/.complete"
  rm -rf "$dest"
  mv "$tmp" "$dest"
}

# Render a template: replaces @KEY@ tokens with values given as KEY=value arguments.
render() { # render <template> <out> KEY=value...
  local tpl="$1" out="$2" expr=() kv
  shift 2
  for kv in "$@"; do
    expr+=(-e "s|@${kv%%=*}@|${kv#*=}|g")
  done
  sed "${expr[@]}" "$tpl" >"$out"
}

# Print the end of a service log after a failure, so CI output shows why.
show_log_tail() {
  local logfile
  logfile="$(svc_log "$1")"
  if [[ -f "$logfile" ]]; then
    log "last 40 lines of $logfile:"
    tail -n 40 "$logfile" >&2
  else
    log "(no log file at $logfile)"
  fi
}

# Wait until <probe-fn> succeeds, bounded by <timeout> seconds; fail early if the
# process (pid, may be empty for external services) dies meanwhile.
wait_ready() { # wait_ready <service> <port> <timeout> <pid|""> <probe-fn> [args...]
  local svc="$1" port="$2" timeout="$3" pid="$4"
  shift 4
  local deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    if "$@"; then return 0; fi
    if [[ -n "$pid" ]] && ! pid_alive "$pid"; then
      log "$svc (at $port) died during start-up (pid $pid)"
      show_log_tail "$svc"
      return 1
    fi
    sleep 1
  done
  log "$svc (at $port) did not become ready within ${timeout}s"
  # Our log says nothing about a service we did not start.
  if [[ -n "$pid" ]]; then show_log_tail "$svc"; fi
  return 1
}

# Before starting: fail at once if any port we need is held by something else.
ensure_ports_free() { # ensure_ports_free <service> <port>...
  local svc="$1" p
  shift
  for p in "$@"; do
    if port_open "$p"; then
      log "$svc cannot start: port $p on 127.0.0.1 is already in use"
      return 1
    fi
  done
}

find_java() {
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    echo "$JAVA_HOME/bin/java"
  elif command -v java >/dev/null; then
    command -v java
  else
    die "java (17+) is needed for the broker and cassandra; install a JDK 17"
  fi
}
