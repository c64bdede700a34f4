#!/usr/bin/env bash
# The fault suites (docs/reliability.md, issue 24): broker faults (a broker of their own stopped,
# crashed, a partition leader taken away) and AWS faults (throttling, 5xx, resets, a 60 s outage
# through the moto launcher's fault injection), each with workflows in flight, and a flood of a
# million inputs under a memory bound (test_flood.py). About 10 minutes:
# outside the test command's 40-minute budget, so they are their own command, and their last
# result is recorded in docs/reliability.md.
#
#   scripts/faults.sh              install what is missing, build the worker, run both suites
#   scripts/faults.sh -k EXPR      only the scenarios pytest's -k selects
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

build_dir="${FK_BUILD_DIR:-build}"
scripts/install-deps.sh || exit 1
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
  ninja -C "$build_dir" -j2 fleetkeeper || exit 1

trap 'scripts/kafka.sh stop >/dev/null 2>&1 || true' EXIT
scripts/kafka.sh start >/dev/null || exit 1
FK_BIN="$PWD/$build_dir/app/fleetkeeper" .venv/bin/python -m pytest -q -p no:cacheprovider \
  -m faults tests/integration "$@"
