#!/usr/bin/env bash
# Local service rig for pandaflow, without Docker:
#   bash scripts/services.sh up|down|status [broker] [postgres] [cassandra]
# (pnpm services:up / services:down / services:status). Default: all three.
#
#   up      start what is not running (in parallel), wait until each answers a real
#           protocol request, write .pandaflow/env. Idempotent.
#   down    stop what we started (SIGTERM, bounded wait, SIGKILL). Idempotent.
#   status  one line per service. Always exits 0.
#
# Data, logs and pid files live in .pandaflow/<service>/ (git-ignored). If the user
# already exported PANDAFLOW_BROKERS / PANDAFLOW_PG_URL /
# PANDAFLOW_CASSANDRA_CONTACT_POINTS pointing elsewhere, `up` does not start that
# service; it only checks that it answers.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=services/lib.sh
source "$REPO_ROOT/scripts/services/lib.sh"
# shellcheck source=../redpanda/broker.sh
source "$REPO_ROOT/redpanda/broker.sh"
# shellcheck source=services/postgres.sh
source "$REPO_ROOT/scripts/services/postgres.sh"
# shellcheck source=services/cassandra.sh
source "$REPO_ROOT/scripts/services/cassandra.sh"

ALL_SERVICES=(broker postgres cassandra)

env_var_of() {
  case "$1" in
    broker) echo "$BROKER_ENV_VAR" ;;
    postgres) echo "$PG_ENV_VAR" ;;
    cassandra) echo "$CASSANDRA_ENV_VAR" ;;
  esac
}
timeout_of() {
  case "$1" in
    broker) echo "$BROKER_TIMEOUT" ;;
    postgres) echo "$PG_TIMEOUT" ;;
    cassandra) echo "$CASSANDRA_TIMEOUT" ;;
  esac
}

# The address clients should use: the user's own value if exported, else ours.
addr_of() {
  local var
  var="$(env_var_of "$1")"
  if [[ -n "${!var:-}" ]]; then echo "${!var}"; else "$1_default_addr"; fi
}

# External = the user exported an address that is not the one this rig serves. (An
# exported value equal to ours, e.g. from sourcing .pandaflow/env, still means "ours".)
is_external() {
  local var
  var="$(env_var_of "$1")"
  [[ -n "${!var:-}" && "${!var}" != "$("$1_default_addr")" ]]
}

# While booting, Postgres is probed on its always-present `postgres` database; the
# application database is created afterwards.
boot_addr_of() {
  if [[ "$1" == postgres ]]; then
    echo "postgres://postgres@127.0.0.1:$PG_PORT/postgres"
  else
    "$1_default_addr"
  fi
}

# Bring one service up and wait for it. Runs in its own background subshell (see
# cmd_up), so `exit` here only ends this service's attempt.
service_up() {
  local svc="$1" addr timeout pid started=$SECONDS
  addr="$(addr_of "$svc")"
  timeout="$(timeout_of "$svc")"

  if is_external "$svc"; then
    log "$svc: using $(env_var_of "$svc")=$addr from the environment (not started here)"
    wait_ready "$svc" "$addr" "$timeout" "" "${svc}_probe" "$addr" || exit 1
    log "$svc: $addr answers"
    return 0
  fi

  if pid="$(svc_pid "$svc")"; then
    if "${svc}_probe" "$addr"; then
      log "$svc: already up on $addr (pid $pid)"
      return 0
    fi
    # Ours but not answering yet (e.g. another `up` is still starting it): wait.
    log "$svc: pid $pid is running but not answering yet; waiting"
    wait_ready "$svc" "$(boot_addr_of "$svc")" "$timeout" "$pid" "${svc}_probe" "$(boot_addr_of "$svc")" || exit 1
  else
    rm -f "$(svc_pidfile "$svc")"
    # Check BEFORE starting: a foreign process on our port would otherwise make the
    # new process die with a bind error after a long boot, or worse, make the probe
    # succeed against the wrong server.
    # shellcheck disable=SC2046
    if ! ensure_ports_free "$svc" $("${svc}_ports") 2>/dev/null; then
      # The user exported our own default address and already runs something there
      # that speaks the protocol: use it rather than fail.
      local var
      var="$(env_var_of "$svc")"
      if [[ -n "${!var:-}" ]] && "${svc}_probe" "$addr"; then
        log "$svc: $addr is served by a process we did not start; using it"
        return 0
      fi
      # shellcheck disable=SC2046
      ensure_ports_free "$svc" $("${svc}_ports") || exit 1
    fi
    mkdir -p "$(svc_dir "$svc")"
    log "$svc: starting $("${svc}_describe") on $addr"
    local pidtmp
    pidtmp="$(svc_dir "$svc")/.starting"
    "${svc}_start" >"$pidtmp"
    pid="$(tail -n1 "$pidtmp")"
    rm -f "$pidtmp"
    echo "$pid" >"$(svc_pidfile "$svc")"
    wait_ready "$svc" "$(boot_addr_of "$svc")" "$timeout" "$pid" "${svc}_probe" "$(boot_addr_of "$svc")" || exit 1
  fi

  "${svc}_after_ready"
  # Final check on the exact address clients will use (for Postgres: the app database).
  "${svc}_probe" "$addr" || { log "$svc: $addr does not answer after start-up"; show_log_tail "$svc"; exit 1; }
  log "$svc: ready on $addr in $((SECONDS - started))s (pid $(svc_pid "$svc" || echo '?'))"
}

