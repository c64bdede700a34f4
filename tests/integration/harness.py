"""Helpers for the end-to-end tests: a real Kafka broker (scripts/kafka.sh), the fleetkeeper binary
run as a subprocess, moto (scripts/moto_launcher.py), and readers that collect every outcome with
read_committed."""

import base64
import contextlib
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
import urllib.error
import urllib.parse
import urllib.request
import uuid

import boto3
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = pathlib.Path(__file__).resolve().parents[2]

# Test timings from DESIGN.md "Real components in tests".
WORKER_KAFKA = {
    "session.timeout.ms": "6000",
    "heartbeat.interval.ms": "1000",
    "transaction.timeout.ms": "10000",
}


def bootstrap():
    value = os.environ.get("FK_KAFKA_BOOTSTRAP")
    if not value:
        env = ROOT / ".cache" / "kafka.env"
        if env.exists():
            for line in env.read_text().splitlines():
                if line.startswith("FK_KAFKA_BOOTSTRAP="):
                    value = line.split("=", 1)[1].strip()
    if not value:
        raise RuntimeError("no Kafka broker: run scripts/kafka.sh start (or set FK_KAFKA_BOOTSTRAP)")
    return value


def broker_pid():
    """The pid of the broker scripts/kafka.sh runs for bootstrap(), or None when it is elsewhere."""
    port = bootstrap().rsplit(":", 1)[-1]
    pid_file = ROOT / ".cache" / ("kafka.pid" if port == "19092" else f"kafka-{port}.pid")
    return pid_file.read_text().strip() if pid_file.exists() else None


