#!/usr/bin/env bash
# Static checks that need no running stack: build/typecheck (tsc -b, in setup), lint with zero warnings, format,
# generated contracts and the policy JSON Schema up to date. Every check runs; failures are listed at the end. Tests: `npm test`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
run() { bash "$root/scripts/with-node22.sh" "$@"; }
bash scripts/setup.sh
failed=()
check() {
  local name="$1"; shift
  echo "[check] $name"
  if ! "$@"; then failed+=("$name"); echo "[check] failed: $name" >&2; fi
}
check "generated contracts" bash -c "cd libs/contracts && bash '$root/scripts/with-node22.sh' npm run --silent check:generated"
check "policy JSON Schema" bash -c "cd libs/policy && bash '$root/scripts/with-node22.sh' npm run --silent check:schema"
check "lint" run npx eslint --max-warnings 0 .
check "boundaries" run node scripts/check-boundaries.mjs
check "format" run npx prettier --check --log-level warn .
if [ "${#failed[@]}" -gt 0 ]; then echo "[check] FAILED: ${failed[*]}" >&2; exit 1; fi
echo "[check] all checks passed"
