#!/usr/bin/env bash
# Installs the Python tools the test suite runs into a project-local venv:
#   tools/venv  (pip: dbt-core + dbt-spark[session] + pyspark, grpcio-tools/protoc,
#                deltalake + pyarrow, duckdb + its delta extension, moto[server];
#                pinned in tools/requirements.txt)
# Idempotent: a second run with nothing to do takes well under a second.
# Uses $PYTHON if set, else python3 (needs >= 3.10).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/tools"
venv=venv
stamp=$venv/.manifold-stamp
if [[ ! -f $stamp || requirements.txt -nt $stamp || ! -x $venv/bin/python ]]; then
  python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    echo "setup-python: $python is $("$python" --version 2>&1); need Python >= 3.10 (set PYTHON=...)" >&2
    exit 1
  fi
  # A venv whose interpreter no longer runs (python moved/upgraded) is rebuilt.
  if [[ -d $venv ]] && ! "$venv/bin/python" -c '' 2>/dev/null; then
    rm -rf "$venv"
  fi
  if [[ ! -d $venv ]]; then
    echo "setup-python: creating tools/venv with $("$python" --version 2>&1)" >&2
    "$python" -m venv "$venv"
  fi
  echo "setup-python: installing tools/requirements.txt into tools/venv" >&2
  "$venv/bin/python" -m pip install --disable-pip-version-check --no-input \
    --quiet --requirement requirements.txt
  touch "$stamp"
fi
