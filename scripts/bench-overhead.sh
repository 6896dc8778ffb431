#!/usr/bin/env bash
# The control-plane overhead benchmark: set up, start the local stack, drive POST /v1/jobs at a fixed arrival rate against the platform it starts.
# Arguments are passed to the benchmark CLI (see `npm run bench:overhead -- --help`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
for a in "$@"; do
  if [ "$a" = "--help" ] || [ "$a" = "-h" ]; then bash scripts/setup.sh >/dev/null; exec bash scripts/with-node22.sh node tools/bench-overhead/dist/src/main.js --help; fi
done
bash scripts/setup.sh
bash infra/local/up.sh
# shellcheck disable=SC1091
source .local/stack.env
exec bash scripts/with-node22.sh node tools/bench-overhead/dist/src/main.js "$@"
