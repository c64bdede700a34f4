#!/usr/bin/env python3
"""AMI rollout: makespan of N standalone relaunches against the bound the limits allow, and AWS
calls per replaced instance (issue 5, "Benchmark").

One invocation, one worker (`fleetkeeper run` on the real Kafka broker of scripts/kafka.sh), one
moto server started through the launcher (scripts/moto.sh, authentication and recorder on, state
delays switched on with FK_MOTO_STATE_DELAY), three rollouts in a row:

  1. fixed cost: a parameter bound to nothing (read, validate, plan, report; no replacement);
  2. baseline: a parameter bound to ONE instance: one replacement's time alone, T1;
  3. the fleet: a parameter bound to N instances, replacement.max_concurrency = C.

Every instance is standalone (no Auto Scaling group), t3.micro in one subnet, tagged
fleetkeeper:ami-parameter=<parameter> (DESIGN.md "Parameter change -> AMI rollout"), with two data
volumes at /dev/sdf and /dev/sdg, so each relaunch runs the whole sequence: stop, detach, launch,
stop the new instance, attach, start, terminate the old one.

Makespan = from the trigger's produce (acknowledged) to its final result read with
read_committed. The trigger is the EventBridge "Parameter Store Change" event, shaped as in
https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-systems-manager-event-examples.html
(built by tests/integration/test_ami_rollout.py). Bound = ceil(N / C) x T1. Calls = every request moto's recorder lists between the trigger and the
final result, by API, divided by N.

  .venv/bin/python bench/ami_rollout/ami_rollout_bench.py [--quick] [--bin PATH] [--json FILE]
      [--instances N] [--concurrency C] [--state-delay S] [--poll-interval S]

Exits non-zero when a rollout does not end SUCCEEDED with every instance replaced (the numbers of
a broken run mean nothing); the goals (<= 1.1x the bound, <= 10 calls per instance) are reported,
not enforced.
"""

from __future__ import annotations

import argparse
import base64
import collections
import json
import math
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from harness import TopicSet, WorkerProcess, bootstrap  # noqa: E402
# The trigger, as the end-to-end test sends it (its docstring cites the event's documentation).
from aws_events import parameter_store_change  # noqa: E402

REGION = "us-east-1"
MOTO_NAME = "amibench"
DATA_DEVICES = ("/dev/sdf", "/dev/sdg")
# Calls that change AWS; everything else the worker sends reads.
MUTATING_PREFIXES = ("Run", "Stop", "Start", "Terminate", "Attach", "Detach", "Associate",
                     "Register", "Deregister", "Create", "Put", "Modify")


