#!/usr/bin/env bash
# A real Apache Kafka 3.9.1 broker for the tests: KRaft, one combined broker+controller node on
# 127.0.0.1, fresh data at every start.
#
#   scripts/kafka.sh start    start it, restarting (with fresh data) one already running on this
#                             port; prints the bootstrap address and writes
#                             .cache/kafka.env (FK_KAFKA_BOOTSTRAP=127.0.0.1:PORT)
#   scripts/kafka.sh stop     stop it and wait until it is gone (safe from a trap, safe if not running)
#   scripts/kafka.sh status   exit 0 and print the address when it runs, exit 3 otherwise
#   scripts/kafka.sh resume   start it again on the data the last stop (or crash) left: a restart,
#                             as after maintenance (the fault tests use it)
#   scripts/kafka.sh crash    SIGKILL the broker: no controlled shutdown, its logs recovered on resume
#   scripts/kafka.sh node2 start|stop|resume
#                             a second, broker-only node (node.id 2) in the same cluster on
#                             PORT+10, for faults of one broker while the other runs; start formats
#                             it fresh, resume reuses its data. `stop` stops it too.
#
# Environment: FK_KAFKA_PORT (default 19092; the controller listens on PORT+1),
# FK_KAFKA_START_TIMEOUT (seconds, default 90), FK_KAFKA_ENVFILE (default .cache/kafka.env: where
# start writes the address; a test's own broker writes elsewhere so that it does not replace the
# suite's). Jars come from scripts/install-deps.sh.
#
# The broker also has a SASL_SSL listener on PORT+2 (SCRAM-SHA-512, a certificate from a CA made at
# start): .cache/kafka-sasl.env names its address, the CA file, the user and a password made at
# start (FK_KAFKA_SASL_BOOTSTRAP, FK_KAFKA_SASL_CA, FK_KAFKA_SASL_USER, FK_KAFKA_SASL_PASSWORD).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

port="${FK_KAFKA_PORT:-19092}"
controller_port=$((port + 1))
sasl_port=$((port + 2))
# A broker on another port has its own data and pid file, so that brokers on two ports of one
# checkout never stop each other; the env file names the broker started last.
suffix=""
[[ "$port" == 19092 ]] || suffix="-${port}"
run_dir="${FK_CACHE}/kafka-run${suffix}"
libs="${FK_CACHE}/kafka-libs"
pidfile="${FK_CACHE}/kafka${suffix}.pid"
envfile="${FK_KAFKA_ENVFILE:-${FK_CACHE}/kafka.env}"
sasl_envfile="${FK_CACHE}/kafka-sasl${suffix}.env"
sasl_user="fleetkeeper"
bootstrap="127.0.0.1:${port}"

broker_answers() {
  # The broker is up when it answers a metadata request on its client listener.
  if command -v kcat >/dev/null 2>&1; then
    timeout 10 kcat -L -b "$1" -m 5 >/dev/null 2>&1
  else
    timeout 10 "${FK_ROOT}/.venv/bin/python" - "$1" <<'PY'
import sys
from confluent_kafka.admin import AdminClient
AdminClient({"bootstrap.servers": sys.argv[1]}).list_topics(timeout=5)
PY
  fi
}

write_properties() {
  cat >"${run_dir}/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controller_port}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller_port},SASL_SSL://127.0.0.1:${sasl_port}
advertised.listeners=PLAINTEXT://127.0.0.1:${port},SASL_SSL://127.0.0.1:${sasl_port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PEM
ssl.keystore.location=${run_dir}/tls/broker.pem
ssl.client.auth=none
log.dirs=${run_dir}/data
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=6
group.initial.rebalance.delay.ms=0
transaction.abort.timed.out.transaction.cleanup.interval.ms=1000
transaction.remove.expired.transaction.cleanup.interval.ms=3000
message.max.bytes=16777216
replica.fetch.max.bytes=16777216
socket.request.max.bytes=104857600
log.cleaner.enable=true
log.cleaner.backoff.ms=1000
# A deleted topic's files go after 1 s, not 60: the benchmarks delete each run's topics and wait
# for the files to be gone before the next run, so that it does not pay for their removal.
file.delete.delay.ms=1000
num.network.threads=2
num.io.threads=4
EOF
  cat >"${run_dir}/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=${run_dir}/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.kafka.controller=INFO
EOF
}

