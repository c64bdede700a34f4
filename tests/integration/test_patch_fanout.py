"""A patch request over two regions end to end: the native PatchRequest on the real Kafka broker,
one parent workflow that fans out one child workflow per cell (each a work item on fleet.work under
its cell's key, produced in the transaction of the parent's checkpoint), the children patching
their instances on moto (which serves every region; scripts/moto_launcher.py, recording on), and
the parent's final result listing every instance of both. Then a cancel of the parent reaching the
children, and a kill -9 of the worker while it fans out, after which no child exists twice and no
instance gets a second command (the recorder).

Request shapes: fleetkeeper's own native PatchRequest and Cancel (proto/fleetkeeper/v1/event.proto,
the protobuf JSON mapping; a target's `region` names its cell). The AWS side follows
https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html."""

import json
import os
import sys
import uuid

import boto3
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Lane, launch_running, moto_world, rollout_images_and_subnet, wait_for  # noqa: E402
from recorded_calls import patch_mutations, worker_calls  # noqa: E402

pytestmark = pytest.mark.e2e

ACCOUNT = "123456789012"  # moto's account
HOME, WEST = "us-east-1", "us-west-2"

# Short polls and timeouts for moto's delays; no target groups here, so no drain budget.
CONFIG = (f'commands: {{allowed_accounts: ["{ACCOUNT}"], max_targets: 50}}\n'
          "handlers: {patch: {defaults: {poll_interval: 1s, command_timeout: 120s, "
          "status_ok_timeout: 60s, backup_timeout: 60s}}}\n")

MUTATING = ("CreateImage", "SendCommand", "DeregisterTargets", "RegisterTargets",
            "StartInstances", "CreateTags", "CreateReplaceRootVolumeTask")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with moto_world(tmp_path_factory.mktemp("patch-fanout"), region=HOME,
                    moto_env={"FK_MOTO_STATE_DELAY": "0.5"}, start_recording=True) as w:
        lane = Lane(w, "fanout")
        w["lane"] = lane
        w["worker"] = lane.start_worker(CONFIG)
        yield w