def log(msg: str) -> None:
    print(f"[ami-bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- moto ---------------------------------------------------------------------------------------

class Moto:
    """The launcher's moto, started and stopped under our own name only (the patch benchmark
    uses it under its own)."""

    def __init__(self, state_delay: float, name: str = MOTO_NAME):
        self.name = name
        env = dict(os.environ, FK_MOTO_STATE_DELAY=str(state_delay))
        subprocess.run([str(ROOT / "scripts" / "moto.sh"), "start", "--name", name, "--auth"],
                       check=True, env=env, stdout=subprocess.DEVNULL)
        values = {}
        for line in (ROOT / ".cache" / f"moto-{name}.env").read_text().splitlines():
            k, _, v = line.partition("=")
            values[k.strip()] = v.strip()
        self.endpoint = values["FK_MOTO_ENDPOINT"]
        self.key = values["AWS_ACCESS_KEY_ID"]
        self.secret = values["AWS_SECRET_ACCESS_KEY"]

    def worker_env(self, workdir: pathlib.Path) -> dict:
        """A worker's environment: this moto's endpoint and keys, no shared AWS config."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": self.key,
                "AWS_SECRET_ACCESS_KEY": self.secret, "AWS_REGION": REGION,
                "AWS_CONFIG_FILE": str(workdir / "none"),
                "AWS_SHARED_CREDENTIALS_FILE": str(workdir / "none")}

    def client(self, service):
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=self.key, aws_secret_access_key=self.secret)

    def _post(self, path):
        req = urllib.request.Request(self.endpoint + path, data=b"", method="POST")
        urllib.request.urlopen(req, timeout=30).read()

    def reset_recording(self):
        self._post("/moto-api/recorder/reset-recording")
        self._post("/moto-api/recorder/start-recording")

    def recorded_actions(self) -> collections.Counter:
        """Every recorded request by API name (query protocol Action, or the JSON target)."""
        raw = urllib.request.urlopen(self.endpoint + "/moto-api/recorder/download-recording",
                                     timeout=120).read().decode()
        counts = collections.Counter()
        for line in raw.splitlines():
            e = json.loads(line)
            target = (e.get("headers") or {}).get("X-Amz-Target", "")
            if target:
                counts[target.rsplit(".", 1)[1]] += 1
                continue
            body = e.get("body") or ""
            if e.get("body_encoded"):
                body = base64.b64decode(body).decode(errors="replace")
            action = next((p[7:] for p in body.split("&") if p.startswith("Action=")), "")
            counts[action or "(unknown)"] += 1
        return counts

    def stop(self):
        subprocess.run([str(ROOT / "scripts" / "moto.sh"), "stop", "--name", self.name],
                       check=False, stdout=subprocess.DEVNULL)


# --- the fleet ----------------------------------------------------------------------------------

def make_fleet(moto: Moto, parameter: str, count: int, image: str, subnet: str) -> list[str]:
    """`count` running standalone instances bound to `parameter`, each with its data volumes
    attached; returns their ids."""
    if count == 0:
        return []
    ec2 = moto.client("ec2")
    ids = [i["InstanceId"] for i in ec2.run_instances(
        ImageId=image, MinCount=count, MaxCount=count, InstanceType="t3.micro", SubnetId=subnet,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [
            {"Key": "fleetkeeper:ami-parameter", "Value": parameter},
            {"Key": "Name", "Value": "bench" + parameter.replace("/", "-")}]}])["Instances"]]
    volumes = []
    for iid in ids:
        for device in DATA_DEVICES:
            v = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8)["VolumeId"]
            volumes.append((v, iid, device))
    ec2.get_waiter("instance_running").wait(InstanceIds=ids,
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    for v, iid, device in volumes:
        ec2.attach_volume(VolumeId=v, InstanceId=iid, Device=device)
    ec2.get_waiter("volume_in_use").wait(VolumeIds=[v for v, _, _ in volumes],
                                         WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    return ids


def check_replaced(moto: Moto, old_ids: list[str], image: str) -> list[str]:
    """What is wrong with the fleet after the rollout (empty when every instance was replaced by
    one running instance of `image` holding the old one's data volumes at the same devices)."""
    ec2 = moto.client("ec2")
    problems = []
    fresh_by_old = collections.defaultdict(list)
    for page in ec2.get_paginator("describe_instances").paginate(
            Filters=[{"Name": "tag-key", "Values": ["fleetkeeper:replaces"]}]):
        for r in page["Reservations"]:
            for i in r["Instances"]:
                tags = {t["Key"]: t["Value"] for t in i.get("Tags", [])}
                if i["State"]["Name"] not in ("terminated", "shutting-down"):
                    fresh_by_old[tags["fleetkeeper:replaces"]].append(i)
    attached = {}
    for page in ec2.get_paginator("describe_volumes").paginate(
            Filters=[{"Name": "attachment.device", "Values": list(DATA_DEVICES)}]):
        for v in page["Volumes"]:
            for a in v["Attachments"]:
                attached.setdefault(a["InstanceId"], set()).add(a["Device"])
    for old in old_ids:
        fresh = fresh_by_old.get(old, [])
        if len(fresh) != 1:
            problems.append(f"{old}: {len(fresh)} live replacements")
            continue
        new = fresh[0]
        if new["ImageId"] != image or new["State"]["Name"] != "running":
            problems.append(f"{old}: replacement {new['InstanceId']} is {new['State']['Name']} "
                            f"on {new['ImageId']}")
        if attached.get(new["InstanceId"], set()) != set(DATA_DEVICES):
            problems.append(f"{old}: replacement {new['InstanceId']} has data volumes at "
                            f"{sorted(attached.get(new['InstanceId'], []))}")
    return problems


# --- one rollout --------------------------------------------------------------------------------

class Rollouts:
    """Triggers rollouts and waits for their final results (read_committed)."""

    def __init__(self, topics: TopicSet):
        self.topics = topics
        self.producer = Producer({"bootstrap.servers": bootstrap(), "linger.ms": 0})
        self.consumer = Consumer({"bootstrap.servers": bootstrap(),
                                  "group.id": topics.prefix + "-bench-reader",
                                  "isolation.level": "read_committed",
                                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                                  "fetch.max.bytes": 64 << 20,
                                  "max.partition.fetch.bytes": 16 << 20})
        self.consumer.subscribe([topics.results])

    def run(self, moto: Moto, parameter: str, timeout: float) -> tuple[dict, float]:
        event = parameter_store_change(parameter)
        return self.send_and_wait(moto, event, event["id"], timeout)

    def send_and_wait(self, moto: Moto, message: dict, correlation_id: str,
                      timeout: float) -> tuple[dict, float]:
        """Produces `message` with the recorder reset, and waits for the final result whose
        correlation id is `correlation_id` (the patch benchmark sends its requests so too)."""
        moto.reset_recording()
        acked = []
        self.producer.produce(self.topics.inputs[0], value=json.dumps(message).encode(),
                              on_delivery=lambda err, _m: acked.append(err))
        self.producer.flush(30)
        if acked != [None]:
            raise RuntimeError(f"trigger not produced: {acked}")
        start = time.monotonic()
        deadline = start + timeout
        while time.monotonic() < deadline:
            for m in self.consumer.consume(100, 0.05):
                if m.error():
                    continue
                r = json.loads(m.value())
                if r["correlation_id"] == correlation_id and r["status"] != "IN_PROGRESS":
                    return r, time.monotonic() - start
        raise RuntimeError(f"no final result for {correlation_id} within {timeout:.0f}s")

    def close(self):
        self.consumer.close()


def summarize_calls(counts: collections.Counter, n: int) -> dict:
    total = sum(counts.values())
    mutating = sum(c for a, c in counts.items() if a.startswith(MUTATING_PREFIXES))
    return {"total": total, "per_instance": total / n if n else float(total),
            "mutating_per_instance": mutating / n if n else float(mutating),
            "reads_per_instance": (total - mutating) / n if n else float(total - mutating),
            "by_api": dict(counts.most_common())}


def print_calls_by_api(calls: dict, n: int) -> None:
    for api, count in calls["by_api"].items():
        print(f"    {api:34s} {count:6d}  {count / n:6.2f}/instance")


def start_worker(moto: Moto, workdir: pathlib.Path, name: str, extra_config: str):
    """Topics of their own and a worker on them, talking to `moto`: (topics, worker)."""
    topics = TopicSet(inputs=(1,), work_partitions=3)
    topics.create(AdminClient({"bootstrap.servers": bootstrap()}))
    config = topics.config_yaml({"transactional.id": f"{topics.prefix}-{name}"},
                                extra=extra_config)
    return topics, WorkerProcess(config, name, env=moto.worker_env(workdir),
                                 workdir=workdir).start()


def measure(moto: Moto, worker, runs: dict, run_one, expect: dict | None = None) -> dict | None:
    """Runs `runs` (key -> (name, instances)) one after another: `run_one(key, name, count)`
    returns (result, seconds, problems). The makespan and AWS calls of each run, or None (after
    saying why) when one did not end as it should: `expect[key]`, else SUCCEEDED, or SKIPPED for
    no instances."""
    measured = {}
    for key, (name, count) in runs.items():
        result, seconds, problems = run_one(key, name, count)
        calls = summarize_calls(moto.recorded_actions(), count)
        expected = (expect or {}).get(key) or ("SUCCEEDED" if count else "SKIPPED")
        if result["status"] != expected or problems:
            log(f"{key}: {result['status']} {result['reason'][:300]}")
            for p in problems[:10]:
                log(f"  {p}")
            log(f"worker log: {worker.log}")
            return None
        measured[key] = {"instances": count, "makespan_s": seconds, "calls": calls}
        log(f"{key}: {count} instance(s) in {seconds:.2f}s, {calls['total']} calls "
            f"({calls['per_instance']:.1f} per instance)")
    return measured


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.environ.get("FK_BIN",
                                                    str(ROOT / "build" / "app" / "fleetkeeper")))
    ap.add_argument("--quick", action="store_true", help="CI-sized: 20 instances, C=5, 1 s delays")
    ap.add_argument("--instances", type=int)
    ap.add_argument("--concurrency", type=int)
    ap.add_argument("--state-delay", type=float,
                    help="seconds moto holds each transitional state (default 3, quick 1)")
    ap.add_argument("--poll-interval", type=float,
                    help="handlers.ami_rollout.poll_interval in seconds (default: delay / 3; "
                         "0: the handler's own default)")
    ap.add_argument("--json", help="write the numbers here as JSON")
    args = ap.parse_args()
    n = args.instances or (20 if args.quick else 200)
    c = args.concurrency or (5 if args.quick else 10)
    delay = args.state_delay if args.state_delay is not None else (1.0 if args.quick else 3.0)
    poll = args.poll_interval if args.poll_interval is not None else max(0.2, delay / 3)
    os.environ["FK_BIN"] = args.bin
    if not os.path.exists(args.bin):
        print(f"no fleetkeeper binary at {args.bin}: build it (or pass --bin)", file=sys.stderr)
        return 2

    workdir = pathlib.Path(tempfile.mkdtemp(prefix="fk-ami-bench-"))
    log(f"N={n} C={c} state delay {delay}s poll {poll}s; work dir {workdir}")
    moto = Moto(delay)
    worker = rollouts = None
    try:
        ec2, ssm = moto.client("ec2"), moto.client("ssm")
        images = [i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"]
                  if i.get("State", "available") == "available"]
        old, new = images[0], images[1]
        subnet = ec2.describe_subnets(Filters=[{"Name": "availability-zone",
                                                "Values": [f"{REGION}a"]}])["Subnets"][0]
        runs = {"fixed": ("/ami/bench/none", 0), "baseline": ("/ami/bench/one", 1),
                "fleet": ("/ami/bench/fleet", n)}
        fleets = {}
        t0 = time.monotonic()
        for key, (parameter, count) in runs.items():
            ssm.put_parameter(Name=parameter, Value=old, Type="String")
            fleets[key] = make_fleet(moto, parameter, count, old, subnet["SubnetId"])
        log(f"fleet of {n + 1} instances with {2 * (n + 1)} data volumes made in "
            f"{time.monotonic() - t0:.1f}s")

        poll_key = f"poll_interval: {int(poll * 1000)}ms\n    " if poll > 0 else ""
        topics, worker = start_worker(moto, workdir, "ami-bench", f"""
handlers:
  self_healing: {{enabled: false}}
  ami_rollout:
    {poll_key}replacement: {{strategy: relaunch, max_concurrency: {c}, max_unavailable: 1,
                  step_timeout: 300s}}
""")
        rollouts = Rollouts(topics)

        def run_one(key, parameter, count):
            ssm.put_parameter(Name=parameter, Value=new, Type="String", Overwrite=True)
            result, seconds = rollouts.run(moto, parameter, timeout=600 + 30 * count)
            return result, seconds, check_replaced(moto, fleets[key], new)

        measured = measure(moto, worker, runs, run_one)
        if measured is None:
            return 1

        t1 = measured["baseline"]["makespan_s"]
        fixed = measured["fixed"]["makespan_s"]
        rounds = math.ceil(n / c)
        bound = rounds * t1
        makespan = measured["fleet"]["makespan_s"]
        strict = rounds * (t1 - fixed) + fixed
        fleet_calls = measured["fleet"]["calls"]
        out = {
            "instances": n, "max_concurrency": c, "state_delay_s": delay, "poll_interval_s": poll,
            "fixed_cost_s": fixed, "one_replacement_s": t1, "rounds": rounds,
            "bound_s": bound, "makespan_s": makespan, "ratio_to_bound": makespan / bound,
            "strict_bound_s": strict, "ratio_to_strict_bound": makespan / strict,
            "calls_per_instance": fleet_calls["per_instance"],
            "baseline_calls_per_instance": measured["baseline"]["calls"]["per_instance"],
            "runs": measured,
        }
        print()
        print(f"AMI rollout, {n} standalone relaunches, max_concurrency {c}, "
              f"state delay {delay}s, poll {poll}s")
        print(f"  one replacement alone (T1)      {t1:8.2f} s   (fixed cost of a rollout "
              f"{fixed:.2f} s)")
        print(f"  bound ceil(N/C) x T1            {bound:8.2f} s   ({rounds} x {t1:.2f})")
        print(f"  makespan                        {makespan:8.2f} s")
        print(f"  ratio to the bound              {makespan / bound:8.3f}   (goal <= 1.1; "
              f"{makespan / strict:.3f} against {rounds} x (T1 - fixed) + fixed)")
        print(f"  AWS calls per instance          {fleet_calls['per_instance']:8.2f}   (goal <= 10; "
              f"{fleet_calls['mutating_per_instance']:.2f} mutating, "
              f"{fleet_calls['reads_per_instance']:.2f} reads; alone: "
              f"{out['baseline_calls_per_instance']:.0f})")
        print_calls_by_api(fleet_calls, n)
        if args.json:
            pathlib.Path(args.json).write_text(json.dumps(out, indent=1))
        return 0
    finally:
        if rollouts:
            rollouts.close()
        if worker:
            worker.stop()
        moto.stop()


if __name__ == "__main__":
    sys.exit(main())
