#!/usr/bin/env bash
# The governance benchmark (issue 11 §5): set up (dependencies, build, the local models), start the local stack, then
# replay one SQuAD workload through the real platform under a baseline policy and the governed policy, side by side.
# Arguments are passed to the benchmark CLI (see `npm run bench:governance -- --help`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
for a in "$@"; do
  if [ "$a" = "--help" ] || [ "$a" = "-h" ]; then bash scripts/setup.sh >/dev/null; exec bash scripts/with-node22.sh node tools/bench-governance/dist/src/main.js --help; fi
done
SETUP_MODELS=1 bash scripts/setup.sh
bash infra/local/up.sh
# shellcheck disable=SC1091
source .local/stack.env
exec bash scripts/with-node22.sh node tools/bench-governance/dist/src/main.js "$@"
