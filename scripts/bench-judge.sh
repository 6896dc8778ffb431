#!/usr/bin/env bash
# The judge benchmark: set up (npm dependencies, build, and the local models: SETUP_MODELS=1), then the judge's agreement
# with SQuAD's human labels on answers of the real small models (llama.cpp engines started by the benchmark) and real
# all-MiniLM-L6-v2 vectors. Needs no Kafka stack. Arguments go to the CLI (see `npm run bench:judge -- --help`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
for a in "$@"; do
  if [ "$a" = "--help" ] || [ "$a" = "-h" ]; then bash scripts/setup.sh >/dev/null; exec bash scripts/with-node22.sh node tools/bench-judge/dist/src/main.js --help; fi
done
SETUP_MODELS=1 bash scripts/setup.sh
# models.sh writes the engines' model paths and EMBEDDINGS_MODEL_DIR here.
set -a
# shellcheck disable=SC1091
source .local/models/models.env
set +a
exec bash scripts/with-node22.sh node tools/bench-judge/dist/src/main.js "$@"
