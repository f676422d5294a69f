# shellcheck shell=bash
# PostgreSQL for the local rig: a private cluster in .pandaflow/postgres/data, on its
# own port and socket dir, so it never touches a system cluster. Sourced by
# scripts/services.sh.

PG_ENV_VAR=PANDAFLOW_PG_URL
PG_DB=pandaflow

postgres_default_addr() { echo "postgres://postgres@127.0.0.1:$PG_PORT/$PG_DB"; }
postgres_ports() { echo "$PG_PORT"; }

# Directory holding initdb/pg_ctl/psql: prefer Debian's versioned dir (newest version);
# otherwise whatever is on PATH (symlinks resolved, so initdb finds its postgres).
pg_bindir() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
  if [[ -n "$d" && -x "$d/initdb" ]]; then echo "$d"; return; fi
  if command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
    return
  fi
  return 1
}

# Fresh CI machine without the binaries: install Debian's package when we are root.
# Tell postgresql-common not to create (and start) its default cluster on 5432 first;
# we only want the binaries.
pg_install() {
  [[ "$(id -u)" == 0 ]] || die "postgres: PostgreSQL binaries not found (need initdb/pg_ctl); install the 'postgresql' package"
  command -v apt-get >/dev/null || die "postgres: PostgreSQL binaries not found and no apt-get to install them"
  log "postgres: installing the postgresql package (binaries not found)"
  mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/pandaflow.conf
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
}

# initdb refuses to run as root, so as root everything runs as the `postgres` OS user.
pg_as() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_ensure_os_user() {
  [[ "$(id -u)" == 0 ]] || return 0
  id postgres >/dev/null 2>&1 && return 0
  useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
}

postgres_probe() { # postgres_probe <url>
  local rc=0
  node_probe postgres "$1" || rc=$?
  ((rc == 2)) || return "$rc"
  # No node_modules: psql is next to the server binaries.
  local bin
  bin="$(pg_bindir)" || return 1
  "$bin/psql" "$1" -tAqc 'select 1' >/dev/null 2>&1
}

postgres_start() {
  local dir data run bin
  dir="$(svc_dir postgres)"
  data="$dir/data"
  run="$dir/run"
  bin="$(pg_bindir)" || { pg_install; bin="$(pg_bindir)"; } || die "postgres: no initdb/pg_ctl even after install"
  pg_ensure_os_user
  mkdir -p "$data" "$run"
  touch "$(svc_log postgres)"
  if [[ "$(id -u)" == 0 ]]; then
    chown -R postgres: "$dir"
    runuser -u postgres -- test -w "$data" ||
      die "postgres: the postgres OS user cannot write $data (a parent directory is not traversable)"
  fi
  chmod 700 "$data"
  if [[ ! -f "$data/PG_VERSION" ]]; then
    # Trust auth + C locale: a throwaway dev/test cluster, reachable only on 127.0.0.1.
    pg_as "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --no-locale \
      >>"$(svc_log postgres)" 2>&1 || { show_log_tail postgres; die "postgres: initdb failed"; }
    cat >>"$data/postgresql.conf" <<'CONF'

# --- pandaflow local rig ---
# Durability is pointless for a throwaway test cluster; these make tests faster.
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 64MB
max_connections = 100
CONF
  fi
  # Port, address and socket dir are passed at start (not baked into the conf) so
  # PANDAFLOW_PG_PORT can change between runs.
  # 9>&-: the postmaster must not inherit services.sh's lock fd (it would hold the
  # lock for its whole life).
  pg_as "$bin/pg_ctl" start -W -D "$data" -l "$(svc_log postgres)" \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $run" >>"$(svc_log postgres)" 2>&1 9>&- ||
    { show_log_tail postgres; die "postgres: pg_ctl start failed"; }
  # pg_ctl forks the postmaster; its pid appears in postmaster.pid shortly.
  local i pid=""
  for ((i = 0; i < 50; i++)); do
    pid="$(head -n1 "$data/postmaster.pid" 2>/dev/null || true)"
    [[ -n "$pid" ]] && break
    sleep 0.2
  done
  [[ -n "$pid" ]] || { show_log_tail postgres; die "postgres: postmaster did not start"; }
  echo "$pid"
}

# Once the server answers, make sure the application database exists.
postgres_after_ready() {
  local bin url="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
  bin="$(pg_bindir)"
  if [[ "$("$bin/psql" "$url" -tAqc "select 1 from pg_database where datname = '$PG_DB'")" != 1 ]]; then
    "$bin/psql" "$url" -qc "create database $PG_DB" >/dev/null
  fi
}

postgres_stop() {
  local data bin pid
  data="$(svc_dir postgres)/data"
  if pid="$(svc_pid postgres)"; then
    bin="$(pg_bindir)"
    # fast = roll back open transactions and disconnect clients, then a clean shutdown.
    pg_as "$bin/pg_ctl" stop -D "$data" -m fast -w -t 30 >/dev/null 2>&1 || stop_pid "$pid" 10
  fi
  rm -f "$(svc_pidfile postgres)"
}

postgres_describe() { echo "postgresql $(basename "$(dirname "$(pg_bindir 2>/dev/null || echo /x/unknown/bin)")")"; }
