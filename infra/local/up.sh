#!/usr/bin/env bash
# Starts the project-local stack (Kafka KRaft, Apicurio schema registry, Postgres 15, Redis) as plain processes,
# with all binaries and data under <repo>/.local. Idempotent: a component that is already running and healthy is
# left alone. Installs what is missing (Java/Maven/Postgres/Redis via apt, Kafka and the registry from Maven Central).
#
#   infra/local/up.sh                      # everything
#   infra/local/up.sh --only kafka,registry
#
# Ports: KAFKA_PORT (19092; controller KAFKA_CONTROLLER_PORT=KAFKA_PORT+1), SCHEMA_REGISTRY_PORT (18081),
#        PG_PORT (15432), REDIS_PORT (16379). Connection settings are written to .local/stack.env.
set -euo pipefail
# shellcheck source=infra/local/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'; }
ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --only) [ $# -ge 2 ] || die "--only needs a value, e.g. --only kafka,registry"; ONLY="$2"; shift 2 ;;
    --only=*) ONLY="${1#--only=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (try --help)" ;;
  esac
done
COMPONENTS="$(select_components "$ONLY")"
T0=$SECONDS

mkdir -p "$RUN_DIR" "$LOG_DIR"
# Serialise concurrent up.sh runs. Every process we spawn closes fd 9 (9>&-) so it does not keep the lock.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$RUN_DIR/up.lock"
  flock -w 900 9 || die "another infra/local/up.sh has held $RUN_DIR/up.lock for 15 minutes"
fi

# ================================================================ installers =========================
APT_UPDATED=0
apt_install() {
  local sudo="" created_policy=0
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to install: $*  -> run: sudo apt-get install -y $*"
    sudo="sudo"
  fi
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install these yourself: $*"
  # Keep Debian's postinst from starting system services (postgres on 5432, redis on 6379): we run our own.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null && $sudo chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  local rc=0
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$LOG_DIR/apt.log" 2>&1 || rc=$?
    APT_UPDATED=1
  fi
  if [ "$rc" -eq 0 ]; then
    log "apt-get install $*"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >>"$LOG_DIR/apt.log" 2>&1 || rc=$?
  fi
  [ "$created_policy" -eq 1 ] && $sudo rm -f /usr/sbin/policy-rc.d
  [ "$rc" -eq 0 ] || { tail -n 15 "$LOG_DIR/apt.log" >&2; die "apt-get install $* failed (log: $LOG_DIR/apt.log). Check that the Debian mirror is reachable, then re-run."; }
}

JAVA=""
ensure_java() {
  [ -n "$JAVA" ] && return 0
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then JAVA="$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then JAVA="$(command -v java)"
  else
    log "java not found; installing openjdk-17-jre-headless"
    apt_install openjdk-17-jre-headless
    JAVA="$(command -v java)" || die "java still missing after installing openjdk-17-jre-headless"
  fi
  local major
  major="$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\)[."].*/\1/p' | head -n1)"
  [ -n "$major" ] && [ "$major" -ge 17 ] ||
    die "$JAVA is Java ${major:-?}; Kafka 4.x and the registry need Java 17+. Fix: apt-get install openjdk-17-jre-headless (then point JAVA_HOME at it)"
}

ensure_maven() {
  command -v mvn >/dev/null 2>&1 && return 0
  log "mvn not found; installing maven"
  apt_install maven
}

ensure_curl() {
  command -v curl >/dev/null 2>&1 || apt_install curl ca-certificates
}

# run_mvn LOGNAME ARGS...: Maven with Central-only settings and a project-local repository.
run_mvn() {
  local logf="$LOG_DIR/$1"; shift
  ensure_java; ensure_maven
  if ! JAVA_HOME="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$JAVA")")")}" \
      mvn -B -ntp -s "$MAVEN_SETTINGS" -Dmaven.repo.local="$LOCAL/m2" "$@" >"$logf" 2>&1; then
    grep -E '^\[ERROR\]' "$logf" | head -n 8 >&2 || tail -n 20 "$logf" >&2
    die "Maven failed (log: $logf). If it could not download, check that Maven Central (https://repo.maven.apache.org/maven2) is reachable, then re-run."
  fi
}

