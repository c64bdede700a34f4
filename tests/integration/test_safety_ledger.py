"""The blast-radius ledger end to end (docs/safety.md, "Ledger"): three handlers of one worker take
targets of the same target group out of service on moto (started here with
scripts/moto_launcher.py, recording on, delays in transitional states), and the number of targets
out of service at once stays within the group's max_unavailable (plus the self-healing margin,
which the self-healing result then names); after kill -9 the restarted worker's ledger holds the
same reservations.

Event shapes: "Parameter Store Change" as in
https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-systems-manager-event-examples.html,
"CloudWatch Alarm State Change" as in
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html, and
fleetkeeper's native PatchRequest (proto/fleetkeeper/v1/event.proto, the protobuf JSON mapping)."""

import json
import os
import subprocess
import sys
import threading
import time
import uuid

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Moto, Results, TopicSet, WorkerProcess, bootstrap,  # noqa: E402
                     fleetkeeper_bin, http_get, listener_port)
from aws_events import parameter_store_change, status_check_alarm  # noqa: E402

pytestmark = pytest.mark.e2e

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's account
PARAM = "/ami/ledger/web"
PARAM_API = "/ami/ledger/api"

CONFIG = f"""
commands: {{allowed_accounts: ["{ACCOUNT}"]}}
handlers:
  ami_rollout:
    poll_interval: 1s
    replacement: {{strategy: relaunch, max_concurrency: 3, max_unavailable: 1, step_timeout: 240s}}
  self_healing:
    rules:
      - name: status-check
        match: {{alarm_name: "*StatusCheckFailed*"}}
        action: {{type: replace_instance}}
        verify_timeout: 240s
  patch:
    defaults: {{poll_interval: 1s, max_unavailable: "1", command_timeout: 120s,
               status_ok_timeout: 60s, drain_timeout: 240s, backup_timeout: 60s}}
safety:
  max_unavailable: {{default: 1}}
  self_healing_margin: 1
"""


def patch_request(instance_ids):
    return {"patch_request": {
        "request_id": f"chg-{uuid.uuid4().hex[:8]}", "requested_by": "alice", "account": ACCOUNT,
        "region": REGION, "targets": [{"instance_ids": instance_ids}], "backup_ami": False,
        "operation": "Install", "reboot_option": "NoReboot", "max_concurrency": "1"}}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ledger")
    moto = Moto(tmp, env={"FK_MOTO_STATE_DELAY": "1.5", "FK_MOTO_TIME_SCALE": "0.05"},
                start_recording=True)
    topics = TopicSet(inputs=(3, 3), work_partitions=3)
    topics.create(AdminClient({"bootstrap.servers": bootstrap()}))
    results = Results(topics.results, group_prefix="ledger-reader-", poll=0.2)
    producer = Producer({"bootstrap.servers": bootstrap(), "linger.ms": 2})
    env = moto.worker_env(tmp, REGION)
    worker = WorkerProcess(topics.config_yaml({"transactional.id": topics.prefix + "-ledger"},
                                              extra=CONFIG), "ledger", env=env,
                           workdir=tmp).start()

    def send(topic_index, *messages):
        for m in messages:
            producer.produce(topics.inputs[topic_index], value=json.dumps(m).encode())
        producer.flush(30)

    state = {"moto": moto, "results": results, "send": send, "worker": worker, "tmp": tmp,
             "topics": topics}
    yield state
    results.close()
    state["worker"].stop()
    moto.stop()


