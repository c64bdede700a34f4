#!/usr/bin/env bash
# moto in server mode, with the gaps fleetkeeper needs filled (scripts/moto_launcher.py).
#
#   scripts/moto.sh start [--name NAME] [--port N] [--auth]
#   scripts/moto.sh stop  [--name NAME]        (without --name: every instance)
#   scripts/moto.sh status [--name NAME]
#
# start writes .cache/moto-NAME.env (NAME defaults to "default"):
#   FK_MOTO_ENDPOINT=http://127.0.0.1:PORT
#   FK_MOTO_RECORDING=<file of moto's recorder>   (recording is on from the start)
#   and with --auth: AWS_ACCESS_KEY_ID=…, AWS_SECRET_ACCESS_KEY=… of the IAM user
#   fleetkeeper-test; authentication is on, so a wrong signature fails (SignatureDoesNotMatch).
# Without --port the port is 15055 plus a small offset per name (the next free one).
# Environment passed to the server: FK_MOTO_TIME_SCALE (default 1), FK_MOTO_STATE_DELAY
# (seconds, default 0). Needs .venv from scripts/install-deps.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

python="${FK_ROOT}/.venv/bin/python"
cmd="${1:-}"
[[ $# -gt 0 ]] && shift
name="" port="" auth=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --name) name="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --auth) auth=1; shift ;;
    *) fk_die "unknown argument: $1" ;;
  esac
done
[[ -z "$name" || "$name" =~ ^[A-Za-z0-9_-]+$ ]] || fk_die "bad --name: $name"

pidfile_of() { echo "${FK_CACHE}/moto-$1.pid"; }

stop_one() {
  local n="$1"
  fk_stop_pidfile "$(pidfile_of "$n")" 10
  rm -f "${FK_CACHE}/moto-${n}.env" "${FK_CACHE}/moto-${n}.port"
}

answers() { curl -fs -o /dev/null --max-time 2 "$1/moto-api/"; }

do_start() {
  local n="${name:-default}"
  [[ -x "$python" ]] || fk_die "no ${python}: run scripts/install-deps.sh"
  stop_one "$n"
  mkdir -p "$FK_CACHE"
  if [[ -z "$port" ]]; then
    port=$((15055 + $(printf '%s' "$n" | cksum | cut -d' ' -f1) % 40))
    while ! fk_port_free "$port"; do port=$((port + 1)); done
  fi
  fk_port_free "$port" || fk_die "port ${port} is in use"

  local log="${FK_CACHE}/moto-${n}.log" recording="${FK_CACHE}/moto-${n}-recording.jsonl"
  local endpoint="http://127.0.0.1:${port}"
  : >"$recording"
  MOTO_ENABLE_RECORDING=True MOTO_RECORDER_FILEPATH="$recording" \
    setsid "$python" "${FK_ROOT}/scripts/moto_launcher.py" --host 127.0.0.1 --port "$port" \
    </dev/null >"$log" 2>&1 &
  echo $! >"$(pidfile_of "$n")"
  local pid
  pid="$(cat "$(pidfile_of "$n")")"
  local deadline=$((SECONDS + ${FK_MOTO_START_TIMEOUT:-60}))
  until answers "$endpoint"; do
    if ! fk_pid_alive "$pid"; then
      tail -n 20 "$log" >&2 || true
      rm -f "$(pidfile_of "$n")"
      fk_die "moto exited during start; see ${log}"
    fi
    if ((SECONDS >= deadline)); then stop_one "$n"; fk_die "moto did not answer on ${endpoint}"; fi
    sleep 0.2
  done
  curl -fsS -o /dev/null -X POST "${endpoint}/moto-api/recorder/start-recording"

  local envfile="${FK_CACHE}/moto-${n}.env"
  {
    echo "FK_MOTO_ENDPOINT=${endpoint}"
    echo "FK_MOTO_RECORDING=${recording}"
  } >"${envfile}.tmp"
  if ((auth)); then
    "$python" "${FK_ROOT}/scripts/moto_launcher.py" --setup-auth "$endpoint" >>"${envfile}.tmp" \
      || { stop_one "$n"; fk_die "could not switch authentication on"; }
  fi
  # The recording starts empty: the readiness probe and the set-up above are not the tests' calls.
  curl -fsS -o /dev/null -X POST "${endpoint}/moto-api/recorder/reset-recording"
  mv "${envfile}.tmp" "$envfile"
  fk_log "moto '${n}' up (pid ${pid}) at ${endpoint}, env ${envfile}"
  echo "$endpoint"
}

do_stop() {
  if [[ -n "$name" ]]; then
    stop_one "$name"
    return
  fi
  local f n
  for f in "${FK_CACHE}"/moto-*.pid; do
    [[ -e "$f" ]] || continue
    n="$(basename "$f" .pid)"
    stop_one "${n#moto-}"
  done
}

do_status() {
  local f n pid rc=3
  for f in "${FK_CACHE}"/moto-*.pid; do
    [[ -e "$f" ]] || continue
    n="$(basename "$f" .pid)"; n="${n#moto-}"
    [[ -z "$name" || "$name" == "$n" ]] || continue
    pid="$(cat "$f")"
    if fk_pid_alive "$pid"; then
      echo "${n}: running pid ${pid} $(grep FK_MOTO_ENDPOINT "${FK_CACHE}/moto-${n}.env" 2>/dev/null || true)"
      rc=0
    fi
  done
  ((rc == 0)) || echo "not running"
  return $rc
}

case "$cmd" in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  *) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac
