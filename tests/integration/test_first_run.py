"""The README's walkthrough as a new user runs it: `fleetkeeper run` with no config (the embedded
broker, at-least-once), moto through the launcher, and `fleetkeeper replay` of
../shared/testdata/events/. Every input gets exactly one final outcome within 60 s, the Parameter
Store event's AMI rollout runs every step to its end, and the log never says a commit failed.

The testdata's Parameter Store event names the parameter `foo` in account 123456789012 (moto's own
account), so moto is seeded with `foo` holding an available AMI and one standalone instance bound to
it by the `fleetkeeper:ami-parameter` tag (DESIGN.md, "Parameter change -> AMI rollout"). The
repeated-delivery test's event follows the "Parameter Store Change" example of
https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-systems-manager-event-examples.html
"""

import http.server
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

sys.path.insert(0, os.path.dirname(__file__))
from harness import ROOT, Moto, fleetkeeper_bin  # noqa: E402
from aws_events import parameter_store_change  # noqa: E402

sys.path.insert(0, str(ROOT / "docker"))
import seed_demo  # noqa: E402

pytestmark = pytest.mark.e2e

TESTDATA_EVENTS = ROOT.parent / "shared" / "testdata" / "events"
ACCOUNT = "123456789012"
REGION = "us-east-1"
INPUTS = ("fleet.events", "fleet.commands")
FINAL_WITHIN_S = 60