def _run(ec2, subnet, image, tags, count):
    ids = [i["InstanceId"] for i in ec2.run_instances(
        ImageId=image, MinCount=count, MaxCount=count, InstanceType="t3.micro",
        SubnetId=subnet["SubnetId"],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [
            {"Key": k, "Value": v} for k, v in tags.items()]}])["Instances"]]
    ec2.get_waiter("instance_running").wait(InstanceIds=ids,
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return ids


def _group_of(moto, subnet, name, members):
    elb = moto.client("elbv2")
    arn = elb.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=subnet["VpcId"],
                                  TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": i, "Port": 80} for i in members])
    return arn


@pytest.fixture(scope="module")
def fleet(world):
    """Target group "web": 6 instances; 3 bound to PARAM (the rollout), one for self-healing, one
    for the patch request, one bystander. Target group "api": 3 instances, 2 bound to PARAM_API."""
    moto = world["moto"]
    ec2, ssm = moto.client("ec2"), moto.client("ssm")
    images = [i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"]
              if i.get("State", "available") == "available"]
    old, new = images[0], images[1]
    subnet = ec2.describe_subnets(Filters=[{"Name": "availability-zone",
                                            "Values": [f"{REGION}a"]}])["Subnets"][0]
    for name in (PARAM, PARAM_API):
        ssm.put_parameter(Name=name, Value=old, Type="String")
    bound = _run(ec2, subnet, old, {"fleetkeeper:ami-parameter": PARAM}, 3)
    healing, patched, bystander = _run(ec2, subnet, old, {"Role": "web"}, 3)
    web = _group_of(moto, subnet, "web", bound + [healing, patched, bystander])
    api_bound = _run(ec2, subnet, old, {"fleetkeeper:ami-parameter": PARAM_API}, 2)
    [api_other] = _run(ec2, subnet, old, {"Role": "api"}, 1)
    api = _group_of(moto, subnet, "api", api_bound + [api_other])
    # Target health settles to healthy after the registration delay.
    deadline = time.time() + 30
    while time.time() < deadline and (_healthy(moto, web) < 6 or _healthy(moto, api) < 3):
        time.sleep(0.5)
    assert _healthy(moto, web) == 6 and _healthy(moto, api) == 3
    return {"old": old, "new": new, "bound": bound, "healing": healing, "patched": patched,
            "web": web, "api": api, "api_bound": api_bound, "api_other": api_other}


def _healthy(moto, arn):
    health = moto.client("elbv2").describe_target_health(TargetGroupArn=arn)
    return sum(1 for d in health["TargetHealthDescriptions"]
               if d["TargetHealth"]["State"] == "healthy")


class OutOfService:
    """Samples a target group every 0.2 s: its size minus its healthy targets, plus an instance
    that is being rebooted while it still looks healthy — a reboot changes no target health in
    moto, yet the self-healing action holds it from its RebootInstances call until the status
    check that verifies it (_reboot_held). The recorder is read after the target health, so a
    hold released in between is never counted next to the capacity taken after it."""

    def __init__(self, moto, arn, size, rebooting=None):
        self.moto, self.arn, self.size = moto, arn, size
        self.rebooting = rebooting
        self.samples = []
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        elb = self.moto.client("elbv2")
        while not self.stopped:
            try:
                health = elb.describe_target_health(TargetGroupArn=self.arn)
            except Exception:  # moto busy: the next sample
                time.sleep(0.2)
                continue
            states = {d["Target"]["Id"]: d["TargetHealth"]["State"]
                      for d in health["TargetHealthDescriptions"]}
            out = self.size - sum(1 for s in states.values() if s == "healthy")
            extra = False
            if self.rebooting and states.get(self.rebooting) == "healthy":
                extra = _reboot_held(_worker_bodies(self.moto), self.rebooting)
            self.samples.append((time.time(), out + (1 if extra else 0), states, extra))
            time.sleep(0.2)

    def stop(self):
        self.stopped = True
        self.thread.join(10)
        return max((s[1] for s in self.samples), default=0)


class LedgerMetrics:
    """Samples the worker's /metrics every 0.2 s: fleetkeeper_capacity_reserved of one target
    group (0 while it has no series) and the claims counters of the cell."""

    def __init__(self, worker, arn):
        self.port, self.series = listener_port(worker), f'group="tg:{arn}"}}'
        self.reserved, self.stopped = [], False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def scrape(self):
        status, body = http_get(self.port, "/metrics")
        assert status == 200, body
        return body

    def _run(self):
        while not self.stopped:
            try:
                body = self.scrape()
            except Exception:  # the worker busy or restarting: the next sample
                time.sleep(0.2)
                continue
            lines = [ln for ln in body.splitlines()
                     if ln.startswith("fleetkeeper_capacity_reserved{") and self.series in ln]
            self.reserved.append(float(lines[0].rsplit(" ", 1)[1]) if lines else 0.0)
            time.sleep(0.2)

    def claims(self, decision):
        return sum(float(ln.rsplit(" ", 1)[1]) for ln in self.scrape().splitlines()
                   if ln.startswith("fleetkeeper_capacity_claims_total{") and
                   f'decision="{decision}"' in ln)

    def stop(self):
        self.stopped = True
        self.thread.join(10)


def _ids(body):
    return [v for k, v in body.items()
            if (k.startswith("Targets.member.") and k.endswith(".Id")) or
            k.startswith("InstanceId.")]


def _reboot_held(bodies, instance):
    """Whether, in call order, `instance` was rebooted and not yet verified since: self-healing
    holds a rebooted instance until a DescribeInstanceStatus of it answers ok, which on moto is
    the first one after the reboot."""
    held = False
    for body in bodies:
        if instance in _ids(body):
            if body.get("Action") == "RebootInstances":
                held = True
            elif body.get("Action") == "DescribeInstanceStatus":
                held = False
    return held


def _sequence_out(moto, members):
    """From the recorder, in call order: the members taken down (DeregisterTargets, StopInstances,
    TerminateInstances, and RebootInstances until the status check that verifies it) and not yet
    back (RegisterTargets of the same id or of its replacement, which carries the tag
    fleetkeeper:replaces); the most at once."""
    ec2 = moto.client("ec2")
    replaces = {}
    for r in ec2.describe_instances(Filters=[{"Name": "tag-key",
                                              "Values": ["fleetkeeper:replaces"]}])["Reservations"]:
        for i in r["Instances"]:
            tags = {t["Key"]: t["Value"] for t in i.get("Tags", [])}
            replaces[i["InstanceId"]] = tags["fleetkeeper:replaces"]
    out, replaced, rebooted, most = set(), set(), set(), 0
    for body in _worker_bodies(moto):
        action = body.get("Action")
        ids = _ids(body)
        if action in ("DeregisterTargets", "StopInstances", "TerminateInstances",
                      "RebootInstances"):
            # An old instance terminated after its replacement is in the group takes nothing out.
            out |= {i for i in ids if i in members and i not in replaced}
            if action == "RebootInstances":
                rebooted |= set(ids)
        elif action == "DescribeInstanceStatus":
            out -= rebooted & set(ids)
            rebooted -= set(ids)
        elif action == "RegisterTargets":
            for i in ids:
                old = replaces.get(i, i)
                out.discard(old)
                if old != i:
                    replaced.add(old)
        most = max(most, len(out))
    return most


def _worker_bodies(moto):
    import base64
    import urllib.parse
    from harness import _header
    out = []
    for e in moto.recorded():
        if not _header(e, "User-Agent").startswith("fleetkeeper"):
            continue
        body = e.get("body") or ""
        if e.get("body_encoded"):
            body = base64.b64decode(body).decode(errors="replace")
        if body.startswith("{"):
            continue  # JSON protocols: none of the calls counted here
        out.append({k: v[0] for k, v in urllib.parse.parse_qs(body).items()})
    return out


def _workflow_id(results, event_id, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with results.lock:
            for r in results.by_event.get(event_id, []):
                if r.get("workflow_id"):
                    return r["workflow_id"]
        time.sleep(0.2)
    raise AssertionError(f"no workflow for {event_id}")


def _show(world, workflow_id):
    cfg = world["tmp"] / "cli.yaml"
    if not cfg.exists():
        cfg.write_text(world["topics"].config_yaml())
    r = subprocess.run([fleetkeeper_bin(), "workflows", "show", workflow_id, "--json", "--config",
                        str(cfg)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_three_handlers_share_one_budget_per_target_group(world, fleet):
    moto, results, send = world["moto"], world["results"], world["send"]
    moto.client("ssm").put_parameter(Name=PARAM, Value=fleet["new"], Type="String",
                                     Overwrite=True)
    change = parameter_store_change(PARAM)
    alarm = status_check_alarm(fleet["healing"])
    patch = patch_request([fleet["patched"]])
    rid = patch["patch_request"]["request_id"]
    monitor = OutOfService(moto, fleet["web"], 6, rebooting=fleet["healing"])
    ledger = LedgerMetrics(world["worker"], fleet["web"])
    moto.record_from_here()
    # Within the same second: the rollout, the self-healing replacement and the patch drain.
    send(0, change, alarm)
    send(1, patch)

    try:
        rollout = results.wait_final(change["id"], timeout=480)
        healed = results.wait_final(alarm["id"], timeout=60)
        patched = results.wait_final(rid, timeout=300)
    finally:
        most = monitor.stop()
        ledger.stop()
    assert rollout["status"] == "SUCCEEDED", json.dumps(rollout, indent=1)
    assert healed["status"] == "SUCCEEDED", json.dumps(healed, indent=1)
    assert patched["status"] == "SUCCEEDED", json.dumps(patched, indent=1)

    members = set(fleet["bound"]) | {fleet["healing"], fleet["patched"]}
    # Never more than 1 out, or 2 while self-healing used its margin, which it says: in the order
    # of the calls that take targets down, and sampled.
    over = "beyond the blast-radius budget under the self-healing margin" in healed["reason"]
    assert _sequence_out(moto, members) <= (2 if over else 1), most
    assert most <= (2 if over else 1), [s for s in monitor.samples if s[1] > 1]
    if most == 2:
        assert over, healed["reason"]
    # Everything is back: six healthy targets, three of them new.
    deadline = time.time() + 30
    while time.time() < deadline and _healthy(moto, fleet["web"]) < 6:
        time.sleep(0.5)
    assert _healthy(moto, fleet["web"]) == 6
    # Whichever went first, the rollout's next replacement or the patch drain waited for it, and
    # said for what.
    notes = [r["reason"] for e in (change["id"], rid) for r in results.by_event.get(e, [])
             if r["status"] == "IN_PROGRESS"]
    assert any(" waits: " in n and "out of service" in n for n in notes), notes
    # /metrics showed the ledger: units reserved in the group while the three ran, never beyond
    # what the budget (and the margin, when used) allows; none left once all finished; and the
    # wait above was a refused claim.
    assert max(ledger.reserved, default=0) >= 1, ledger.reserved
    assert max(ledger.reserved) <= (2 if over else 1), ledger.reserved
    deadline = time.time() + 10  # released as each workflow finished
    while f'group="tg:{fleet["web"]}"' in ledger.scrape() and time.time() < deadline:
        time.sleep(0.2)
    assert f'group="tg:{fleet["web"]}"' not in ledger.scrape()
    assert ledger.claims("granted") >= 3 and ledger.claims("refused") >= 1


def test_reservations_survive_kill_9_and_still_hold_back_others(world, fleet):
    moto, results, send = world["moto"], world["results"], world["send"]
    moto.client("ssm").put_parameter(Name=PARAM_API, Value=fleet["new"], Type="String",
                                     Overwrite=True)
    change = parameter_store_change(PARAM_API)
    monitor = OutOfService(moto, fleet["api"], 3)
    moto.record_from_here()
    send(0, change)
    wf = _workflow_id(results, change["id"])

    # Wait until a reservation is committed, then kill -9 at once.
    deadline = time.time() + 120
    held = []
    while time.time() < deadline and not held:
        held = _show(world, wf)["capacity"]
        time.sleep(0.3)
    assert held, "the rollout never reserved capacity"
    world["worker"].kill()
    # What fleet.state holds now is what the next worker restores its ledger from: the same
    # reservations (the dead worker may have committed one more step after the read above).
    restored = _show(world, wf)["capacity"]
    assert restored, "the reservations were not checkpointed"
    assert {c["group"] for c in restored} == {"tg:" + fleet["api"]}, restored
    for c in restored:
        assert c["unit"] in fleet["api_bound"], c
        same = [h for h in held if h["unit"] == c["unit"]]
        assert not same or same[0]["since"] == c["since"], (held, restored)

    # A drain of the group's third instance arrives before the worker is back: the restored ledger
    # is in place before any step runs, so it waits while a rollout target is out.
    patch = patch_request([fleet["api_other"]])
    rid = patch["patch_request"]["request_id"]
    send(1, patch)
    world["worker"].start()
    try:
        rollout = results.wait_final(change["id"], timeout=480)
        patched = results.wait_final(rid, timeout=300)
    finally:
        most = monitor.stop()
    assert rollout["status"] == "SUCCEEDED", json.dumps(rollout, indent=1)
    assert patched["status"] == "SUCCEEDED", json.dumps(patched, indent=1)
    assert most <= 1, [s[:2] for s in monitor.samples if s[1] > 1]
    assert _sequence_out(moto, set(fleet["api_bound"]) | {fleet["api_other"]}) <= 1
    assert _show(world, wf)["capacity"] == [], "a finished workflow holds nothing"
