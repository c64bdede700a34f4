"""Backpressure end to end on the real Kafka broker (docs/reliability.md, "Resource bounds"): a
fleet.work partition holding `runtime.max_pending_per_partition` unfinished workflows is paused,
so that a flood of requests waits on the broker instead of in the worker's memory, and resumed
once they are down to three quarters of it; nothing is lost.

The worker runs the test-only `test_effect` handler (tests/testing/effect_handler.h), whose
workflows POST an effect to a loopback recorder (effect_recorder.py) and retry while it answers
503: with the recorder failing, no workflow can finish, and how many the worker admitted is what
backpressure let in. Inputs: native ECS commands in the JSON wrapper form {"ecs_command": {...}}
(consumers/normalizer.h), each on a cluster of its own so that no lock serializes them, all in one
cell (account and region), so all on one fleet.work partition."""

import json
import os
import sys
import time

import pytest
from confluent_kafka.admin import AdminClient

sys.path.insert(0, os.path.dirname(__file__))
from harness import TopicSet, WorkerProcess, bootstrap, http_get, listener_port  # noqa: E402
from test_workflows import (ResultReader, assert_one_effect_per_workflow,  # noqa: E402
                            assert_one_success_per_input, produce, worker_env)

pytestmark = pytest.mark.e2e

COMMANDS = 300
MAX_PENDING = 20
BATCH = 10
# Pausing happens after a commit: a partition at MAX_PENDING - 1 may take one more batch before it
# is paused, and the batch read while that commit ran.
BOUND = MAX_PENDING + 2 * BATCH


def command(prefix, i):
    return json.dumps({"ecs_command": {
        "request_id": f"{prefix}-bp-{i}", "requested_by": "backpressure-test",
        "account": "111122223333", "region": "us-east-1", "action": "restart",
        "cluster": f"bp-{i}", "reason": "backpressure test"}}).encode()


def admitted(results):
    return {r["workflow_id"] for r in results.all() if r.get("workflow_id")}


def metric(port, name):
    status, body = http_get(port, "/metrics")
    assert status == 200, body
    values = [float(ln.rsplit(" ", 1)[1]) for ln in body.splitlines()
              if ln.startswith(name + " ") or ln.startswith(name + "{")]
    return sum(values)


def test_a_flood_waits_on_the_broker_not_in_memory_and_then_finishes(recorder, tmp_path):
    topics = TopicSet(inputs=(2,), work_partitions=2)
    topics.create(AdminClient({"bootstrap.servers": bootstrap()}))
    runtime = (f"runtime: {{max_pending_per_partition: {MAX_PENDING}, "
               f"batch_max_records: {BATCH}}}\n")
    cfg = topics.config_yaml({"transactional.id": f"{topics.prefix}-bp"}, extra=runtime)
    worker = WorkerProcess(cfg, "bp", env=worker_env(recorder, FK_TEST_EFFECT_AWAIT_MS=100),
                           workdir=tmp_path)
    results = ResultReader(topics).start()
    recorder.fail = True  # no effect succeeds: no workflow can finish
    try:
        worker.start()
        port = listener_port(worker)
        coords = produce(topics.inputs[0], [command(topics.prefix, i) for i in range(COMMANDS)])

        # The cell's work partition fills up and is paused; the rest of the flood stays on the
        # broker.
        deadline = time.time() + 60
        while time.time() < deadline and metric(
                port, "fleetkeeper_backpressure_paused_partitions") < 1:
            time.sleep(0.3)
        assert metric(port, "fleetkeeper_backpressure_paused_partitions") == 1, worker.tail()
        time.sleep(5)  # what a paused partition would still let in, had it not been paused
        let_in = len(admitted(results))
        assert MAX_PENDING <= let_in <= BOUND, (let_in, worker.tail())
        live = metric(port, 'fleetkeeper_workflows{handler="test_effect"')
        assert live <= BOUND, live
        log = worker.log.read_text(errors="replace")
        assert f"unfinished workflows (runtime.max_pending_per_partition {MAX_PENDING})" in log

        assert recorder.refused > 0  # the admitted workflows did try their effect
        # The effects succeed again: the partitions resume and every command finishes, once.
        recorder.fail = False
        by_source = results.wait_sources(coords, timeout=240)
        assert_one_success_per_input(by_source, coords)
        assert_one_effect_per_workflow(recorder, [by_source[c][0]["workflow_id"] for c in coords])
        assert metric(port, "fleetkeeper_backpressure_paused_partitions") == 0
        assert "resumed:" in worker.log.read_text(errors="replace")
    finally:
        results.stop()
        worker.kill()
