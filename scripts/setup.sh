#!/usr/bin/env bash
# Installs what the project needs on a fresh machine (Node 22, npm dependencies) and builds every package.
# Idempotent: skips the install when node_modules matches package-lock.json, and tsc -b is incremental.
#   bash scripts/setup.sh            # npm dependencies + build
#   bash scripts/setup.sh --models   # also the real local models (infra/local/models.sh); same as SETUP_MODELS=1
set -euo pipefail
models="${SETUP_MODELS:-0}"
for arg in "$@"; do
  case "$arg" in
    --models) models=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "[setup] unknown argument '$arg' (try --help)" >&2; exit 1 ;;
  esac
done
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
run() { bash "$root/scripts/with-node22.sh" "$@"; }
# onnxruntime-node (under @huggingface/transformers, tools/embeddings-server) ships its CPU binaries in the npm tarball;
# its post-install would download GPU binaries from outside the registries, which fails here. Skip it.
export ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # `npm install` with the committed lock installs the locked versions. Not `npm ci`: npm 11 here writes lock
  # files without entries for other platforms' optional packages (@lancedb/lancedb-darwin-arm64, @nx/nx-*),
  # and `npm ci` then refuses them as out of sync.
  echo "[setup] installing npm dependencies"
  run npm install --no-audit --no-fund --loglevel=error
fi
echo "[setup] building (tsc -b)"
run npx tsc -b
if [ "$models" = 1 ]; then
  echo "[setup] installing the local models (infra/local/models.sh)"
  bash "$root/infra/local/models.sh"
fi
