"""Rollback on a guard alarm end to end (docs/safety.md, "Rollback on a guard alarm"): an AMI
rollout of three standalone instances on moto (scripts/moto_launcher.py, recorder on, short state
delays), driven through the real Kafka broker, with `on_guard_alarm_per_handler: {ami_rollout:
rollback}`.

The first instance is replaced; the two others wait for the blast-radius budget of their target
group, which a stopped target holds at max_unavailable 1. The guard alarm on the first instance's
target group is then set to ALARM through moto (the worker learns it with DescribeAlarms, the
fallback read): the replaced instance goes back to the old AMI (relaunched again from it, its data
volume carried over), the two others are never touched, and the result says rolled back, naming
the alarm.

A patch campaign, with `on_guard_alarm_per_handler: {patch: rollback}`, over three instances of
one target group, one instance per batch: the guard alarm on the group is set to ALARM while the
second instance's patch command runs; the first (patched) and the second (once its command has
ended) are restored from their AMI backups (root volume replaced by the backup's, out of the group
and back in), the third is never touched, and the result says rolled back, naming the alarm.

The "Parameter Store Change" event (test_ami_rollout.py) follows
https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-systems-manager-event-examples.html;
the patch request is fleetkeeper's native PatchRequest (proto/fleetkeeper/v1/event.proto, the
protobuf JSON mapping), as in test_patch.py."""

import json
import os
import sys
import time
import uuid

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Moto, assert_worker_actions_declared, launch_running,  # noqa: E402
                     rollout_images_and_subnet, start_worker, stop_world, wait_for,
                     worker_mutating_calls)
from recorded_calls import patch_mutations, worker_calls  # noqa: E402
from aws_events import MOTO_ACCOUNT, parameter_store_change  # noqa: E402
from test_safety_guards import worker_show  # noqa: E402

pytestmark = pytest.mark.e2e

REGION = "us-east-1"
PARAM = "/ami/rollback/web"
ALARM = "rb-web-5xx"

CONFIG = """
handlers:
  ami_rollout:
    replacement: {strategy: relaunch, max_concurrency: 1, max_unavailable: 1, step_timeout: 300s}
    poll_interval: 1s
safety:
  guards:
    - {alarm_name: "rb-*-5xx", scope: target_group}
  on_guard_alarm_per_handler: {ami_rollout: rollback}
  guard_poll_interval: 1s
"""