write_env() {
  mkdir -p "$STATE_DIR"
  local f="$STATE_DIR/env"
  {
    echo "# Written by scripts/services.sh up; source it to reach the local services."
    echo "export PANDAFLOW_BROKERS=$(addr_of broker)"
    echo "export PANDAFLOW_PG_URL=$(addr_of postgres)"
    echo "export PANDAFLOW_CASSANDRA_CONTACT_POINTS=$(addr_of cassandra)"
    echo "export PANDAFLOW_CASSANDRA_LOCAL_DC=${PANDAFLOW_CASSANDRA_LOCAL_DC:-$CASSANDRA_LOCAL_DC}"
  } >"$f.tmp"
  mv "$f.tmp" "$f"
  grep '^export' "$f"
}

# Serialise up/down: two test runners calling with-services.sh at once must not both
# see "not running" and race to start the same service on the same port.
take_lock() {
  mkdir -p "$STATE_DIR"
  exec 9>"$STATE_DIR/.lock"
  if command -v flock >/dev/null && ! flock -w 300 9; then
    die "another services.sh up/down has held $STATE_DIR/.lock for 300s"
  fi
}

cmd_up() {
  take_lock
  # Start all requested services at once (JVM boot and Maven fetches overlap), then
  # collect each one's result; one failure does not hide the others' output.
  local svc pids=() failed=()
  for svc in "$@"; do
    service_up "$svc" &
    pids+=($!)
  done
  local i
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed+=("${@:i+1:1}")
  done
  if ((${#failed[@]})); then
    log "failed to bring up: ${failed[*]}"
    exit 1
  fi
  write_env
}

cmd_down() {
  take_lock
  local svc pids=()
  for svc in "$@"; do
    if is_external "$svc"; then
      log "$svc: $(addr_of "$svc") is external; not stopping it"
      continue
    fi
    (
      if svc_pid "$svc" >/dev/null; then
        "${svc}_stop"
        log "$svc: stopped"
      else
        rm -f "$(svc_pidfile "$svc")"
        log "$svc: not running"
      fi
    ) &
    pids+=($!)
  done
  local p rc=0
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  return "$rc"
}

cmd_status() {
  local svc addr pid state
  for svc in "$@"; do
    addr="$(addr_of "$svc")"
    pid="-"
    if is_external "$svc"; then
      pid="external"
      if "${svc}_probe" "$addr"; then state="up (answers)"; else state="down"; fi
    elif pid="$(svc_pid "$svc")"; then
      if "${svc}_probe" "$addr"; then state="up (answers)"; else state="running but not answering"; fi
    else
      pid="-"
      state="down"
    fi
    printf '%-10s %-48s pid %-9s %s\n' "$svc" "$addr" "$pid" "$state"
  done
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  local services=("$@")
  ((${#services[@]})) || services=("${ALL_SERVICES[@]}")
  local s
  for s in "${services[@]}"; do
    case "$s" in
      broker | postgres | cassandra) ;;
      *) die "unknown service '$s' (expected: ${ALL_SERVICES[*]})" ;;
    esac
  done
  case "$cmd" in
    up) cmd_up "${services[@]}" ;;
    down) cmd_down "${services[@]}" ;;
    status) cmd_status "${services[@]}" ;;
    *)
      echo "usage: $0 up|down|status [${ALL_SERVICES[*]}]" >&2
      exit 2
      ;;
  esac
}

main "$@"