# A CA and a broker certificate for 127.0.0.1 (PEM; the broker reads key and chain from one file).
make_certificates() {
  local tls="${run_dir}/tls"
  mkdir -p "$tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=fleetkeeper test CA" \
    -keyout "${tls}/ca.key" -out "${tls}/ca.pem" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "${tls}/broker.key" -out "${tls}/broker.csr" >/dev/null 2>&1
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"${tls}/san.ext"
  openssl x509 -req -in "${tls}/broker.csr" -CA "${tls}/ca.pem" -CAkey "${tls}/ca.key" \
    -CAcreateserial -days 2 -extfile "${tls}/san.ext" -out "${tls}/broker.crt" >/dev/null 2>&1
  openssl pkcs8 -topk8 -nocrypt -in "${tls}/broker.key" -out "${tls}/broker.p8" >/dev/null 2>&1
  cat "${tls}/broker.p8" "${tls}/broker.crt" "${tls}/ca.pem" >"${tls}/broker.pem"
  [[ -s "${tls}/broker.pem" ]] || fk_die "could not make the test certificates (openssl)"
}

java_args=(
  java -Xmx512m -Xms256m -XX:+UseG1GC -Djava.awt.headless=true
  -Dlog4j.configuration="file:${run_dir}/log4j.properties" -cp "${libs}/*"
)
java_cmd() { "${java_args[@]}" "$@"; }

running_pid() {
  local pid
  [[ -f "$pidfile" ]] || return 1
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  fk_pid_alive "$pid" || return 1
  echo "$pid"
}

node2_port=$((port + 10))
node2_dir="${run_dir}/node2"
node2_pidfile="${FK_CACHE}/kafka${suffix}-node2.pid"

node2_stop() {
  fk_stop_pidfile "$node2_pidfile" 30
}

node2_properties() {
  cat >"${node2_dir}/server.properties" <<EOF
process.roles=broker
node.id=2
controller.quorum.voters=1@127.0.0.1:${controller_port}
listeners=PLAINTEXT://127.0.0.1:${node2_port}
advertised.listeners=PLAINTEXT://127.0.0.1:${node2_port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${node2_dir}/data
auto.create.topics.enable=false
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
message.max.bytes=16777216
replica.fetch.max.bytes=16777216
num.network.threads=2
num.io.threads=2
EOF
}

# Node 2 joins node 1's controller with node 1's cluster id; `fresh` formats its data first.
node2_launch() {
  local fresh="$1"
  running_pid >/dev/null || fk_die "node 1 is not running on ${port}: run scripts/kafka.sh start"
  node2_stop
  fk_port_free "$node2_port" || fk_die "port ${node2_port} (node 2) is in use"
  if [[ "$fresh" == fresh ]]; then
    rm -rf "$node2_dir"
    mkdir -p "${node2_dir}/data"
    node2_properties
    local cluster_id
    cluster_id="$(sed -n 's/^cluster.id=//p' "${run_dir}/data/meta.properties")"
    [[ -n "$cluster_id" ]] || fk_die "no cluster id in ${run_dir}/data/meta.properties"
    java_cmd kafka.tools.StorageTool format -t "$cluster_id" -c "${node2_dir}/server.properties" \
      >>"${node2_dir}/server.log" 2>&1 || fk_die "StorageTool format (node 2) failed"
  fi
  [[ -f "${node2_dir}/server.properties" ]] || fk_die "node 2 has no data to resume: node2 start"
  setsid "${java_args[@]}" kafka.Kafka "${node2_dir}/server.properties" \
    </dev/null >>"${node2_dir}/server.log" 2>&1 &
  echo $! >"$node2_pidfile"
  local deadline=$((SECONDS + ${FK_KAFKA_START_TIMEOUT:-90}))
  until broker_answers "127.0.0.1:${node2_port}"; do
    fk_pid_alive "$(cat "$node2_pidfile")" ||
      fk_die "node 2 exited during start; see ${node2_dir}/server.log"
    ((SECONDS < deadline)) || fk_die "node 2 did not answer on 127.0.0.1:${node2_port}"
    sleep 0.5
  done
  fk_log "node 2 up on 127.0.0.1:${node2_port}"
}

do_node2() {
  case "${1:-}" in
    start) node2_launch fresh ;;
    resume) node2_launch keep ;;
    stop) node2_stop ;;
    *) fk_die "usage: scripts/kafka.sh node2 start|stop|resume" ;;
  esac
}

do_stop() {
  node2_stop
  if running_pid >/dev/null; then
    fk_log "stopping broker (pid $(cat "$pidfile"))"
  fi
  # A controlled shutdown of a single node takes a few seconds; KILL after 30 s.
  fk_stop_pidfile "$pidfile" 30
  if grep -qx "FK_KAFKA_BOOTSTRAP=${bootstrap}" "$envfile" 2>/dev/null; then rm -f "$envfile"; fi
  rm -f "$sasl_envfile"
}

