"""Alarm guards and blackout windows end to end (docs/safety.md): an AMI rollout of standalone
instances behind a target group on moto (scripts/moto_launcher.py, recorder on, short state
delays), driven through the real Kafka broker.

- A guard alarm on the target group, set to ALARM through moto mid-rollout (the worker learns it
  with DescribeAlarms, the fallback read), pauses the rollout: no new mutating call until the alarm
  is OK again (set through moto, and announced by the "CloudWatch Alarm State Change" event of
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html);
  then the rollout finishes.
- A blackout window a few seconds long delays the rollout's first mutating call until it closes;
  so does one that names a tag (`Environment: prod`) the rollout's target group carries (read with
  ELBv2 DescribeTags).
- A guard named by a tag on the group: an Auto Scaling group tagged
  `fleetkeeper:guard-alarms` with its own alarm, rolled out together with two standalone
  instances; the alarm set to ALARM mid-rollout (while the group's instance refresh runs) holds
  every further mutating call of the workflow until it is OK.
- The same tag on a target group a patch campaign drains from: the alarm it names, set to ALARM
  while the campaign's first command runs, pauses the campaign until it is OK; the patch request
  is fleetkeeper's native PatchRequest (proto/fleetkeeper/v1/event.proto, the protobuf JSON
  mapping), as in test_patch.py.

The "Parameter Store Change" event (test_ami_rollout.py) follows
https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-systems-manager-event-examples.html."""

import json
import os
import subprocess
import sys
import time
import uuid

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Moto, assert_worker_actions_declared, declared_actions,  # noqa: E402
                     fleetkeeper_bin, launch_running, rollout_images_and_subnet, start_worker,
                     stop_world, wait_for, worker_mutating_calls)
from aws_events import MOTO_ACCOUNT, alarm_state_change, parameter_store_change  # noqa: E402

pytestmark = pytest.mark.e2e

REGION = "us-east-1"
GUARDED_PARAM = "/ami/guards/web"
BLACKOUT_PARAM = "/ami/guards/batch"
TAG_BLACKOUT_PARAM = "/ami/guards/prod"
TAGGED_PARAM = "/ami/guards/tagged"
TAGGED_ASG = "tagged-guard-asg"
TAG_ALARM = "tagged-guard-cpu"
ALARM = "guarded-web-5xx"
PATCH_TAG_ALARM = "tagged-patch-latency"

ROLLOUT = """
handlers:
  ami_rollout:
    replacement: {strategy: relaunch, max_concurrency: 1, max_unavailable: 1, step_timeout: 120s}
    asg_configurations:
      tagged-guard-asg: {MinHealthyPercentage: 50, InstanceWarmup: 300}
"""


