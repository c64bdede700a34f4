"""Durable workflows on the real broker (scripts/kafka.sh start): a `fleetkeeper run` process with the
test-only effect handler (tests/testing/effect_handler.h) and a loopback effect recorder.

  idle     N workflows (default 10,000) admitted, each then waiting on a one-hour timer: the
           worker's RSS and its CPU use over 30 s of idling.
  commits  M workflows (default 2,000) run to the end as fast as the timers allow (300 ms + 1 ms):
           committed checkpoint records per second over the run.
  restore  a state partition holding R checkpoint records (default 100,000), written here: the time
           from the worker's start to the partition restored, and the worker's own read time.

Usage: .venv/bin/python bench/workflows/workflows_bench.py [idle|commits|restore ...]
Environment: FK_BIN (default build/app/fleetkeeper), FK_KAFKA_BOOTSTRAP or .cache/kafka.env."""

import json
import pathlib
import re
import sys
import tempfile
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient  # noqa: E402

from effect_recorder import EffectRecorder  # noqa: E402
from harness import TopicSet, WorkerProcess, bootstrap, cpu_seconds  # noqa: E402



def worker(topics, recorder, name, **env):
    cfg = topics.config_yaml({"transactional.id": f"{topics.prefix}-{name}"})
    return WorkerProcess(cfg, name, workdir=tempfile.mkdtemp(prefix="fk-bench-"), env={
        "FK_TEST_HANDLERS": "effect", "FK_TEST_EFFECT_URL": recorder.url,
        "AWS_ACCESS_KEY_ID": "AKIDBENCH", "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_EC2_METADATA_DISABLED": "true",
        **{k: str(v) for k, v in env.items()}})


def commands(topics, n):
    p = Producer({"bootstrap.servers": bootstrap(), "linger.ms": 20})
    for i in range(n):
        v = {"ecs_command": {"request_id": f"b-{topics.prefix}-{i}", "action": "restart",
                             "account": ["111122223333", "444455556666"][i % 2],
                             "region": ["us-east-1", "eu-west-1", "ap-southeast-2"][i % 3],
                             "cluster": f"c{i}"}}
        while True:
            try:
                p.produce(topics.inputs[-1], json.dumps(v).encode())
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    p.flush(60)


def count_results(topics, want, status_pred, timeout):
    c = Consumer({"bootstrap.servers": bootstrap(), "group.id": "b-" + uuid.uuid4().hex,
                  "isolation.level": "read_committed", "auto.offset.reset": "earliest"})
    c.subscribe([topics.results])
    n = 0
    deadline = time.time() + timeout
    last = None
    while n < want and time.time() < deadline:
        for m in c.consume(1000, 0.5):
            if not m.error() and status_pred(json.loads(m.value())):
                n += 1
                last = time.time()
    c.close()
    return n, last


def proc_sample(pid):
    rss = 0
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    return rss, cpu_seconds(pid)


def new_topics(work_partitions=6):
    t = TopicSet(inputs=(1, 3), work_partitions=work_partitions)
    t.create(AdminClient({"bootstrap.servers": bootstrap()}))
    return t


def bench_idle(n=10000):
    topics, rec = new_topics(), EffectRecorder().start()
    w = worker(topics, rec, "idle", FK_TEST_EFFECT_AWAIT_MS=3600 * 1000).start()
    rss0, _ = proc_sample(w.proc.pid)
    commands(topics, n)
    got, _ = count_results(topics, n, lambda r: r["status"] == "IN_PROGRESS", 600)
    time.sleep(10)  # every workflow past "arm", now waiting an hour in "await"
    rss1, cpu1 = proc_sample(w.proc.pid)
    time.sleep(30)
    rss2, cpu2 = proc_sample(w.proc.pid)
    w.stop()
    rec.stop()
    print(f"idle: {got} workflows waiting; RSS {rss0 / 1024:.1f} MB at start, "
          f"{rss2 / 1024:.1f} MB with them; idle CPU {100 * (cpu2 - cpu1) / 30:.2f}% of a core")


def bench_commits(n=2000):
    topics, rec = new_topics(), EffectRecorder().start()
    w = worker(topics, rec, "commits", FK_TEST_EFFECT_AWAIT_MS=1).start()
    start = time.time()
    commands(topics, n)
    got, last = count_results(topics, n, lambda r: r["status"] == "SUCCEEDED", 600)
    w.stop()
    rec.stop()
    c = Consumer({"bootstrap.servers": bootstrap(), "group.id": "b-" + uuid.uuid4().hex,
                  "isolation.level": "read_committed"})
    records = 0
    for p in range(topics.work_partitions):
        lo, hi = c.get_watermark_offsets(TopicPartition(topics.state, p), timeout=10)
        records += hi - lo
    c.close()
    elapsed = (last or time.time()) - start
    print(f"commits: {got}/{n} workflows in {elapsed:.1f} s = {got / elapsed:.0f} workflows/s; "
          f"{records} state records (checkpoints, dedup records, markers) = "
          f"{records / elapsed:.0f} records/s")


def _varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def _field(num, value):
    """Protocol buffers wire format (https://protobuf.dev/programming-guides/encoding/)."""
    if isinstance(value, int):
        return _varint(num << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(num << 3 | 2) + _varint(len(data)) + data


def checkpoint(i, version, now_ms):
    # proto/fleetkeeper/v1/workflow.proto: StateRecord.workflow (1) = WorkflowCheckpoint.
    wf_id = f"111122223333/us-east-1/test-effect-{i:016x}"
    cp = (_field(1, 1) + _field(2, wf_id) + _field(3, "test-effect") + _field(4, "test_effect")
          + _field(5, "111122223333/us-east-1") + _field(6, ["arm", "await", "await", "await"][version])
          + _field(10, now_ms + 3600 * 1000) + _field(11, "timer (3600000 ms)")
          + _field(13, now_ms) + _field(14, now_ms) + _field(15, now_ms + 86400 * 1000))
    return "wf:" + wf_id, _field(1, cp)


def write_checkpoints(topic, records):
    """`records` checkpoint records (records / 4 workflows, 4 versions each) to partition 0."""
    p = Producer({"bootstrap.servers": bootstrap(), "linger.ms": 50, "batch.size": 1000000})
    now = int(time.time() * 1000)
    for i in range(records // 4):
        for v in range(4):
            key, value = checkpoint(i, v, now)
            while True:
                try:
                    p.produce(topic, value=value, key=key, partition=0)
                    break
                except BufferError:
                    p.poll(0.05)
    if p.flush(120) != 0:
        raise RuntimeError("checkpoint records not all sent")


def bench_restore(records=100000):
    topics, rec = new_topics(work_partitions=1), EffectRecorder().start()
    write_checkpoints(topics.state, records)
    w = worker(topics, rec, "restore")
    start = time.time()
    w.start(wait=False)
    read_ms = None
    while time.time() - start < 120:
        text = w.log.read_text(errors="replace")
        if "partition 0 restored" in text:
            break
        time.sleep(0.05)
    total = time.time() - start
    m = re.search(r"restore of \S+/0: (\d+) records in (\d+) ms", w.log.read_text())
    if m:
        read_ms = int(m.group(2))
    w.stop()
    rec.stop()
    print(f"restore: {records} records; worker start to partition restored {total:.2f} s "
          f"(process start, init_transactions and group join included); reading them "
          f"{read_ms} ms")


if __name__ == "__main__":
    which = sys.argv[1:] or ["idle", "commits", "restore"]
    for name in which:
        {"idle": bench_idle, "commits": bench_commits, "restore": bench_restore}[name]()