PATCH_ALARM = "rb-patch-5xx"
PATCH_CONFIG = f"""
commands: {{allowed_accounts: ["{MOTO_ACCOUNT}"]}}
handlers:
  patch:
    defaults: {{poll_interval: 1s, max_unavailable: "2", command_timeout: 120s,
               status_ok_timeout: 60s, drain_timeout: 60s, backup_timeout: 60s}}
safety:
  guards:
    - {{alarm_name: "rb-*-5xx", scope: target_group}}
  on_guard_alarm_per_handler: {{patch: rollback}}
  guard_poll_interval: 1s
"""
# The calls of a patch campaign that change an instance or its membership.
PATCH_MUTATING = ("CreateImage", "SendCommand", "DeregisterTargets", "RegisterTargets",
                  "CreateReplaceRootVolumeTask", "StartInstances")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("guard-rollback")
    moto = Moto(tmp, env={"FK_MOTO_STATE_DELAY": "0.3", "FK_MOTO_TIME_SCALE": "0.05"})
    ec2, ssm, elb = moto.client("ec2"), moto.client("ssm"), moto.client("elbv2")
    old, new, subnet = rollout_images_and_subnet(ec2, REGION)

    def group(name):
        return elb.create_target_group(Name=name, Protocol="HTTP", Port=80,
                                       VpcId=subnet["VpcId"],
                                       TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]

    ssm.put_parameter(Name=PARAM, Value=old, Type="String")
    bound = [{"Key": "fleetkeeper:ami-parameter", "Value": PARAM}]
    first, *held = launch_running(ec2, old, subnet, 3, bound)
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8)["VolumeId"]
    ec2.get_waiter("volume_available").wait(VolumeIds=[volume],
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    ec2.attach_volume(VolumeId=volume, InstanceId=first, Device="/dev/sdf")
    ec2.get_waiter("volume_in_use").wait(VolumeIds=[volume],
                                         WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    web, busy = group("rb-web"), group("rb-busy")
    elb.register_targets(TargetGroupArn=web, Targets=[{"Id": first, "Port": 80}])
    # A stopped target (not bound to the parameter) keeps the second group at its budget; it is
    # registered while running (ELB refuses a stopped one), then stopped.
    [stopped] = launch_running(ec2, old, subnet, 1, [{"Key": "Name", "Value": "stopped"}])
    elb.register_targets(TargetGroupArn=busy,
                         Targets=[{"Id": i, "Port": 80} for i in held + [stopped]])
    ec2.stop_instances(InstanceIds=[stopped])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[stopped],
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    env = moto.worker_env(tmp, REGION)
    state = {"moto": moto, "tmp": tmp, "env": env, "old": old, "new": new, "web": web,
             "first": first, "held": held, "volume": volume, "workers": [], "readers": []}
    yield state
    stop_world(state)


def replacement_of(ec2, instance_id):
    res = ec2.describe_instances(Filters=[
        {"Name": "tag:fleetkeeper:replaces", "Values": [instance_id]}])["Reservations"]
    found = [i for r in res for i in r["Instances"]]
    return found[0] if found else None


def test_a_guard_alarm_rolls_the_replaced_instance_back_and_leaves_the_others(world):
    moto = world["moto"]
    ec2, cw = moto.client("ec2"), moto.client("cloudwatch")
    first, held = world["first"], world["held"]
    cw.put_metric_alarm(AlarmName=ALARM, Namespace="AWS/ApplicationELB",
                        MetricName="HTTPCode_Target_5XX_Count", Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=5.0,
                        ComparisonOperator="GreaterThanThreshold",
                        Dimensions=[{"Name": "TargetGroup",
                                     "Value": world["web"].split(":")[-1]}])
    cw.set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="quiet")

    worker, results, send = start_worker(world, "rollback", CONFIG)
    moto.record_from_here()
    moto.client("ssm").put_parameter(Name=PARAM, Value=world["new"], Type="String",
                                     Overwrite=True)
    change = parameter_store_change(PARAM)
    send(change)

    # The first instance is replaced: its replacement runs the new AMI, the old one is gone.
    def replaced():
        fresh = replacement_of(ec2, first)
        old = ec2.describe_instances(InstanceIds=[first])["Reservations"][0]["Instances"][0]
        return fresh if fresh and old["State"]["Name"] in ("shutting-down", "terminated") else None

    fresh = wait_for("the first instance to be replaced", replaced, 180, worker)
    assert fresh["ImageId"] == world["new"]
    cw.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="5xx above 5")

    final = results.wait_final(change["id"], timeout=300)
    assert final["status"] == "FAILED", json.dumps(final, indent=1)
    assert f"rolled back on guard alarm {ALARM}" in final["reason"], final["reason"]
    shown = worker_show(worker, final["workflow_id"])
    [line] = [x for x in shown.splitlines() if x.startswith("guard_rollback:")]
    assert f"rolled back on guard alarm {ALARM}" in line, shown
    outcomes = {a["resource"]: a for a in final["actions"] if a["action"] == "relaunch"}
    assert outcomes[f"instance:{first}"]["status"] == "rolled-back", json.dumps(final, indent=1)
    assert ALARM in outcomes[f"instance:{first}"]["detail"]
    for i in held:
        assert outcomes[f"instance:{i}"]["status"] == "skipped", outcomes[f"instance:{i}"]
        assert ALARM in outcomes[f"instance:{i}"]["detail"]

    # Back on the old AMI: the replacement was relaunched from it, with the data volume.
    back = replacement_of(ec2, fresh["InstanceId"])
    assert back is not None, worker.tail()
    assert back["ImageId"] == world["old"], back
    assert back["State"]["Name"] == "running", back
    assert back["InstanceId"] in outcomes[f"instance:{first}"]["detail"]
    [vol] = ec2.describe_volumes(VolumeIds=[world["volume"]])["Volumes"]
    assert [(a["InstanceId"], a["Device"]) for a in vol["Attachments"]] == \
        [(back["InstanceId"], "/dev/sdf")], vol
    gone = ec2.describe_instances(InstanceIds=[fresh["InstanceId"]])["Reservations"][0]
    assert gone["Instances"][0]["State"]["Name"] in ("shutting-down", "terminated")

    # The others were never touched: no mutating call of the worker names them.
    calls = worker_mutating_calls(moto)
    assert calls, "no mutating call recorded"
    for i in held:
        touching = [action for action, body in calls if i in body]
        assert not touching, f"{i} was touched: {touching}"
        state = ec2.describe_instances(InstanceIds=[i])["Reservations"][0]["Instances"][0]
        assert state["State"]["Name"] == "running" and state["ImageId"] == world["old"], state
    assert_worker_actions_declared(moto, worker)
    worker.stop()


