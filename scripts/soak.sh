#!/usr/bin/env bash
# The long variant of the exactly-once test: SIGKILL the real `ingest-jira`
# binary KILLS times (default 300) at random points while it ingests a longer
# stream, then compare the lake with one uninterrupted run. Not part of the
# default suite (which kills 20 times).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
MANIFOLD_KILLS="${KILLS:-300}" cargo test --workspace --locked --test e2e -- \
  --exact ingest::killing_the_ingest_at_random_points_loses_nothing_and_writes_nothing_twice --nocapture
