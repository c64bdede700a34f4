# Shared helpers for the scripts in this folder. Source it; it defines functions and FK_ROOT only.
# shellcheck shell=bash

FK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FK_CACHE="${FK_ROOT}/.cache"

fk_log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
fk_die() { fk_log "error: $*"; exit 1; }

# fk_wait_until TIMEOUT_SECONDS COMMAND... — runs COMMAND every 0.2 s until it succeeds.
fk_wait_until() {
  local timeout="$1"; shift
  local deadline=$((SECONDS + timeout))
  while ! "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then return 1; fi
    sleep 0.2
  done
}

# A zombie counts as stopped: an init that does not reap would otherwise keep it "alive".
fk_pid_alive() {
  [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null || return 1
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
  [[ "$state" != "Z" ]]
}

# fk_stop_pidfile PIDFILE [TIMEOUT_SECONDS] — TERM the process group led by the pid (or the pid),
# then KILL after the timeout; removes the pid file. Returns 0 when nothing is left running.
fk_stop_pidfile() {
  local pidfile="$1" timeout="${2:-20}" pid
  [[ -f "$pidfile" ]] || return 0
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  if fk_pid_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + timeout))
    while fk_pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
    if fk_pid_alive "$pid"; then
      fk_log "pid $pid did not stop after ${timeout}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      while fk_pid_alive "$pid"; do sleep 0.1; done
    fi
  fi
  rm -f "$pidfile"
}

# fk_port_free PORT — true when nothing listens on 127.0.0.1:PORT.
fk_port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
