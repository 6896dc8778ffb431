#!/usr/bin/env bash
# The running platform in the foreground: set up, start the local stack, then every engine and service under the
# supervisor (tools/platform `up`). Prints each URL and the local tenants' API keys; Ctrl-C drains and stops the
# services and engines (the local stack keeps running: `npm run stack:down` stops it).
# Arguments go to `platform up` (e.g. `npm start -- --base-port 18100`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
for a in "$@"; do
  if [ "$a" = "--help" ] || [ "$a" = "-h" ]; then bash scripts/setup.sh >/dev/null; exec bash scripts/with-node22.sh node tools/platform/dist/src/main.js up --help; fi
done
SETUP_MODELS=1 bash scripts/setup.sh
bash infra/local/up.sh
# shellcheck disable=SC1091
source .local/stack.env
exec bash scripts/with-node22.sh node tools/platform/dist/src/main.js up "$@"
