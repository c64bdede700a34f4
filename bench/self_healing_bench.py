#!/usr/bin/env python3
"""Alarm -> scale-out: fleetkeeper against the recovery Lambda it replaces, in one run.

Both are fed the same CloudWatch alarm notifications in the SNS Lambda-event form
(https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html, Message as in
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html) and
talk to the same loopback endpoint, which answers the Auto Scaling and CloudWatch calls at once
(responses shaped as the Auto Scaling API reference shows them,
https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeAutoScalingGroups.html and
API_SetDesiredCapacity.html; PutMetricData in the protocol the client speaks). So the numbers
are the cost of each design, not of AWS.

- fleetkeeper: `fleetkeeper run` on the real Kafka broker (scripts/kafka.sh), rule
  `scale_out by 1` with verification, no cooldown, a breaker too large to trip; the events are
  produced at once and each one's latency runs from its produce call to its final result on the
  results topic (read_committed).
- baseline: the recovery Lambda of the fault-injection runbook re-expressed with boto3, the same
  calls in the same order: per invocation it makes its ec2, autoscaling and cloudwatch clients,
  parses Records[0].Sns.Message, calls SetDesiredCapacity (HonorCooldown false) for a HighCPU
  alarm, then PutMetricData RecoveryActions. One warm container handles one event at a time, as a
  Lambda execution environment does; its latency runs from the start of the run (every event
  queued at once, as for fleetkeeper) to the end of its invocation.

  .venv/bin/python bench/self_healing_bench.py [--events N] [--groups G] [--bin PATH]

Prints both rows and the ratio; writes JSON to --json when given.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import os
import pathlib
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from harness import bootstrap, broker_pid, cpu_seconds  # noqa: E402
REGION = "us-east-1"
ACCOUNT = "123456789012"

# --- the loopback endpoint ------------------------------------------------------------------------

GROUP_XML = (
    "<member><AutoScalingGroupName>{name}</AutoScalingGroupName>"
    "<AutoScalingGroupARN>arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:"
    "00000000-0000-0000-0000-000000000000:autoScalingGroupName/{name}</AutoScalingGroupARN>"
    "<MinSize>1</MinSize><MaxSize>100000</MaxSize><DesiredCapacity>{desired}</DesiredCapacity>"
    "<DefaultCooldown>300</DefaultCooldown><AvailabilityZones><member>us-east-1a</member>"
    "</AvailabilityZones><HealthCheckType>EC2</HealthCheckType>"
    "<HealthCheckGracePeriod>0</HealthCheckGracePeriod><Instances>{instances}</Instances>"
    "<CreatedTime>2024-05-01T00:00:00Z</CreatedTime></member>")
INSTANCE_XML = (
    "<member><InstanceId>i-{n:017x}</InstanceId><AvailabilityZone>us-east-1a</AvailabilityZone>"
    "<LifecycleState>InService</LifecycleState><HealthStatus>Healthy</HealthStatus>"
    "<ProtectedFromScaleIn>false</ProtectedFromScaleIn></member>")


_REQUEST_IDS = itertools.count()


def _request_id() -> str:
    # Unique per process and call; uuid4 per response was a measurable share of the endpoint's CPU.
    return f"00000000-0000-4000-8000-{os.getpid():06x}{next(_REQUEST_IDS):06x}"


def _query_response(action: str, result: str) -> bytes:
    return (f'<{action}Response xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">'
            f"<{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>"
            f"{_request_id()}</RequestId></ResponseMetadata></{action}Response>").encode()


class Endpoint(asyncio.Protocol):
    """HTTP/1.1 with keep-alive; Auto Scaling groups, each with as many InService instances as its
    desired capacity (the group "reaches" a capacity at once). The desired capacities of the
    bench's groups ("asg-<k>") live in shared memory, so that every endpoint process answers a
    DescribeAutoScalingGroups with what any of them was told by SetDesiredCapacity."""

    shared = None                       # multiprocessing RawArray: desired capacity of asg-<k>
    others: dict[str, int] = {}         # groups outside the bench's names (this process only)
    counts: dict[str, int] = {}
    members: dict[tuple[str, int], str] = {}  # rendered <member> per (name, desired)

    @classmethod
    def desired(cls, name: str) -> int:
        k = cls.index(name)
        if k is None:
            return cls.others.setdefault(name, 2)
        return cls.shared[k] or 2

    @classmethod
    def set_desired(cls, name: str, value: int) -> None:
        k = cls.index(name)
        if k is None:
            cls.others[name] = value
        else:
            cls.shared[k] = value

    @classmethod
    def index(cls, name: str):
        if name.startswith("asg-") and name[4:].isdigit() and int(name[4:]) < len(cls.shared):
            return int(name[4:])
        return None

    @classmethod
    def member(cls, name: str, desired: int) -> str:
        key = (name, desired)
        if key not in cls.members:
            base = abs(hash(name)) % (1 << 40) << 16
            instances = "".join(INSTANCE_XML.format(n=base + i) for i in range(desired))
            cls.members[key] = GROUP_XML.format(name=name, desired=desired, instances=instances)
        return cls.members[key]

    def connection_made(self, transport):
        self.transport = transport
        self.buf = b""

    def data_received(self, data):
        self.buf += data
        while True:
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buf[:head_end].decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            n = int(headers.get("content-length", "0"))
            if len(self.buf) < head_end + 4 + n:
                return
            body = self.buf[head_end + 4:head_end + 4 + n]
            self.buf = self.buf[head_end + 4 + n:]
            self.respond(head[0].split(" ")[1], headers, body)

    def respond(self, path, headers, body):
        ctype = "text/xml"
        extra = ""
        if "/operation/" in path:  # smithy-rpc-v2-cbor (CloudWatch in recent botocore)
            action = path.rsplit("/", 1)[1]
            out, ctype, extra = b"\xa0", "application/cbor", "Smithy-Protocol: rpc-v2-cbor\r\n"
        elif "x-amz-target" in headers:  # JSON 1.0 (CloudWatch's other protocol)
            action = headers["x-amz-target"].rsplit(".", 1)[1]
            out, ctype = b"{}", "application/x-amz-json-1.0"
        else:
            form = urllib.parse.parse_qs(body.decode())
            action = form.get("Action", [""])[0]
            if action == "DescribeAutoScalingGroups":
                members = []
                for key in sorted(k for k in form if k.startswith("AutoScalingGroupNames.member.")):
                    name = form[key][0]
                    members.append(self.member(name, self.desired(name)))
                out = _query_response(action, f"<AutoScalingGroups>{''.join(members)}"
                                              "</AutoScalingGroups>")
            elif action == "SetDesiredCapacity":
                self.set_desired(form["AutoScalingGroupName"][0], int(form["DesiredCapacity"][0]))
                out = _query_response(action, "")
            elif action == "PutMetricData":
                out = (b'<PutMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/'
                       b'2010-08-01/"><ResponseMetadata><RequestId>1</RequestId>'
                       b"</ResponseMetadata></PutMetricDataResponse>")
            else:
                out = _query_response(action, "")
        self.counts[action] = self.counts.get(action, 0) + 1
        self.transport.write(
            (f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\n{extra}"
             f"x-amzn-RequestId: {_request_id()}\r\nContent-Length: {len(out)}\r\n\r\n").encode()
            + out)


def serve(sock, shared, stats_queue, stop_event):
    Endpoint.shared = shared

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Endpoint, sock=sock)
        while not stop_event.is_set():
            await asyncio.sleep(0.1)
        server.close()
    asyncio.run(main())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    stats_queue.put((dict(Endpoint.counts), usage.ru_utime + usage.ru_stime))


class LoopbackEndpoint:
    """`procs` processes accept on one listening socket (the kernel spreads the connections), so
    that the endpoint is not what the benchmark measures."""

    def __init__(self, procs: int, groups: int):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(1024)
        sock.setblocking(False)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        ctx = multiprocessing.get_context("fork")
        shared = ctx.RawArray("i", groups)
        self.stats, self.stop_event = ctx.Queue(), ctx.Event()
        self.procs = [ctx.Process(target=serve, args=(sock, shared, self.stats, self.stop_event),
                                  daemon=True) for _ in range(procs)]
        for p in self.procs:
            p.start()
        sock.close()

    def close(self):
        """Every process's call counts, summed, and their CPU seconds."""
        self.stop_event.set()
        counts, cpu = {}, 0.0
        for _ in self.procs:
            c, seconds = self.stats.get(timeout=30)
            cpu += seconds
            for k, v in c.items():
                counts[k] = counts.get(k, 0) + v
        for p in self.procs:
            p.join(10)
        return counts, cpu


