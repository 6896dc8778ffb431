#!/usr/bin/env bash
# Unit tests, then integration tests against the real local stack (Kafka, schema registry, Postgres, Redis),
# which this script starts. Exits non-zero when any test fails.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
bash infra/local/up.sh
# shellcheck disable=SC1091
source .local/stack.env
run() { bash "$root/scripts/with-node22.sh" "$@"; }
run node tools/platform/dist/src/main.js bootstrap
mapfile -t unit < <(find libs services tools -path '*/node_modules' -prune -o -path '*/dist/src/*' -name '*.spec.js' -print | sort)
mapfile -t integration < <(find libs services tools -path '*/node_modules' -prune -o -path '*/dist/test/*' -name '*.int.spec.js' -print | sort)
echo "[test] ${#unit[@]} unit spec files, ${#integration[@]} integration spec files"
export LOG_LEVEL="${LOG_LEVEL:-warn}"
run node --test --test-concurrency=2 "${unit[@]}"
# Integration files run one at a time: they share the stack, and the workers they start consume the same topics.
run node --test --test-concurrency=1 "${integration[@]}"
