"""Durable workflows end to end on the real Kafka broker: kill -9 at random instants and between a
step's effect and its checkpoint, two workers taking over each other's cells (SIGKILL; SIGSTOP past
the session timeout), redelivery, dedup keys, freeze, and the `workflows` command.

The worker runs the test-only `test_effect` handler (FK_TEST_HANDLERS=effect; see
tests/testing/effect_handler.h): every native ECS command becomes a workflow that waits 300 ms,
then waits for its approval or 1.5 s, then POSTs its effect, with an idempotency key, to a loopback
recorder started here (effect_recorder.py). A re-run of a step after a crash reuses its key, so
"one effect per workflow" is "one distinct key per workflow", whatever the number of POSTs.

Inputs: native ECS commands in the JSON wrapper form {"ecs_command": {...}} (consumers/normalizer.h)
and, for the dedup-key case, the same command carried by EventBridge events of detail-type
"Fleetkeeper ECS Command" (the envelope of
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html)."""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

sys.path.insert(0, os.path.dirname(__file__))
from harness import TopicSet, WorkerProcess, bootstrap, fleetkeeper_bin  # noqa: E402
from inputs import eventbridge  # noqa: E402

pytestmark = pytest.mark.e2e

ACCOUNTS = ["111122223333", "444455556666", "777788889999"]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]


# --- fixtures -------------------------------------------------------------------------------------

@pytest.fixture
def topics():
    t = TopicSet(inputs=(2, 3), work_partitions=6)
    t.create(AdminClient({"bootstrap.servers": bootstrap()}))
    return t



@pytest.fixture
def results(topics):
    reader = ResultReader(topics).start()
    yield reader
    reader.stop()


def worker_env(recorder, **extra):
    return {
        "FK_TEST_HANDLERS": "effect",
        "FK_TEST_EFFECT_URL": recorder.url,
        # The effect handler calls no AWS API, but a step needs its cell's clients to exist.
        "AWS_ACCESS_KEY_ID": "AKIDEFFECTTEST",
        "AWS_SECRET_ACCESS_KEY": "effect-test-secret",
        "AWS_EC2_METADATA_DISABLED": "true",
        **{k: str(v) for k, v in extra.items()},
    }


def make_worker(topics, recorder, tmp_path, name, **extra_env):
    cfg = topics.config_yaml({"transactional.id": f"{topics.prefix}-{name}"})
    return WorkerProcess(cfg, name, env=worker_env(recorder, **extra_env), workdir=tmp_path)


# --- inputs and outputs ---------------------------------------------------------------------------

def ecs_command(rid, i, cluster=None):
    return json.dumps({"ecs_command": {
        "request_id": rid, "requested_by": "durability-test", "account": ACCOUNTS[i % 3],
        "region": REGIONS[(i // 3) % 3], "action": "restart",
        "cluster": cluster or f"c{i % 40}", "reason": "durability test"}}).encode()


def produce(topic, values, rate=None):
    """Produces the values in order; returns each one's (topic, partition, offset)."""
    p = Producer({"bootstrap.servers": bootstrap(), "enable.idempotence": True, "linger.ms": 5})
    coords = [None] * len(values)
    errors = []

    def done(i):
        def cb(err, msg):
            if err is not None:
                errors.append(str(err))
            else:
                coords[i] = (msg.topic(), msg.partition(), msg.offset())
        return cb

    start = time.time()
    for i, v in enumerate(values):
        p.produce(topic, value=v, key=str(i).encode(), on_delivery=done(i))
        p.poll(0)
        if rate:
            delay = start + (i + 1) / rate - time.time()
            if delay > 0:
                time.sleep(delay)
    p.flush(60)
    assert not errors, errors[:3]
    return coords


class ResultReader:
    """Every result record, read with read_committed from the start, in a background thread."""

    def __init__(self, topics):
        self.topics = topics
        self.lock = threading.Lock()
        self.records = []
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        c = Consumer({"bootstrap.servers": bootstrap(), "group.id": "results-" + uuid.uuid4().hex,
                      "isolation.level": "read_committed", "auto.offset.reset": "earliest",
                      "enable.auto.commit": False})
        c.subscribe([self.topics.results])
        while not self.stopping:
            for m in c.consume(500, 0.2):
                if m.error():
                    continue
                r = json.loads(m.value())
                with self.lock:
                    self.records.append(r)
        c.close()

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=10)

    def all(self):
        with self.lock:
            return list(self.records)

    def finals(self):
        return [r for r in self.all() if r["status"] != "IN_PROGRESS"]

    def finals_by_source(self):
        out = {}
        for r in self.finals():
            s = r.get("source", {})
            out.setdefault((s.get("topic"), int(s.get("partition", 0)), int(s.get("offset", 0))),
                           []).append(r)
        return out

    def wait(self, predicate, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate(self):
                return
            time.sleep(0.3)
        raise AssertionError(f"timed out waiting for {what}")

    def wait_sources(self, coords, timeout=240, settle=5):
        """Waits until every input has a final result, then a little longer for duplicates."""
        wanted = set(coords)
        self.wait(lambda r: wanted <= set(r.finals_by_source()), timeout,
                  f"final results for {len(wanted)} inputs")
        time.sleep(settle)
        return self.finals_by_source()


def assert_one_success_per_input(by_source, coords):
    missing = [c for c in coords if c not in by_source]
    dup = {c: v for c, v in by_source.items() if c in coords and len(v) > 1}
    bad = {c: v[0] for c, v in by_source.items() if c in coords and v[0]["status"] != "SUCCEEDED"}
    assert not missing, f"{len(missing)} inputs without a final result, e.g. {missing[:3]}"
    assert not dup, f"{len(dup)} inputs with several final results, e.g. {list(dup.items())[:2]}"
    assert not bad, f"{len(bad)} inputs did not succeed, e.g. {list(bad.items())[:2]}"


def assert_one_effect_per_workflow(recorder, workflow_ids):
    keys = recorder.keys_by_workflow()
    missing = [w for w in workflow_ids if w not in keys]
    twice = {w: k for w, k in keys.items() if len(k) != 1}
    assert not missing, f"{len(missing)} workflows never applied their effect: {missing[:3]}"
    assert not twice, f"effects applied twice (distinct keys): {list(twice.items())[:3]}"
    # One key per (workflow, step, attempt): no two workflows share a key either.
    all_keys = [k for ks in keys.values() for k in ks]
    assert len(all_keys) == len(set(all_keys))


# --- fleet.state, read like the `workflows` command does ------------------------------------------

def _varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, i


def _fields(buf):
    """Protocol buffers wire format (https://protobuf.dev/programming-guides/encoding/): yields
    (field number, wire type, value) with length-delimited values as bytes."""
    i = 0
    while i < len(buf):
        tag, i = _varint(buf, i)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield field, wire, value


def checkpoint_of(value):
    """(workflow_id, step, attempt, final status or None) of a StateRecord holding a workflow
    (proto/fleetkeeper/v1/workflow.proto field numbers), else None."""
    for f, _, v in _fields(value):
        if f != 1:
            return None
        wf = {"id": None, "step": "", "attempt": 0, "final": None}
        for g, _, w in _fields(v):
            if g == 2:
                wf["id"] = w.decode()
            elif g == 6:
                wf["step"] = w.decode()
            elif g == 7:
                wf["attempt"] = w
            elif g == 17:
                wf["final"] = dict((h, x) for h, _, x in _fields(w)).get(6, 0)
        return wf
    return None


def state_history(topics):
    """workflow id -> its committed checkpoints in log order."""
    c = Consumer({"bootstrap.servers": bootstrap(), "group.id": "state-" + uuid.uuid4().hex,
                  "isolation.level": "read_committed", "enable.auto.commit": False})
    parts = [TopicPartition(topics.state, p, 0) for p in range(topics.work_partitions)]
    ends = {p.partition: c.get_watermark_offsets(p, timeout=10)[1] for p in parts}
    c.assign(parts)
    history = {}
    done = {p for p, end in ends.items() if end == 0}
    deadline = time.time() + 60
    while len(done) < len(parts) and time.time() < deadline:
        for m in c.consume(1000, 0.5):
            if m.error():
                continue
            if m.offset() + 1 >= ends[m.partition()]:
                done.add(m.partition())
            key = (m.key() or b"").decode()
            if key.startswith("wf:") and m.value():
                cp = checkpoint_of(m.value())
                history.setdefault(cp["id"], []).append(cp)
        # Transaction markers end a partition below its high watermark.
        for p in list(ends):
            if p not in done:
                pos = c.position([TopicPartition(topics.state, p)])[0].offset
                if pos >= ends[p]:
                    done.add(p)
    c.close()
    return history


STEP_ORDER = {"arm": 0, "await": 1, "effect": 2}


def assert_histories_move_forward(history, workflow_ids):
    """Every workflow's committed checkpoints go arm → await → effect → final, never back, with
    one final checkpoint, last. A zombie's commit after a takeover would break this."""
    for wf in workflow_ids:
        h = history.get(wf)
        assert h, f"no checkpoint for {wf}"
        finals = [cp for cp in h if cp["final"] is not None]
        assert len(finals) == 1, f"{wf}: {len(finals)} final checkpoints: {h}"
        assert h[-1]["final"] is not None, f"{wf}: a checkpoint after its final one: {h}"
        order = [STEP_ORDER.get(cp["step"], 9) for cp in h if cp["final"] is None]
        assert order == sorted(order), f"{wf}: checkpoints went back: {[cp['step'] for cp in h]}"


def workflow_ids_of(results_reader, coords):
    by_source = results_reader.finals_by_source()
    return [by_source[c][0]["workflow_id"] for c in coords]


def run_cli(topics, tmp_path, *args, timeout=60):
    cfg = tmp_path / "cli.yaml"
    if not cfg.exists():
        cfg.write_text(topics.config_yaml())
    return subprocess.run([fleetkeeper_bin(), *args, "--config", str(cfg)], capture_output=True,
                          text=True, timeout=timeout)


# --- the tests ------------------------------------------------------------------------------------

N = 200


def test_200_workflows_survive_sigkill_at_random_instants_and_after_an_effect(
        topics, recorder, results, tmp_path):
    rng = random.Random(4)
    commands = topics.inputs[1]
    w = make_worker(topics, recorder, tmp_path, "w1")
    # First life: killed by the hook right after its 5th effect POST returned, before the step's
    # checkpoint could commit.
    w.start(extra_env={"FK_TEST_CRASH_AFTER_EFFECT": "5"})
    values = [ecs_command(f"req-{topics.prefix}-{i}", i) for i in range(N)]
    produced = {}
    # Inputs keep arriving for ~25 s, so that every life of the worker has workflows in flight.
    producer = threading.Thread(target=lambda: produced.update(
        coords=produce(commands, values, rate=8)), daemon=True)
    producer.start()
    w.proc.wait(timeout=120)
    assert w.proc.returncode == -signal.SIGKILL, w.tail()
    assert "test hook: SIGKILL after effect POST 5" in w.tail()
    kills = 1
    while kills < 6:
        since = len(w.log.read_text(errors="replace"))
        w.start()
        # A random instant once this life owns partitions (restored them) and runs workflows.
        wait_log(w, "restored", timeout=60, since=since)
        time.sleep(rng.uniform(0.0, 2.5))
        w.kill(signal.SIGKILL)
        kills += 1
    w.start()
    producer.join(timeout=120)
    coords = produced["coords"]
    by_source = results.wait_sources(coords, timeout=300)
    w.stop()
    assert_one_success_per_input(by_source, coords)
    ids = workflow_ids_of(results, coords)
    assert len(set(ids)) == N
    assert_one_effect_per_workflow(recorder, ids)
    # The workflow whose effect preceded the hook's SIGKILL ran that step again: same key, twice.
    posts = {}
    for _, wf, key in recorder.snapshot():
        posts[(wf, key)] = posts.get((wf, key), 0) + 1
    assert any(n > 1 for n in posts.values()), "no effect was re-run after the crash"
    # Every input was admitted exactly once: one "started" progress result per input.
    started = [r for r in results.all() if r["status"] == "IN_PROGRESS"
               and r.get("reason", "").startswith("workflow ")
               and r.get("reason", "").endswith(" started")]
    assert sorted(r["correlation_id"] for r in started) == sorted(
        f"req-{topics.prefix}-{i}" for i in range(N))
    assert_histories_move_forward(state_history(topics), ids)


def wait_log(worker, text, timeout=60, since=0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if worker.log.read_text(errors="replace")[since:].count(text) > 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"{worker.name} never logged {text!r}:\n{worker.tail()}")


def test_second_worker_finishes_the_cells_of_a_killed_one(topics, recorder, results, tmp_path):
    a = make_worker(topics, recorder, tmp_path, "a").start()
    b = make_worker(topics, recorder, tmp_path, "b").start()
    # Both in the group. The cooperative assignor balances partition counts over all topics, so
    # b may own only input partitions: what matters is that a owns work partitions when it dies.
    wait_log(a, "restored")
    wait_log(b, "assigned")
    time.sleep(3)
    values = [ecs_command(f"req-{topics.prefix}-{i}", i) for i in range(90)]
    coords = produce(topics.inputs[1], values)
    wait_log(a, "admitted")
    time.sleep(0.5)
    a.kill(signal.SIGKILL)
    a_log = a.log.read_text(errors="replace")
    by_source = results.wait_sources(coords, timeout=180)
    b.stop()
    assert_one_success_per_input(by_source, coords)
    ids = workflow_ids_of(results, coords)
    assert_one_effect_per_workflow(recorder, ids)
    # Workflows admitted by the killed worker and not finished there were finished by the other.
    admitted_a = {line.split("workflow ")[1].split(" ")[0] for line in a_log.splitlines()
                  if "admitted (" in line}
    finished_a = {line.split("workflow ")[1].split(" ")[0] for line in a_log.splitlines()
                  if " finished: " in line}
    b_log = b.log.read_text(errors="replace")
    orphans = admitted_a - finished_a
    assert orphans, "the kill came too late to leave any workflow behind"
    assert all(f"workflow {wf} finished: SUCCEEDED" in b_log for wf in orphans)
    assert_histories_move_forward(state_history(topics), ids)


def test_stopped_worker_is_fenced_after_takeover(topics, recorder, results, tmp_path):
    a = make_worker(topics, recorder, tmp_path, "a").start()
    b = make_worker(topics, recorder, tmp_path, "b").start()
    # Both in the group. The cooperative assignor balances partition counts over all topics, so
    # b may own only input partitions: what matters is that a owns work partitions when it dies.
    wait_log(a, "restored")
    wait_log(b, "assigned")
    time.sleep(3)
    values = [ecs_command(f"req-{topics.prefix}-{i}", i) for i in range(60)]
    coords = produce(topics.inputs[1], values)
    wait_log(a, "admitted")
    # Stopped while its workflows' timers (300 ms, 1.5 s) are about to fire.
    a.proc.send_signal(signal.SIGSTOP)
    stopped_at = len(b.log.read_text(errors="replace"))
    try:
        # Past session.timeout.ms (6 s): b is given a's partitions and finishes every workflow.
        wait_log(b, "restored", timeout=60, since=stopped_at)
        by_source = results.wait_sources(coords, timeout=180, settle=1)
        assert_one_success_per_input(by_source, coords)
        before = len(a.log.read_text(errors="replace"))
        keys_before = recorder.keys_by_workflow()
    finally:
        a.proc.send_signal(signal.SIGCONT)
    # The zombie learns it lost its partitions, or its transaction fails; nothing it does commits.
    deadline = time.time() + 30
    while time.time() < deadline:
        tail = a.log.read_text(errors="replace")[before:]
        if ("lost" in tail or "aborting the batch" in tail or "ILLEGAL_GENERATION" in tail
                or "UNKNOWN_MEMBER_ID" in tail or not a.alive()):
            break
        time.sleep(0.2)
    tail = a.log.read_text(errors="replace")[before:]
    assert ("lost" in tail or "aborting the batch" in tail or "ILLEGAL_GENERATION" in tail
            or "UNKNOWN_MEMBER_ID" in tail or not a.alive()), tail[-3000:]
    time.sleep(5)
    by_source = results.finals_by_source()
    b.stop()
    a.stop()
    assert_one_success_per_input(by_source, coords)
    ids = workflow_ids_of(results, coords)
    assert_one_effect_per_workflow(recorder, ids)
    assert recorder.keys_by_workflow() == keys_before, "the zombie applied an effect afterwards"
    assert_histories_move_forward(state_history(topics), ids)


def test_redelivered_event_and_shared_dedup_key(topics, recorder, results, tmp_path):
    w = make_worker(topics, recorder, tmp_path, "w").start()
    rid = f"req-{topics.prefix}-again"
    same = ecs_command(rid, 0)
    coords = produce(topics.inputs[1], [same, same, same])
    # The same request carried by two EventBridge events: two event ids, one dedup key.
    twin_rid = f"req-{topics.prefix}-twin"
    detail = json.loads(ecs_command(twin_rid, 4))["ecs_command"]
    envelopes = [json.dumps(eventbridge("Fleetkeeper ECS Command", "fleetkeeper.cli", detail,
                                        detail["region"], detail["account"])).encode()
                 for _ in range(2)]
    twin_coords = produce(topics.inputs[0], envelopes)
    results.wait(lambda r: len([x for x in r.finals() if x.get("dedup_key") == "ecs:" + twin_rid]) == 2
                 and any(x.get("correlation_id") == rid for x in r.finals()), 120, "final results")
    time.sleep(5)
    w.stop()
    finals = results.finals()
    mine = [r for r in finals if r.get("correlation_id") == rid]
    assert len(mine) == 1 and mine[0]["status"] == "SUCCEEDED", mine
    assert sum(1 for r in results.all() if r.get("correlation_id") == rid) == 2  # started + final
    twins = sorted((r for r in finals if r.get("dedup_key") == "ecs:" + twin_rid),
                   key=lambda r: r["status"])
    assert [r["status"] for r in twins] == ["SKIPPED", "SUCCEEDED"], twins
    owner = twins[1]["workflow_id"]
    assert twins[0]["workflow_id"] == owner and owner in twins[0]["reason"]
    assert {(r["source"]["topic"], int(r["source"].get("partition", 0)),
             int(r["source"].get("offset", 0)))
            for r in twins} == set(twin_coords)
    keys = recorder.keys_by_workflow()
    assert set(keys) == {mine[0]["workflow_id"], owner}
    assert all(len(k) == 1 for k in keys.values())
    del coords


def test_approval_and_cancel_by_request_id_find_eventbridge_wrapped_requests(topics, recorder,
                                                                             results, tmp_path):
    # The workflow waits for its approval for a minute: only the approval moves it on in time.
    w = make_worker(topics, recorder, tmp_path, "w", FK_TEST_EFFECT_AWAIT_MS=60000).start()
    approved_rid, cancelled_rid = (f"req-{topics.prefix}-{x}" for x in ("approve", "cancel"))
    details = [json.loads(ecs_command(rid, i))["ecs_command"]
               for i, rid in enumerate([approved_rid, cancelled_rid])]
    produce(topics.inputs[0], [json.dumps(eventbridge(
        "Fleetkeeper ECS Command", "fleetkeeper.cli", d, d["region"], d["account"])).encode()
        for d in details])
    results.wait(lambda r: sum(1 for x in r.all() if x["status"] == "IN_PROGRESS"
                               and x.get("dedup_key", "").startswith(f"ecs:req-{topics.prefix}"))
                 >= 2, 60, "both workflows started")

    def signal(kind, rid, detail, **extra):
        return json.dumps({kind: {"request_id": rid, "account": detail["account"],
                                  "region": detail["region"], **extra}}).encode()

    produce(topics.inputs[1], [
        signal("approval", approved_rid, details[0], approver="carol", approved=True),
        signal("cancel", cancelled_rid, details[1], reason="superseded"),
        signal("approval", f"req-{topics.prefix}-nobody", details[0], approver="carol"),
    ])
    results.wait(lambda r: {x.get("dedup_key") for x in r.finals()} >= {
        "ecs:" + approved_rid, "ecs:" + cancelled_rid}, 40, "both workflows ended")
    time.sleep(2)
    w.stop()
    finals = results.finals()
    by_key = {r.get("dedup_key"): r for r in finals}
    assert by_key["ecs:" + approved_rid]["status"] == "SUCCEEDED", by_key
    assert by_key["ecs:" + cancelled_rid]["status"] == "CANCELLED", by_key
    assert by_key["ecs:" + cancelled_rid]["reason"] == "superseded"
    delivered = sorted(r["reason"].split(" delivered")[0] for r in finals
                       if r["status"] == "SUCCEEDED" and "delivered to workflow" in r["reason"])
    assert delivered == ["approval", "cancel"], finals
    rejected = [r for r in finals if r["status"] == "REJECTED"]
    assert len(rejected) == 1 and f"for request req-{topics.prefix}-nobody" in \
        rejected[0]["reason"], rejected
    # Only the approved workflow applied its effect.
    assert list(recorder.keys_by_workflow()) == [by_key["ecs:" + approved_rid]["workflow_id"]]


def test_freeze_holds_effects_cancel_and_list_then_unfreeze_finishes(topics, recorder, results,
                                                                     tmp_path):
    w = make_worker(topics, recorder, tmp_path, "w").start()
    values = [ecs_command(f"req-{topics.prefix}-{i}", i, cluster=f"f{i}") for i in range(30)]
    coords = produce(topics.inputs[1], values, rate=5)
    deadline = time.time() + 60
    while recorder.count() < 1 and time.time() < deadline:
        time.sleep(0.05)
    out = run_cli(topics, tmp_path, "freeze", "--reason", "durability test freeze")
    assert out.returncode == 0, out.stderr
    wait_log(w, "frozen by")
    frozen_at = time.monotonic()
    time.sleep(6)
    late = [r for r in recorder.snapshot() if r[0] > frozen_at + 0.5]
    assert not late, f"{len(late)} effects started while frozen"
    held = [r for r in results.all() if r.get("reason") == "frozen: mutating step effect held"]
    assert held, "no workflow said it was held by the freeze"

    # The workflows command sees the held workflows in fleet.state.
    listed = run_cli(topics, tmp_path, "workflows", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    live = [r for r in rows if r["status"] == "RUNNING"]
    assert live and all(r["waiting_on"].startswith("frozen") for r in live), live
    victim = live[0]["workflow_id"]
    shown = run_cli(topics, tmp_path, "workflows", "show", victim, "--json")
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert detail["workflow_id"] == victim and detail["step"] == "effect"
    assert detail["cell"] == "/".join(victim.split("/")[:2])
    text = run_cli(topics, tmp_path, "workflows", "list")
    assert victim in text.stdout and "frozen" in text.stdout
    cancelled = run_cli(topics, tmp_path, "workflows", "cancel", victim)
    assert cancelled.returncode == 0, cancelled.stderr
    results.wait(lambda r: any(x.get("workflow_id") == victim and x["status"] == "CANCELLED"
                               for x in r.finals()), 60, "the cancelled workflow's result")
    assert run_cli(topics, tmp_path, "workflows", "show", "111122223333/us-east-1/none-0",
                   ).returncode == 1

    out = run_cli(topics, tmp_path, "unfreeze", "--reason", "done")
    assert out.returncode == 0, out.stderr
    by_source = results.wait_sources(coords, timeout=120)
    w.stop()
    statuses = {}
    for c in coords:
        (r,) = by_source[c]
        statuses[r["workflow_id"]] = r["status"]
    assert statuses.pop(victim) == "CANCELLED"
    assert set(statuses.values()) == {"SUCCEEDED"}
    assert victim not in recorder.keys_by_workflow()
    assert_one_effect_per_workflow(recorder, list(statuses))
    finished = json.loads(run_cli(topics, tmp_path, "workflows", "list", "--json").stdout)
    assert {r["status"] for r in finished} == {"SUCCEEDED", "CANCELLED"}
