"""The worker's operator listener on the real broker (docs/operations.md): /readyz turns ready once
the partitions are assigned and restored and goes not ready when the producer is fenced, /healthz
answers while the poll loop turns, and /metrics counts the records by outcome, the transactions,
the batches, the consumer lag and the live workflows as events flow; JSON log lines carry the
workflow's fields."""

import json
import os
import signal
import sys
import threading
import time

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

sys.path.insert(0, os.path.dirname(__file__))
from effect_recorder import EffectRecorder  # noqa: E402
from harness import (TopicSet, WorkerProcess, bootstrap, http_get, listener_port,  # noqa: E402
                     metric, series)
from inputs import InputDriver, assert_exactly_one, collect_outcomes  # noqa: E402

NO_AWS = "handlers:\n  ami_rollout: {enabled: false}\n"
get = http_get


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
        batches = metric(text, "fleetkeeper_batch_duration_seconds_count")
        assert batches > 0
        # A batch lasts at least its commit.
        assert (metric(text, "fleetkeeper_batch_duration_seconds_sum")
                >= metric(text, "fleetkeeper_commit_duration_seconds_sum") * 0.99)
        assert metric(text, "fleetkeeper_frozen") == 0
        # Lag per assigned partition read from, refreshed each second: every input is read now.
        time.sleep(1.5)
        text = get(port, "/metrics")[1]
        lagging = series(text, "fleetkeeper_consumer_lag")
        input_partitions = {(t, str(p)) for t, n in topics.input_partitions.items()
                            for p in range(n)}
        seen = {(x["topic"], x["partition"]) for x in lagging}
        assert input_partitions <= seen, (input_partitions, seen)
        assert metric(text, "fleetkeeper_consumer_lag", topic=topics.inputs[0]) == 0, lagging
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


def test_consumer_lag_counts_the_records_not_read_yet(topics, tmp_path):
    """A worker whose batches commit slowly falls behind a burst: the lag rises, then drains."""
    worker = WorkerProcess(topics.config_yaml({"transactional.id": topics.prefix + "-lag"},
                                              extra=NO_AWS + "runtime: {batch_max_records: 10}\n"),
                           "lag", workdir=tmp_path)
    worker.start()
    try:
        port = listener_port(worker)
        driver = InputDriver(topics, 3000, bad_ratio=0.0, seed=5).start()
        peak = 0.0
        deadline = time.time() + 120
        while time.time() < deadline:
            lag = metric(get(port, "/metrics")[1], "fleetkeeper_consumer_lag",
                         topic=topics.inputs[0])
            peak = max(peak, lag)
            if peak > 0 and lag == 0:
                break
            time.sleep(0.2)
        driver.join()
        assert peak > 0, "the lag never rose above 0 during a burst of 3000 records"
        assert lag == 0, f"the lag did not drain: {lag}"
    finally:
        worker.stop()


def ecs_command(i):
    """A native ECS command (docs/ecs.md), which the test-only effect handler takes."""
    return json.dumps({"ecs_command": {
        "request_id": f"obs-{i}", "requested_by": "observability-test", "account": "111122223333",
        "region": "us-east-1", "action": "restart", "cluster": f"c{i}",
        "reason": "observability test"}}).encode()


def test_workflows_by_state_and_json_logs_with_the_workflow_fields(topics, tmp_path):
    recorder = EffectRecorder().start()
    config = topics.config_yaml({"transactional.id": topics.prefix + "-wf"},
                                extra="log: {format: json}\n")
    worker = WorkerProcess(config, "wf", workdir=tmp_path, env={
        "FK_TEST_HANDLERS": "effect", "FK_TEST_EFFECT_URL": recorder.url,
        # Each workflow waits 4 s for an approval that does not come, then applies its effect.
        "FK_TEST_EFFECT_AWAIT_MS": "4000",
        "AWS_ACCESS_KEY_ID": "AKIDEFFECTTEST", "AWS_SECRET_ACCESS_KEY": "effect-test-secret",
        "AWS_EC2_METADATA_DISABLED": "true"})
    worker.start()
    try:
        port = listener_port(worker)
        p = Producer({"bootstrap.servers": bootstrap()})
        for i in range(8):
            p.produce(topics.inputs[0], value=ecs_command(i))
        p.flush(30)
        waiting, deadline = 0.0, time.time() + 60
        while time.time() < deadline and waiting < 8:
            text = get(port, "/metrics")[1]
            waiting = metric(text, "fleetkeeper_workflows", handler="test_effect", state="waiting")
            time.sleep(0.2)
        assert waiting == 8, text
        deadline = time.time() + 60
        while time.time() < deadline:
            text = get(port, "/metrics")[1]
            if metric(text, "fleetkeeper_workflows_finished_total", handler="test_effect") == 8:
                break
            time.sleep(0.3)
        assert metric(text, "fleetkeeper_workflows_finished_total", handler="test_effect",
                      status="SUCCEEDED") == 8, text
        time.sleep(1.5)  # the gauge is refreshed each second
        text = get(port, "/metrics")[1]
        assert metric(text, "fleetkeeper_workflows", handler="test_effect") == 0, text
    finally:
        worker.stop()
        recorder.stop()

    lines = [json.loads(x) for x in worker.log.read_text().splitlines() if x.startswith("{")]
    about = [x for x in lines if x["msg"].startswith("workflow ")]
    admitted = [x for x in about if " admitted " in x["msg"]]
    finished = [x for x in about if " finished: " in x["msg"]]
    steps = [x for x in about if " step " in x["msg"] and " -> " in x["msg"]]
    assert len(admitted) == 8 and len(finished) == 8, [x["msg"] for x in about][:20]
    # One line per change of state: arm -> await -> effect, then finished.
    assert len(steps) == 16, [x["msg"] for x in steps]
    for line in admitted + steps + finished:
        assert line["workflow_id"] in line["msg"], line
        assert line["cell"] == "111122223333/us-east-1", line
        assert line["handler"] == "test_effect", line
        assert line.get("event_id"), line
        assert line["step"] in ("arm", "await", "effect"), line
    # The line about a step change names the new step.
    assert all(x["msg"].endswith(" -> " + x["step"]) or (" -> " + x["step"] + ",") in x["msg"]
               for x in steps), [x["msg"] for x in steps]


def test_a_fenced_worker_goes_not_ready_before_it_exits(topics, tmp_path):
    tid = topics.prefix + "-fenced"
    # The fence and the exit are a few milliseconds apart: the test hook keeps the fenced process
    # (and its listener) up a second longer, so that the probe sees the 503 every time.
    old = WorkerProcess(topics.config_yaml({"transactional.id": tid}, extra=NO_AWS), "old",
                        env={"FK_TEST_LINGER_AFTER_FENCE_MS": "1000"}, workdir=tmp_path).start()
    answers = []
    try:
        port = listener_port(old)
        deadline = time.time() + 60
        while get(port, "/readyz")[0] != 200 and time.time() < deadline:
            time.sleep(0.2)
        assert get(port, "/readyz")[0] == 200

        stop = threading.Event()

        def watch():
            # Until the process is gone: every answer of /readyz, or the refusal once it exits.
            while not stop.is_set():
                try:
                    answers.append(get(port, "/readyz", timeout=1))
                except OSError as e:
                    answers.append((None, str(e)))
                    if not old.alive():
                        return
                time.sleep(0.01)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        new = WorkerProcess(topics.config_yaml({"transactional.id": tid}, extra=NO_AWS), "new",
                            workdir=tmp_path).start()
        try:
            # The old worker notices the fence on its next transaction.
            driver = InputDriver(topics, 500, rate=500).start()
            deadline = time.time() + 60
            while old.alive() and time.time() < deadline:
                time.sleep(0.05)
            driver.join()
            stop.set()
            watcher.join(timeout=10)
            assert not old.alive(), "the fenced worker kept running"
            assert old.proc.returncode == 3, (old.proc.returncode, old.tail())
        finally:
            new.stop()
    finally:
        old.kill(signal.SIGKILL)
    statuses = [s for s, _ in answers]
    assert 200 in statuses
    fenced = [i for i, (s, b) in enumerate(answers)
              if s == 503 and b.startswith("not ready: the producer was fenced")]
    assert fenced, f"never answered not ready for the fence: {answers[-10:]}"
    # Ready until the fence, not ready from it until the listener went away with the process.
    assert all(s != 200 for s, _ in answers[fenced[0]:]), answers[fenced[0]:][:10]
