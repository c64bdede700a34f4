"""Rolling patch end to end: native patch requests on the real Kafka broker, the worker patching a
landing zone on moto (started here with scripts/moto_launcher.py, recording on, short state
delays; scripts/motofill/ssm.py fills commands, instance information and patch states), outcomes
asserted through boto3, moto's recorder (the order of the worker's calls) and the result events
(read_committed).

Request shapes: fleetkeeper's own native PatchRequest, Approval and Cancel
(proto/fleetkeeper/v1/event.proto, the protobuf JSON mapping). The AWS side follows
https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html and
https://docs.aws.amazon.com/systems-manager/latest/userguide/patch-manager-aws-runpatchbaseline.html
(Operation, RebootOption)."""

import http.server
import json
import os
import sys
import threading
import time
import urllib.parse
import uuid

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Moto, Results, TopicSet, WorkerProcess, assert_worker_actions_declared,  # noqa: E402
                     bootstrap)
from recorded_calls import patch_mutations, worker_calls  # noqa: E402

pytestmark = pytest.mark.e2e

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's account
ZONE_SIZE = 20
MAX_TARGETS = 24

CONFIG = f"""
commands: {{allowed_accounts: ["{ACCOUNT}"], max_targets: {MAX_TARGETS}}}
handlers:
  patch:
    defaults: {{poll_interval: 1s, max_unavailable: "50%", approval_timeout: 300s,
               command_timeout: 120s, status_ok_timeout: 60s, drain_timeout: 60s,
               backup_timeout: 60s}}
"""

# Calls that change something: none of them may appear in a dry run or a refusal.
MUTATING = ("CreateImage", "SendCommand", "DeregisterTargets", "RegisterTargets",
            "StartInstances", "StopInstances", "CreateTags", "CreateReplaceRootVolumeTask")


def request(zone_or_targets, **fields):
    targets = zone_or_targets if isinstance(zone_or_targets, list) else \
        [{"landing_zone": zone_or_targets}]
    body = {"request_id": f"chg-{uuid.uuid4().hex[:8]}", "requested_by": "alice",
            "account": ACCOUNT, "region": REGION, "targets": targets, **fields}
    return {"patch_request": body}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("patch")
    moto = Moto(tmp, env={"FK_MOTO_STATE_DELAY": "0.5"}, start_recording=True)
    topics = TopicSet(inputs=(3, 3), work_partitions=3)
    topics.create(AdminClient({"bootstrap.servers": bootstrap()}))
    results = Results(topics.results, group_prefix="patch-reader-", poll=0.2)
    producer = Producer({"bootstrap.servers": bootstrap(), "linger.ms": 2})
    env = moto.worker_env(tmp, REGION)
    worker = WorkerProcess(topics.config_yaml({"transactional.id": topics.prefix + "-patch"},
                                              extra=CONFIG), "patch", env=env,
                           workdir=tmp).start()

    def send(*messages):
        for m in messages:
            producer.produce(topics.inputs[1], value=json.dumps(m).encode())
        producer.flush(30)

    state = {"moto": moto, "results": results, "send": send, "worker": worker}
    yield state
    results.close()
    worker.stop()
    moto.stop()


