#!/usr/bin/env bash
# Installs what building and testing fleetkeeper needs on a fresh Debian 12 machine; fast and
# idempotent when everything is already there.
#
#   scripts/install-deps.sh                 build deps, Java + Maven, clang (fuzzing), the test venv
#                                           (.venv), Kafka jars
#   scripts/install-deps.sh --runtime-only  only the C++ build deps (to build and run the worker)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runtime_only=0
for arg in "$@"; do
  case "$arg" in
    --runtime-only) runtime_only=1 ;;
    -h | --help) sed -n '2,8p' "$0"; exit 0 ;;
    *) fk_die "unknown argument: $arg" ;;
  esac
done

build_packages=(
  build-essential cmake ninja-build pkg-config ccache librdkafka-dev nlohmann-json3-dev libsimdjson-dev
  libcurl4-openssl-dev libssl-dev libspdlog-dev libprotobuf-dev protobuf-compiler libgtest-dev
  libgmock-dev libbenchmark-dev libyaml-cpp-dev libpugixml-dev libcli11-dev libjemalloc-dev libxxhash-dev
  libhowardhinnant-date-dev prometheus-cpp-dev libcpp-httplib-dev curl
  kcat  # the README's walkthrough reads the results with it
)
# clang and its compiler-rt (libFuzzer, ASan, UBSan) for the fuzz harnesses (scripts/fuzz.sh); clang-format
# for the format check (tests/static/test_format.py).
test_packages=(openjdk-17-jre-headless maven clang libclang-rt-14-dev clang-format)

python_bin="${FK_PYTHON:-$(command -v python3 || true)}"

missing_packages() {
  local pkg status
  for pkg in "$@"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
    [[ "$status" == "installed" ]] || printf '%s\n' "$pkg"
  done
}

packages=("${build_packages[@]}")
if ((!runtime_only)); then
  packages+=("${test_packages[@]}")
  # A Python without a working venv module (Debian's own python3) needs python3-venv.
  if [[ -z "$python_bin" ]] || ! "$python_bin" -c 'import venv, ensurepip' 2>/dev/null; then
    packages+=(python3 python3-venv)
  fi
fi

mapfile -t to_install < <(missing_packages "${packages[@]}")
if ((${#to_install[@]})); then
  fk_log "installing: ${to_install[*]}"
  sudo_cmd=()
  ((EUID == 0)) || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${to_install[@]}" >/dev/null
else
  fk_log "apt packages present"
fi

((runtime_only)) && exit 0

# --- Python test environment -------------------------------------------------------------------
python_bin="${FK_PYTHON:-$(command -v python3)}"
venv="${FK_ROOT}/.venv"
requirements="${FK_ROOT}/requirements-test.txt"
stamp="${venv}/.fk-requirements.sha256"
want_sum="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ -x "${venv}/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want_sum" ]]; then
  fk_log "venv up to date: ${venv}"
else
  [[ -x "${venv}/bin/python" ]] || "$python_bin" -m venv "$venv"
  fk_log "installing ${requirements} into ${venv}"
  "${venv}/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"
  echo "$want_sum" >"$stamp"
fi

# --- Kafka broker jars ---------------------------------------------------------------------------
libs="${FK_CACHE}/kafka-libs"
pom="${FK_ROOT}/scripts/kafka-pom.xml"
lib_stamp="${libs}/.fk-pom.sha256"
want_pom_sum="$(sha256sum "$pom" | cut -d' ' -f1)"
if [[ -f "${libs}/kafka_2.13-3.9.1.jar" && -f "$lib_stamp" && "$(cat "$lib_stamp")" == "$want_pom_sum" ]]; then
  fk_log "kafka jars present: ${libs}"
else
  fk_log "collecting kafka jars into ${libs}"
  rm -rf "$libs"
  mkdir -p "$libs"
  mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DoutputDirectory="$libs"
  [[ -f "${libs}/kafka_2.13-3.9.1.jar" ]] || fk_die "maven did not deliver kafka_2.13-3.9.1.jar"
  echo "$want_pom_sum" >"$lib_stamp"
fi
# --- Helm, for the chart check (tests/static/test_helm.py) --------------------------------------
# Built from the Go module proxy (the base image has Go): a few minutes once, then cached.
helm_version="v3.21.4"
helm_bin="${FK_CACHE}/bin/helm"
helm_stamp="${FK_CACHE}/bin/helm.version"  # a go-installed helm reports only "v3.21"
if [[ -x "$helm_bin" && -f "$helm_stamp" && "$(cat "$helm_stamp")" == "$helm_version" ]]; then
  fk_log "helm present: ${helm_bin}"
elif command -v go >/dev/null || [[ -x /usr/local/go/bin/go ]]; then
  go_bin="$(command -v go || echo /usr/local/go/bin/go)"
  fk_log "building helm ${helm_version} into ${FK_CACHE}/bin"
  mkdir -p "${FK_CACHE}/bin" "${FK_CACHE}/go"
  GOPATH="${FK_CACHE}/go" GOBIN="${FK_CACHE}/bin" GOFLAGS=-modcacherw \
    "$go_bin" install "helm.sh/helm/v3/cmd/helm@${helm_version}" ||
    fk_die "could not build helm ${helm_version} from the Go module proxy"
  echo "$helm_version" >"$helm_stamp"
else
  fk_die "no Go toolchain to build helm with (the chart check needs it)"
fi
fk_log "done"
