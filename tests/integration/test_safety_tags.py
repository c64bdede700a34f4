"""Guard alarms and blackout windows by a tag on the groups that ECS and self-healing workflows
change (docs/safety.md, "Guards by a tag on the group", "Blackout windows"), end to end on moto
(scripts/moto_launcher.py, recorder on) through the real Kafka broker.

- An ECS command (fleetkeeper's native EcsCommand, proto/fleetkeeper/v1/event.proto, as in
  test_ecs.py) scales a service whose tag `fleetkeeper:guard-alarms` names an alarm that is in
  ALARM (set through moto; the worker reads it with DescribeAlarms every second): the command is
  paused, naming the alarm and the tag, and calls no UpdateService until the alarm is OK; then it
  finishes.
- A self-healing scale_out of an Auto Scaling group tagged `Environment=prod`, started by the
  group's CPU alarm inside a blackout window by that tag (a few seconds long): no
  SetDesiredCapacity until the window closes, then the group is scaled out. The group's
  `fleetkeeper:guard-alarms` tag names that same alarm, in ALARM all along: it does not hold the
  action it started.

The "CloudWatch Alarm State Change" event follows
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html."""

import json
import os
import sys
import time
import uuid

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Moto, assert_worker_actions_declared, start_worker,  # noqa: E402
                     stop_world, wait_for, worker_mutating_calls)
from aws_events import MOTO_ACCOUNT, alarm_state_change  # noqa: E402
from test_safety_guards import progress, window_closing_in  # noqa: E402

pytestmark = pytest.mark.e2e

REGION = "us-east-1"
GUARD_TAG = "fleetkeeper:guard-alarms"
SERVICE_ALARM = "tagged-api-5xx"
ASG = "tagged-heal-asg"
CPU_ALARM = f"{ASG}-HighCPU"


def mutating_calls(moto):
    return [action for action, _ in worker_mutating_calls(moto)]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("safety-tags")
    moto = Moto(tmp, env={"FK_MOTO_STATE_DELAY": "0.3"})
    ecs, ec2, cw = moto.client("ecs"), moto.client("ec2"), moto.client("cloudwatch")
    ecs.register_task_definition(family="app", containerDefinitions=[
        {"name": "app", "image": "nginx", "memory": 128}])
    ecs.create_cluster(clusterName="tagged")
    ecs.create_service(cluster="tagged", serviceName="api", taskDefinition="app", desiredCount=1,
                       launchType="EC2",
                       tags=[{"key": GUARD_TAG, "value": f"unrelated-alarm, {SERVICE_ALARM}"}])
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    template = ec2.create_launch_template(
        LaunchTemplateName="tagged-heal-lt",
        LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro"})["LaunchTemplate"][
        "LaunchTemplateId"]
    moto.client("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName=ASG, MinSize=1, MaxSize=3, DesiredCapacity=1,
        VPCZoneIdentifier=subnet, LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
        Tags=[{"Key": "Environment", "Value": "prod", "PropagateAtLaunch": False},
              {"Key": GUARD_TAG, "Value": CPU_ALARM, "PropagateAtLaunch": False}])
    for name, namespace, metric in ((SERVICE_ALARM, "AWS/ApplicationELB",
                                     "HTTPCode_Target_5XX_Count"),
                                    (CPU_ALARM, "AWS/EC2", "CPUUtilization")):
        cw.put_metric_alarm(AlarmName=name, Namespace=namespace, MetricName=metric,
                            Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=5.0,
                            ComparisonOperator="GreaterThanThreshold")
    state = {"moto": moto, "tmp": tmp, "env": moto.worker_env(tmp, REGION), "workers": [],
             "readers": []}
    yield state
    stop_world(state)


def running(moto, cluster, name):
    svc = moto.client("ecs").describe_services(cluster=cluster, services=[name])["services"][0]
    return svc["desiredCount"], svc["runningCount"]