def _run(ec2, subnet, image, tags, count=1):
    ids = [i["InstanceId"] for i in ec2.run_instances(
        ImageId=image, MinCount=count, MaxCount=count, InstanceType="t3.micro",
        SubnetId=subnet["SubnetId"],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [
            {"Key": k, "Value": v} for k, v in tags.items()]}])["Instances"]]
    ec2.get_waiter("instance_running").wait(InstanceIds=ids,
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return ids


@pytest.fixture(scope="module")
def fleet(world):
    """The landing zone "prod": 20 running instances, half in each of two target groups, each with
    4 patches missing in its last scan, three of them set to fail patching (the 1st, 6th and 7th by id: one in the first batch, two in the
    second), plus a stopped, a terminated, an unmanaged and an SSM-offline instance."""
    moto = world["moto"]
    ec2, elb = moto.client("ec2"), moto.client("elbv2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    subnet = ec2.describe_subnets(Filters=[{"Name": "availability-zone",
                                            "Values": [f"{REGION}a"]}])["Subnets"][0]
    zone = sorted(_run(ec2, subnet, image, {"Environment": "prod"}, ZONE_SIZE))
    groups = []
    for name, members in (("web-a", zone[0::2]), ("web-b", zone[1::2])):
        arn = elb.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=subnet["VpcId"],
                                      TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
        elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": i, "Port": 80} for i in members])
        groups.append((arn, set(members)))
    failing = [zone[0], zone[5], zone[6]]
    ec2.create_tags(Resources=zone, Tags=[{"Key": "fk-test:patch-scanned-missing", "Value": "4"}])
    ec2.create_tags(Resources=failing, Tags=[{"Key": "fk-test:ssm-command-status",
                                              "Value": "Failed"}])
    [stopped] = _run(ec2, subnet, image, {"Environment": "prod"})
    ec2.stop_instances(InstanceIds=[stopped])
    [terminated] = _run(ec2, subnet, image, {"Environment": "prod"})
    ec2.terminate_instances(InstanceIds=[terminated])
    [unmanaged] = _run(ec2, subnet, image, {"Environment": "prod", "fk-test:ssm-unmanaged": "true"})
    [offline] = _run(ec2, subnet, image, {"Environment": "prod",
                                          "fk-test:ssm-ping": "ConnectionLost"})
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[stopped],
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    # Target health settles to healthy after the registration delay.
    time.sleep(1.5)
    topic = moto.client("sns").create_topic(Name="patching")["TopicArn"]
    return {"zone": zone, "groups": groups, "failing": failing, "stopped": stopped,
            "terminated": terminated, "unmanaged": unmanaged, "offline": offline,
            "image": image, "subnet": subnet, "topic": topic}


# --- reading the recorder --------------------------------------------------------------------

def _mutations(calls, instances):
    return patch_mutations(calls, instances, MUTATING)


def _wait_for_a_command(moto, instances, timeout):
    """Until the worker has sent SendCommand to one of `instances` (or `timeout` seconds)."""
    deadline = time.time() + timeout
    while time.time() < deadline and not any(
            a == "SendCommand" for a, _ in _mutations(worker_calls(moto), instances)):
        time.sleep(0.1)


def _final_actions(result):
    return {a["resource"].split(":", 1)[1]: a for a in result["actions"]
            if a["action"] == "patch" and a["resource"].startswith("instance:")}


# --- tests -----------------------------------------------------------------------------------