def mutating_calls(moto):
    """The worker's recorded calls that change something, in order."""
    return [action for action, _ in worker_mutating_calls(moto)]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("guards")
    moto = Moto(tmp, env={"FK_MOTO_STATE_DELAY": "0.3", "FK_MOTO_TIME_SCALE": "0.05"})
    ec2, ssm, elb = moto.client("ec2"), moto.client("ssm"), moto.client("elbv2")
    old, new, subnet = rollout_images_and_subnet(ec2, REGION)
    tg = elb.create_target_group(Name="guarded", Protocol="HTTP", Port=80, VpcId=subnet["VpcId"],
                                 TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]

    def instances(param, n):
        ssm.put_parameter(Name=param, Value=old, Type="String")
        return launch_running(ec2, old, subnet, n,
                              [{"Key": "fleetkeeper:ami-parameter", "Value": param}])

    guarded = instances(GUARDED_PARAM, 2)
    # The tag-guarded group and two standalone instances, all bound to TAGGED_PARAM (the
    # instances by their tag, set by instances(); the group by its tag).
    tagged = instances(TAGGED_PARAM, 2)
    template = ec2.create_launch_template(
        LaunchTemplateName="tagged-guard-lt",
        LaunchTemplateData={"ImageId": old, "InstanceType": "t3.micro"})["LaunchTemplate"][
        "LaunchTemplateId"]
    moto.client("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName=TAGGED_ASG, MinSize=2, MaxSize=3, DesiredCapacity=2,
        VPCZoneIdentifier=subnet["SubnetId"],
        LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
        Tags=[{"Key": "fleetkeeper:ami-parameter", "Value": TAGGED_PARAM,
               "PropagateAtLaunch": False},
              {"Key": "fleetkeeper:guard-alarms", "Value": f"unrelated-alarm, {TAG_ALARM[:-3]}*",
               "PropagateAtLaunch": False}])
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": i, "Port": 80} for i in guarded])
    batch = instances(BLACKOUT_PARAM, 1)
    # One instance behind a target group tagged Environment=prod, for the window by tag.
    prod = instances(TAG_BLACKOUT_PARAM, 1)
    prod_tg = elb.create_target_group(Name="prod-web", Protocol="HTTP", Port=80,
                                      VpcId=subnet["VpcId"], TargetType="instance",
                                      Tags=[{"Key": "Environment", "Value": "prod"}])[
        "TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=prod_tg, Targets=[{"Id": prod[0], "Port": 80}])
    env = moto.worker_env(tmp, REGION)
    state = {"moto": moto, "tmp": tmp, "env": env, "old": old, "new": new, "tg": tg,
             "guarded": guarded, "batch": batch, "tagged": tagged, "prod_tg": prod_tg,
             "workers": [],
             "readers": []}
    yield state
    stop_world(state)


def start(world, name, safety):
    return start_worker(world, name, ROLLOUT + safety)


def start_rollout(world, name, param, guard):
    """A worker with the one guard (polled every second), and the rollout of `param` to the new
    image started with the recorder reset."""
    worker, results, send = start(world, name, f"""
safety:
  guards:
    - {guard}
  guard_poll_interval: 1s
""")
    world["moto"].record_from_here()
    world["moto"].client("ssm").put_parameter(Name=param, Value=world["new"], Type="String",
                                              Overwrite=True)
    change = parameter_store_change(param)
    send(change)
    return worker, results, send, change


def progress(results, event_id, text):
    with results.lock:
        return [r for r in results.by_event.get(event_id, [])
                if r["status"] == "IN_PROGRESS" and text in r["reason"]]


def test_a_guard_alarm_pauses_the_rollout_until_it_is_ok(world):
    moto = world["moto"]
    cw = moto.client("cloudwatch")
    dimensions = {"TargetGroup": world["tg"].split(":")[-1], "LoadBalancer": "app/web/0123"}
    cw.put_metric_alarm(AlarmName=ALARM, Namespace="AWS/ApplicationELB",
                        MetricName="HTTPCode_Target_5XX_Count", Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=5.0,
                        ComparisonOperator="GreaterThanThreshold",
                        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()])
    cw.set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="quiet")
    worker, results, send, change = start_rollout(world, "guards", GUARDED_PARAM,
                                                  '{alarm_name: "*-5xx", scope: target_group}')

    # Mid-rollout: the first instance is being replaced.
    wait_for("the first mutating call", lambda: mutating_calls(moto), 120, worker)
    cw.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="5xx above 5")
    paused = wait_for("the pause",
                      lambda: progress(results, change["id"], f"paused by alarm {ALARM}"), 60,
                      worker)
    assert "guarding tg:" + world["tg"] in paused[0]["reason"], paused[0]
    # A step already running finishes; after that nothing on the group changes.
    time.sleep(3)
    during = mutating_calls(moto)
    time.sleep(5)
    assert mutating_calls(moto) == during, "a mutating call while the guard alarm was in ALARM"
    assert not results.finals(change["id"]), results.finals(change["id"])
    shown = worker_show(worker, paused[0]["workflow_id"])
    assert f"paused by alarm {ALARM}" in shown, shown

    cw.set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="recovered")
    send(alarm_state_change(ALARM, dimensions, state="OK", metric="HTTPCode_Target_5XX_Count"))
    final = results.wait_final(change["id"], timeout=240)
    assert final["status"] == "SUCCEEDED", json.dumps(final, indent=1)
    assert len(mutating_calls(moto)) > len(during)
    ec2 = moto.client("ec2")
    for old_id in world["guarded"]:
        res = ec2.describe_instances(Filters=[
            {"Name": "tag:fleetkeeper:replaces", "Values": [old_id]}])["Reservations"]
        [fresh] = [i for r in res for i in r["Instances"]]
        assert fresh["ImageId"] == world["new"]
    assert "cloudwatch:DescribeAlarms" in moto.worker_actions_sent()
    assert_worker_actions_declared(moto, worker)
    worker.stop()


def worker_show(worker, workflow_id):
    """`fleetkeeper workflows show ID` with the worker's config."""
    r = subprocess.run([fleetkeeper_bin(), "workflows", "show", workflow_id, "--config",
                        str(worker.config)], capture_output=True, text=True, timeout=60,
                       env=worker.env)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def window_closing_in(seconds):
    """A daily window that opened at the start of this minute and closes `seconds` from now (a
    duration over a minute is fine): no waiting for the next minute. (cron, duration, ends)."""
    now = time.time()
    opened = now - now % 60
    duration = int(now + seconds - opened) + 1
    minute = time.gmtime(opened)
    return f"{minute.tm_min} {minute.tm_hour} * * *", duration, opened + duration


