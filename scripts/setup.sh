#!/usr/bin/env bash
# Installs what the project needs on a fresh machine (Node 22, npm dependencies) and builds every package.
# Idempotent: skips the install when node_modules matches package-lock.json, and tsc -b is incremental.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
run() { bash "$root/scripts/with-node22.sh" "$@"; }
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # `npm install` with the committed lock installs the locked versions. Not `npm ci`: npm 11 here writes lock
  # files without entries for other platforms' optional packages (@lancedb/lancedb-darwin-arm64, @nx/nx-*),
  # and `npm ci` then refuses them as out of sync.
  echo "[setup] installing npm dependencies"
  run npm install --no-audit --no-fund --loglevel=error
fi
echo "[setup] building (tsc -b)"
run npx tsc -b