def _stat_cpu(stat_path):
    """(name, user + system CPU seconds) from a /proc stat file; None when it cannot be read."""
    try:
        head, tail = pathlib.Path(stat_path).read_text().rsplit(")", 1)
        fields = tail.split()
        return head.split("(", 1)[1], (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def cpu_seconds(pid):
    """User + system CPU of a process so far (0 when it cannot be read)."""
    read = _stat_cpu(f"/proc/{pid}/stat")
    return read[1] if read else 0.0


def thread_cpu_seconds(pid):
    """{(tid, thread name): user + system CPU so far} for every thread of a process."""
    out = {}
    for task in pathlib.Path(f"/proc/{pid}/task").glob("*"):
        read = _stat_cpu(task / "stat")
        if read:
            out[(int(task.name), read[0])] = read[1]
    return out


def fleetkeeper_bin():
    path = os.environ.get("FK_BIN", str(ROOT / "build" / "app" / "fleetkeeper"))
    if not os.path.exists(path):
        raise RuntimeError(f"fleetkeeper binary not found at {path}: build it first (or set FK_BIN)")
    return path


# The settings only the test executable reads (tests/testing/test_hooks.h, effect_handler.h): the
# production one has no test hooks, so a worker given one of these runs `fleetkeeper-test`.
TEST_HOOKS = frozenset({
    "FK_TEST_CRASH_BEFORE_COMMIT", "FK_TEST_ABORT_BATCH", "FK_TEST_SLOW_COMMIT_BATCH",
    "FK_TEST_HOLD_BEFORE_COMMIT", "FK_TEST_LINGER_AFTER_FENCE_MS", "FK_TEST_HANDLERS",
    "FK_TEST_EFFECT_URL", "FK_TEST_CRASH_AFTER_EFFECT", "FK_TEST_EFFECT_AWAIT_MS"})


def fleetkeeper_test_bin():
    """The test executable of the build FK_BIN comes from (<build>/tests/fleetkeeper-test), or
    FK_TEST_BIN."""
    default = pathlib.Path(fleetkeeper_bin()).resolve().parents[1] / "tests" / "fleetkeeper-test"
    path = os.environ.get("FK_TEST_BIN", str(default))
    if not os.path.exists(path):
        raise RuntimeError(f"fleetkeeper-test not found at {path}: build it first (or set "
                           "FK_TEST_BIN)")
    return path


def worker_bin(env):
    """The executable for a worker run with `env`: the test one when a test hook is set."""
    return fleetkeeper_test_bin() if TEST_HOOKS & set(env) else fleetkeeper_bin()


class TopicSet:
    """A fresh, uniquely named set of fleetkeeper topics, created up front with the partition counts
    a scenario wants, so tests never share state."""

    def __init__(self, inputs=(4, 3), work_partitions=6, max_message_bytes=4 * 1024 * 1024):
        self.prefix = "t" + uuid.uuid4().hex[:10]
        self.inputs = [f"{self.prefix}.events", f"{self.prefix}.commands"][: len(inputs)]
        self.input_partitions = dict(zip(self.inputs, inputs))
        self.work = f"{self.prefix}.work"
        self.results = f"{self.prefix}.results"
        self.dlq = f"{self.prefix}.dlq"
        self.state = f"{self.prefix}.state"
        self.control = f"{self.prefix}.control"
        self.work_partitions = work_partitions
        self.max_message_bytes = max_message_bytes

    def create(self, admin, replicas=None):
        """Creates the topics with one replica each, placed by the broker; or, with `replicas`
        ({topic: {partition: broker id}}), those partitions on those brokers and every other
        partition of every topic on broker 1."""
        big = {"max.message.bytes": str(self.max_message_bytes)}
        compact = {**big, "cleanup.policy": "compact"}
        wanted = [(t, n, big) for t, n in self.input_partitions.items()]
        wanted += [(self.work, self.work_partitions, big), (self.state, self.work_partitions, compact),
                   (self.results, 6, big), (self.dlq, 6, big), (self.control, 1, compact)]
        topics = []
        for name, n, config in wanted:
            if replicas is None:
                topics.append(NewTopic(name, n, 1, config=config))
            else:
                assignment = [[replicas.get(name, {}).get(p, 1)] for p in range(n)]
                topics.append(NewTopic(name, num_partitions=n,  # librdkafka wants the count too
                                        replica_assignment=assignment, config=config))
        for fut in admin.create_topics(topics, operation_timeout=30).values():
            fut.result()

    def config_yaml(self, extra_kafka=None, extra=""):
        kafka = {"bootstrap.servers": bootstrap(), "group.id": f"{self.prefix}-group", **WORKER_KAFKA}
        kafka.update(extra_kafka or {})
        lines = ["kafka:"]
        lines += [f'  "{k}": "{v}"' for k, v in kafka.items()]
        lines += [
            "topics:",
            f"  inputs: [{', '.join(self.inputs)}]",
            f"  work: {self.work}",
            f"  results: {self.results}",
            f"  dlq: {self.dlq}",
            f"  state: {self.state}",
            f"  control: {self.control}",
            f"  partitions: {self.work_partitions}",
            f"  max_message_bytes: {self.max_message_bytes}",
            "aws: {region: us-east-1, default_account: '111122223333'}",
            # Any free port: several workers run at once in some tests.
            "observability: {listen: '127.0.0.1:0'}",
        ]
        return "\n".join(lines) + "\n" + extra


class WorkerProcess:
    """`fleetkeeper run` as a child process with its log in a file."""

    def __init__(self, config_text, name, env=None, workdir=None):
        self.dir = pathlib.Path(workdir or tempfile.mkdtemp(prefix="fk-worker-"))
        self.config = self.dir / f"{name}.yaml"
        self.config.write_text(config_text)
        self.log = self.dir / f"{name}.log"
        self.name = name
        self.env = {**os.environ, **(env or {})}
        self.proc = None
        self.starts = 0

    def start(self, extra_env=None, wait=True):
        self.starts += 1
        env = {**self.env, **(extra_env or {})}
        self.logfh = open(self.log, "a")
        self.logfh.write(f"--- start {self.starts}\n")
        self.logfh.flush()
        self.proc = subprocess.Popen([worker_bin(env), "run", "--config", str(self.config)],
                                     stdout=self.logfh, stderr=subprocess.STDOUT, env=env)
        if wait:
            self.wait_started()
        return self

    def wait_started(self, timeout=60):
        deadline = time.time() + timeout
        marker = f"--- start {self.starts}\n"
        while time.time() < deadline:
            text = self.log.read_text(errors="replace")
            current = text[text.rfind(marker):]
            if "worker started" in current:
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"worker {self.name} exited with {self.proc.returncode}:\n{current[-3000:]}")
            time.sleep(0.1)
        raise AssertionError(f"worker {self.name} did not start in {timeout}s:\n{self.tail()}")

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=60)
        return self.proc.returncode

    def stop(self, timeout=60):
        return self.kill(signal.SIGTERM)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def tail(self, n=4000):
        return self.log.read_text(errors="replace")[-n:]


