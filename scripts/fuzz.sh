#!/usr/bin/env bash
# The libFuzzer harnesses (tests/fuzz) under ASan+UBSan, built with clang in a build directory of
# their own, each run on its seed corpus (../shared/testdata and tests/fixtures) plus the corpus it
# grew in earlier runs (build-fuzz/corpus/<harness>, kept between runs).
#
#   scripts/fuzz.sh [--smoke]          each harness for 25 s (FK_FUZZ_SMOKE_SECONDS)
#   scripts/fuzz.sh --minutes N        each harness for N minutes: the long campaign
#   ... --runs N                       stop a harness after N executions if that comes first
#                                      (the campaign: --minutes 60 --runs 10000000)
#   ... --only NAME                    one harness (e.g. fuzz_sigv4); may repeat
#   ... --jobs N                       harnesses run N at a time (default 1; FK_JOBS builds)
#   ... --junit FILE                   also write one JUnit test case per harness (scripts/test.sh)
#
# Prints one line per harness: executions, crashes (inputs that crashed, leaked or hung: libFuzzer
# stops at the first), edges covered (libFuzzer's "cov"), features ("ft") and corpus size; then
# "N passed, N failed". A crashing input is kept in build-fuzz/artifacts/<harness>/; replay it with
# `build-fuzz/tests/fuzz/<harness> FILE`. Exits non-zero on any crash, leak or hang.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

seconds="${FK_FUZZ_SMOKE_SECONDS:-25}"
jobs=1
runs_limit=""
only=()
junit=""
while (($#)); do
  case "$1" in
    --smoke) seconds="${FK_FUZZ_SMOKE_SECONDS:-25}" ;;
    --minutes) [[ "${2:-}" =~ ^[0-9]+$ ]] || fk_die "--minutes needs a whole number"
               seconds=$(($2 * 60)); shift ;;
    --runs) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || fk_die "--runs needs a positive number"
            runs_limit="$2"; shift ;;
    --only) only+=("${2:?--only needs a harness name}"); shift ;;
    --jobs) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || fk_die "--jobs needs a positive number"
            jobs="$2"; shift ;;
    --junit) junit="${2:?--junit needs a file}"; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) fk_die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done

command -v clang++ >/dev/null || fk_die "clang++ not found (scripts/install-deps.sh installs it)"
testdata="../shared/testdata"
[[ -d "$testdata" ]] || fk_die "${testdata} not found (the shared test data, next to the repo)"

# Seed directories per harness (libFuzzer reads them recursively and never writes to them).
declare -A seeds=(
  [fuzz_normalizer]="tests/fixtures/events ${testdata}/events @seeds/native"
  [fuzz_sns]="${testdata}/sns tests/fixtures/events/sns"
  [fuzz_aws_xml]="${testdata}/aws-responses"
  [fuzz_aws_json]="${testdata}/aws-responses"
  [fuzz_config]="tests/fixtures/config docker/fleetkeeper.example.yaml
    deploy/helm/fleetkeeper/values.yaml"
  [fuzz_decoders]="@seeds/work @seeds/state"
  [fuzz_sigv4]="${testdata}/sigv4"
  [fuzz_http]="tests/fuzz/seeds/http ${testdata}/sigv4 tests/fixtures/events/sns"
)
# The AWS answers in the test data run to 250 KB; mutating inputs that large is slow, and the
# readers' paths are reached within the first 16 KB. The others take libFuzzer's default.
declare -A max_len=([fuzz_aws_xml]=16384 [fuzz_aws_json]=16384)
# Options of one harness. fuzz_http: no leak check between inputs. Its server answers on its own
# threads, which may still hold an earlier connection's request when libFuzzer checks; with the
# hand-written server a 5-minute run once reported such locals as leaked, and the input it blamed
# ran clean alone and in 20 reruns (docs/reliability.md). LeakSanitizer still checks the whole
# process when the harness exits (ASAN_OPTIONS below; libFuzzer's flag only stops the check after
# each input), and a leak then fails the run; the ingest server's unit tests under
# scripts/sanitize.sh check it at exit too.
declare -A extra=([fuzz_http]="-detect_leaks=0")
harnesses=(fuzz_normalizer fuzz_sns fuzz_aws_xml fuzz_aws_json fuzz_config fuzz_decoders fuzz_sigv4
  fuzz_http)