def _ec2(moto, region):
    return boto3.client("ec2", endpoint_url=moto.endpoint, region_name=region,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _zone(moto, zone, n, extra_tags=()):
    """`n` running instances tagged Environment=`zone` in each of the two regions: {region: ids}."""
    out = {}
    for region in (HOME, WEST):
        ec2 = _ec2(moto, region)
        image, _, subnet = rollout_images_and_subnet(ec2, region)
        tags = [{"Key": "Environment", "Value": zone}] + [{"Key": k, "Value": v}
                                                          for k, v in extra_tags]
        out[region] = sorted(launch_running(ec2, image, subnet, n, tags))
    return out


def _request(zone, **fields):
    """The request lives in us-east-1; its targets name the landing zone there and in us-west-2."""
    body = {"request_id": f"chg-{uuid.uuid4().hex[:8]}", "requested_by": "alice",
            "account": ACCOUNT, "region": HOME,
            "targets": [{"landing_zone": zone}, {"landing_zone": zone, "region": WEST}], **fields}
    return {"patch_request": body}


def _child_results(results, parent_id):
    with results.lock:
        return {eid: list(rs) for eid, rs in results.by_event.items()
                if eid.startswith(f"fan-out:request:{parent_id}:")}


def _patched(result):
    return {a["resource"].split(":", 1)[1]: a for a in result["actions"]
            if a["action"] == "patch" and a["resource"].startswith("instance:")}


def test_two_regions_fan_out_to_two_children_and_one_result_lists_every_instance(world):
    moto, lane = world["moto"], world["lane"]
    ids = _zone(moto, "fan", 2)
    everyone = ids[HOME] + ids[WEST]
    topic = boto3.client("sns", endpoint_url=moto.endpoint, region_name=HOME,
                         aws_access_key_id="testing", aws_secret_access_key="testing").create_topic(
        Name="fan-patching")["TopicArn"]
    req = _request("fan", backup_ami=True, max_concurrency="1", notify_topic_arn=topic)
    rid = req["patch_request"]["request_id"]
    lane.send(req)
    r = lane.results.wait_final(rid, timeout=240)
    assert r["status"] == "SUCCEEDED", json.dumps(r, indent=1)
    parent = r["workflow_id"]
    assert parent.startswith(f"{ACCOUNT}/{HOME}/patch-"), parent
    assert "SUCCEEDED over 2 cell(s)" in r["reason"], r["reason"]
    # One result, every instance of both regions, each patched, its detail naming its cell.
    finals = _patched(r)
    assert sorted(finals) == sorted(everyone), json.dumps(r, indent=1)
    for region, members in ids.items():
        for iid in members:
            assert finals[iid]["status"] == "patched", finals[iid]
            assert finals[iid]["detail"].startswith(f"{ACCOUNT}/{region}: "), finals[iid]
    # Two children, one per cell, each a workflow of its own cell that ended SUCCEEDED.
    children = _child_results(lane.results, parent)
    assert sorted(children) == sorted(f"fan-out:request:{parent}:{ACCOUNT}/{reg}"
                                      for reg in (HOME, WEST)), sorted(children)
    for eid, rs in children.items():
        cell = eid.rsplit(":", 1)[1]
        ends = [x for x in rs if x["status"] != "IN_PROGRESS"]
        assert [x["status"] for x in ends] == ["SUCCEEDED"], rs
        assert ends[0]["workflow_id"].startswith(cell + "/patch-"), ends[0]
    # One SNS summary for the request, from the parent, listing every instance with its cell
    # (the children send none); each child puts its cell's metrics.
    calls = worker_calls(moto)
    summaries = [p for a, p in calls if a == "Publish" and p.get("TopicArn") == topic]
    assert len(summaries) == 1, summaries
    assert summaries[0]["Subject"] == "fleetkeeper patch SUCCEEDED", summaries[0]
    for region, members in ids.items():
        for iid in members:
            assert f"{iid} patched: {ACCOUNT}/{region}: " in summaries[0]["Message"], summaries[0]
    assert sum(1 for a, p in calls if a == "PutMetricData"
               and rid in json.dumps(p)) == 2, [p for a, p in calls if a == "PutMetricData"]
    # Each instance backed up and patched once, in its own region.
    seq = patch_mutations(calls, everyone, MUTATING)
    for iid in everyone:
        order = [a for a, i in seq if i == iid]
        assert order.count("SendCommand") == 1 and order.count("CreateImage") == 1, (iid, order)
    for region, members in ids.items():
        images = _ec2(moto, region).describe_images(Owners=["self"], Filters=[
            {"Name": "tag:fleetkeeper:patch-request", "Values": [rid]}])["Images"]
        assert len(images) == len(members), (region, images)


def test_a_cancel_of_the_parent_reaches_the_children(world):
    moto, lane = world["moto"], world["lane"]
    # Commands run a minute: the cancel comes while both children are patching.
    ids = _zone(moto, "fan-cancel", 2, [("fk-test:ssm-command-seconds", "60")])
    everyone = ids[HOME] + ids[WEST]
    req = _request("fan-cancel", backup_ami=False, max_concurrency="1")
    rid = req["patch_request"]["request_id"]
    lane.send(req)

    def commands_in_both():
        sent = {i for a, i in patch_mutations(worker_calls(moto), everyone, MUTATING)
                if a == "SendCommand"}
        return all(sent & set(members) for members in ids.values())

    wait_for("a command in each region", commands_in_both, 120, world["worker"])
    lane.send({"cancel": {"request_id": rid, "account": ACCOUNT, "region": HOME,
                          "reason": "change window moved"}})
    r = lane.results.wait_final(rid, timeout=120)
    assert r["status"] == "CANCELLED", json.dumps(r, indent=1)
    assert r["reason"].startswith("change window moved"), r["reason"]
    children = _child_results(lane.results, r["workflow_id"])
    assert len(children) == 2, sorted(children)
    for eid, rs in children.items():
        [end] = [x for x in rs if x["status"] != "IN_PROGRESS"]
        assert end["status"] == "CANCELLED", end
        assert "change window moved (parent workflow " in end["reason"], end
    finals = _patched(r)
    assert sorted(finals) == sorted(everyone), json.dumps(r, indent=1)
    for members in ids.values():
        assert finals[members[0]]["status"] == "cancelled", finals[members[0]]
        assert finals[members[1]]["status"] == "not-started", finals[members[1]]
    # No batch started after the cancel.
    sent = [i for a, i in patch_mutations(worker_calls(moto), everyone, MUTATING)
            if a == "SendCommand"]
    assert sorted(sent) == sorted([ids[HOME][0], ids[WEST][0]]), sent


def test_kill_9_mid_fan_out_makes_no_child_twice(world):
    moto, lane, worker = world["moto"], world["lane"], world["worker"]
    ids = _zone(moto, "fan-crash", 3)
    everyone = ids[HOME] + ids[WEST]
    req = _request("fan-crash", backup_ami=True, max_concurrency="50%")
    rid = req["patch_request"]["request_id"]
    lane.send(req)

    def fanned_out():
        with lane.results.lock:
            return any("fanned out to 2 cell(s)" in x["reason"]
                       for x in lane.results.by_event.get(rid, []))

    wait_for("the fan-out", fanned_out, 60, worker)
    assert worker.kill() == -9
    worker.start()
    r = lane.results.wait_final(rid, timeout=300)
    assert r["status"] == "SUCCEEDED", json.dumps(r, indent=1)
    assert sorted(_patched(r)) == sorted(everyone), json.dumps(r, indent=1)
    children = _child_results(lane.results, r["workflow_id"])
    assert len(children) == 2, sorted(children)
    # Each child admitted once: one "started" result each, two workflows.
    started = [x["workflow_id"] for rs in children.values() for x in rs
               if x["status"] == "IN_PROGRESS" and x["reason"].endswith(" started")]
    assert len(started) == 2 and len(set(started)) == 2, started
    for rs in children.values():
        assert [x["status"] for x in rs if x["status"] != "IN_PROGRESS"] == ["SUCCEEDED"], rs
    seq = patch_mutations(worker_calls(moto), everyone, MUTATING)
    for iid in everyone:
        order = [a for a, i in seq if i == iid]
        assert order.count("SendCommand") == 1 and order.count("CreateImage") == 1, (iid, order)
