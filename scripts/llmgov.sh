#!/usr/bin/env bash
# The operator CLI (tools/llmgov) against the local stack: sets up, starts the stack, then runs `llmgov` with its
# connection settings (.local/stack.env). Arguments go to the CLI: `npm run llmgov -- policy list`, `-- --help`.
# Set-up and stack messages go to stderr, so that `--json` output on stdout stays JSON.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh >&2
only_help=0
for a in "$@"; do
  if [ "$a" = "--help" ] || [ "$a" = "-h" ] || [ "$a" = "help" ]; then only_help=1; fi
done
if [ "$#" -eq 0 ]; then only_help=1; fi
if [ "$only_help" = 0 ]; then
  bash infra/local/up.sh >&2
  # shellcheck disable=SC1091
  source .local/stack.env
  export DATABASE_URL
fi
exec bash scripts/with-node22.sh node tools/llmgov/dist/src/main.js "$@"