# --- the operator listener (docs/operations.md) ---------------------------------------------------

def http_get(port, path, host="127.0.0.1", timeout=5):
    """(status, body) of a GET on the worker's operator listener."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def listener_port(worker, timeout=30):
    """The port the worker says its operator listener took."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = re.search(r"observability: /metrics, /healthz and /readyz on \S+:(\d+)",
                      worker.tail(20000))
        if m:
            return int(m.group(1))
        time.sleep(0.1)
    raise AssertionError("the worker did not say where it listens:\n" + worker.tail())


def metric(text, name, **labels):
    """The sum of the samples of `name` in Prometheus text whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def series(text, name):
    """The label sets of `name`'s samples, each a dict."""
    out = []
    for line in text.splitlines():
        if line.startswith(name + "{"):
            out.append(dict(re.findall(r'(\w+)="([^"]*)"', line[len(name):line.index("}") + 1])))
    return out


# --- moto and results -----------------------------------------------------------------------------

class Moto:
    """scripts/moto_launcher.py on a free port with moto's recorder on. `env` adds variables for the
    launcher; `start_recording` starts the recorder once the server is up."""

    def __init__(self, tmp, env=None, start_recording=False):
        port_file = tmp / "moto.port"
        self.recording = tmp / "recording.jsonl"
        # The worker's AWS actions of recordings that record_from_here has dropped since.
        self.sent_before = set()
        env = dict(os.environ, MOTO_ENABLE_RECORDING="True",
                   MOTO_RECORDER_FILEPATH=str(self.recording), **(env or {}))
        self.log = open(tmp / "moto.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "moto_launcher.py"), "--port", "0",
             "--port-file", str(port_file)], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while not port_file.exists():
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError(f"moto launcher did not start; see {self.log.name}")
            time.sleep(0.1)
        self.endpoint = f"http://127.0.0.1:{port_file.read_text().strip()}"
        if start_recording:
            self.post("/moto-api/recorder/start-recording")

    def worker_env(self, tmp, region="us-east-1", **extra):
        """The AWS environment of a worker that talks to this moto only: its endpoint, test keys,
        and no shared config or credentials file of the machine's (`tmp`/none does not exist)."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": region,
                "AWS_CONFIG_FILE": str(tmp / "none"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none"), **extra}

    def post(self, path):
        req = urllib.request.Request(self.endpoint + path, data=b"", method="POST")
        return urllib.request.urlopen(req, timeout=10).read()

    def set_faults(self, **config):
        """Replaces the launcher's faults for the worker's requests (scripts/motofill/faults.py;
        none given: no faults)."""
        req = urllib.request.Request(self.endpoint + "/fleetkeeper-faults",
                                     data=json.dumps(config).encode(), method="POST")
        return json.loads(urllib.request.urlopen(req, timeout=10).read())

    def fault_counts(self):
        """What the launcher did to the worker's requests so far, by action: {action: {what: n}}."""
        raw = urllib.request.urlopen(self.endpoint + "/fleetkeeper-faults", timeout=10).read()
        return json.loads(raw)["counts"]

    def record_from_here(self):
        """Forgets the calls recorded so far and records from now on (worker_actions_sent keeps
        the worker's actions among them)."""
        self.sent_before |= worker_actions(self.recorded())
        self.post("/moto-api/recorder/reset-recording")
        self.post("/moto-api/recorder/start-recording")

    def recorded(self):
        """Every request recorded since the last reset, as moto's recorder wrote it."""
        raw = urllib.request.urlopen(self.endpoint + "/moto-api/recorder/download-recording",
                                     timeout=30).read().decode()
        return [json.loads(line) for line in raw.splitlines() if line.strip()]

    def worker_actions_sent(self):
        """Every AWS action ("ec2:RunInstances") the worker sent while moto recorded."""
        return self.sent_before | worker_actions(self.recorded())

    def calls(self, action):
        """Bodies of every recorded call of `action` (query protocol or JSON target)."""
        out = []
        for e in self.recorded():
            body = e.get("body") or ""
            if e.get("body_encoded"):
                body = base64.b64decode(body).decode(errors="replace")
            target = (e.get("headers") or {}).get("X-Amz-Target", "")
            if f"Action={action}&" in body + "&" or target.endswith("." + action):
                out.append(body)
        return out

    def client(self, service):
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# --- what the worker may call, and what it called -------------------------------------------------

