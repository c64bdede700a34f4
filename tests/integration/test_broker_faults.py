"""Broker faults on the real Kafka 3.9.1 broker, with 20,000 input records and durable workflows in
flight: the broker stopped for 30 s and started again on its data; the transaction coordinator
killed (SIGKILL) while a commit is between send_offsets_to_transaction and commit_transaction; and,
with a second broker in the cluster, the leader of an input partition and of a results partition
stopped for 20 s while the first broker runs on.
After each: exactly one outcome per input (read_committed), every workflow finishes with its effect
applied once (the loopback recorder), and the worker reports not ready on /readyz while no broker
answers, then ready again by itself, without a restart.

The module runs a broker of its own (scripts/kafka.sh on FK_FAULT_KAFKA_PORT, default 19392), so
that stopping it disturbs no other test. Workflows come from the test-only `test_effect` handler,
as in test_workflows.py."""

import os
import pathlib
import subprocess
import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from harness import TopicSet, WorkerProcess, http_get, listener_port
from inputs import InputDriver, assert_exactly_one, collect_outcomes
from test_workflows import (ResultReader, assert_one_effect_per_workflow, ecs_command, produce,
                            worker_env)

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

ROOT = pathlib.Path(__file__).resolve().parents[2]
PORT = int(os.environ.get("FK_FAULT_KAFKA_PORT", "19392"))
N = 20000
WORKFLOWS = 150
# No event of the input mix may need AWS (as in test_pipeline.py); the workflows are the effect
# handler's.
NO_AWS = "handlers:\n  ami_rollout: {enabled: false}\n"