def rollout_held_by_window(world, name, param, window, ends):
    """Starts a worker with the one blackout `window` and rolls `param` out: no mutating call
    until the window ends, then the rollout succeeds. Returns the hold's progress result."""
    moto = world["moto"]
    worker, results, send = start(world, name, f"""
safety:
  blackout:
    - {window}
""")
    assert time.time() < ends - 3, "the worker took too long to start for this window"
    moto.record_from_here()
    moto.client("ssm").put_parameter(Name=param, Value=world["new"], Type="String",
                                     Overwrite=True)
    change = parameter_store_change(param)
    send(change)
    held = wait_for("the blackout hold",
                    lambda: progress(results, change["id"], f"blackout window {name} until"),
                    max(1, ends - time.time()), worker)
    until = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ends))
    assert until in held[0]["reason"], held[0]
    while time.time() < ends - 0.3:
        assert mutating_calls(moto) == [], "a mutating call inside the blackout window"
        time.sleep(0.2)
    final = results.wait_final(change["id"], timeout=180)
    assert final["status"] == "SUCCEEDED", json.dumps(final, indent=1)
    assert mutating_calls(moto), "the rollout changed nothing after the window"
    worker.stop()
    return held[0], worker


def test_a_blackout_window_delays_the_first_mutating_call_until_it_ends(world):
    cron, duration, ends = window_closing_in(10)
    rollout_held_by_window(world, "release-freeze", BLACKOUT_PARAM,
                           f'{{name: release-freeze, cron: "{cron}", duration: {duration}s, '
                           f'time_zone: UTC}}', ends)


def test_a_blackout_window_by_tag_holds_the_rollout_of_a_tagged_target_group(world):
    """The window names no resource, only a tag; the rollout's target group carries it."""
    cron, duration, ends = window_closing_in(10)
    held, worker = rollout_held_by_window(world, "prod-freeze", TAG_BLACKOUT_PARAM,
                                  f'{{name: prod-freeze, cron: "{cron}", duration: {duration}s, '
                                  f'tags: {{Environment: prod}}}}', ends)
    assert f"for tg:{world['prod_tg']} tagged Environment=prod" in held["reason"], held
    # The group's tags were read once, with an action the config's safety section declares.
    assert len(world["moto"].calls("DescribeTags")) == 1, world["moto"].calls("DescribeTags")
    declared = declared_actions(worker.config, worker.env)
    assert "elasticloadbalancing:DescribeTags" in declared.get("safety", []), declared


def test_a_guard_alarm_named_by_the_groups_tag_holds_its_rollout_until_ok(world):
    """The group's own tag names the alarm (no alarm_name in the config): mid-rollout, while the
    group's instance refresh runs (batches of one, 300 s warm-up each, 15 s at moto's time
    scale; ROLLOUT's asg_configurations), the
    alarm set to ALARM holds every further mutating call until it is OK; then the rollout
    finishes."""
    moto = world["moto"]
    cw = moto.client("cloudwatch")
    cw.put_metric_alarm(AlarmName=TAG_ALARM, Namespace="AWS/EC2", MetricName="CPUUtilization",
                        Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=90.0,
                        ComparisonOperator="GreaterThanThreshold")
    cw.set_alarm_state(AlarmName=TAG_ALARM, StateValue="OK", StateReason="quiet")
    worker, results, _, change = start_rollout(world, "tagged", TAGGED_PARAM,
                                               '{tag: "fleetkeeper:guard-alarms"}')

    wait_for("the instance refresh", lambda: "autoscaling:StartInstanceRefresh" in
             mutating_calls(moto), 120, worker)
    cw.set_alarm_state(AlarmName=TAG_ALARM, StateValue="ALARM", StateReason="cpu above 90")
    paused = wait_for("the pause",
                      lambda: progress(results, change["id"], f"paused by alarm {TAG_ALARM}"), 60,
                      worker)
    assert (f"guarding asg:{TAGGED_ASG}, named by its tag fleetkeeper:guard-alarms"
            in paused[0]["reason"]), paused[0]
    time.sleep(3)
    during = mutating_calls(moto)
    time.sleep(5)
    assert mutating_calls(moto) == during, "a mutating call while the tagged alarm was in ALARM"
    assert not results.finals(change["id"]), results.finals(change["id"])

    cw.set_alarm_state(AlarmName=TAG_ALARM, StateValue="OK", StateReason="recovered")
    final = results.wait_final(change["id"], timeout=240)
    assert final["status"] == "SUCCEEDED", json.dumps(final, indent=1)
    assert len(mutating_calls(moto)) > len(during)
    assert "cloudwatch:DescribeAlarms" in moto.worker_actions_sent()
    assert_worker_actions_declared(moto, worker)
    worker.stop()


