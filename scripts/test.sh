#!/usr/bin/env bash
# Unit tests, then integration tests against the real local stack (Kafka, schema registry, Postgres, Redis),
# which this script starts. Every stage runs even when an earlier one failed; the failures are listed at the end
# and the exit status is non-zero when any stage failed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# The real local models (llama.cpp engines, the embedding model) are part of the stack the tests use.
SETUP_MODELS=1 bash scripts/setup.sh
bash infra/local/up.sh
# shellcheck disable=SC1091
source .local/stack.env
run() { bash "$root/scripts/with-node22.sh" "$@"; }
run node tools/platform/dist/src/main.js bootstrap
mapfile -t unit < <(find libs services tools -path '*/node_modules' -prune -o -path '*/dist/src/*' -name '*.spec.js' -print | sort)
mapfile -t integration < <(find libs services tools -path '*/node_modules' -prune -o -path '*/dist/test/*' -name '*.int.spec.js' -print | sort)
echo "[test] ${#unit[@]} unit spec files, ${#integration[@]} integration spec files"
export LOG_LEVEL="${LOG_LEVEL:-warn}"
failed=()
stage() { # stage NAME CMD...: runs a stage, remembers a failure, never stops the script
  local name="$1"; shift
  echo "[test] stage: $name"
  if ! "$@"; then failed+=("$name"); echo "[test] stage failed: $name" >&2; fi
}
stage unit run node --test --test-concurrency=2 "${unit[@]}"
# Integration files run one at a time: they share the stack, and the workers they start consume the same topics.
stage integration run node --test --test-concurrency=1 "${integration[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "[test] FAILED stages: ${failed[*]} (the TAP output above names each failing test: search for 'not ok')" >&2
  exit 1
fi
echo "[test] all stages passed"