class Broker:
    """scripts/kafka.sh for the module's own broker."""

    def __init__(self, tmp):
        self.env = {**os.environ, "FK_KAFKA_PORT": str(PORT),
                    "FK_KAFKA_ENVFILE": str(tmp / "kafka.env")}
        self.bootstrap = f"127.0.0.1:{PORT}"

    def run(self, command):
        done = subprocess.run([str(ROOT / "scripts" / "kafka.sh"), *command.split()], env=self.env,
                              capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, f"kafka.sh {command}: {done.stderr[-2000:]}"


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    b = Broker(tmp_path_factory.mktemp("fault-broker"))
    b.run("start")
    yield b
    b.run("stop")


@pytest.fixture
def topics(broker, monkeypatch):
    # Every helper of the harness (the worker's config, the producers, the readers) finds the
    # broker through FK_KAFKA_BOOTSTRAP first.
    monkeypatch.setenv("FK_KAFKA_BOOTSTRAP", broker.bootstrap)
    t = TopicSet(inputs=(4, 3), work_partitions=6)
    t.create(AdminClient({"bootstrap.servers": broker.bootstrap}))
    return t


@pytest.fixture(autouse=True)
def workers():
    """Every worker a scenario starts; killed at the end even when the scenario fails midway."""
    started = []
    yield started
    for w in started:
        w.kill()


def wait_readyz(port, status, timeout, what):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = http_get(port, "/readyz")
        if last[0] == status:
            return last
        time.sleep(0.25)
    raise AssertionError(f"/readyz never answered {status} ({what}); last {last}")


def start_load(topics, recorder, tmp_path, workers, extra_env=None):
    """The worker, the 20,000 records and the workflows, all started; returns what to wait on."""
    # librdkafka's default transaction timeout (60 s): the harness's 10 s would let the
    # coordinator abort a transaction left open across a 30 s outage, which is not this fault.
    cfg = topics.config_yaml({"transactional.id": topics.prefix + "-w",
                              "transaction.timeout.ms": "60000"}, extra=NO_AWS)
    env = worker_env(recorder)
    worker = WorkerProcess(cfg, "w", env=env, workdir=tmp_path)
    workers.append(worker)
    worker.start(extra_env=extra_env)
    results = ResultReader(topics).start()
    driver = InputDriver(topics, N, rate=1500).start()
    commands = [ecs_command(f"req-{topics.prefix}-{i}", i) for i in range(WORKFLOWS)]
    produced = {}
    workflows = threading.Thread(
        target=lambda: produced.update(coords=produce(topics.inputs[1], commands, rate=10)),
        daemon=True)
    workflows.start()
    return worker, results, driver, workflows, produced


def finish(topics, recorder, worker, results, driver, workflows, produced):
    driver.join()
    workflows.join(timeout=300)
    coords = produced["coords"]
    expected = dict(driver.delivered)
    expected.update({c: b"" for c in coords})
    outcomes = collect_outcomes(topics, expected, timeout=300)
    assert_exactly_one(outcomes, expected)
    statuses = {o[0][0] for o in outcomes.values()}
    assert {"DLQ", "SKIPPED", "REJECTED", "SUCCEEDED"} <= statuses, statuses
    not_done = {c: outcomes[c] for c in coords if outcomes[c][0][0] != "SUCCEEDED"}
    assert not not_done, f"{len(not_done)} workflows did not succeed: {list(not_done.items())[:3]}"
    by_source = results.finals_by_source()
    ids = [by_source[c][0]["workflow_id"] for c in coords]
    assert len(set(ids)) == WORKFLOWS
    assert_one_effect_per_workflow(recorder, ids)
    assert worker.alive(), f"the worker did not survive the fault:\n{worker.tail()}"
    assert worker.stop() == 0, worker.tail()
    results.stop()


def test_broker_stopped_for_30s_mid_run(topics, broker, recorder, tmp_path, workers):
    worker, results, driver, workflows, produced = start_load(topics, recorder, tmp_path, workers)
    port = listener_port(worker)
    wait_readyz(port, 200, 60, "before the fault")
    time.sleep(6)  # records, transactions and workflows in flight
    assert driver.thread.is_alive() and len(driver.delivered) < N
    stopped_at = time.time()
    broker.run("stop")
    status, body = wait_readyz(port, 503, 30, "while the broker is stopped")
    assert "no Kafka broker answers" in body, body
    time.sleep(max(0.0, 30 - (time.time() - stopped_at)))
    broker.run("resume")
    wait_readyz(port, 200, 90, "after the broker came back")
    finish(topics, recorder, worker, results, driver, workflows, produced)
    log = worker.log.read_text(errors="replace")
    assert "a broker answers again after" in log, worker.tail()


def test_coordinator_killed_during_a_commit(topics, broker, recorder, tmp_path, workers):
    worker, results, driver, workflows, produced = start_load(
        topics, recorder, tmp_path, workers, extra_env={"FK_TEST_HOLD_BEFORE_COMMIT": "12"})
    marker = "test hook: batch 12 holds 5 s between send_offsets_to_transaction"
    deadline = time.time() + 120
    while marker not in worker.log.read_text(errors="replace"):
        assert time.time() < deadline, f"batch 12 never reached its commit:\n{worker.tail()}"
        assert worker.alive(), worker.tail()
        time.sleep(0.05)
    # The single broker is the transaction coordinator of every transactional id: SIGKILL it while
    # the transaction has its offsets but not its commit, and start it again on its data.
    broker.run("crash")
    broker.run("resume")
    finish(topics, recorder, worker, results, driver, workflows, produced)


def warm_internal_topics(bootstrap):
    """Makes the broker create __transaction_state and __consumer_offsets now, on node 1 alone, so
    that stopping node 2 later leaves every coordinator up."""
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": "warm-" + uuid.uuid4().hex})
    p.init_transactions(60)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "warm-" + uuid.uuid4().hex})
    c.subscribe(["__warm-nothing"])
    deadline = time.time() + 20
    while time.time() < deadline:
        c.poll(0.5)
        if c.assignment() is not None and "__consumer_offsets" in c.list_topics(timeout=5).topics:
            break
    c.close()


def test_a_topic_leader_unavailable_for_20s(broker, recorder, tmp_path, monkeypatch, workers):
    monkeypatch.setenv("FK_KAFKA_BOOTSTRAP", broker.bootstrap)
    warm_internal_topics(broker.bootstrap)
    broker.run("node2 start")
    try:
        topics = TopicSet(inputs=(4, 3), work_partitions=6)
        # Everything on node 1 but partition 0 of the events topic and of the results topic: node 2
        # leads those alone (replication factor 1), so stopping it takes their leader away.
        topics.create(AdminClient({"bootstrap.servers": broker.bootstrap}),
                      replicas={topics.inputs[0]: {0: 2}, topics.results: {0: 2}})
        worker, results, driver, workflows, produced = start_load(topics, recorder, tmp_path,
                                                                  workers)
        time.sleep(6)
        assert driver.thread.is_alive() and len(driver.delivered) < N
        broker.run("node2 stop")
        time.sleep(20)
        assert worker.alive(), worker.tail()
        broker.run("node2 resume")
        finish(topics, recorder, worker, results, driver, workflows, produced)
    finally:
        broker.run("node2 stop")
