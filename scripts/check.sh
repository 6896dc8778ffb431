#!/usr/bin/env bash
# One check for everything that needs no running stack: build/typecheck, lint (zero warnings),
# generated contracts up to date, unit tests.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
run() { bash "$root/scripts/with-node22.sh" "$@"; }
bash scripts/setup.sh
echo "[check] generated contracts"; (cd libs/contracts && run npm run --silent check:generated)
echo "[check] lint"; run npx eslint --max-warnings 0 .
echo "[check] unit tests"
mapfile -t unit < <(find libs services tools -path '*/node_modules' -prune -o -path '*/dist/src/*' -name '*.spec.js' -print | sort)
run node --test "${unit[@]}"
