# shellcheck shell=bash disable=SC2034
# Shared by infra/local/up.sh and infra/local/down.sh (sourced, not executed).
# Layout, ports and small helpers for the project-local stack: Kafka, schema registry, Postgres, Redis.

INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$INFRA_DIR/../.." && pwd)"
LOCAL="$REPO_ROOT/.local"
RUN_DIR="$LOCAL/run"
LOG_DIR="$LOCAL/logs"

# ---- ports (override with env vars) -------------------------------------------------------------
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
SCHEMA_REGISTRY_PORT="${SCHEMA_REGISTRY_PORT:-18081}"
PG_PORT="${PG_PORT:-15432}"
REDIS_PORT="${REDIS_PORT:-16379}"

# ---- versions and tuning --------------------------------------------------------------------------
KAFKA_VERSION="${KAFKA_VERSION:-4.3.1}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}"
REGISTRY_HEAP_OPTS="${REGISTRY_HEAP_OPTS:--Xms64m -Xmx512m}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_OS_USER="${PG_OS_USER:-postgres}"
# Confluent-compatible API of Apicurio Registry lives under this path (see README).
REGISTRY_CCOMPAT_PATH="/apis/ccompat/v7"
MAVEN_SETTINGS="${MAVEN_SETTINGS:-$INFRA_DIR/maven-settings.xml}"

ALL_COMPONENTS="postgres redis kafka registry"

# ---- output ----------------------------------------------------------------------------------------
log()  { printf '[local-stack] %s\n' "$*" >&2; }
warn() { printf '[local-stack] WARNING: %s\n' "$*" >&2; }
die()  { printf '[local-stack] ERROR: %s\n' "$*" >&2; exit 1; }

# ---- component selection (--only a,b) --------------------------------------------------------------
# Prints the selected components, in start order, one per line.
select_components() {
  local only="$1" c out=""
  if [ -z "$only" ]; then echo "$ALL_COMPONENTS"; return; fi
  only=",${only// /},"
  only="${only//,pg,/,postgres,}"; only="${only//,postgresql,/,postgres,}"
  only="${only//,schema-registry,/,registry,}"; only="${only//,sr,/,registry,}"
  for c in $(tr ',' ' ' <<<"$only"); do
    case " $ALL_COMPONENTS " in *" $c "*) ;; *) die "unknown component '$c' (known: ${ALL_COMPONENTS// /, })";; esac
  done
  for c in $ALL_COMPONENTS; do case "$only" in *",$c,"*) out="$out $c";; esac; done
  echo "${out# }"
}

# ---- processes -------------------------------------------------------------------------------------
pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# pid_matches PID NEEDLE: the process's command line contains NEEDLE (guards against recycled PIDs).
pid_matches() {
  local pid="$1" needle="$2"
  pid_alive "$pid" || return 1
  [ -r "/proc/$pid/cmdline" ] || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$needle"
}

# The pid of a running component, or nothing.
component_pid() {
  local pid=""
  case "$1" in
    kafka)    pid="$(cat "$RUN_DIR/kafka.pid" 2>/dev/null || true)";    pid_matches "$pid" "kafka.Kafka" || pid="" ;;
    registry) pid="$(cat "$RUN_DIR/registry.pid" 2>/dev/null || true)"; pid_matches "$pid" "local-apicurio-registry" || pid="" ;;
    redis)    pid="$(cat "$RUN_DIR/redis.pid" 2>/dev/null || true)";    pid_matches "$pid" "redis-server" || pid="" ;;
    postgres) pid="$(head -n1 "$LOCAL/pg/data/postmaster.pid" 2>/dev/null || true)"; pid_matches "$pid" "postgres" || pid="" ;;
  esac
  echo "$pid"
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Who listens on a port (best effort, for error messages).
port_holder() {
  if command -v ss >/dev/null 2>&1; then
    ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\("[^"]*",pid=[0-9]*\).*/\1/p' | head -n1
  fi
}

# stop_pid NAME PID [TIMEOUT] [SIGNAL]: SIGNAL (default TERM), wait up to TIMEOUT s, then SIGKILL.
stop_pid() {
  local name="$1" pid="$2" timeout="${3:-30}" sig="${4:-TERM}" i
  pid_alive "$pid" || return 0
  log "stopping $name (pid $pid, SIG$sig)"
  kill "-$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 5; i++)); do
    pid_alive "$pid" || { log "$name stopped"; return 0; }
    sleep 0.2
  done
  warn "$name did not stop within ${timeout}s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  sleep 0.5
}

# as_pg_user CMD...: run CMD as the unprivileged OS user that owns the Postgres data dir.
as_pg_user() {
  if [ "$(id -u)" -ne 0 ]; then "$@"; return; fi
  if command -v runuser >/dev/null 2>&1; then runuser -u "$PG_OS_USER" -- "$@"
  else su -s /bin/sh "$PG_OS_USER" -c "$(printf '%q ' "$@")"; fi
}

# ---- Debian packages -------------------------------------------------------------------------------
# apt_install PKG...: apt-get install as root (or via sudo), one apt-get update per run, output in $LOG_DIR/apt.log.
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