do_start() {
  [[ -f "${libs}/kafka_2.13-3.9.1.jar" ]] || fk_die "no Kafka jars in ${libs}: run scripts/install-deps.sh"
  command -v java >/dev/null || fk_die "java not found: run scripts/install-deps.sh"
  do_stop
  fk_port_free "$port" || fk_die "port ${port} is in use (set FK_KAFKA_PORT)"
  fk_port_free "$controller_port" || fk_die "port ${controller_port} is in use (set FK_KAFKA_PORT)"
  fk_port_free "$sasl_port" || fk_die "port ${sasl_port} is in use (set FK_KAFKA_PORT)"

  rm -rf "$run_dir"
  mkdir -p "${run_dir}/data"
  write_properties
  make_certificates
  local sasl_password
  sasl_password="$(openssl rand -hex 16)"
  local cluster_id
  cluster_id="$(java_cmd kafka.tools.StorageTool random-uuid 2>>"${run_dir}/server.log" | tail -n1)"
  [[ -n "$cluster_id" ]] || fk_die "StorageTool random-uuid failed; see ${run_dir}/server.log"
  java_cmd kafka.tools.StorageTool format -t "$cluster_id" -c "${run_dir}/server.properties" \
    --add-scram "SCRAM-SHA-512=[name=${sasl_user},password=${sasl_password}]" \
    >>"${run_dir}/server.log" 2>&1 || fk_die "StorageTool format failed; see ${run_dir}/server.log"

  launch "$sasl_password"
}

# Starts the broker on the data in run_dir and waits until it answers; writes the env files.
launch() {
  local sasl_password="$1"
  # setsid: the broker must not get the caller's terminal signals; stop is explicit.
  setsid "${java_args[@]}" kafka.Kafka "${run_dir}/server.properties" \
    </dev/null >>"${run_dir}/server.log" 2>&1 &
  echo $! >"$pidfile"
  local pid
  pid="$(cat "$pidfile")"

  local timeout="${FK_KAFKA_START_TIMEOUT:-90}" deadline=$((SECONDS + ${FK_KAFKA_START_TIMEOUT:-90}))
  until broker_answers "$bootstrap"; do
    if ! fk_pid_alive "$pid"; then
      tail -n 30 "${run_dir}/server.log" >&2 || true
      rm -f "$pidfile"
      fk_die "broker exited during start; see ${run_dir}/server.log"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "${run_dir}/server.log" >&2 || true
      do_stop
      fk_die "broker did not answer on ${bootstrap} within ${timeout}s"
    fi
    sleep 0.5
  done
  echo "FK_KAFKA_BOOTSTRAP=${bootstrap}" >"$envfile"
  {
    echo "FK_KAFKA_SASL_BOOTSTRAP=127.0.0.1:${sasl_port}"
    echo "FK_KAFKA_SASL_CA=${run_dir}/tls/ca.pem"
    echo "FK_KAFKA_SASL_USER=${sasl_user}"
    echo "FK_KAFKA_SASL_PASSWORD=${sasl_password}"
  } >"$sasl_envfile"
  # resume reuses the SASL password made at start.
  echo "$sasl_password" >"${run_dir}/sasl-password"
  fk_log "broker up (pid ${pid}), log ${run_dir}/server.log, env ${envfile}"
  echo "$bootstrap"
}

do_resume() {
  [[ -f "${run_dir}/server.properties" && -f "${run_dir}/sasl-password" ]] ||
    fk_die "no broker data in ${run_dir} to resume: run scripts/kafka.sh start"
  if running_pid >/dev/null; then fk_die "the broker on port ${port} is running; stop it first"; fi
  fk_port_free "$port" || fk_die "port ${port} is in use (set FK_KAFKA_PORT)"
  fk_log "resuming broker on ${bootstrap} with its data"
  launch "$(cat "${run_dir}/sasl-password")"
}

do_crash() {
  local pid
  pid="$(running_pid)" || fk_die "no broker running on port ${port}"
  fk_log "SIGKILL broker (pid ${pid})"
  kill -KILL "$pid"
  while fk_pid_alive "$pid"; do sleep 0.1; done
  # A JVM's leader thread turns zombie before its other threads are gone and its sockets closed.
  local deadline=$((SECONDS + 30))
  until fk_port_free "$port" || ((SECONDS >= deadline)); do sleep 0.1; done
  rm -f "$pidfile"
}

do_status() {
  local pid
  if pid="$(running_pid)"; then
    echo "running pid ${pid} bootstrap ${bootstrap}"
    return 0
  fi
  echo "not running"
  return 3
}

case "${1:-}" in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  resume) do_resume ;;
  crash) do_crash ;;
  node2) do_node2 "${2:-}" ;;
  *) sed -n '2,23p' "$0" >&2; exit 2 ;;
esac