# --- the events ---------------------------------------------------------------------------------

def sns_lambda_event(i: int, groups: int) -> dict:
    name = f"asg-{i % groups}-HighCPU"
    message = {
        "AlarmName": name, "AWSAccountId": ACCOUNT, "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed", "OldStateValue": "OK",
        "StateChangeTime": f"2024-05-01T10:{i // 6000 % 60:02d}:{i // 100 % 60:02d}."
                           f"{i % 100:03d}+0000",
        "Region": "US East (N. Virginia)",
        "AlarmArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}",
        "Trigger": {"MetricName": "CPUUtilization", "Namespace": "AWS/EC2",
                    "Dimensions": [{"name": "AutoScalingGroupName",
                                    "value": f"asg-{i % groups}"}]},
    }
    return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0",
                         "EventSubscriptionArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:alarms:sub",
                         "Sns": {"Type": "Notification", "MessageId": str(uuid.uuid4()),
                                 "TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:alarms",
                                 "Subject": f'ALARM: "{name}"', "Message": json.dumps(message),
                                 "Timestamp": "2024-05-01T10:00:00.000Z",
                                 "SignatureVersion": "1", "Signature": "EXAMPLE",
                                 "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/x.pem",
                                 "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?u",
                                 "MessageAttributes": {}}}]}


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