class EmbeddedWorker:
    """`fleetkeeper run` with no --config, as the README's first command starts it; `config`, when
    given, is the text of a config file for the things a second worker on the host must differ in."""

    def __init__(self, tmp, env, config=None):
        self.log_path = tmp / "run.log"
        self.log = open(self.log_path, "w")
        args = [fleetkeeper_bin(), "run"]
        if config is not None:
            (tmp / "fleetkeeper.yaml").write_text(config)
            args += ["--config", str(tmp / "fleetkeeper.yaml")]
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     cwd=tmp)
        deadline = time.time() + 60
        self.bootstrap = None
        while time.time() < deadline and self.proc.poll() is None:
            found = re.search(r"embedded broker: (127\.0\.0\.1:\d+) \(in memory\)", self.text())
            if found and "worker started" in self.text():
                self.bootstrap = found.group(1)
                return
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"the worker did not start:\n{self.text()[-3000:]}")

    def text(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def read_all(bootstrap, topics, idle_s=1.0, timeout_s=30):
    """Every record of `topics` from the beginning, until nothing new came for idle_s. Partitions
    are assigned, not subscribed: the embedded broker delays a group's first join by 3 s."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "first-run-" + uuid.uuid4().hex,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    meta = c.list_topics(timeout=10).topics
    c.assign([TopicPartition(t, p, OFFSET_BEGINNING)
              for t in topics if t in meta for p in meta[t].partitions])
    out = []
    last_new = time.time()
    deadline = time.time() + timeout_s
    while time.time() < deadline and time.time() - last_new < idle_s:
        for m in c.consume(500, 0.2):
            if m.error():
                continue
            out.append(m)
            last_new = time.time()
    c.close()
    return out


def outcomes_by_input(bootstrap):
    """source (topic, partition, offset) -> final outcomes, from fleet.results and fleet.dlq."""
    out = {}
    for m in read_all(bootstrap, ("fleet.results", "fleet.dlq")):
        if m.topic() == "fleet.dlq":
            h = {k: v.decode(errors="replace") for k, v in (m.headers() or [])}
            src = (h["fk-source-topic"], int(h["fk-source-partition"]), int(h["fk-source-offset"]))
            out.setdefault(src, []).append({"status": "DLQ", "reason": h.get("fk-error", "")})
            continue
        r = json.loads(m.value())
        if r["status"] == "IN_PROGRESS":
            continue
        s = r["source"]
        out.setdefault((s["topic"], int(s["partition"]), int(s["offset"])), []).append(r)
    return out


def worker_env(moto):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FLEETKEEPER_"))}
    env.update({"AWS_ENDPOINT_URL": moto.endpoint, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION,
                "AWS_EC2_METADATA_DISABLED": "true"})
    return env


def seed_rollout(moto, parameter):
    """The compose demo's seed (docker/seed_demo.py) on this moto: `parameter` holds an available
    AMI; one standalone instance runs an older one. Returns (instance id, new image id)."""
    instance, _, new = seed_demo.seed_rollout(moto.client("ec2"), moto.client("ssm"), parameter,
                                              f"first-run-{parameter}")
    return instance, new


def running_with_image(moto, parameter, image):
    ec2 = moto.client("ec2")
    found = []
    for r in ec2.describe_instances(Filters=[
            {"Name": "tag:fleetkeeper:ami-parameter", "Values": [parameter]},
            {"Name": "instance-state-name", "Values": ["running"]}])["Reservations"]:
        found += [i["InstanceId"] for i in r["Instances"] if i["ImageId"] == image]
    return found


@pytest.fixture(scope="module")
def first_run():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="fk-first-run-"))
    moto = Moto(tmp, env={"FK_MOTO_STATE_DELAY": "0.2", "FK_MOTO_TIME_SCALE": "0.05"})
    worker = None
    try:
        worker = EmbeddedWorker(tmp, worker_env(moto))
        yield {"moto": moto, "worker": worker, "tmp": tmp}
    finally:
        if worker:
            worker.stop()
        moto.stop()


def replay_testdata(worker, env, within_s):
    """The README's `replay` of the testdata, then every input's final outcomes once each has one
    (a few seconds more for a second). Returns (inputs by source, outcomes by source)."""
    assert TESTDATA_EVENTS.is_dir(), f"{TESTDATA_EVENTS} is missing"
    replay = subprocess.run([fleetkeeper_bin(), "replay", "--bootstrap", worker.bootstrap,
                             str(TESTDATA_EVENTS) + "/"],
                            capture_output=True, text=True, timeout=60, env=env)
    assert replay.returncode == 0, replay.stderr
    inputs = {(m.topic(), m.partition(), m.offset()): m.value()
              for m in read_all(worker.bootstrap, INPUTS)}
    json_files = [p for p in TESTDATA_EVENTS.rglob("*") if p.is_file() and p.suffix == ".json"]
    assert len(inputs) == len(json_files), (replay.stdout, replay.stderr)

    deadline = time.time() + within_s
    outcomes = {}
    while time.time() < deadline:
        outcomes = outcomes_by_input(worker.bootstrap)
        if all(k in outcomes for k in inputs):
            break
        time.sleep(1)
    missing = [json.loads(inputs[k]).get("detail-type", k) for k in inputs if k not in outcomes]
    assert not missing, f"no final outcome within {within_s}s for {missing}:\n" + \
        worker.text()[-4000:]
    time.sleep(3)  # a second outcome would come soon after the first
    outcomes = outcomes_by_input(worker.bootstrap)
    several = {k: [o["status"] for o in v] for k, v in outcomes.items() if len(v) > 1}
    assert not several, f"inputs with several outcomes: {several}"
    assert set(outcomes) <= set(inputs), set(outcomes) - set(inputs)
    log = worker.text()
    assert "offset commit failed" not in log, log[-4000:]
    assert "batch not fully acknowledged" not in log, log[-4000:]
    return inputs, outcomes


def parameter_store_result(inputs, outcomes):
    event = next(k for k, v in inputs.items()
                 if json.loads(v).get("detail-type") == "Parameter Store Change")
    return outcomes[event][0]


def test_readme_walkthrough_gives_every_input_one_final_outcome(first_run):
    moto, worker = first_run["moto"], first_run["worker"]
    instance, new_image = seed_rollout(moto, "foo")
    inputs, outcomes = replay_testdata(worker, worker_env(moto), FINAL_WITHIN_S)
    # The Parameter Store event's rollout ran to its end: the bound instance was replaced.
    result = parameter_store_result(inputs, outcomes)
    assert result["status"] == "SUCCEEDED", result
    assert result["workflow_id"], result
    assert running_with_image(moto, "foo", new_image), \
        f"no instance bound to foo runs {new_image}; old one was {instance}"


class RefusingMetadataService:
    """A loopback stand-in for 169.254.169.254 that refuses the IMDSv2 token request with 403, as
    an instance whose metadata service is turned off does (EC2 User Guide, "Turn off access to
    instance metadata") and as some networks answer for that address off EC2."""

    def __init__(self):
        class Refuse(http.server.BaseHTTPRequestHandler):
            def do_PUT(self):
                self.send_response(403)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_PUT

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


def test_readme_walkthrough_without_aws_credentials_fails_the_rollout_at_once():
    # A new user with no AWS credentials at all: the rollout ends FAILED naming the missing
    # credentials, as quickly as everything else, not after retrying every AWS call.
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="fk-first-run-nocreds-"))
    imds = RefusingMetadataService()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FLEETKEEPER_"))}
    env.update({"AWS_REGION": REGION, "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url,
                "AWS_CONFIG_FILE": str(tmp / "none"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none")})
    # The module's walkthrough worker holds the default operator port (9464): this second worker
    # on the host takes any free one, as docs/configuration.md says two workers on a host must.
    worker = EmbeddedWorker(tmp, env, config="observability: {listen: '127.0.0.1:0'}\n")
    try:
        inputs, outcomes = replay_testdata(worker, env, 20)
        result = parameter_store_result(inputs, outcomes)
        assert result["status"] == "FAILED", result
        assert "ssm GetParameter" in result["reason"] and "no AWS credentials" in result["reason"], \
            result["reason"]
    finally:
        worker.stop()
        imds.stop()


def test_the_walkthrough_worker_serves_its_probes_and_metrics_on_the_default_port(first_run):
    # docs/operations.md: `fleetkeeper run` with no config listens on [::]:9464, IPv4 and IPv6.
    with urllib.request.urlopen("http://127.0.0.1:9464/readyz", timeout=5) as r:
        assert r.status == 200
    with urllib.request.urlopen("http://[::1]:9464/metrics", timeout=5) as r:
        text = r.read().decode()
    assert "fleetkeeper_records_total{" in text, text[:2000]
    assert "fleetkeeper_commit_duration_seconds_count" in text


def test_one_event_delivered_three_times_gets_one_final_result(first_run):
    moto, worker = first_run["moto"], first_run["worker"]
    parameter = "/first-run/redelivered"
    _, new_image = seed_rollout(moto, parameter)
    event = parameter_store_change(parameter, ACCOUNT, REGION)
    producer = Producer({"bootstrap.servers": worker.bootstrap})
    for _ in range(3):
        producer.produce("fleet.events", value=json.dumps(event).encode())
        producer.flush(10)
        time.sleep(0.5)  # in separate batches, not only in one

    def finals():
        out = []
        for m in read_all(worker.bootstrap, ("fleet.results",), idle_s=0.5):
            r = json.loads(m.value())
            if r["correlation_id"] == event["id"] and r["status"] != "IN_PROGRESS":
                out.append(r)
        return out

    deadline = time.time() + FINAL_WITHIN_S
    found = []
    while time.time() < deadline and not found:
        found = finals()
        time.sleep(0.5)
    assert found, "no final result:\n" + worker.text()[-4000:]
    time.sleep(5)
    found = finals()
    assert [r["status"] for r in found] == ["SUCCEEDED"], found
    assert running_with_image(moto, parameter, new_image)
    assert "offset commit failed" not in worker.text()