def test_a_landing_zone_is_patched_in_batches_within_its_budgets(world, fleet):
    moto, results = world["moto"], world["results"]
    zone = fleet["zone"]
    req = request("prod", max_concurrency="25%", max_errors="2", backup_ami=True,
                  rollback_policy="instance", operation="Install", reboot_option="RebootIfNeeded",
                  notify_topic_arn=fleet["topic"])
    world["send"](req)
    rid = req["patch_request"]["request_id"]
    r = results.wait_final(rid, timeout=300)
    assert r["status"] == "PARTIAL", json.dumps(r, indent=1)
    assert "3 failure(s) exceed max_errors 2" in r["reason"], r["reason"]
    calls = worker_calls(moto)
    seq = _mutations(calls, zone)

    # Never more than 25% of the 20 out of service at once, never more than half of a group.
    out, most, most_in = set(), 0, {arn: 0 for arn, _ in fleet["groups"]}
    for action, iid in seq:
        if action == "DeregisterTargets":
            out.add(iid)
        elif action == "RegisterTargets":
            out.discard(iid)
        most = max(most, len(out))
        for arn, members in fleet["groups"]:
            most_in[arn] = max(most_in[arn], len(out & members))
    assert 0 < most <= ZONE_SIZE // 4, most
    assert all(n <= 5 for n in most_in.values()), most_in
    assert not out, f"still deregistered: {out}"

    # The first two batches (sorted ids, 5 each) ran; the third failure came in the second, so
    # no later batch started.
    sent = [iid for action, iid in seq if action == "SendCommand"]
    assert sorted(sent) == zone[:10], sent
    for iid in zone[:10]:
        order = [a for a, i in seq if i == iid]
        assert order.index("CreateImage") < order.index("SendCommand"), (iid, order)
        assert order.index("DeregisterTargets") < order.index("SendCommand") < \
            order.index("RegisterTargets"), (iid, order)
    finals = _final_actions(r)
    for iid in zone[:10]:
        want = "failed" if iid in fleet["failing"] else "patched"
        assert finals[iid]["status"] == want, finals[iid]
    # Failed instances rolled back from their AMI backups (a replace-root-volume task each), before
    # they went back into their target groups; patched ones were not touched.
    tasks = moto.client("ec2").describe_replace_root_volume_tasks()["ReplaceRootVolumeTasks"]
    restored = {t["InstanceId"]: t for t in tasks if t["InstanceId"] in zone}
    assert sorted(restored) == sorted(fleet["failing"]), restored
    for iid in fleet["failing"]:
        assert "ended Failed" in finals[iid]["detail"], finals[iid]
        assert "rolled back: root volume restored from backup ami-" in finals[iid]["detail"], \
            finals[iid]
        backup = finals[iid]["detail"].split("restored from backup ", 1)[1].split(" ", 1)[0]
        assert restored[iid]["ImageId"] == backup, (restored[iid], backup)
        assert restored[iid]["TaskState"] == "succeeded", restored[iid]
        order = [a for a, i in seq if i == iid]
        assert order.index("SendCommand") < order.index("CreateReplaceRootVolumeTask") < \
            len(order) - 1 - order[::-1].index("RegisterTargets"), (iid, order)
    for iid in zone[10:]:
        assert finals[iid]["status"] == "not-started", finals[iid]
    ok = finals[zone[1]]
    assert "missing 4 -> 0" in ok["detail"] and "; rebooted" in ok["detail"], ok
    assert "backup ami-" in ok["detail"], ok
    assert finals[fleet["stopped"]]["detail"] == "stopped, and start_stopped is not set"
    assert finals[fleet["terminated"]]["detail"] in ("terminated", "shutting-down")
    assert "not an SSM managed instance" in finals[fleet["unmanaged"]]["detail"]
    assert finals[fleet["offline"]]["detail"] == "SSM agent ConnectionLost, not Online"
    skipped = {fleet[k] for k in ("stopped", "terminated", "unmanaged", "offline")}
    assert not _mutations(calls, skipped)

    # Backups tagged with the request; one IN_PROGRESS result per batch; SNS and CloudWatch.
    images = moto.client("ec2").describe_images(Owners=["self"], Filters=[
        {"Name": "tag:fleetkeeper:patch-request", "Values": [rid]}])["Images"]
    assert len(images) == 10, images
    progress = [x["reason"] for x in results.by_event.get(rid, []) if x["status"] == "IN_PROGRESS"]
    assert sum(1 for p in progress if "/4 done" in p) == 2, progress
    names = [a for a, _ in calls]
    assert "Publish" in names and "PutMetricData" in names, names