# --- baseline: the recovery Lambda ------------------------------------------------------------

def recovery_lambda(event, endpoint):
    """The runbook's chaos-recovery handler, re-expressed: the same clients and calls per event."""
    import boto3
    kw = {"endpoint_url": endpoint, "region_name": REGION}
    boto3.client("ec2", **kw)
    autoscaling = boto3.client("autoscaling", **kw)
    cloudwatch = boto3.client("cloudwatch", **kw)
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    if "HighCPU" in message["AlarmName"]:
        group = message["Trigger"]["Dimensions"][0]["value"]
        autoscaling.set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=4,
                                         HonorCooldown=False)
    cloudwatch.put_metric_data(Namespace="Day3/SelfHealing", MetricData=[
        {"MetricName": "RecoveryActions", "Value": 1, "Unit": "Count"}])
    return {"statusCode": 200}


def run_lambda(events, endpoint):
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    recovery_lambda(events[0], endpoint)  # a warm container: imports done before the clock
    cpu0 = time.process_time()
    start = time.perf_counter()
    latencies = []
    for e in events:
        recovery_lambda(e, endpoint)
        latencies.append(time.perf_counter() - start)
    total = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    return {"events": len(events), "seconds": total, "events_per_s": len(events) / total,
            "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
            "cpu_ms_per_event": cpu * 1000 / len(events)}


# --- fleetkeeper --------------------------------------------------------------------------------

