#!/usr/bin/env bash
# Throwaway real Postgres and QuestDB for the tests, on loopback, under one folder.
#   scripts/services.sh up     start both (idempotent); writes $STAGE1_SERVICES_DIR/env.sh
#   scripts/services.sh down   stop both and delete their data
#   scripts/services.sh env    print the exports the tests read
# Postgres comes from Debian's `postgresql` package, run as the `postgres` user (initdb refuses root).
# QuestDB is the server jar org.questdb:questdb from Maven Central, fetched with `mvn dependency:copy`.
set -euo pipefail

QUESTDB_VERSION="${QUESTDB_VERSION:-9.2.0}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${STAGE1_SERVICES_DIR:-$ROOT/.testenv}"
PG_PORT="${STAGE1_PG_PORT:-54329}"
QDB_HTTP_PORT="${STAGE1_QDB_HTTP_PORT:-19000}"
QDB_ILP_PORT="${STAGE1_QDB_ILP_PORT:-19009}"
QDB_PG_PORT="${STAGE1_QDB_PG_PORT:-18812}"
QDB_MIN_HTTP_PORT="${STAGE1_QDB_MIN_HTTP_PORT:-19003}"
QDB_HEAP="${STAGE1_QDB_HEAP:-1g}"

log() { printf '[services] %s\n' "$*" >&2; }

as_postgres() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_bin() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$found" ]; then
    log "installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
    found=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  echo "$found"
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then log "timed out waiting for $what"; return 1; fi
    sleep 0.3
  done
}

postgres_up() {
  local bin; bin=$(pg_bin)
  mkdir -p "$DIR"
  chmod 755 "$DIR"
  # Everything Postgres writes lives in a folder the postgres user owns.
  local home="$DIR/pg" data="$DIR/pg/data"
  install -d -o postgres -g postgres -m 755 "$home"
  if [ ! -f "$data/PG_VERSION" ]; then
    as_postgres "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$home/initdb.log" 2>&1 \
      || { cat "$home/initdb.log" >&2; exit 1; }
  fi
  if ! as_postgres "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_postgres "$bin/pg_ctl" -D "$data" -l "$home/postgres.log" -w -t 60 \
      -o "-p $PG_PORT -h 127.0.0.1 -k $home -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" start >&2
  fi
  wait_for 60 postgres "$bin/pg_isready" -h 127.0.0.1 -p "$PG_PORT"
  as_postgres "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qtAc \
    "SELECT 1 FROM pg_roles WHERE rolname='stage1'" | grep -q 1 || \
    as_postgres "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE ROLE stage1 LOGIN SUPERUSER PASSWORD 'stage1'" >&2
  as_postgres "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qtAc \
    "SELECT 1 FROM pg_database WHERE datname='stage1'" | grep -q 1 || \
    as_postgres "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE stage1 OWNER stage1" >&2
}

postgres_down() {
  local bin; bin=$(pg_bin)
  [ -f "$DIR/pg/data/PG_VERSION" ] && as_postgres "$bin/pg_ctl" -D "$DIR/pg/data" -m fast -w stop >&2 || true
}

questdb_jar() {
  local jar="$DIR/questdb/questdb-$QUESTDB_VERSION.jar"
  if [ ! -f "$jar" ]; then
    log "fetching org.questdb:questdb:$QUESTDB_VERSION with mvn dependency:copy"
    mvn -q -B dependency:copy -Dartifact="org.questdb:questdb:$QUESTDB_VERSION" -DoutputDirectory="$DIR/questdb" >&2
  fi
  echo "$jar"
}

java_bin() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then echo "$JAVA_HOME/bin/java"; return; fi
  command -v java >/dev/null 2>&1 || {
    log "installing a JDK from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq openjdk-17-jre-headless maven >&2
  }
  command -v java
}

questdb_healthy() { curl -fsS "http://127.0.0.1:$QDB_HTTP_PORT/exec?query=SELECT%201" >/dev/null 2>&1; }

questdb_up() {
  command -v mvn >/dev/null 2>&1 || { export DEBIAN_FRONTEND=noninteractive; apt-get update -qq >&2; apt-get install -y -qq maven >&2; }
  local jar java; jar=$(questdb_jar); java=$(java_bin)
  if questdb_healthy; then return; fi
  mkdir -p "$DIR/qdbdata"
  # The server.conf keys as QDB_* variables: loopback ports, no telemetry, and a read-only
  # Postgres-wire user that the service's SQL routes use, so the database itself refuses writes.
  QDB_HTTP_BIND_TO="127.0.0.1:$QDB_HTTP_PORT" \
  QDB_HTTP_MIN_NET_BIND_TO="127.0.0.1:$QDB_MIN_HTTP_PORT" \
  QDB_LINE_TCP_NET_BIND_TO="127.0.0.1:$QDB_ILP_PORT" \
  QDB_PG_NET_BIND_TO="127.0.0.1:$QDB_PG_PORT" \
  QDB_LINE_UDP_ENABLED=false \
  QDB_TELEMETRY_ENABLED=false \
  QDB_PG_READONLY_USER_ENABLED=true \
  QDB_PG_READONLY_USER=stage1_reader \
  QDB_PG_READONLY_PASSWORD=stage1_reader \
  QDB_SHARED_WORKER_COUNT=2 \
  nohup "$java" -Xms256m -Xmx"$QDB_HEAP" -XX:+UseParallelGC \
    -p "$jar" -m io.questdb/io.questdb.ServerMain -d "$DIR/qdbdata" >"$DIR/questdb.log" 2>&1 &
  echo $! >"$DIR/questdb.pid"
  wait_for 90 questdb questdb_healthy || { tail -n 40 "$DIR/questdb.log" >&2; exit 1; }
}

questdb_down() {
  if [ -f "$DIR/questdb.pid" ]; then
    local pid; pid=$(cat "$DIR/questdb.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$DIR/questdb.pid"
  fi
}

write_env() {
  cat >"$DIR/env.sh" <<ENV
export STAGE1_TEST_POSTGRES_URL="postgresql+asyncpg://stage1:stage1@127.0.0.1:$PG_PORT/stage1"
export STAGE1_TEST_QUESTDB_HTTP="http://127.0.0.1:$QDB_HTTP_PORT"
export STAGE1_TEST_QUESTDB_ILP="127.0.0.1:$QDB_ILP_PORT"
export STAGE1_TEST_QUESTDB_PG="postgresql://stage1_reader:stage1_reader@127.0.0.1:$QDB_PG_PORT/qdb"
export STAGE1_TEST_QUESTDB_JAR="$DIR/questdb/questdb-$QUESTDB_VERSION.jar"
ENV
  cat "$DIR/env.sh"
}

case "${1:-}" in
  up) postgres_up; questdb_up; write_env ;;
  down) questdb_down; postgres_down; rm -rf "$DIR/pg" "$DIR/qdbdata" ;;
  stop) questdb_down; postgres_down ;;
  env) write_env ;;
  *) echo "usage: $0 up|down|stop|env" >&2; exit 2 ;;
esac
