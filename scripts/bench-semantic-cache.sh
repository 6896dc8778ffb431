#!/usr/bin/env bash
# The semantic cache benchmark: set up (npm dependencies, build, and the local models: SETUP_MODELS=1), start the local
# stack (Redis), then calibrate and measure the semantic cache on real all-MiniLM-L6-v2 vectors (bench/README.md).
# Arguments are passed to the benchmark CLI (see `npm run bench:semantic-cache -- --help`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
for a in "$@"; do
  if [ "$a" = "--help" ] || [ "$a" = "-h" ]; then bash scripts/setup.sh >/dev/null; exec bash scripts/with-node22.sh node tools/bench-semantic-cache/dist/src/main.js --help; fi
done
SETUP_MODELS=1 bash scripts/setup.sh
bash infra/local/up.sh
set -a
# shellcheck disable=SC1091
source .local/stack.env
# shellcheck disable=SC1091
source .local/models/models.env
set +a
exec bash scripts/with-node22.sh node tools/bench-semantic-cache/dist/src/main.js "$@"
