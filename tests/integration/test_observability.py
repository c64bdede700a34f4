"""The worker's operator listener on the real broker (docs/operations.md): /readyz turns ready once
the partitions are assigned and restored, /healthz answers while the poll loop turns, and /metrics
counts the records by outcome and the transactions as events flow."""

import re
import time
import urllib.error
import urllib.request

import pytest
from confluent_kafka.admin import AdminClient

from harness import (InputDriver, TopicSet, WorkerProcess, assert_exactly_one, bootstrap,
                     collect_outcomes)

NO_AWS = "handlers:\n  ami_rollout: {enabled: false}\n"


def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def listener_port(worker, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = re.search(r"observability: /metrics, /healthz and /readyz on \S+:(\d+)", worker.tail(20000))
        if m:
            return int(m.group(1))
        time.sleep(0.1)
    raise AssertionError("the worker did not say where it listens:\n" + worker.tail())


def metric(text, name, **labels):
    """The sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.fixture
def topics():
    t = TopicSet(inputs=(2,), work_partitions=3)
    t.create(AdminClient({"bootstrap.servers": bootstrap()}))
    return t


def test_probes_and_metrics_follow_the_worker(topics, tmp_path):
    worker = WorkerProcess(topics.config_yaml({"transactional.id": topics.prefix + "-obs"},
                                              extra=NO_AWS), "obs", workdir=tmp_path)
    worker.start(wait=False)
    try:
        port = listener_port(worker)
        # Ready only once the group has assigned the partitions and they are restored.
        deadline = time.time() + 60
        status, body = get(port, "/readyz")
        while status != 200 and time.time() < deadline:
            assert status == 503 and body.startswith("not ready"), body
            time.sleep(0.2)
            status, body = get(port, "/readyz")
        assert status == 200, body
        assert get(port, "/healthz")[0] == 200

        driver = InputDriver(topics, 300, bad_ratio=0.2, seed=3).start()
        driver.join()
        outcomes = collect_outcomes(topics, driver.delivered, timeout=120)
        assert_exactly_one(outcomes, driver.delivered)

        status, text = get(port, "/metrics")
        assert status == 200
        dlq = sum(1 for o in outcomes.values() if o[0][0] == "DLQ")
        final = len(outcomes) - dlq
        counted_dlq = sum(metric(text, "fleetkeeper_records_total", topic=t, outcome="DLQ")
                          for t in topics.inputs)
        counted = sum(metric(text, "fleetkeeper_records_total", topic=t) for t in topics.inputs)
        assert dlq > 0 and counted_dlq >= dlq, (dlq, counted_dlq)
        # Counted as staged: a batch that aborted and was redone would count twice, never less.
        assert counted >= final + dlq, (counted, final, dlq)
        assert metric(text, "fleetkeeper_transactions_total", result="committed") > 0
        assert metric(text, "fleetkeeper_commit_duration_seconds_count") > 0
        assert metric(text, "fleetkeeper_frozen") == 0
    finally:
        worker.stop()


def test_a_port_in_use_stops_the_worker_naming_the_key(topics, tmp_path):
    first = WorkerProcess(topics.config_yaml({"transactional.id": topics.prefix + "-a"},
                                             extra=NO_AWS), "a", workdir=tmp_path)
    first.start()
    try:
        port = listener_port(first)
        config = topics.config_yaml({"transactional.id": topics.prefix + "-b"}, extra=NO_AWS)
        config = config.replace("listen: '127.0.0.1:0'", f"listen: '127.0.0.1:{port}'")
        second = WorkerProcess(config, "b", workdir=tmp_path)
        second.start(wait=False)
        assert second.proc.wait(timeout=30) != 0
        assert "observability.listen: cannot listen on 127.0.0.1:" in second.tail()
    finally:
        first.stop()
