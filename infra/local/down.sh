#!/usr/bin/env bash
# Stops the project-local stack started by infra/local/up.sh (graceful stop, then SIGKILL after a timeout).
# Safe to run when nothing is running.
#
#   infra/local/down.sh                    # stop everything
#   infra/local/down.sh --only kafka       # stop some components
#   infra/local/down.sh --purge            # stop, then delete their data (Kafka logs, registry DB, Postgres, Redis,
#                                          # and with the whole stack the local vector store, .local/vectors);
#                                          # downloaded jars/builds (.local/kafka/libs, .local/registry/build, .local/m2) stay
set -euo pipefail
# shellcheck source=infra/local/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'; }
ONLY=""; PURGE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --only) [ $# -ge 2 ] || die "--only needs a value, e.g. --only kafka,registry"; ONLY="$2"; shift 2 ;;
    --only=*) ONLY="${1#--only=}"; shift ;;
    --purge) PURGE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (try --help)" ;;
  esac
done
COMPONENTS="$(select_components "$ONLY")"

# Stop in reverse start order.
REVERSED=""
for c in $COMPONENTS; do REVERSED="$c $REVERSED"; done

for c in $REVERSED; do
  pid="$(component_pid "$c")"
  if [ -z "$pid" ]; then
    log "$c: not running"
  else
    case "$c" in
      postgres)
        # SIGINT = Postgres "fast" shutdown (SIGTERM would wait for every client to disconnect).
        stop_pid postgres "$pid" 30 INT ;;
      kafka)
        # SIGTERM = controlled shutdown; flushes logs and writes a clean-shutdown marker.
        stop_pid kafka "$pid" 45 TERM ;;
      *)
        stop_pid "$c" "$pid" 30 TERM ;;
    esac
  fi
  case "$c" in
    kafka|registry) rm -f "$RUN_DIR/$c.pid" ;;
    redis) rm -f "$RUN_DIR/redis.pid" ;;  # redis removes it itself on a clean exit
  esac
  rm -f "$RUN_DIR/$c.port"
done

if [ "$PURGE" -eq 1 ]; then
  for c in $COMPONENTS; do
    case "$c" in
      kafka)    rm -rf "$LOCAL/kafka/data" "$LOCAL/kafka/cluster-id" "$LOCAL/kafka/server.properties" ;;
      registry) rm -rf "$LOCAL/registry/data" ;;
      postgres) rm -rf "$LOCAL/pg" ;;
      redis)    rm -rf "$LOCAL/redis" ;;
    esac
    log "$c: data purged"
  done
  if [ -z "$ONLY" ]; then
    rm -f "$LOCAL/stack.env"
    # The services' embedded vector store (LanceDB) indexes what the purged topics carried: it goes with them.
    rm -rf "$LOCAL/vectors" && log "vector store: data purged"
  fi
fi
exit 0