def test_a_guard_alarm_named_by_a_services_tag_pauses_an_ecs_command_until_ok(world):
    moto = world["moto"]
    cw = moto.client("cloudwatch")
    cw.set_alarm_state(AlarmName=SERVICE_ALARM, StateValue="ALARM", StateReason="5xx above 5")
    worker, results, send = start_worker(world, "ecs-tag-guard", f"""
commands: {{allowed_accounts: ["{MOTO_ACCOUNT}"]}}
handlers:
  ecs: {{verify_timeout: 60s, poll_interval: 1s}}
safety:
  guards:
    - {{tag: "{GUARD_TAG}"}}
  guard_poll_interval: 1s
""")
    moto.record_from_here()
    rid = f"ecs-scale-{uuid.uuid4().hex[:8]}"
    send({"ecs_command": {"request_id": rid, "requested_by": "safety-e2e",
                          "account": MOTO_ACCOUNT, "region": REGION, "action": "scale",
                          "cluster": "tagged", "services": ["api"], "desired_count": 2,
                          "reason": "end to end test"}})
    paused = wait_for("the pause", lambda: progress(results, rid, f"paused by alarm {SERVICE_ALARM}"),
                      60, worker)
    assert (f"guarding ecs:tagged/api, named by its tag {GUARD_TAG}"
            in paused[0]["reason"]), paused[0]
    time.sleep(4)
    assert mutating_calls(moto) == [], "a mutating call while the tagged alarm was in ALARM"
    assert not results.finals(rid), results.finals(rid)
    assert running(moto, "tagged", "api")[0] == 1

    cw.set_alarm_state(AlarmName=SERVICE_ALARM, StateValue="OK", StateReason="recovered")
    final = results.wait_final(rid, timeout=120)
    assert final["status"] == "SUCCEEDED", json.dumps(final, indent=1)
    assert "ecs:UpdateService" in mutating_calls(moto)
    assert running(moto, "tagged", "api") == (2, 2)
    assert "cloudwatch:DescribeAlarms" in moto.worker_actions_sent()
    assert_worker_actions_declared(moto, worker)
    worker.stop()


def test_a_blackout_window_by_the_groups_tag_holds_a_self_healing_scale_out(world):
    moto = world["moto"]
    moto.client("cloudwatch").set_alarm_state(AlarmName=CPU_ALARM, StateValue="ALARM",
                                              StateReason="cpu above 90")
    cron, duration, ends = window_closing_in(12)
    worker, results, send = start_worker(world, "heal-tag-window", f"""
handlers:
  self_healing:
    rules:
      - name: high-cpu
        match: {{alarm_name: "*HighCPU*", dimensions: {{AutoScalingGroupName: "*"}}}}
        action: {{type: scale_out, by: 1}}
        verify_timeout: 60s
safety:
  guards:
    - {{tag: "{GUARD_TAG}"}}
  guard_poll_interval: 1s
  blackout:
    - {{name: prod-freeze, cron: "{cron}", duration: {duration}s, tags: {{Environment: prod}}}}
""")
    assert time.time() < ends - 4, "the worker took too long to start for this window"
    moto.record_from_here()
    alarm = alarm_state_change(CPU_ALARM, {"AutoScalingGroupName": ASG})
    send(alarm)
    held = wait_for("the blackout hold",
                    lambda: progress(results, alarm["id"], "blackout window prod-freeze until"),
                    max(1, ends - time.time()), worker)
    assert f"for asg:{ASG} tagged Environment=prod" in held[0]["reason"], held[0]
    while time.time() < ends - 0.3:
        assert mutating_calls(moto) == [], "a mutating call inside the blackout window"
        time.sleep(0.2)
    final = results.wait_final(alarm["id"], timeout=120)
    assert final["status"] == "SUCCEEDED", json.dumps(final, indent=1)
    # Its own alarm, named by the group's guard tag and in ALARM throughout, did not hold it.
    assert not progress(results, alarm["id"], "paused by alarm"), results.by_event[alarm["id"]]
    group = moto.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[ASG])["AutoScalingGroups"][0]
    assert group["DesiredCapacity"] == 2
    assert "autoscaling:SetDesiredCapacity" in mutating_calls(moto)
    assert_worker_actions_declared(moto, worker)
    worker.stop()