if ((${#only[@]})); then
  for h in "${only[@]}"; do [[ -n "${seeds[$h]:-}" ]] || fk_die "unknown harness: $h"; done
  harnesses=("${only[@]}")
fi

build_dir="${FK_FUZZ_BUILD_DIR:-build-fuzz}"
start=$SECONDS
fk_log "configure ${build_dir} (clang, -fsanitize=fuzzer,address,undefined)"
# -O1 with line tables, as libFuzzer's documentation builds: under ASan+UBSan and coverage, clang
# at RelWithDebInfo's -O2 -g took 25 s on the largest generated protobuf file (ami_rollout.pb.cc),
# 14 s at -O1 -gline-tables-only (a handler's file: 17 s, 15 s); line tables are what the stack
# traces use.
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DFK_FUZZ=ON \
  -DFLEETKEEPER_BUILD_TESTS=OFF -DFLEETKEEPER_BUILD_BENCH=OFF >/dev/null ||
  fk_die "configure failed"
fk_log "build ${harnesses[*]}"
ninja -C "$build_dir" -j"${FK_JOBS:-2}" fk_fuzz_seeds "${harnesses[@]}" >&2 || fk_die "build failed"
built=$((SECONDS - start))

bin="${build_dir}/tests/fuzz"
work="${build_dir}/fuzz-run"
rm -rf "${work}/seeds" "${work}/logs"
mkdir -p "${work}/seeds" "${work}/logs" "${work}/scratch"
touch "${work}/started"  # the artifacts of this run are newer
"${bin}/fk_fuzz_seeds" "${work}/seeds" tests/fixtures/events/*/*.json \
  "${testdata}"/events/*/*.json \
  || fk_die "fk_fuzz_seeds wrote no seeds"

# A leak or an undefined-behaviour report is a crash; -timeout makes a hang one too.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:symbolize=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export FK_FUZZ_ROOT="$PWD"

run_one() {
  local h="$1" root="$PWD"
  local corpus="${root}/${build_dir}/corpus/$1" artifacts="${root}/${build_dir}/artifacts/$1/"
  mkdir -p "$corpus" "$artifacts"
  local args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 -print_final_stats=1
    -artifact_prefix="$artifacts")
  [[ -n "${max_len[$h]:-}" ]] && args+=(-max_len="${max_len[$h]}")
  [[ -n "$runs_limit" ]] && args+=(-runs="$runs_limit")
  # shellcheck disable=SC2206
  [[ -n "${extra[$h]:-}" ]] && args+=(${extra[$h]})
  # The grown corpus first (libFuzzer writes new inputs there), then the seeds, read-only; a seed
  # that is a file, not a directory, is copied into the corpus.
  local dirs=("$corpus") d
  for d in ${seeds[$h]}; do
    d="$(realpath "${d/#@seeds/${work}/seeds}")"
    if [[ -f "$d" ]]; then cp -f "$d" "$corpus/"; else dirs+=("$d"); fi
  done
  # In a scratch directory: the config harness's relative ${file:...} references resolve there.
  (cd "${work}/scratch" && exec "${root}/${bin}/${h}" "${args[@]}" "${dirs[@]}") \
    >"${work}/logs/${h}.log" 2>&1
  echo $? >"${work}/logs/${h}.rc"
}

fk_log "run ${#harnesses[@]} harness(es), ${seconds}s each, ${jobs} at a time"
running=0
for h in "${harnesses[@]}"; do
  run_one "$h" &
  running=$((running + 1))
  if ((running >= jobs)); then wait -n; running=$((running - 1)); fi
done
wait
ran=$((SECONDS - start - built))

passed=0
failed=0
cases=()
row='%-16s %11s %7s %7s %6s %6s %10s  %s\n'
# shellcheck disable=SC2059
printf "$row" harness executions exec/s crashes cov ft corpus outcome >&2
for h in "${harnesses[@]}"; do
  log="${work}/logs/${h}.log"
  rc="$(cat "${work}/logs/${h}.rc" 2>/dev/null || echo 1)"
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -1)
  speed=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$log" | tail -1)
  # The last status line: "#N <EVENT> cov: C ft: F corp: U/S ...".
  status=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$status")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$status")
  corp=$(sed -nE 's/.* corp: ([0-9]+\/[0-9]+[a-zA-Z]*).*/\1/p' <<<"$status")
  first=$(grep -m1 -E 'ERROR: |runtime error|invariant violated|Timeout' "$log")
  crashes=$(find "${build_dir}/artifacts/${h}" -type f -newer "${work}/started" 2>/dev/null | wc -l)
  if [[ "$rc" == 0 ]] && ((crashes == 0)); then
    outcome=ok; passed=$((passed + 1))
  else
    outcome="FAILED (exit ${rc}; ${log}: ${first:0:120})"
    failed=$((failed + 1))
  fi
  cases+=("$h|$rc|$crashes|${runs:-0}|$(tr -d '<>&"|' <<<"$first")")
  # shellcheck disable=SC2059
  printf "$row" "$h" "${runs:-?}" "${speed:-?}" "$crashes" \
    "${cov:-?}" "${ft:-?}" "${corp:-?}" "$outcome" >&2
done
if [[ -n "$junit" ]]; then
  {
    echo "<testsuite name=\"fuzz\" tests=\"${#cases[@]}\" failures=\"${failed}\">"
    for c in "${cases[@]}"; do
      IFS='|' read -r h rc crashes runs first <<<"$c"
      echo "  <testcase classname=\"fuzz\" name=\"${h}\">"
      echo "    <system-out>${runs} executions</system-out>"
      if [[ "$rc" != 0 || "$crashes" != 0 ]]; then
        echo "    <failure message=\"exit ${rc}, ${crashes} crash input(s): ${first}\"/>"
      fi
      echo "  </testcase>"
    done
    echo "</testsuite>"
  } >"$junit"
fi
fk_log "build ${built}s, fuzzing ${ran}s (logs: ${work}/logs)"
echo "${passed} passed, ${failed} failed"
((failed == 0))
