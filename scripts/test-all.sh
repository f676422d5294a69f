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
exec ./node_modules/.bin/vitest run "$@"
