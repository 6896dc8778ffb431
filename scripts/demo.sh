#!/usr/bin/env bash
# The main job: set up, start the local stack, run the platform on SQuAD input and print the summary.
# Arguments are passed to the demo CLI (see `npm run demo -- --help`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
for a in "$@"; do
  if [ "$a" = "--help" ] || [ "$a" = "-h" ]; then bash scripts/setup.sh >/dev/null; exec bash scripts/with-node22.sh node tools/demo/dist/src/main.js --help; fi
done
SETUP_MODELS=1 bash scripts/setup.sh
bash infra/local/up.sh
# shellcheck disable=SC1091
source .local/stack.env
exec bash scripts/with-node22.sh node tools/demo/dist/src/main.js "$@"
