#!/usr/bin/env bash
# The test command (README): installs what is missing, builds, starts the real services the tests
# need (a Kafka 3.9.1 broker, moto servers), runs every test, stops the services. Prints each
# phase's wall time and, last, one line "N passed, N failed".
#
#   scripts/test.sh            everything
#   FK_TEST_SKIP_E2E=1 ...     skip the end-to-end suites (quick local loop; CI never sets it)
#   FK_E2E_JOBS=N ...          end-to-end modules run N at a time (default 2; 1 runs them in order)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

build_dir="${FK_BUILD_DIR:-build}"
reports="${FK_CACHE}/test-reports"
rm -rf "$reports"
mkdir -p "$reports"
declare -a phase_lines=()
failed_phases=0

phase() {
  # phase NAME COMMAND... — runs a phase, records its wall time and outcome.
  local name="$1"; shift
  local start=$SECONDS
  fk_log "=== ${name}"
  "$@"
  local rc=$?
  local took=$((SECONDS - start))
  local verdict="ok"
  if ((rc != 0)); then verdict="FAILED (exit ${rc})"; failed_phases=$((failed_phases + 1)); fi
  phase_lines+=("$(printf '%-28s %5ds  %s' "$name" "$took" "$verdict")")
  return $rc
}

stop_services() {
  scripts/moto.sh stop >/dev/null 2>&1 || true
  scripts/kafka.sh stop >/dev/null 2>&1 || true
}
trap stop_services EXIT

build() {
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
    ninja -C "$build_dir" -j2
}

unit_tests() {
  ctest --test-dir "$build_dir" -L unit -j2 --output-on-failure --timeout 300 \
    --output-junit "${reports}/unit.xml"
}

# libFuzzer smoke: every harness for 25 s on its seeds, two at a time (the 2 cores are otherwise
# idle in this phase); clang build in build-fuzz
# (scripts/fuzz.sh, docs/reliability.md); one JUnit case per harness.
fuzz_smoke() {
  scripts/fuzz.sh --smoke --jobs 2 --junit "${reports}/fuzz.xml"
}

start_services() {
  scripts/kafka.sh start && scripts/moto.sh start --name aws --auth
}

aws_moto_tests() {
  (
    set -a
    source "${FK_CACHE}/moto-aws.env"
    set +a
    export AWS_REGION=us-east-1
    "$build_dir/tests/fk_aws_moto_tests" --gtest_output="xml:${reports}/aws-moto.xml"
  )
}

pytest_suite() {
  local name="$1"; shift
  .venv/bin/python -m pytest -q -p no:cacheprovider --junitxml="${reports}/${name}.xml" "$@"
}

total_start=$SECONDS
phase "install dependencies" scripts/install-deps.sh || exit 1
phase "build" build || exit 1
phase "unit tests" unit_tests
phase "fuzz smoke (libFuzzer)" fuzz_smoke
FK_BIN="$PWD/$build_dir/app/fleetkeeper" phase "static checks (docker/, deploy/iam/)" pytest_suite static tests/static
if phase "start Kafka and moto" start_services; then
  phase "awsclient against moto" aws_moto_tests
  phase "moto launcher (boto3)" pytest_suite moto tests/moto
  if [[ -z "${FK_TEST_SKIP_E2E:-}" ]]; then
    # Two modules at a time, each whole on one process (every module has its own topics, moto
    # and workers): most of their time is waiting on the broker, moto's delays and the workers,
    # so two at a time take about half as long on 2 cores (docs/reliability.md).
    jobs="${FK_E2E_JOBS:-2}"
    parallel=()
    ((jobs > 1)) && parallel=(-n "$jobs" --dist loadfile)
    FK_BIN="$PWD/$build_dir/app/fleetkeeper" phase "end to end (Kafka + moto)" \
      pytest_suite integration "${parallel[@]}" -m "not faults" tests/integration
  fi
fi
stop_services

echo
echo "phase                         time  outcome"
printf '%s\n' "${phase_lines[@]}"
printf '%-28s %5ds\n' "total" "$((SECONDS - total_start))"
.venv/bin/python scripts/junit_summary.py "$reports"
summary_rc=$?
if ((failed_phases > 0 || summary_rc != 0)); then exit 1; fi
exit 0