# SigV4 signing names whose IAM action prefix differs.
_IAM_PREFIX = {"monitoring": "cloudwatch"}


def _header(entry, name):
    for k, v in (entry.get("headers") or {}).items():
        if k.lower() == name.lower():
            return v
    return ""


def aws_action(entry):
    """The IAM action name ("ec2:RunInstances") of one recorded request: the service from the
    SigV4 credential scope, the operation from the query protocol's Action (body or URL) or the
    JSON protocol's X-Amz-Target. None for a request that names no operation."""
    scope = _header(entry, "Authorization").split("Credential=", 1)[-1].split(",", 1)[0].split("/")
    service = scope[3] if len(scope) >= 5 else ""
    target = _header(entry, "X-Amz-Target")
    operation = target.rsplit(".", 1)[-1] if target else ""
    if not operation:
        body = entry.get("body") or ""
        if entry.get("body_encoded"):
            body = base64.b64decode(body).decode(errors="replace")
        query = urllib.parse.urlsplit(entry.get("url") or "").query
        for form in (body, query):
            found = urllib.parse.parse_qs(form).get("Action")
            if found:
                operation = found[0]
                break
    if not operation:
        return None
    return f"{_IAM_PREFIX.get(service, service or '?')}:{operation}"


def worker_actions(entries):
    """The IAM actions of the recorded requests the worker made: its requests name fleetkeeper as
    their User-Agent (awsclient/http.cc); the tests' own boto3 calls name boto3."""
    out = set()
    for e in entries:
        if _header(e, "User-Agent").startswith("fleetkeeper"):
            action = aws_action(e)
            if action:
                out.add(action)
    return out


def worker_mutating_calls(moto):
    """The worker's recorded calls that change something, in order: (IAM action, the request's
    body and URL, where its parameters are)."""
    out = []
    for e in moto.recorded():
        action = aws_action(e) if _header(e, "User-Agent").startswith("fleetkeeper") else None
        if action is None:
            continue
        op = action.split(":", 1)[1]
        if op.startswith(("Describe", "Get", "List")) or op == "PutMetricData":
            continue
        body = e.get("body") or ""
        if e.get("body_encoded"):
            body = base64.b64decode(body).decode(errors="replace")
        out.append((action, body + " " + (e.get("url") or "")))
    return out


# --- a module's world: moto, and the workers and readers it stops ---------------------------------

@contextlib.contextmanager
def moto_world(tmp, region="us-east-1", moto_env=None, start_recording=False):
    """The world of a module fixture: moto (`moto_env` adds launcher variables; `start_recording`
    records from the start), "tmp", "env" (a worker's environment that talks to this moto only)
    and the lists "workers" and "readers". When the block ends, stop_world stops them all."""
    moto = Moto(tmp, env=moto_env, start_recording=start_recording)
    world = {"moto": moto, "tmp": tmp, "env": moto.worker_env(tmp, region), "workers": [],
             "readers": []}
    try:
        yield world
    finally:
        stop_world(world)


class Lane:
    """Topics of their own for one worker called `name` (one input topic of 3 partitions), a reader
    of their results (consumer group "`name`-reader-...", checked every `poll` seconds) and a
    sender to the input topic, in the world of `moto_world`, which closes the reader."""

    def __init__(self, world, name, poll=0.2):
        self.world, self.name = world, name
        self.topics = TopicSet(inputs=(3,), work_partitions=3)
        self.topics.create(AdminClient({"bootstrap.servers": bootstrap()}))
        self.results = Results(self.topics.results, group_prefix=f"{name}-reader-", poll=poll)
        world["readers"].append(self.results)
        self.producer = Producer({"bootstrap.servers": bootstrap(), "linger.ms": 2})

    def send(self, *messages):
        """Each message, as JSON, to the input topic; flushed."""
        for m in messages:
            self.producer.produce(self.topics.inputs[0], value=json.dumps(m).encode())
        self.producer.flush(30)

    def start_worker(self, extra, env=None):
        """A worker on these topics with `extra` appended to its config and `env` (the world's
        when None), started; the world stops it."""
        config = self.topics.config_yaml(
            {"transactional.id": self.topics.prefix + "-" + self.name}, extra=extra)
        worker = WorkerProcess(config, self.name, env=self.world["env"] if env is None else env,
                               workdir=self.world["tmp"]).start()
        self.world["workers"].append(worker)
        return worker