def test_a_guard_alarm_restores_the_patched_instances_from_their_backups(world):
    moto = world["moto"]
    ec2, elb, cw = moto.client("ec2"), moto.client("elbv2"), moto.client("cloudwatch")
    subnet = ec2.describe_subnets(Filters=[{"Name": "availability-zone",
                                            "Values": [f"{REGION}a"]}])["Subnets"][0]
    zone = "rb-patch"
    ids = sorted(launch_running(ec2, world["old"], subnet, 3, [
        {"Key": "Environment", "Value": zone}, {"Key": "fk-test:patch-scanned-missing",
                                                "Value": "2"}]))
    first, second, third = ids  # one batch each, in this order (sorted ids)
    # The second instance's command runs long enough for the alarm to come while it runs.
    ec2.create_tags(Resources=[second], Tags=[{"Key": "fk-test:ssm-command-seconds",
                                               "Value": "8"}])
    tg = elb.create_target_group(Name="rb-patch-web", Protocol="HTTP", Port=80,
                                 VpcId=subnet["VpcId"],
                                 TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": i, "Port": 80} for i in ids])

    def healthy():
        health = elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
        return sorted(h["Target"]["Id"] for h in health
                      if h["TargetHealth"]["State"] in ("healthy", "unused"))

    # Healthy after the registration delay: the baseline reads it.
    deadline = time.time() + 30
    while healthy() != ids and time.time() < deadline:
        time.sleep(0.2)
    cw.put_metric_alarm(AlarmName=PATCH_ALARM, Namespace="AWS/ApplicationELB",
                        MetricName="HTTPCode_Target_5XX_Count", Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=5.0,
                        ComparisonOperator="GreaterThanThreshold",
                        Dimensions=[{"Name": "TargetGroup", "Value": tg.split(":")[-1]}])
    cw.set_alarm_state(AlarmName=PATCH_ALARM, StateValue="OK", StateReason="quiet")

    worker, results, send = start_worker(world, "patch-rollback", PATCH_CONFIG)
    moto.record_from_here()
    rid = f"chg-{uuid.uuid4().hex[:8]}"
    send({"patch_request": {"request_id": rid, "requested_by": "alice", "account": MOTO_ACCOUNT,
                            "region": REGION, "targets": [{"landing_zone": zone}],
                            "max_concurrency": "1", "max_errors": "0", "backup_ami": True,
                            "operation": "Install", "reboot_option": "NoReboot"}})

    def mutations():
        return patch_mutations(worker_calls(moto), ids, PATCH_MUTATING)

    # Mid-campaign: the first instance is patched and back in service, the second's command runs.
    wait_for("the second instance's command",
             lambda: ("SendCommand", second) in mutations(), 120, worker)
    before = mutations()
    assert ("RegisterTargets", first) in before, before
    cw.set_alarm_state(AlarmName=PATCH_ALARM, StateValue="ALARM", StateReason="5xx above 5")

    final = results.wait_final(rid, timeout=180)
    assert final["status"] == "FAILED", json.dumps(final, indent=1)
    # docs/safety.md, "The result": the reason starts with the alarm.
    assert final["reason"].startswith(f"rolled back on guard alarm {PATCH_ALARM}"), final["reason"]
    assert f"guarding tg:{tg}" in final["reason"], final["reason"]
    shown = worker_show(worker, final["workflow_id"])
    [line] = [x for x in shown.splitlines() if x.startswith("guard_rollback:")]
    assert f"rolled back on guard alarm {PATCH_ALARM}" in line, shown
    assert any(f"rolling back on guard alarm {PATCH_ALARM}" in r["reason"]
               for r in results.by_event[rid] if r["status"] == "IN_PROGRESS"), \
        results.by_event[rid]
    outcomes = {a["resource"].split(":", 1)[1]: a for a in final["actions"]
                if a["action"] == "patch" and a["resource"].startswith("instance:")}

    # The two instances the campaign changed: restored from their own backup, out of the group
    # for the replacement of their root volume and back in after it.
    after = mutations()
    tasks = {t["InstanceId"]: t for t in
             ec2.describe_replace_root_volume_tasks()["ReplaceRootVolumeTasks"]
             if t["InstanceId"] in ids}
    assert sorted(tasks) == [first, second], tasks
    for i in (first, second):
        assert outcomes[i]["status"] == "rolled-back", json.dumps(final, indent=1)
        assert PATCH_ALARM in outcomes[i]["detail"], outcomes[i]
        [backup] = ec2.describe_images(Owners=["self"], Filters=[
            {"Name": "tag:fleetkeeper:backup-of", "Values": [i]},
            {"Name": "tag:fleetkeeper:patch-request", "Values": [rid]}])["Images"]
        assert f"restored from backup {backup['ImageId']}" in outcomes[i]["detail"], outcomes[i]
        assert tasks[i]["ImageId"] == backup["ImageId"] and tasks[i]["TaskState"] == "succeeded", \
            tasks[i]
        [now] = ec2.describe_instances(InstanceIds=[i])["Reservations"][0]["Instances"]
        assert now["ImageId"] == backup["ImageId"], now
        order = [a for a, x in after if x == i]
        task = order.index("CreateReplaceRootVolumeTask")
        assert order.index("SendCommand") < task, (i, order)
        membership = [a for a in order[:task] if a in ("DeregisterTargets", "RegisterTargets")]
        assert membership[-1] == "DeregisterTargets", (i, order)
        assert "RegisterTargets" in order[task:], (i, order)

    # Nothing new after the alarm: no backup and no command; the third never touched.
    new = after[len(before):]
    assert not [c for c in new if c[0] in ("CreateImage", "SendCommand")], new
    assert not [c for c in after if c[1] == third], after
    assert outcomes[third]["status"] == "not-started", outcomes[third]
    assert PATCH_ALARM in outcomes[third]["detail"], outcomes[third]
    [untouched] = ec2.describe_instances(InstanceIds=[third])["Reservations"][0]["Instances"]
    assert untouched["ImageId"] == world["old"], untouched
    # Everyone back in service.
    deadline = time.time() + 30
    while healthy() != ids and time.time() < deadline:
        time.sleep(0.2)
    assert healthy() == ids, elb.describe_target_health(TargetGroupArn=tg)
    assert_worker_actions_declared(moto, worker)
    worker.stop()


ASG = "rb-asg"
ASG_PARAM = "/ami/rollback/asg"
ASG_ALARM = "rb-asg-cpu"


def test_a_guard_alarm_rolls_the_groups_instance_refresh_back(world):
    """An AMI rollout of an Auto Scaling group (two instances, launch template version 1): its
    instance refresh replaces one instance per batch (MinHealthyPercentage 50, 300 s warm-up:
    15 s at moto's time scale). The guard alarm on the group is set to ALARM once the refresh
    runs: the rollout asks Auto Scaling to roll the refresh back (RollbackInstanceRefresh, served
    by scripts/motofill/autoscaling.py after
    https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_RollbackInstanceRefresh.html),
    the refresh ends RollbackSuccessful with every instance of the group on the old AMI and the
    group's launch template version unchanged, and the result says rolled back, naming the
    alarm."""
    moto = world["moto"]
    ec2, cw, asg = moto.client("ec2"), moto.client("cloudwatch"), moto.client("autoscaling")
    subnet = ec2.describe_subnets(Filters=[{"Name": "availability-zone",
                                            "Values": [f"{REGION}a"]}])["Subnets"][0]
    moto.client("ssm").put_parameter(Name=ASG_PARAM, Value=world["old"], Type="String")
    template = ec2.create_launch_template(
        LaunchTemplateName="rb-asg-lt",
        LaunchTemplateData={"ImageId": world["old"], "InstanceType": "t3.micro"})[
        "LaunchTemplate"]["LaunchTemplateId"]
    asg.create_auto_scaling_group(
        AutoScalingGroupName=ASG, MinSize=2, MaxSize=3, DesiredCapacity=2,
        VPCZoneIdentifier=subnet["SubnetId"],
        LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
        Tags=[{"Key": "fleetkeeper:ami-parameter", "Value": ASG_PARAM,
               "PropagateAtLaunch": False}])
    cw.put_metric_alarm(AlarmName=ASG_ALARM, Namespace="AWS/EC2", MetricName="CPUUtilization",
                        Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=90.0,
                        ComparisonOperator="GreaterThanThreshold",
                        Dimensions=[{"Name": "AutoScalingGroupName", "Value": ASG}])
    cw.set_alarm_state(AlarmName=ASG_ALARM, StateValue="OK", StateReason="quiet")

    worker, results, send = start_worker(world, "asg-rollback", f"""
handlers:
  ami_rollout:
    poll_interval: 1s
    asg_configurations:
      {ASG}: {{MinHealthyPercentage: 50, InstanceWarmup: 300}}
safety:
  guards:
    - {{alarm_name: "{ASG_ALARM}", scope: asg}}
  on_guard_alarm_per_handler: {{ami_rollout: rollback}}
  guard_poll_interval: 1s
""")
    moto.record_from_here()
    moto.client("ssm").put_parameter(Name=ASG_PARAM, Value=world["new"], Type="String",
                                     Overwrite=True)
    change = parameter_store_change(ASG_PARAM)
    send(change)

    def refresh():
        found = asg.describe_instance_refreshes(AutoScalingGroupName=ASG)["InstanceRefreshes"]
        return found[0] if found and found[0]["Status"] == "InProgress" else None

    started = wait_for("the instance refresh", refresh, 120, worker)
    cw.set_alarm_state(AlarmName=ASG_ALARM, StateValue="ALARM", StateReason="cpu above 90")

    final = results.wait_final(change["id"], timeout=240)
    assert final["status"] == "FAILED", json.dumps(final, indent=1)
    assert f"rolled back on guard alarm {ASG_ALARM}" in final["reason"], final["reason"]
    [rolled] = [a for a in final["actions"] if a["resource"] == f"asg:{ASG}"
                and a["status"] == "rolled-back"]
    assert "rolled back by Auto Scaling" in rolled["detail"], rolled
    assert len(moto.calls("RollbackInstanceRefresh")) == 1
    assert moto.calls("CancelInstanceRefresh") == []

    [ended] = [r for r in asg.describe_instance_refreshes(
        AutoScalingGroupName=ASG)["InstanceRefreshes"]
        if r["InstanceRefreshId"] == started["InstanceRefreshId"]]
    assert ended["Status"] == "RollbackSuccessful", ended
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[ASG])["AutoScalingGroups"][0]
    assert group["LaunchTemplate"]["Version"] == "1", group["LaunchTemplate"]
    ids = [i["InstanceId"] for i in group["Instances"]]
    assert len(ids) == 2, group["Instances"]
    images = {i["ImageId"] for r in ec2.describe_instances(InstanceIds=ids)["Reservations"]
              for i in r["Instances"]}
    assert images == {world["old"]}, images
    assert_worker_actions_declared(moto, worker)
    worker.stop()
