"""Inputs for the pipeline's end-to-end tests: EventBridge envelopes, a seeded mix of good and
malformed records (what each should end as), a producer that sends them at a rate, and the reader
that collects one outcome per input (results and dead letters) to check exactly one each."""

import json
import random
import threading
import time
import uuid

from confluent_kafka import Consumer, Producer

from harness import bootstrap


def eventbridge(detail_type, source, detail, region="us-east-1", account="111122223333"):
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": source,
        "account": account, "time": "2026-11-22T03:00:00Z", "region": region, "resources": [],
        "detail": detail,
    }


def good_record(rng, i):
    kind = rng.randrange(4)
    region = rng.choice(["us-east-1", "eu-west-1", "ap-southeast-2"])
    account = rng.choice(["111122223333", "444455556666"])
    if kind == 0:  # alarm with no rule -> SKIPPED by self-healing
        ev = eventbridge("CloudWatch Alarm State Change", "aws.cloudwatch", {
            "alarmName": f"alarm-{i}", "state": {"value": "ALARM", "reason": "r",
                                                  "timestamp": "2026-11-22T03:00:00.000+0000"},
            "previousState": {"value": "OK", "timestamp": "2026-11-22T02:00:00.000+0000"},
            "configuration": {"metrics": [{"id": "m1", "metricStat": {"metric": {
                "namespace": "AWS/EC2", "name": "CPUUtilization",
                "dimensions": {"InstanceId": "i-0123456789abcdef0"}}, "period": 60, "stat": "Average"},
                "returnData": True}]}}, region, account)
        ev["resources"] = [f"arn:aws:cloudwatch:{region}:{account}:alarm:alarm-{i}"]
    elif kind == 1:  # unsupported detail-type -> SKIPPED at ingest
        ev = eventbridge("Object Created", "aws.s3", {"bucket": {"name": "b"}}, region, account)
    elif kind == 2:  # refresh progress with no workflow -> SKIPPED
        ev = eventbridge("EC2 Auto Scaling Instance Refresh Started", "aws.autoscaling", {
            "AutoScalingGroupName": f"asg-{i}", "InstanceRefreshId": str(uuid.uuid4())}, region, account)
    else:  # parameter change
        ev = eventbridge("Parameter Store Change", "aws.ssm", {
            "name": f"/ami/test-{i}", "type": "String", "operation": "Update"}, region, account)
    return json.dumps(ev).encode()


BAD = [
    b"",
    b"\x00\x01\x02garbage\xff\xfe",
    b'{"version":"0","id":"x","detail-type":"Parameter Store Change"',
    b"[1,2,3]",
    b'{"version":"0","id":"x","detail-type":"Parameter Store Change","source":"aws.ssm","account":"1","time":"t","region":"r","resources":[],"detail":{"name":7,"operation":"Update"}}',
    b'{"version":"0","detail-type":"Parameter Store Change","source":"aws.ssm"}',
    b'\xc3\x28{"a":1}',
    b"[" * 100000,
]


def bad_record(rng):
    return rng.choice(BAD)


class InputDriver:
    """Produces N records over the input topics (about bad_ratio unreadable) and remembers the
    coordinates the broker gave each one."""

    def __init__(self, topics, n, bad_ratio=0.1, seed=7, rate=None):
        self.topics = topics
        self.n = n
        self.bad_ratio = bad_ratio
        self.rng = random.Random(seed)
        self.rate = rate
        self.delivered = {}
        self.errors = []
        self.thread = None

    def _on_delivery(self, err, msg):
        if err is not None:
            self.errors.append(str(err))
        else:
            self.delivered[(msg.topic(), msg.partition(), msg.offset())] = msg.value()[:64]

    def run(self):
        p = Producer({"bootstrap.servers": bootstrap(), "enable.idempotence": True,
                      "linger.ms": 5, "message.max.bytes": 8 * 1024 * 1024})
        start = time.time()
        for i in range(self.n):
            topic = self.topics.inputs[i % len(self.topics.inputs)]
            if i == self.n // 2:
                value = json.dumps(eventbridge("Object Created", "aws.s3",
                                               {"pad": "x" * (1200 * 1024)})).encode()
            elif self.rng.random() < self.bad_ratio:
                value = bad_record(self.rng)
            else:
                value = good_record(self.rng, i)
            while True:
                try:
                    p.produce(topic, value=value, key=str(i).encode(), on_delivery=self._on_delivery)
                    break
                except BufferError:
                    p.poll(0.05)
            p.poll(0)
            if self.rate:
                target = start + (i + 1) / self.rate
                delay = target - time.time()
                if delay > 0:
                    time.sleep(delay)
        p.flush(60)

    def start(self):
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def join(self):
        self.thread.join()
        assert not self.errors, f"input produce errors: {self.errors[:3]}"
        assert len(self.delivered) == self.n


def collect_outcomes(topics, expected, timeout=180):
    """Reads fleet.results and fleet.dlq with read_committed until every expected input has an
    outcome (or the timeout), then a little longer to catch duplicates. Returns a dict
    source -> list of outcomes."""
    c = Consumer({"bootstrap.servers": bootstrap(), "group.id": "reader-" + uuid.uuid4().hex,
                  "isolation.level": "read_committed", "auto.offset.reset": "earliest",
                  "enable.auto.commit": False, "fetch.max.bytes": 64 * 1024 * 1024,
                  "max.partition.fetch.bytes": 16 * 1024 * 1024})
    c.subscribe([topics.results, topics.dlq])
    outcomes = {}
    missing = len(expected)  # expected inputs without an outcome yet
    deadline = time.time() + timeout
    settle_until = None
    while time.time() < deadline:
        msgs = c.consume(1000, 0.5)
        for m in msgs:
            if m.error():
                continue
            if m.topic() == topics.dlq:
                h = dict(m.headers() or [])
                src = (h["fk-source-topic"].decode(), int(h["fk-source-partition"]),
                       int(h["fk-source-offset"]))
                outcome = ("DLQ", h.get("fk-error", b"").decode(errors="replace"))
            else:
                r = json.loads(m.value())
                if r["status"] == "IN_PROGRESS":
                    continue
                s = r["source"]
                src = (s["topic"], int(s["partition"]), int(s["offset"]))
                outcome = (r["status"], r["reason"])
            if src not in outcomes and src in expected:
                missing -= 1
            outcomes.setdefault(src, []).append(outcome)
        if settle_until is None and missing == 0:
            settle_until = time.time() + 5
        if settle_until is not None and time.time() > settle_until:
            break
    c.close()
    return outcomes


def assert_exactly_one(outcomes, expected):
    missing = [k for k in expected if k not in outcomes]
    dup = {k: v for k, v in outcomes.items() if len(v) > 1}
    unexpected = [k for k in outcomes if k not in expected]
    assert not missing, f"{len(missing)} inputs without an outcome, e.g. {missing[:5]}"
    assert not dup, f"{len(dup)} inputs with several outcomes, e.g. {list(dup.items())[:3]}"
    assert not unexpected, f"outcomes for unknown inputs: {unexpected[:5]}"
