#!/usr/bin/env bash
# Run a command against the local services:
#   bash scripts/with-services.sh <cmd...>
# Brings the services up (a no-op when they already run), loads their addresses from
# .pandaflow/env, then runs the command. Services are left running so the next run
# starts instantly; PANDAFLOW_SERVICES_DOWN_AFTER=1 stops them afterwards (e.g. CI).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ $# -gt 0 ]] || { echo "usage: $0 <command> [args...]" >&2; exit 2; }

bash "$REPO_ROOT/scripts/services.sh" up
# shellcheck source=/dev/null
source "$REPO_ROOT/.pandaflow/env"

if [[ "${PANDAFLOW_SERVICES_DOWN_AFTER:-0}" == 1 ]]; then
  # Cannot exec: we must regain control to stop the services; keep the exit code.
  rc=0
  "$@" || rc=$?
  bash "$REPO_ROOT/scripts/services.sh" down || true
  exit "$rc"
fi
exec "$@"
