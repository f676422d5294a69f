#!/usr/bin/env bash
# The Kafka-protocol broker of the local rig. Sourced by scripts/services.sh (which
# owns the up/down/status flow); run directly it just delegates:
#   bash redpanda/broker.sh up|down|status
#
# Which broker:
#   * `redpanda` on PATH  -> a Redpanda dev node (what production runs).
#   * otherwise           -> Apache Kafka (KRaft, single node) from Maven Central jars.
#     Redpanda has no apt/npm package and no binary we can fetch from a package
#     registry, while Kafka's jars are on Maven Central, and the Kafka protocol is
#     what our code (kafkajs) speaks.
set -euo pipefail

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  exec bash "$(dirname "$0")/../scripts/services.sh" "${1:-status}" broker
fi

# Kafka 4.1.1 is verified against kafkajs 2.2.4 (produce/consume/admin round trip).
# Override with PANDAFLOW_KAFKA_VERSION (3.9.x also works: static quorum voters).
KAFKA_VERSION="${PANDAFLOW_KAFKA_VERSION:-4.1.1}"
KAFKA_HOME_CACHE="$CACHE_DIR/kafka-$KAFKA_VERSION"
# Fixed cluster id (base64 of "pandaflow-local1"): storage is formatted once; Kafka
# refuses to start on a log dir formatted with another id, so it must never change.
KAFKA_CLUSTER_ID="cGFuZGFmbG93LWxvY2FsMQ"
BROKER_ENV_VAR=PANDAFLOW_BROKERS

broker_impl() { if command -v redpanda >/dev/null; then echo redpanda; else echo kafka; fi; }
broker_default_addr() { echo "127.0.0.1:$BROKER_PORT"; }

broker_ports() {
  if [[ "$(broker_impl)" == redpanda ]]; then
    # kafka api, admin, rpc, schema registry, http proxy (all offset from the kafka port)
    echo "$BROKER_PORT $((BROKER_PORT + 552)) $((BROKER_PORT - 59)) $((BROKER_PORT - 1011)) $((BROKER_PORT - 1010))"
  else
    echo "$BROKER_PORT $BROKER_CONTROLLER_PORT"
  fi
}

broker_probe() { # broker_probe <host:port[,..]>
  local rc=0
  node_probe broker "$1" || rc=$?
  if ((rc == 2)); then tcp_open "$(first_hostport "$1")"; else return "$rc"; fi
}

# Prepare and launch (non-blocking). Prints the pid.
broker_start() {
  local dir data
  dir="$(svc_dir broker)"
  data="$dir/data"
  mkdir -p "$data"
  if [[ "$(broker_impl)" == redpanda ]]; then
    local p=($(broker_ports))
    render "$REPO_ROOT/redpanda/redpanda.yaml" "$dir/redpanda.yaml" \
      DATA_DIR="$data" PORT="${p[0]}" ADMIN_PORT="${p[1]}" RPC_PORT="${p[2]}" \
      SCHEMA_PORT="${p[3]}" PROXY_PORT="${p[4]}"
    # dev-container: no fsync, relaxed resource checks; --smp 1 keeps it to one core.
    spawn "$(svc_log broker)" redpanda start --mode dev-container --smp 1 \
      --config "$dir/redpanda.yaml"
    return
  fi

  local java lib cp major quorum
  java="$(find_java)"
  maven_fetch "$RIG_DIR/pom-kafka.xml" "$KAFKA_HOME_CACHE" -Dkafka.version="$KAFKA_VERSION" >&2 ||
    die "could not fetch Kafka $KAFKA_VERSION jars (see above)"
  lib="$KAFKA_HOME_CACHE/lib"
  cp="$lib/*"
  major="${KAFKA_VERSION%%.*}"
  if ((major >= 4)); then
    # Kafka 4: dynamic quorum; the node is made the sole voter at format time.
    quorum="controller.quorum.bootstrap.servers=127.0.0.1:$BROKER_CONTROLLER_PORT"
  else
    # Kafka 3.9: static voter list.
    quorum="controller.quorum.voters=1@127.0.0.1:$BROKER_CONTROLLER_PORT"
  fi
  render "$REPO_ROOT/redpanda/server.properties" "$dir/server.properties" \
    QUORUM="$quorum" PORT="$BROKER_PORT" CONTROLLER_PORT="$BROKER_CONTROLLER_PORT" DATA_DIR="$data"

  local jvm=(
    -Xms256m -Xmx512m # small heap: CI shares 2 cores / a few GB with 3 other services
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -XX:+ExitOnOutOfMemoryError
    -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=file:$REPO_ROOT/redpanda/log4j2.properties"
    "-Dkafka.logs.dir=$dir"
    -cp "$cp"
  )
  # Format only once: re-formatting an existing log dir fails (and would be a wipe).
  if [[ ! -f "$data/meta.properties" ]]; then
    local fmt=(format -t "$KAFKA_CLUSTER_ID" -c "$dir/server.properties")
    ((major >= 4)) && fmt+=(--standalone)
    "$java" "${jvm[@]}" kafka.tools.StorageTool "${fmt[@]}" >>"$(svc_log broker)" 2>&1 ||
      { show_log_tail broker; die "broker: storage format failed"; }
  fi
  # The data dir path in argv lets svc_pid recognise the process as ours.
  spawn "$(svc_log broker)" "$java" "${jvm[@]}" kafka.Kafka "$dir/server.properties"
}

broker_after_ready() { :; }

broker_stop() {
  local pid
  if pid="$(svc_pid broker)"; then
    # Kafka's shutdown hook does a controlled shutdown; allow it up to 30 s.
    stop_pid "$pid" 30
  fi
  rm -f "$(svc_pidfile broker)"
}

broker_describe() {
  if [[ "$(broker_impl)" == redpanda ]]; then echo "redpanda"; else echo "kafka $KAFKA_VERSION"; fi
}
