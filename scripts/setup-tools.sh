#!/usr/bin/env bash
# Installs the external tools the test suite runs, into project-local folders:
#   tools/node_modules  (npm: typescript)
# Idempotent: a second run with nothing to do takes well under a second.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/tools"
stamp=node_modules/.manifold-stamp
if [[ ! -f $stamp || package.json -nt $stamp || package-lock.json -nt $stamp ]]; then
  echo "setup-tools: installing npm tools into tools/node_modules" >&2
  if [[ -f package-lock.json ]]; then
    npm ci --no-audit --no-fund --loglevel=error
  else
    npm install --no-audit --no-fund --loglevel=error
  fi
  touch "$stamp"
fi
