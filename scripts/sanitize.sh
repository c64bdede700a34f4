#!/usr/bin/env bash
# The unit tests (ctest label "unit", which includes the worker's mock-cluster tests) under a
# sanitizer, in a build directory of its own. Not part of the test command or CI: a sanitized build
# of the unit binaries takes longer than the CI budget leaves (docs/reliability.md).
#
#   scripts/sanitize.sh [--asan]       AddressSanitizer + UndefinedBehaviorSanitizer (+ leaks),
#                                      every unit test; build dir build-asan
#   scripts/sanitize.sh --tsan         ThreadSanitizer over the tests that run threads (ingest lane
#                                      and server, mock-cluster worker and control, the workflow
#                                      runtime, the describe coalescer); build dir build-tsan
#   ... -R REGEX                       only the ctest tests matching REGEX (any mode)
#
# Suppressions live in tests/sanitizers/<tool>.supp, each line with a comment naming its reason.
# Prints one summary line per binary of findings, then "N passed, N failed"; exits non-zero on a
# failed test or a sanitizer report.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

mode=asan
filter=""
while (($#)); do
  case "$1" in
    --asan) mode=asan ;;
    --tsan) mode=tsan ;;
    -R) filter="${2:?-R needs a regex}"; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) fk_die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done

supp="${FK_ROOT}/tests/sanitizers"
case "$mode" in
  asan)
    sanitize=address,undefined
    targets=(fk_common_tests fk_aws_tests fk_consumers_tests fk_handlers_tests fk_app_tests)
    ;;
  tsan)
    sanitize=thread
    targets=(fk_aws_tests fk_consumers_tests fk_handlers_tests fk_app_tests)
    # The tests whose code under test starts threads (the ingest lane, the ingest server's
    # connections, the runtime's executor, the describe coalescer's waiters, the patch step's
    # parallel instances); the rest of the unit suite is single-threaded. Left out: the tests that
    # start librdkafka clients (the pipeline on the mock cluster and the embedded broker, the
    # control log, the ingest stage). Debian's librdkafka makes its threads with C11 thrd_create,
    # which neither gcc 12's nor clang 14's TSan runtime intercepts: those threads run unknown to
    # TSan and crash in it (SEGV near address 0) before any of our code runs (docs/reliability.md).
    threaded="Lane|IngestServerTest|WorkflowRuntime|EffectHandler|Ec2ReadCoalescer|ParameterHold"
    threaded+="|LedgerRuntime|ParallelInstances"
    : "${filter:=^(${threaded})\.}"
    ;;
esac
build_dir="${FK_SANITIZE_BUILD_DIR:-build-${mode}}"

# A finding must fail the test it happens in: UBSan and TSan stop at the first report, ASan always
# does. Leak checking is on (ASan's default on Linux); the exit code of a leak report is ASan's 23.
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=${supp}/ubsan.supp"
ASAN_OPTIONS="detect_leaks=1:check_initialization_order=1:strict_init_order=1"
ASAN_OPTIONS+=":detect_stack_use_after_return=1:strict_string_checks=1"
export ASAN_OPTIONS+=":suppressions=${supp}/asan.supp"
export LSAN_OPTIONS="suppressions=${supp}/lsan.supp"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=${supp}/tsan.supp"

log_dir="${build_dir}/sanitize-logs"
start=$SECONDS
fk_log "configure ${build_dir} (-fsanitize=${sanitize})"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFK_SANITIZE="$sanitize" -DFLEETKEEPER_BUILD_BENCH=OFF >/dev/null || fk_die "configure failed"
fk_log "build ${targets[*]}"
ninja -C "$build_dir" -j"${FK_JOBS:-2}" "${targets[@]}" >&2 || fk_die "build failed"
built=$((SECONDS - start))

rm -rf "$log_dir"
mkdir -p "$log_dir"
args=(--test-dir "$build_dir" -L unit -j"${FK_JOBS:-2}" --timeout 900 --output-on-failure
  --output-log "${log_dir}/ctest.log" --output-junit "${PWD}/${log_dir}/unit.xml")
[[ -n "$filter" ]] && args+=(-R "$filter")
fk_log "run ctest -L unit${filter:+ -R '$filter'} under ${mode}"
ctest "${args[@]}" >"${log_dir}/ctest.out" 2>&1
rc=$?
ran=$((SECONDS - start - built))

# ctest keeps the output of every test in its log; count the sanitizers' own headlines there.
count() { grep -cE "$1" "${log_dir}/ctest.log" || true; }
asan=$(count '^==[0-9]+==ERROR: AddressSanitizer')
lsan=$(count '^==[0-9]+==ERROR: LeakSanitizer')
ubsan=$(count 'runtime error: ')
tsan=$(count '^WARNING: ThreadSanitizer')
# ctest's closing lines: the percentage and the list of failed tests.
sed -n '/tests passed/p; /The following tests FAILED/,/^$/p' "${log_dir}/ctest.out" >&2
summary=$(grep -E '^[0-9]+% tests passed' "${log_dir}/ctest.out" | tail -1)
passed=$(sed -nE 's/.* ([0-9]+) tests failed out of ([0-9]+)/\2 \1/p' <<<"$summary" |
  awk '{print $1 - $2}')
failed=$(sed -nE 's/.* ([0-9]+) tests failed out of ([0-9]+)/\1/p' <<<"$summary")
fk_log "${mode}: build ${built}s, tests ${ran}s; reports: AddressSanitizer ${asan}," \
  "LeakSanitizer ${lsan}, UndefinedBehaviorSanitizer ${ubsan}, ThreadSanitizer ${tsan}" \
  "(full output: ${log_dir}/ctest.log)"
echo "${passed:-0} passed, ${failed:-?} failed"
if ((rc != 0 || asan + lsan + ubsan + tsan > 0)); then exit 1; fi
