#!/usr/bin/env bash
# The ingest benchmark: set up, start the local stack, push documents through ingest-validator and a plain kafkajs passthrough.
# Arguments are passed to the benchmark CLI (see `npm run bench:ingest -- --help`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
for a in "$@"; do
  if [ "$a" = "--help" ] || [ "$a" = "-h" ]; then bash scripts/setup.sh >/dev/null; exec bash scripts/with-node22.sh node tools/bench-ingest/dist/src/main.js --help; fi
done
bash scripts/setup.sh
bash infra/local/up.sh
# shellcheck disable=SC1091
source .local/stack.env
exec bash scripts/with-node22.sh node tools/bench-ingest/dist/src/main.js "$@"