fingerprint() { cat "$@" | sha256sum | cut -c1-16; }

# spawn OUTFILE PIDFILE CMD...: start CMD detached (own session), stdout/err appended to OUTFILE.
spawn() {
  local out="$1" pidfile="$2"; shift 2
  setsid "$@" >>"$out" 2>&1 </dev/null 9>&- &
  echo $! >"$pidfile"
}

tail_log() { [ -f "$1" ] && { echo "----- last lines of $1 -----"; tail -n "${2:-20}" "$1"; echo "-----"; } >&2 || true; }

# ================================================================ Kafka =============================
KAFKA_HOME="$LOCAL/kafka"
kafka_port() { echo "$KAFKA_PORT"; }
kafka_log() { echo "$LOG_DIR/kafka.log (stdout/stderr: $LOG_DIR/kafka.out)"; }
kafka_endpoint() { echo "127.0.0.1:$KAFKA_PORT"; }

kafka_tool() { # kafka_tool CLASS ARGS...
  "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -Dlog4j2.level=error -cp "$KAFKA_HOME/libs/*" "$@"
}

kafka_install() {
  ensure_java
  local fp; fp="$KAFKA_VERSION-$(fingerprint "$INFRA_DIR/kafka/pom.xml")"
  [ "$(cat "$KAFKA_HOME/libs/.installed" 2>/dev/null || true)" = "$fp" ] && return 0
  log "kafka: fetching org.apache.kafka:kafka_2.13:$KAFKA_VERSION and dependencies from Maven Central"
  rm -rf "$KAFKA_HOME/libs.tmp"
  run_mvn maven-kafka.log -f "$INFRA_DIR/kafka/pom.xml" dependency:copy-dependencies \
    -Dkafka.version="$KAFKA_VERSION" -DincludeScope=runtime -DoutputDirectory="$KAFKA_HOME/libs.tmp"
  ls "$KAFKA_HOME/libs.tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || die "kafka: Maven ran but no kafka_2.13 jar appeared (log: $LOG_DIR/maven-kafka.log)"
  echo "$fp" >"$KAFKA_HOME/libs.tmp/.installed"
  rm -rf "$KAFKA_HOME/libs" && mv "$KAFKA_HOME/libs.tmp" "$KAFKA_HOME/libs"
}

kafka_configure() {
  mkdir -p "$KAFKA_HOME/data"
  cat >"$KAFKA_HOME/server.properties" <<EOF
# Generated by infra/local/up.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_HOME/data
auto.create.topics.enable=false
num.partitions=3
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
EOF
  if [ ! -f "$KAFKA_HOME/data/meta.properties" ]; then
    local cid
    cid="$(cat "$KAFKA_HOME/cluster-id" 2>/dev/null || true)"
    if [ -z "$cid" ]; then
      cid="$(kafka_tool kafka.tools.StorageTool random-uuid 2>>"$LOG_DIR/kafka.out" | tail -n1)"
      [ -n "$cid" ] || die "kafka: could not generate a cluster id (log: $LOG_DIR/kafka.out)"
      echo "$cid" >"$KAFKA_HOME/cluster-id"
    fi
    log "kafka: formatting storage $KAFKA_HOME/data (cluster id $cid)"
    kafka_tool kafka.tools.StorageTool format -t "$cid" -c "$KAFKA_HOME/server.properties" --ignore-formatted \
      >>"$LOG_DIR/kafka.out" 2>&1 || { tail_log "$LOG_DIR/kafka.out"; die "kafka: storage format failed (log: $LOG_DIR/kafka.out)"; }
  fi
}

kafka_preflight() { # only called when our broker is not running
  if port_open "$KAFKA_CONTROLLER_PORT"; then
    local h; h="$(port_holder "$KAFKA_CONTROLLER_PORT")"
    die "kafka: controller port $KAFKA_CONTROLLER_PORT is already in use${h:+ by $h}; free it or set KAFKA_CONTROLLER_PORT=<free port>"
  fi
}

kafka_start() {
  kafka_install
  kafka_configure
  # shellcheck disable=SC2086
  spawn "$LOG_DIR/kafka.out" "$RUN_DIR/kafka.pid" \
    "$JAVA" $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$INFRA_DIR/kafka/log4j2.properties" -Dllmgov.log.dir="$LOG_DIR" \
    -cp "$KAFKA_HOME/libs/*" kafka.Kafka "$KAFKA_HOME/server.properties"
}

# Healthy = the broker answers a metadata request (Admin listTopics).
kafka_healthy() {
  port_open "$KAFKA_PORT" || return 1
  ensure_java
  timeout 30 "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -cp "$KAFKA_HOME/libs/*" \
    org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --list >/dev/null 2>&1
}
kafka_after() { :; }

# ================================================================ schema registry (Apicurio) =========
REG_HOME="$LOCAL/registry"
REG_JAR="$REG_HOME/build/local-apicurio-registry-0.0.0-runner.jar"
REG_URL="http://127.0.0.1:$SCHEMA_REGISTRY_PORT$REGISTRY_CCOMPAT_PATH"
registry_port() { echo "$SCHEMA_REGISTRY_PORT"; }
registry_log() { echo "$LOG_DIR/registry.log"; }
registry_endpoint() { echo "$REG_URL"; }
registry_preflight() { :; }

registry_install() {
  ensure_java
  local fp; fp="$(fingerprint "$INFRA_DIR/registry/pom.xml" "$INFRA_DIR/registry/src/main/resources/application.properties" "$MAVEN_SETTINGS")"
  [ -f "$REG_JAR" ] && [ "$(cat "$REG_HOME/build/.installed" 2>/dev/null || true)" = "$fp" ] && return 0
  log "registry: building Apicurio Registry from Maven Central jars (first run: a few minutes; log: $LOG_DIR/maven-registry.log)"
  rm -rf "$REG_HOME/build"
  run_mvn maven-registry.log -f "$INFRA_DIR/registry/pom.xml" package -DskipTests -Dregistry.build.dir="$REG_HOME/build"
  [ -f "$REG_JAR" ] || die "registry: Maven succeeded but $REG_JAR is missing (log: $LOG_DIR/maven-registry.log)"
  echo "$fp" >"$REG_HOME/build/.installed"
}

registry_start() {
  registry_install
  mkdir -p "$REG_HOME/data"
  # Storage: Apicurio's SQL storage on an H2 *file* database (persists across restarts); see README.
  export REGISTRY_DATASOURCE_URL="jdbc:h2:file:$REG_HOME/data/registry"
  # shellcheck disable=SC2086
  spawn "$LOG_DIR/registry.log" "$RUN_DIR/registry.pid" \
    "$JAVA" $REGISTRY_HEAP_OPTS -Djava.awt.headless=true \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$SCHEMA_REGISTRY_PORT" \
    -jar "$REG_JAR"
}

registry_healthy() {
  curl -fsS -o /dev/null --max-time 5 "$REG_URL/subjects" 2>/dev/null
}

registry_after() {
  local body
  curl -fsS -o /dev/null --max-time 10 -X PUT -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
    -d '{"compatibility":"BACKWARD"}' "$REG_URL/config" || die "registry: PUT $REG_URL/config failed (log: $LOG_DIR/registry.log)"
  body="$(curl -fsS --max-time 10 "$REG_URL/config" || true)"
  grep -q '"BACKWARD"' <<<"$body" || die "registry: global compatibility is not BACKWARD after setting it (GET /config -> $body)"
}

# ================================================================ Postgres ==========================
PG_HOME="$LOCAL/pg"
PG_DATA="$PG_HOME/data"
PG_SOCK="$PG_HOME/run"
postgres_port() { echo "$PG_PORT"; }
postgres_log() { echo "$LOG_DIR/postgres.log"; }
postgres_endpoint() { echo "postgres://llmgov:llmgov@127.0.0.1:$PG_PORT/llmgov"; }
postgres_preflight() { :; }

postgres_install() {
  if [ ! -x "$PG_BIN/postgres" ]; then
    log "postgres: $PG_BIN/postgres not found; installing postgresql-15"
    apt_install postgresql-15
    [ -x "$PG_BIN/postgres" ] || die "postgres: still no $PG_BIN/postgres after installing postgresql-15 (set PG_BIN if it lives elsewhere)"
  fi
  if [ "$(id -u)" -eq 0 ]; then
    PG_OS_USER="${PG_OS_USER:-postgres}"
    if ! id "$PG_OS_USER" >/dev/null 2>&1; then
      log "postgres: creating system user $PG_OS_USER"
      useradd --system --user-group --home-dir "$PG_HOME" --shell /usr/sbin/nologin "$PG_OS_USER"
    fi
  else
    PG_OS_USER="$(id -un)"
  fi
}

postgres_start() {
  postgres_install
  mkdir -p "$PG_HOME" "$PG_SOCK"
  touch "$LOG_DIR/postgres.log"
  if [ "$(id -u)" -eq 0 ]; then
    chown "$PG_OS_USER" "$PG_HOME" "$PG_SOCK" "$LOG_DIR/postgres.log"
    [ -d "$PG_DATA" ] && chown -R "$PG_OS_USER" "$PG_DATA"
  fi
  chmod 700 "$PG_SOCK"
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    log "postgres: initdb $PG_DATA"
    rm -rf "$PG_DATA"
    local pw="$PG_HOME/superuser-password"
    [ -s "$pw" ] || (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$pw")
    [ "$(id -u)" -eq 0 ] && chown "$PG_OS_USER" "$pw"
    (cd / && as_pg_user "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --pwfile="$pw" -E UTF8 --no-locale \
        --auth-local=peer --auth-host=scram-sha-256) >>"$LOG_DIR/postgres.log" 2>&1 ||
      { tail_log "$LOG_DIR/postgres.log"; die "postgres: initdb failed (log: $LOG_DIR/postgres.log)"; }
  fi
  # shellcheck disable=SC2094 # both only append to the log
  (cd / && as_pg_user "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$LOG_DIR/postgres.log" -W \
      -o "-p $PG_PORT -k $PG_SOCK -c listen_addresses=127.0.0.1" start) >>"$LOG_DIR/postgres.log" 2>&1 9>&- ||
    { tail_log "$LOG_DIR/postgres.log"; die "postgres: pg_ctl start failed (log: $LOG_DIR/postgres.log)"; }
}

postgres_healthy() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 3 >/dev/null 2>&1; }

pg_psql() { (cd / && as_pg_user "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d postgres "$@"); }

postgres_after() {
  pg_psql -c "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'llmgov') THEN CREATE ROLE llmgov LOGIN PASSWORD 'llmgov'; END IF;
    END \$\$;" || die "postgres: could not create role llmgov (log: $LOG_DIR/postgres.log)"
  if [ "$(pg_psql -c "SELECT 1 FROM pg_database WHERE datname = 'llmgov'")" != "1" ]; then
    pg_psql -c "CREATE DATABASE llmgov OWNER llmgov" || die "postgres: could not create database llmgov"
  fi
}

# ================================================================ Redis =============================
REDIS_HOME="$LOCAL/redis"
redis_port() { echo "$REDIS_PORT"; }
redis_log() { echo "$LOG_DIR/redis.log"; }
redis_endpoint() { echo "redis://127.0.0.1:$REDIS_PORT"; }
redis_preflight() { :; }

redis_start() {
  if ! command -v redis-server >/dev/null 2>&1; then
    log "redis: redis-server not found; installing redis-server"
    apt_install redis-server
  fi
  mkdir -p "$REDIS_HOME"
  # shellcheck disable=SC2094 # redis writes its log itself; stdout/err only catch early config errors
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --protected-mode yes --dir "$REDIS_HOME" \
    --daemonize yes --pidfile "$RUN_DIR/redis.pid" --logfile "$LOG_DIR/redis.log" \
    --appendonly yes 9>&- </dev/null >>"$LOG_DIR/redis.log" 2>&1 ||
    { tail_log "$LOG_DIR/redis.log"; die "redis: redis-server failed to start (log: $LOG_DIR/redis.log)"; }
}

redis_healthy() {
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]
  else
    local reply
    reply="$(exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" && printf 'PING\r\n' >&3 && timeout 3 head -c 7 <&3)" 2>/dev/null || return 1
    [[ "$reply" == +PONG* ]]
  fi
}
redis_after() { :; }

# ================================================================ orchestration =====================
timeout_for() { case "$1" in kafka) echo "${KAFKA_START_TIMEOUT:-120}";; registry) echo "${REGISTRY_START_TIMEOUT:-180}";; *) echo 60;; esac; }

declare -A STATE=()

wait_healthy() {
  local c="$1" deadline=$((SECONDS + $(timeout_for "$1"))) pid
  while [ "$SECONDS" -lt "$deadline" ]; do
    if "${c}_healthy"; then return 0; fi
    pid="$(component_pid "$c")"
    if [ -z "$pid" ]; then
      tail_log "$("${c}_log" | cut -d' ' -f1)"
      die "$c exited during startup. Log: $("${c}_log")"
    fi
    sleep 1
  done
  tail_log "$("${c}_log" | cut -d' ' -f1)"
  die "$c did not become healthy within $(timeout_for "$c")s (pid $(component_pid "$c") still running). Log: $("${c}_log"). Stop it with infra/local/down.sh --only $c"
}

# Tools the health checks need, even when everything is already running.
case " $COMPONENTS " in *" kafka "*|*" registry "*) ensure_java;; esac
case " $COMPONENTS " in *" registry "*) ensure_curl;; esac

STARTED=()
for c in $COMPONENTS; do
  port="$("${c}_port")"
  pid="$(component_pid "$c")"
  if [ -n "$pid" ]; then
    recorded="$(cat "$RUN_DIR/$c.port" 2>/dev/null || echo "$port")"
    [ "$recorded" = "$port" ] ||
      die "$c is already running (pid $pid) on port $recorded, but port $port was requested. Run infra/local/down.sh --only $c first."
    if "${c}_healthy"; then
      log "$c: already running (pid $pid), healthy"
      STATE[$c]="running (already up)"
    else
      log "$c: running (pid $pid) but not healthy yet; waiting"
      wait_healthy "$c"
      STATE[$c]="running (was starting)"
    fi
    continue
  fi
  if port_open "$port"; then
    h="$(port_holder "$port")"
    die "$c: port $port is already in use${h:+ by $h} (not by this stack). Stop that process or choose another port, e.g. $(
      case $c in kafka) echo KAFKA_PORT;; registry) echo SCHEMA_REGISTRY_PORT;; postgres) echo PG_PORT;; redis) echo REDIS_PORT;; esac)=<free port> infra/local/up.sh"
  fi
  "${c}_preflight"
  log "$c: starting on 127.0.0.1:$port"
  "${c}_start"
  echo "$port" >"$RUN_DIR/$c.port"
  STARTED+=("$c")
done

for c in "${STARTED[@]}"; do
  t=$SECONDS
  wait_healthy "$c"
  log "$c: healthy (waited $((SECONDS - t))s)"
  STATE[$c]="running (started)"
done

for c in $COMPONENTS; do "${c}_after"; done

# For components outside --only that are running, use the port they were started with.
effective_port() {
  if [ -n "$(component_pid "$1")" ] && [ -s "$RUN_DIR/$1.port" ]; then cat "$RUN_DIR/$1.port"; else "${1}_port"; fi
}
cat >"$LOCAL/stack.env" <<EOF
# Written by infra/local/up.sh; source it:  . .local/stack.env
export KAFKA_BROKERS=127.0.0.1:$(effective_port kafka)
export SCHEMA_REGISTRY_URL=http://127.0.0.1:$(effective_port registry)$REGISTRY_CCOMPAT_PATH
export DATABASE_URL=postgres://llmgov:llmgov@127.0.0.1:$(effective_port postgres)/llmgov
export REDIS_URL=redis://127.0.0.1:$(effective_port redis)
EOF

{
  printf '\n%-9s %-24s %-8s %-55s %s\n' COMPONENT STATE PID ENDPOINT LOG
  for c in $COMPONENTS; do
    printf '%-9s %-24s %-8s %-55s %s\n' "$c" "${STATE[$c]}" "$(component_pid "$c")" "$("${c}_endpoint")" "$("${c}_log" | cut -d' ' -f1)"
  done
  printf '\nConnection settings: %s  (took %ss)\n' "$LOCAL/stack.env" "$((SECONDS - T0))"
} >&2
