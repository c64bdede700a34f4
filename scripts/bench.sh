#!/usr/bin/env bash
# The benchmark command (bench/README.md): installs what is missing, builds the worker and every
# benchmark binary, starts the real Kafka broker, runs every benchmark in bench/ (the Google
# Benchmark binaries bench/*_bench.cc, then the pipeline benchmark bench/pipeline/ against kcat),
# stops the broker, prints a summary. Numbers go to .cache/bench/ as JSON too.
#
#   scripts/bench.sh            full size (a few minutes on 2 cores)
#   scripts/bench.sh --quick    CI-sized: every benchmark runs, briefly
#
# Environment: FK_BUILD_DIR (default build); FK_KAFKA_BOOTSTRAP=HOST:PORT uses that running broker
# and starts or stops none (otherwise scripts/kafka.sh start/stop, see FK_KAFKA_PORT there).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) fk_die "unknown argument: $arg (see --help)" ;;
  esac
done

build_dir="${FK_BUILD_DIR:-build}"
out_dir="${FK_CACHE}/bench"
mkdir -p "$out_dir"
declare -a phase_lines=()
failed=0

phase() {
  # phase NAME COMMAND... — runs one step, records its wall time and outcome.
  local name="$1"; shift
  local start=$SECONDS
  fk_log "=== ${name}"
  "$@"
  local rc=$?
  local verdict="ok"
  if ((rc != 0)); then verdict="FAILED (exit ${rc})"; failed=$((failed + 1)); fi
  phase_lines+=("$(printf '%-34s %5ds  %s' "$name" "$((SECONDS - start))" "$verdict")")
  return $rc
}

# One Google Benchmark binary per bench/*_bench.cc (bench/CMakeLists.txt names it fk_<stem>).
mapfile -t gbench_targets < <(for f in bench/*_bench.cc; do
  [[ -e "$f" ]] && echo "fk_$(basename "$f" .cc)"
done)

build() {
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
    ninja -C "$build_dir" -j2 fleetkeeper "${gbench_targets[@]}"
}

run_gbench() {
  local target="$1"
  local args=(--benchmark_out="${out_dir}/${target}.json" --benchmark_out_format=json)
  # libbenchmark 1.7 takes the minimum time as plain seconds.
  ((quick)) && args+=(--benchmark_min_time=0.05)
  "${build_dir}/bench/${target}" "${args[@]}"
}

own_broker=0
stop_broker() {
  if ((own_broker)); then scripts/kafka.sh stop >/dev/null 2>&1 || true; fi
}
trap stop_broker EXIT

start_broker() {
  if [[ -n "${FK_KAFKA_BOOTSTRAP:-}" ]]; then
    fk_log "using the running broker at ${FK_KAFKA_BOOTSTRAP}"
    return 0
  fi
  own_broker=1
  local addr
  addr="$(scripts/kafka.sh start)" || return 1
  export FK_KAFKA_BOOTSTRAP="$addr"
}

run_pipeline() {
  local args=(--fleetkeeper "${build_dir}/app/fleetkeeper" --json "${out_dir}/pipeline.json")
  ((quick)) && args+=(--quick)
  .venv/bin/python bench/pipeline/pipeline_bench.py "${args[@]}" | tee "${out_dir}/pipeline.txt"
  return "${PIPESTATUS[0]}"
}

run_self_healing() {
  local args=(--bin "${build_dir}/app/fleetkeeper" --json "${out_dir}/self_healing.json")
  ((quick)) && args+=(--events 200 --groups 50)
  .venv/bin/python bench/self_healing_bench.py "${args[@]}"
}

run_ami_rollout() {
  local args=(--bin "${build_dir}/app/fleetkeeper" --json "${out_dir}/ami_rollout.json")
  ((quick)) && args+=(--quick)
  .venv/bin/python bench/ami_rollout/ami_rollout_bench.py "${args[@]}" |
    tee "${out_dir}/ami_rollout.txt"
  return "${PIPESTATUS[0]}"
}

run_patch() {
  local args=(--bin "${build_dir}/app/fleetkeeper" --json "${out_dir}/patch.json")
  ((quick)) && args+=(--quick)
  .venv/bin/python bench/patch/patch_bench.py "${args[@]}" | tee "${out_dir}/patch.txt"
  return "${PIPESTATUS[0]}"
}

run_workflows() {
  # Quick: the checkpoint-commit run only (idle measures 30 s by design, restore writes 100k).
  local which=(idle commits restore)
  ((quick)) && which=(commits)
  FK_BIN="${build_dir}/app/fleetkeeper" .venv/bin/python bench/workflows/workflows_bench.py \
    "${which[@]}" | tee "${out_dir}/workflows.txt"
  return "${PIPESTATUS[0]}"
}

total_start=$SECONDS
phase "install dependencies" scripts/install-deps.sh || exit 1
phase "build" build || exit 1
for target in "${gbench_targets[@]}"; do
  phase "$target" run_gbench "$target"
done
if phase "start Kafka" start_broker; then
  phase "pipeline vs kcat" run_pipeline
  [[ -f bench/self_healing_bench.py ]] && phase "self-healing vs Lambda" run_self_healing
  [[ -f bench/workflows/workflows_bench.py ]] && phase "workflow runtime" run_workflows
  [[ -f bench/ami_rollout/ami_rollout_bench.py ]] && phase "AMI rollout on moto" run_ami_rollout
  [[ -f bench/patch/patch_bench.py ]] && phase "rolling patch on moto" run_patch
fi
stop_broker
own_broker=0

echo
echo "benchmark                            time  outcome"
printf '%s\n' "${phase_lines[@]}"
printf '%-34s %5ds\n' "total" "$((SECONDS - total_start))"
if [[ -s "${out_dir}/pipeline.txt" ]]; then
  echo
  cat "${out_dir}/pipeline.txt"
fi
echo "numbers (JSON): ${out_dir}/"
((failed == 0))