class _HealthEndpoint(http.server.BaseHTTPRequestHandler):
    """The application's health check: answers 200 and records which instance was asked for."""
    seen = []

    def do_GET(self):  # noqa: N802 (the http.server API)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        _HealthEndpoint.seen.append(query.get("instance", [""])[0])
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def test_approval_waits_and_the_requesters_own_approval_does_not_count(world, fleet):
    moto, results = world["moto"], world["results"]
    ec2 = moto.client("ec2")
    ids = _run(ec2, fleet["subnet"], fleet["image"], {"Environment": "approve"}, 2)
    server = http.server.HTTPServer(("127.0.0.1", 0), _HealthEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    health = {"url": f"http://127.0.0.1:{server.server_port}/health?instance={{instance_id}}",
              "expect_status": 200, "timeout": "2s", "retries": 1}
    req = request("approve", approval_required=True, backup_ami=False, health_check=health)
    rid = req["patch_request"]["request_id"]
    world["send"](req)

    def progress():
        return [x["reason"] for x in results.by_event.get(rid, []) if x["status"] == "IN_PROGRESS"]

    deadline = time.time() + 60
    while time.time() < deadline and not any("waiting for an approval" in p for p in progress()):
        time.sleep(0.2)
    assert any("waiting for an approval" in p for p in progress()), progress()
    signal = {"request_id": rid, "account": ACCOUNT, "region": REGION}
    world["send"]({"approval": {**signal, "approver": "alice"}})

    def refused():
        with results.lock:
            return [r for rs in results.by_event.values() for r in rs
                    if r["status"] == "REJECTED" and "alice requested this change" in r["reason"]]

    deadline = time.time() + 30
    while time.time() < deadline and not refused():
        time.sleep(0.2)
    # The approval's own result is REJECTED naming the rule; the workflow keeps waiting.
    [own] = refused()
    assert "approvals must come from someone else" in own["reason"], own
    assert "still waits" in own["reason"], own
    time.sleep(2)
    assert not results.finals(rid), results.finals(rid)
    assert not _mutations(worker_calls(moto), ids), "patched on the requester's own approval"
    world["send"]({"approval": {**signal, "approver": "bob"}})
    r = results.wait_final(rid, timeout=120)
    server.shutdown()
    assert r["status"] == "SUCCEEDED", json.dumps(r, indent=1)
    sent = [i for a, i in _mutations(worker_calls(moto), ids) if a == "SendCommand"]
    assert sorted(sent) == sorted(ids), sent
    # The HTTP health check ran for each instance before (its baseline) and after the patch, its
    # id in the URL; the baseline is in the eligibility report and the final result.
    assert sorted(_HealthEndpoint.seen) == sorted(ids * 2), _HealthEndpoint.seen
    for iid in ids:
        assert "baseline: health check HTTP 200" in _final_actions(r)[iid]["detail"], r


def test_outside_its_window_a_request_waits_and_a_cancel_ends_it(world, fleet):
    moto, results = world["moto"], world["results"]
    ids = _run(moto.client("ec2"), fleet["subnet"], fleet["image"], {"Environment": "window"})
    # In Tokyo's time (UTC+9 all year): the window opens three hours from now there.
    hour = (time.gmtime().tm_hour + 9) % 24
    window = {"start": f"{(hour + 3) % 24:02d}:00", "end": f"{(hour + 4) % 24:02d}:00",
              "time_zone": "Asia/Tokyo"}
    req = request("window", maintenance_window=window, backup_ami=False)
    rid = req["patch_request"]["request_id"]
    world["send"](req)
    deadline = time.time() + 60

    def waiting():
        return any("outside the maintenance window" in x["reason"]
                   for x in results.by_event.get(rid, []) if x["status"] == "IN_PROGRESS")

    while time.time() < deadline and not waiting():
        time.sleep(0.2)
    assert waiting(), results.by_event.get(rid)
    [note] = [x["reason"] for x in results.by_event[rid] if "outside the maintenance" in x["reason"]]
    waits = int(note.split(" waits ", 1)[1].split("s ", 1)[0])
    assert 2 * 3600 - 60 < waits <= 3 * 3600, note  # the next whole hour, plus two, in Tokyo
    assert f"T{window['start']}:00+09:00" in note, note
    assert not _mutations(worker_calls(moto), ids)
    world["send"]({"cancel": {"request_id": rid, "account": ACCOUNT, "region": REGION,
                              "reason": "window moved"}})
    r = results.wait_final(rid, timeout=60)
    assert r["status"] == "CANCELLED" and r["reason"] == "window moved", r
    assert not _mutations(worker_calls(moto), ids)


def test_a_cancel_registers_the_drained_instances_again(world, fleet):
    moto, results = world["moto"], world["results"]
    ec2, elb = moto.client("ec2"), moto.client("elbv2")
    # Commands here run a minute: the cancel comes while an instance is out of its group.
    ids = sorted(_run(ec2, fleet["subnet"], fleet["image"],
                      {"Environment": "cancel", "fk-test:ssm-command-seconds": "60"}, 2))
    arn = elb.create_target_group(Name="web-cancel", Protocol="HTTP", Port=80,
                                  VpcId=fleet["subnet"]["VpcId"],
                                  TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": i, "Port": 80} for i in ids])
    time.sleep(1.5)  # healthy after the registration delay: the baseline reads it
    req = request("cancel", backup_ami=False, max_concurrency="2")
    rid = req["patch_request"]["request_id"]
    world["send"](req)
    _wait_for_a_command(moto, ids, 60)
    drained = [i for a, i in _mutations(worker_calls(moto), ids) if a == "DeregisterTargets"]
    assert drained, _mutations(worker_calls(moto), ids)
    world["send"]({"cancel": {"request_id": rid, "account": ACCOUNT, "region": REGION,
                              "reason": "change window moved"}})
    r = results.wait_final(rid, timeout=60)
    assert r["status"] == "CANCELLED" and r["reason"] == "change window moved", r
    seq = _mutations(worker_calls(moto), ids)
    for iid in drained:
        order = [a for a, i in seq if i == iid]
        assert order[-1] == "RegisterTargets", (iid, order)
        detail = _final_actions(r)[iid]["detail"]
        assert "registered in its target groups again" in detail, detail
    health = elb.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    assert sorted(h["Target"]["Id"] for h in health) == ids, health


def test_refusals_and_dry_run_touch_nothing(world, fleet):
    moto, results = world["moto"], world["results"]
    moto.record_from_here()
    other = request("prod")
    other["patch_request"]["account"] = "999999999999"
    too_many = request([{"landing_zone": "prod"}, {"landing_zone": "approve"}])
    dry = request("prod", dry_run=True, max_concurrency="25%")
    world["send"](other, too_many, dry)
    r = results.wait_final(other["patch_request"]["request_id"], timeout=60)
    assert r["status"] == "REJECTED" and "allowed_accounts" in r["reason"], r
    r = results.wait_final(too_many["patch_request"]["request_id"], timeout=60)
    assert r["status"] == "REJECTED", r
    assert "26 targets exceed commands.max_targets (24)" in r["reason"], r["reason"]
    r = results.wait_final(dry["patch_request"]["request_id"], timeout=60)
    assert r["status"] == "DRY_RUN", json.dumps(r, indent=1)
    plans = _final_actions(r)
    first = plans[fleet["zone"][0]]
    assert first["status"] == "dry-run" and "batch 1/4: would back it up" in first["detail"], first
    assert "drain it from" in first["detail"], first
    mutating = [a for a, _ in worker_calls(moto) if a in MUTATING]
    assert mutating == [], mutating


def test_kill_9_mid_campaign_sends_no_command_twice(world, fleet):
    moto, results, worker = world["moto"], world["results"], world["worker"]
    ids = sorted(_run(moto.client("ec2"), fleet["subnet"], fleet["image"],
                      {"Environment": "crash"}, 8))
    req = request("crash", max_concurrency="50%", max_errors="0")
    rid = req["patch_request"]["request_id"]
    world["send"](req)
    _wait_for_a_command(moto, ids, 120)
    assert any(a == "SendCommand" for a, _ in _mutations(worker_calls(moto), ids)), worker.tail()
    assert worker.kill() == -9
    worker.start()
    r = results.wait_final(rid, timeout=300)
    assert r["status"] == "SUCCEEDED", json.dumps(r, indent=1)
    sent = [i for a, i in _mutations(worker_calls(moto), ids) if a == "SendCommand"]
    assert sorted(sent) == ids, sent
    images = [i for a, i in _mutations(worker_calls(moto), ids) if a == "CreateImage"]
    assert sorted(images) == ids, images


def test_every_aws_action_the_worker_sent_is_declared(world, fleet):
    assert_worker_actions_declared(world["moto"], world["worker"])