def test_a_guard_alarm_named_by_a_target_groups_tag_pauses_a_patch_campaign(world):
    """A patch campaign (one instance per batch, no backup) over two instances of a target group
    whose tag names the alarm: set to ALARM while the first instance's command runs (it runs 5 s),
    the alarm holds every further mutating call of the campaign until it is OK."""
    moto = world["moto"]
    ec2, elb, cw = moto.client("ec2"), moto.client("elbv2"), moto.client("cloudwatch")
    subnet = ec2.describe_subnets(Filters=[{"Name": "availability-zone",
                                            "Values": [f"{REGION}a"]}])["Subnets"][0]
    first, second = sorted(launch_running(ec2, world["old"], subnet, 2,
                                          [{"Key": "Environment", "Value": "tagged-patch"}]))
    ec2.create_tags(Resources=[first], Tags=[{"Key": "fk-test:ssm-command-seconds",
                                              "Value": "5"}])
    tg = elb.create_target_group(Name="tagged-patch", Protocol="HTTP", Port=80,
                                 VpcId=subnet["VpcId"],
                                 TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    elb.add_tags(ResourceArns=[tg], Tags=[{"Key": "fleetkeeper:guard-alarms",
                                           "Value": f"{PATCH_TAG_ALARM}, unrelated-*"}])
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": i, "Port": 80}
                                                     for i in (first, second)])
    deadline = time.time() + 30  # healthy after the registration delay: the baseline reads it
    while time.time() < deadline and not all(
            h["TargetHealth"]["State"] == "healthy" for h in
            elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]):
        time.sleep(0.2)
    cw.put_metric_alarm(AlarmName=PATCH_TAG_ALARM, Namespace="AWS/ApplicationELB",
                        MetricName="TargetResponseTime", Statistic="Average", Period=60,
                        EvaluationPeriods=1, Threshold=1.0,
                        ComparisonOperator="GreaterThanThreshold")
    cw.set_alarm_state(AlarmName=PATCH_TAG_ALARM, StateValue="OK", StateReason="quiet")
    worker, results, send = start_worker(world, "tagged-patch", f"""
commands: {{allowed_accounts: ["{MOTO_ACCOUNT}"]}}
handlers:
  patch:
    defaults: {{poll_interval: 1s, command_timeout: 120s, status_ok_timeout: 60s,
               drain_timeout: 60s}}
safety:
  guards:
    - {{tag: "fleetkeeper:guard-alarms"}}
  guard_poll_interval: 1s
""")
    moto.record_from_here()
    rid = f"chg-{uuid.uuid4().hex[:8]}"
    send({"patch_request": {"request_id": rid, "requested_by": "alice", "account": MOTO_ACCOUNT,
                            "region": REGION, "targets": [{"landing_zone": "tagged-patch"}],
                            "max_concurrency": "1", "backup_ami": False, "operation": "Install",
                            "reboot_option": "NoReboot"}})

    wait_for("the first command", lambda: "ssm:SendCommand" in mutating_calls(moto), 60, worker)
    cw.set_alarm_state(AlarmName=PATCH_TAG_ALARM, StateValue="ALARM", StateReason="slow")
    paused = wait_for("the pause",
                      lambda: progress(results, rid, f"paused by alarm {PATCH_TAG_ALARM}"), 30,
                      worker)
    assert (f"guarding tg:{tg}, named by its tag fleetkeeper:guard-alarms"
            in paused[0]["reason"]), paused[0]
    time.sleep(1)
    during = mutating_calls(moto)
    time.sleep(4)  # the first command has ended meanwhile: its instance waits to go back in
    assert mutating_calls(moto) == during, "a mutating call while the tagged alarm was in ALARM"
    assert "ssm:SendCommand" not in during[during.index("ssm:SendCommand") + 1:], during
    assert not results.finals(rid), results.finals(rid)

    cw.set_alarm_state(AlarmName=PATCH_TAG_ALARM, StateValue="OK", StateReason="recovered")
    final = results.wait_final(rid, timeout=120)
    assert final["status"] == "SUCCEEDED", json.dumps(final, indent=1)
    assert mutating_calls(moto).count("ssm:SendCommand") == 2
    assert "elasticloadbalancing:DescribeTags" in moto.worker_actions_sent()
    assert_worker_actions_declared(moto, worker)
    worker.stop()
