#!/usr/bin/env bash
# `pnpm bench:spark`: the seeds' pipeline on PySpark 3.5 local[2] against the same kind of
# topic `pnpm bench` reads (N bench users, 3 partitions): Postgres append, Postgres upsert
# (JDBC append into staging + INSERT … SELECT … ON CONFLICT) and Cassandra through
# spark-cassandra-connector. Each mode once a run, in its own spark-submit, under GNU time
# (CPU and peak RSS of the JVM). Not part of CI. Settings: PANDAFLOW_BENCH_RECORDS
# (200000), PANDAFLOW_BENCH_RUNS (1). Figures: bench/results/spark-<id>.json.
#
# Quirks of these machines: SPARK_LOCAL_IP=127.0.0.1 (else Spark binds eth0);
# spark-sql-kafka 3.5.8 is not served, 3.5.7 is; Ivy may find a pom in ~/.m2 without its
# jar (such jars are fetched with `mvn dependency:get -Dtransitive=false`); the Cassandra
# connector's test-support artifact must be excluded.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO_ROOT"
CACHE_DIR="${PANDAFLOW_CACHE:-$HOME/.cache/pandaflow}"
SPARK_VERSION=3.5.7
VENV="$CACHE_DIR/spark-venv-$SPARK_VERSION"
RECORDS="${PANDAFLOW_BENCH_RECORDS:-200000}"
RUNS="${PANDAFLOW_BENCH_RUNS:-1}"
export SPARK_LOCAL_IP=127.0.0.1

if [[ ! -x "$VENV/bin/spark-submit" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "pyspark==$SPARK_VERSION"
fi
# spark-submit finds Spark through whichever python3 is first on PATH: the venv's.
export PATH="$VENV/bin:$PATH" PYSPARK_PYTHON="$VENV/bin/python"
SPARK_HOME="$("$VENV/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
export SPARK_HOME
PACKAGES="org.apache.spark:spark-sql-kafka-0-10_2.12:$SPARK_VERSION,org.postgresql:postgresql:42.7.4,com.datastax.spark:spark-cassandra-connector_2.12:3.5.1"
EXCLUDE="com.datastax.spark:spark-cassandra-connector-test-support_2.12"
# Jars Ivy resolves to a pom only (found in ~/.m2 without the jar): fetch them once.
for gav in $(tr ',' ' ' <<<"${PANDAFLOW_SPARK_FETCH_JARS:-}"); do
  mvn -q -B dependency:get -Dtransitive=false -Dartifact="$gav" >&2
done

# Spark's JDBC URL: the same database as PANDAFLOW_PG_URL (postgres://user@host:port/db).
pg="${PANDAFLOW_PG_URL#postgres://}"
JDBC="jdbc:postgresql://${pg#*@}?user=${pg%%@*}"
CASS="${PANDAFLOW_CASSANDRA_CONTACT_POINTS%%,*}"
id="$(date +%s)"
out="$(mktemp -d)"
results=()
for ((run = 1; run <= RUNS; run++)); do
  for mode in append upsert cassandra; do
    table="bench_spark_${mode}_${id}_$run"
    topic="$(./node_modules/.bin/tsx bench/spark/produce.ts "$RECORDS" "$table")"
    /usr/bin/time -f "%U %S %M" -o "$out/time" "$VENV/bin/spark-submit" --master "local[2]" \
      --packages "$PACKAGES" --exclude-packages "$EXCLUDE" \
      --conf spark.cassandra.connection.host="${CASS%%:*}" --conf spark.cassandra.connection.port="${CASS##*:}" \
      --conf spark.ui.enabled=false \
      bench/spark/job.py "$mode" "$PANDAFLOW_BROKERS" "$topic" "$JDBC" "$table" "$RECORDS" >"$out/job" 2>"$out/log" ||
      { tail -n 40 "$out/log" >&2; exit 1; }
    read -r user sys rss <"$out/time"
    line="$(tail -n 1 "$out/job")"
    results+=("$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d.update(cpuSeconds=float(sys.argv[2])+float(sys.argv[3]), peakRssMiB=int(sys.argv[4])/1024, run=int(sys.argv[5])); print(json.dumps(d))' "$line" "$user" "$sys" "$rss" "$run")")
    echo "spark $mode run $run: ${results[-1]}"
    psql_drop="DROP TABLE IF EXISTS $table"
    node -e "const pg=require('pg');const p=new pg.Pool({connectionString:process.env.PANDAFLOW_PG_URL});p.query(process.argv[1]).then(()=>p.end())" "$psql_drop"
    node -e "const c=new (require('cassandra-driver').Client)({contactPoints:[process.argv[2]],localDataCenter:'datacenter1'});c.execute(process.argv[1]).then(()=>c.shutdown())" "DROP TABLE IF EXISTS bench.$table" "$CASS"
    node -e "const {Kafka,logLevel}=require('kafkajs');const a=new Kafka({brokers:process.env.PANDAFLOW_BROKERS.split(','),logLevel:logLevel.ERROR}).admin();a.connect().then(()=>a.deleteTopics({topics:[process.argv[1]]})).then(()=>a.disconnect())" "$topic"
  done
done
mkdir -p bench/results
file="bench/results/spark-$(node -e 'process.stdout.write(Date.now().toString(36))').json"
printf '%s\n' "${results[@]}" | python3 -c '
import json, sys, os, platform
runs = [json.loads(l) for l in sys.stdin if l.strip()]
import datetime
print(json.dumps({"spark": sys.argv[1], "at": datetime.datetime.now(datetime.timezone.utc).isoformat(), "master": "local[2]", "records": int(sys.argv[2]), "cores": os.cpu_count(),
  "python": platform.python_version(), "packages": sys.argv[3].split(","), "runs": runs}, indent=2))' \
  "$SPARK_VERSION" "$RECORDS" "$PACKAGES" >"$file"
rm -rf "$out"
echo "bench:spark: figures written to $file"
