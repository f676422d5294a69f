#!/usr/bin/env bash
# `pnpm test`: starts the real services (idempotently, see scripts/services.sh), then runs
# every suite: unit, contract, integration, end-to-end and reliability. Nothing is skipped:
# a service that cannot start fails the run with its name, port and log tail.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/services.sh up
# shellcheck disable=SC1091
source .pandaflow/env
./node_modules/.bin/tsc --noEmit -p .
status=0
rm -f .pandaflow/vitest-results.json
./node_modules/.bin/vitest run --reporter=default --reporter=json --outputFile.json=.pandaflow/vitest-results.json "$@" || status=$?
# One plain closing line, whatever the reporter printed above it.
node -e '
  const r = require("./.pandaflow/vitest-results.json")
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""))
' || true
exit $status
