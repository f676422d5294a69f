#!/usr/bin/env bash
# Runs the pnpm version pinned in package.json, installing it into a user cache on first
# use, so a fresh machine needs nothing but Node and npm (no global install, no corepack).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="$(node -p "require('$root/package.json').packageManager.split('@')[1]")"
prefix="${PANDAFLOW_CACHE:-$HOME/.cache/pandaflow}/pnpm-$version"
if [ ! -x "$prefix/node_modules/.bin/pnpm" ]; then
  echo "pandaflow: installing pnpm $version into $prefix" >&2
  npm install --silent --no-audit --no-fund --prefix "$prefix" "pnpm@$version" >&2
fi
exec "$prefix/node_modules/.bin/pnpm" "$@"
