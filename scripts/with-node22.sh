#!/usr/bin/env bash
# Runs its arguments with a Node >= 22 first on PATH. Several dependencies (@kafkajs/confluent-schema-registry 4,
# @qdrant/js-client-rest, @lancedb/lancedb) require Node 22; machines here ship Node 20, so when the machine's node
# is older we install the npm registry's `node@22` package into .local/node22 (once) and prefer it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(major node)" -lt 22 ]; then
  n22="$root/.local/node22"
  if [ ! -x "$n22/node_modules/node/bin/node" ]; then
    echo "[setup] machine node is $(node --version 2>/dev/null || echo missing); installing node@22 from the npm registry into .local/node22" >&2
    mkdir -p "$n22"
    (cd "$n22" && [ -f package.json ] || echo '{"private":true}' > package.json)
    npm install --prefix "$n22" --no-audit --no-fund --silent node@22 >&2 || {
      echo "[setup] could not install node@22 from the npm registry; install Node 22 yourself and re-run" >&2; exit 1; }
  fi
  export PATH="$n22/node_modules/node/bin:$PATH"
fi
exec "$@"