def worker_config(prefix, topics, bootstrap, extra=""):
    """The worker's YAML: the bench's topics, the self-healing rule `scale_out by 1` for every
    HighCPU alarm naming a group, no cooldown, a breaker too large to trip; `extra` appended."""
    return f"""kafka:
  bootstrap.servers: "{bootstrap}"
  group.id: "{prefix}"
  transactional.id: "{prefix}-w"
topics: {{inputs: [{topics['events']}], work: {topics['work']}, results: {topics['results']},
         dlq: {topics['dlq']}, state: {topics['state']}, control: {topics['control']},
         partitions: 6}}
aws: {{region: {REGION}, default_account: "{ACCOUNT}"}}
observability: {{listen: "127.0.0.1:0"}}
handlers:
  self_healing:
    rules:
      - name: high-cpu
        match: {{alarm_name: "*HighCPU*", dimensions: {{AutoScalingGroupName: "*"}}}}
        action: {{type: scale_out, by: 1}}
        verify_timeout: 60s
    circuit_breaker: {{max_actions: 100000000, within: 1s}}
""" + extra


def run_fleetkeeper(events, endpoint, binary, bootstrap, io_threads):
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    prefix = "bench" + uuid.uuid4().hex[:8]
    topics = {k: f"{prefix}.{k}" for k in ("events", "work", "results", "dlq", "state", "control")}
    admin = AdminClient({"bootstrap.servers": bootstrap})
    new = [NewTopic(topics["events"], 6, 1), NewTopic(topics["work"], 6, 1),
           NewTopic(topics["state"], 6, 1, config={"cleanup.policy": "compact"}),
           NewTopic(topics["results"], 6, 1), NewTopic(topics["dlq"], 1, 1),
           NewTopic(topics["control"], 1, 1, config={"cleanup.policy": "compact"})]
    for f in admin.create_topics(new, operation_timeout=30).values():
        f.result()
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="fk-heal-bench-"))
    config = workdir / "bench.yaml"
    config.write_text(worker_config(prefix, topics, bootstrap,
                                    f"runtime: {{io_threads: {io_threads}}}\n"))
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="bench",
               AWS_SECRET_ACCESS_KEY="bench", AWS_REGION=REGION,
               AWS_CONFIG_FILE=str(workdir / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(workdir / "none"))
    log = open(workdir / "worker.log", "w")
    proc = subprocess.Popen([binary, "run", "--config", str(config)], stdout=log,
                            stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.time() + 60
        while "worker started" not in (workdir / "worker.log").read_text(errors="replace"):
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("worker did not start: " +
                                   (workdir / "worker.log").read_text()[-2000:])
            time.sleep(0.1)
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": prefix + "-reader",
                             "isolation.level": "read_committed",
                             "auto.offset.reset": "earliest", "enable.auto.commit": False})
        consumer.subscribe([topics["results"]])
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
        sent, done, statuses, skipped = {}, {}, {}, {}
        broker = broker_pid()
        worker_cpu0, broker_cpu0 = cpu_seconds(proc.pid), cpu_seconds(broker)
        start = time.perf_counter()
        for e in events:
            mid = e["Records"][0]["Sns"]["MessageId"]
            sent[mid] = time.perf_counter()
            producer.produce(topics["events"], value=json.dumps(e).encode())
            producer.poll(0)
        producer.flush(60)
        deadline = time.time() + 600
        while len(done) < len(events) and time.time() < deadline:
            for m in consumer.consume(1000, 0.2):
                if m.error():
                    continue
                r = json.loads(m.value())
                if r["status"] == "IN_PROGRESS" or r["correlation_id"] in done:
                    continue
                done[r["correlation_id"]] = time.perf_counter()
                statuses[r["status"]] = statuses.get(r["status"], 0) + 1
                if r["status"] == "SKIPPED":  # why, by the reason's first words
                    why = " ".join(r.get("reason", "").split(":")[0].split()[:4])
                    skipped[why] = skipped.get(why, 0) + 1
        total = max(done.values()) - start if done else float("nan")
        # Where the time went: the worker's and the broker's CPU over the run, per event.
        worker_cpu = cpu_seconds(proc.pid) - worker_cpu0
        broker_cpu = cpu_seconds(broker) - broker_cpu0
        consumer.close()
        latencies = [done[k] - sent[k] for k in done]
        return {"events": len(events), "finished": len(done), "statuses": statuses,
                "skipped_why": skipped, "seconds": total, "events_per_s": len(done) / total,
                "p50_ms": percentile(latencies, 50) * 1000,
                "p99_ms": percentile(latencies, 99) * 1000,
                "cpu_ms_per_event": worker_cpu * 1000 / len(events),
                "broker_cpu_ms_per_event": broker_cpu * 1000 / len(events)}
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
        admin.delete_topics(list(topics.values()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--groups", type=int, default=500, help="distinct groups the alarms name")
    ap.add_argument("--lambda-events", type=int, default=0,
                    help="events for the baseline (default: the same as --events)")
    ap.add_argument("--bin", default=os.environ.get("FK_BIN",
                                                    str(ROOT / "build" / "app" / "fleetkeeper")))
    ap.add_argument("--endpoint-procs", type=int, default=2,
                    help="processes of the loopback endpoint (one saturated at ~3,300 calls/s)")
    ap.add_argument("--io-threads", type=int, default=32,
                    help="the worker's runtime.io_threads (32 is the default configuration)")
    ap.add_argument("--before", metavar="BIN",
                    help="another fleetkeeper binary (an older build), run after --bin on the "
                         "same burst and compared with the same Lambda baseline")
    ap.add_argument("--json")
    args = ap.parse_args()
    events = [sns_lambda_event(i, args.groups) for i in range(args.events)]
    endpoint = LoopbackEndpoint(args.endpoint_procs, args.groups)
    before = None
    try:
        fk = run_fleetkeeper(events, endpoint.url, args.bin, bootstrap(), args.io_threads)
        if args.before:
            before = run_fleetkeeper(events, endpoint.url, args.before, bootstrap(),
                                     args.io_threads)
        lam = run_lambda(events[: args.lambda_events or args.events], endpoint.url)
    finally:
        calls, endpoint_cpu = endpoint.close()
    total_calls = sum(calls.values())
    ratio_rate = fk["events_per_s"] / lam["events_per_s"]
    ratio_p99 = lam["p99_ms"] / fk["p99_ms"]
    sides = [("fleetkeeper", fk), ("lambda", lam)]
    if before:
        sides.insert(1, ("before", before))
    print(f"{'':14}{'events':>8}{'events/s':>11}{'p50 ms':>10}{'p99 ms':>10}")
    for name, r in sides:
        print(f"{name:14}{r['events']:>8}{r['events_per_s']:>11.1f}{r['p50_ms']:>10.0f}"
              f"{r['p99_ms']:>10.0f}")
    print(f"fleetkeeper / lambda: {ratio_rate:.1f}x events/s, {ratio_p99:.1f}x lower p99 "
          f"(burst of {args.events}); fleetkeeper statuses {fk['statuses']} (SKIPPED: "
          f"{fk['skipped_why']}); endpoint calls "
          f"{calls}")
    if before:
        print(f"before ({args.before}) / lambda: "
              f"{before['events_per_s'] / lam['events_per_s']:.1f}x events/s, "
              f"{lam['p99_ms'] / before['p99_ms']:.1f}x lower p99; statuses {before['statuses']}")
    print(f"CPU per event: fleetkeeper worker {fk['cpu_ms_per_event']:.2f} ms, Kafka broker "
          f"{fk['broker_cpu_ms_per_event']:.2f} ms; lambda driver {lam['cpu_ms_per_event']:.2f} ms;"
          f" endpoint ({args.endpoint_procs} processes) {endpoint_cpu * 1000 / total_calls:.3f} ms "
          f"per call")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(
            {"fleetkeeper": fk, "before": before, "lambda": lam, "ratio_events_per_s": ratio_rate,
             "ratio_p99": ratio_p99, "endpoint_calls": calls,
             "endpoint_processes": args.endpoint_procs,
             "endpoint_cpu_ms_per_call": endpoint_cpu * 1000 / total_calls}, indent=2))
    done = all(r["finished"] == r["events"] for r in (fk, before) if r)
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main())
