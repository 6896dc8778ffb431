#!/usr/bin/env bash
# The chaos suite: set up, start the local stack, then run tools/chaos (all scenarios by default; it starts the
# engines and services itself). Arguments go to the chaos CLI (see `npm run chaos -- --help`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
for a in "$@"; do
  if [ "$a" = "--help" ] || [ "$a" = "-h" ]; then bash scripts/setup.sh >/dev/null; exec bash scripts/with-node22.sh node tools/chaos/dist/src/main.js --help; fi
done
bash scripts/setup.sh
bash infra/local/up.sh
# shellcheck disable=SC1091
source .local/stack.env
exec bash scripts/with-node22.sh node tools/chaos/dist/src/main.js "$@"
