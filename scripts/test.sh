#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (`.ci/run` calls this script):
#   1. installs the external tools the tests use into tools/ (npm: typescript, buf;
#      a Python venv: dbt-core, dbt-spark, pyspark, grpcio-tools, deltalake);
#   2. formatting and lints (rustfmt, clippy with warnings as errors);
#   3. every test of the workspace (unit, snapshot, corpus, fuzz, CLI, tsc, the
#      lake end to end: convergence, dead letters, SIGKILL restarts, Python).
# Set MANIFOLD_FUZZ_CASES to run the proptest fuzzers longer (default 1500 each),
# MANIFOLD_KILLS for more SIGKILLs in the exactly-once test (default 20; see
# scripts/soak.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

step() { printf '\n== %s\n' "$*" >&2; }

step "tools"
scripts/setup-tools.sh
scripts/setup-python.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked
