#!/usr/bin/env bash
# The classifier benchmark: set up (npm dependencies, build, and the local models: SETUP_MODELS=1), then accuracy per
# intent and time per request of the request classifier on real all-MiniLM-L6-v2 vectors. Needs no Kafka stack.
# Arguments are passed to the benchmark CLI (see `npm run bench:classifier -- --help`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
for a in "$@"; do
  if [ "$a" = "--help" ] || [ "$a" = "-h" ]; then bash scripts/setup.sh >/dev/null; exec bash scripts/with-node22.sh node tools/bench-classifier/dist/src/main.js --help; fi
done
SETUP_MODELS=1 bash scripts/setup.sh
# models.sh writes EMBEDDINGS_MODEL_DIR (and the engines' paths) here.
set -a
# shellcheck disable=SC1091
source .local/models/models.env
set +a
exec bash scripts/with-node22.sh node tools/bench-classifier/dist/src/main.js "$@"
