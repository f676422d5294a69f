# shellcheck shell=bash
# Cassandra for the local rig: one node on 127.0.0.1. Sourced by scripts/services.sh.
#   * `cassandra` on PATH -> its launcher with our yaml (e.g. nixpkgs' cassandra).
#   * otherwise -> cassandra-all jars from Maven Central (no tarball/apt package needed),
#     run directly with the JVM flags Cassandra's launcher would have added.

CASSANDRA_VERSION="${PANDAFLOW_CASSANDRA_VERSION:-5.0.6}"
CASSANDRA_HOME_CACHE="$CACHE_DIR/cassandra-$CASSANDRA_VERSION"
CASSANDRA_ENV_VAR=PANDAFLOW_CASSANDRA_CONTACT_POINTS

cassandra_default_addr() { echo "127.0.0.1:$CASSANDRA_PORT"; }
cassandra_ports() { echo "$CASSANDRA_PORT $CASSANDRA_STORAGE_PORT $CASSANDRA_JMX_PORT"; }

cassandra_probe() { # cassandra_probe <host:port[,..]>
  local rc=0
  node_probe cassandra "$1" "${PANDAFLOW_CASSANDRA_LOCAL_DC:-$CASSANDRA_LOCAL_DC}" || rc=$?
  if ((rc == 2)); then tcp_open "$(first_hostport "$1")"; else return "$rc"; fi
}

cassandra_start() {
  local dir data conf
  dir="$(svc_dir cassandra)"
  data="$dir/data"
  conf="$dir/cassandra.yaml"
  mkdir -p "$data"
  render "$RIG_DIR/cassandra.yaml" "$conf" \
    NATIVE_PORT="$CASSANDRA_PORT" STORAGE_PORT="$CASSANDRA_STORAGE_PORT"

  # Flags shared by both launch paths (why, in order): our config; log to stdout (our
  # log file) and stay in the foreground of its own session; data under .pandaflow; a
  # lone seed node need not wait for gossip to settle (saves ~30 s); JMX only on
  # localhost and on a non-default port.
  local props=(
    "-Dcassandra.config=file://$conf"
    "-Dlogback.configurationFile=$RIG_DIR/logback.xml"
    -Dcassandra-foreground=yes
    "-Dcassandra.storagedir=$data"
    "-Dcassandra.logdir=$dir"
    -Dcassandra.skip_wait_for_gossip_to_settle=0
    "-Dcassandra.jmx.local.port=$CASSANDRA_JMX_PORT"
    -Djava.net.preferIPv4Stack=true
  )

  if command -v cassandra >/dev/null; then
    # The stock launcher computes the JPMS flags itself; -R allows running as root,
    # -f keeps it in the foreground (we detach it with setsid instead).
    MAX_HEAP_SIZE=1G HEAP_NEWSIZE=200M CASSANDRA_LOG_DIR="$dir" \
      spawn "$(svc_log cassandra)" cassandra -f -R "${props[@]}"
    return
  fi

  local java lib jamm opts=()
  java="$(find_java)"
  maven_fetch "$RIG_DIR/pom-cassandra.xml" "$CASSANDRA_HOME_CACHE" \
    -Dcassandra.version="$CASSANDRA_VERSION" >&2 ||
    die "could not fetch Cassandra $CASSANDRA_VERSION jars (see above)"
  lib="$CASSANDRA_HOME_CACHE/lib"
  jamm="$(ls "$lib"/jamm-*.jar | head -n1)"
  # JPMS --add-exports/--add-opens for Java 17 (Cassandra dies without them).
  mapfile -t opts < <(grep -v -e '^#' -e '^[[:space:]]*$' "$RIG_DIR/cassandra-jvm17.options")

  local jvm=(
    -Xms512m -Xmx1g # modest heap: shares a 2-core CI box with 3 other processes
    -XX:MaxDirectMemorySize=256m
    -Xss256k # Cassandra's default thread stack; it runs many threads
    -XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxGCPauseMillis=300
    -XX:+ExitOnOutOfMemoryError
    "-javaagent:$jamm" # jamm measures object sizes for memtable accounting; required
    "${opts[@]}"
    "${props[@]}"
    -cp "$lib/*"
  )
  spawn "$(svc_log cassandra)" "$java" "${jvm[@]}" org.apache.cassandra.service.CassandraDaemon
}

cassandra_after_ready() { :; }

cassandra_stop() {
  local pid
  if pid="$(svc_pid cassandra)"; then
    # Cassandra's shutdown hook drains and flushes; 60 s covers a busy CI box.
    stop_pid "$pid" 60
  fi
  rm -f "$(svc_pidfile cassandra)"
}

cassandra_describe() {
  if command -v cassandra >/dev/null; then echo "cassandra (PATH)"; else echo "cassandra $CASSANDRA_VERSION"; fi
}