def start_worker(world, name, extra, poll=0.2):
    """A worker with `extra` appended to its config, on a Lane of its own, for the suites whose
    module fixture `world` holds its environment ("env", "tmp") and collects what to stop
    ("workers", "readers"), as moto_world does: (worker, results, send(*messages))."""
    lane = Lane(world, name, poll=poll)
    return lane.start_worker(extra), lane.results, lane.send


def stop_world(world):
    """The end of a `world` fixture of start_worker's suites: its readers closed, its workers
    stopped, its moto stopped."""
    for r in world["readers"]:
        r.close()
    for w in world["workers"]:
        w.stop()
    world["moto"].stop()


def wait_for(what, predicate, timeout, worker):
    """predicate()'s first truthy value within `timeout` seconds, else a failure with the worker's
    log."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{worker.tail()}")


# --- a fleet of standalone instances on moto, for AMI rollouts ------------------------------------

def rollout_images_and_subnet(ec2, region="us-east-1"):
    """Two available images of moto's catalogue (old, new) and a subnet in the region's first
    zone."""
    images = [i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"]
              if i.get("State", "available") == "available"]
    subnet = ec2.describe_subnets(Filters=[{"Name": "availability-zone",
                                            "Values": [f"{region}a"]}])["Subnets"][0]
    return images[0], images[1], subnet


def launch_running(ec2, image, subnet, n, tags):
    """`n` t3.micro instances of `image` in `subnet` with `tags`, once running: their ids."""
    ids = [i["InstanceId"] for i in ec2.run_instances(
        ImageId=image, MinCount=n, MaxCount=n, InstanceType="t3.micro",
        SubnetId=subnet["SubnetId"],
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])["Instances"]]
    ec2.get_waiter("instance_running").wait(InstanceIds=ids,
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return ids


def declared_actions(config_path, env=None):
    """`fleetkeeper permissions --json` for a config: {owner: [actions]}."""
    r = subprocess.run([fleetkeeper_bin(), "permissions", "--config", str(config_path), "--json"],
                       capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})
    assert r.returncode == 0, f"fleetkeeper permissions: {r.returncode}\n{r.stdout}{r.stderr}"
    return json.loads(r.stdout)


def assert_worker_actions_declared(moto, worker):
    """Every AWS action `worker` sent while `moto` recorded is declared by the worker or one of the
    handlers its config enables (what doctor checks and IAM policies are made from)."""
    sent = moto.worker_actions_sent()
    assert sent, "moto recorded no request of the worker: nothing to compare"
    declared = declared_actions(worker.config, worker.env)
    allowed = set().union(*map(set, declared.values()))
    missing = sorted(sent - allowed)
    assert not missing, (f"the worker called AWS actions that nothing declares: {missing}; "
                         f"declared: {json.dumps(declared)}")
    return sent


class Results:
    """Every result on the results topic, read with read_committed in the background. The consumer
    group is `group_prefix` + a random suffix; wait_final checks every `poll` seconds."""

    def __init__(self, topic, group_prefix="reader-", poll=0.1):
        self.by_event = {}
        self.lock = threading.Lock()
        self.stopped = False
        self.poll = poll
        self.consumer = Consumer({"bootstrap.servers": bootstrap(),
                                  "group.id": group_prefix + uuid.uuid4().hex,
                                  "isolation.level": "read_committed",
                                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
        self.consumer.subscribe([topic])
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped:
            for m in self.consumer.consume(500, 0.2):
                if m.error():
                    continue
                r = json.loads(m.value())
                with self.lock:
                    self.by_event.setdefault(r["correlation_id"], []).append(r)

    def finals(self, event_id):
        with self.lock:
            return [r for r in self.by_event.get(event_id, []) if r["status"] != "IN_PROGRESS"]

    def wait_final(self, event_id, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            f = self.finals(event_id)
            if f:
                return f[0]
            time.sleep(self.poll)
        raise AssertionError(f"no final result for {event_id} within {timeout}s; "
                             f"seen: {self.by_event.get(event_id)}")

    def close(self):
        self.stopped = True
        self.thread.join(5)
        self.consumer.close()
