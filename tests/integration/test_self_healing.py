"""Self-healing end to end: alarms on the real Kafka broker, the worker acting on moto (started here
with scripts/moto_launcher.py, recording on), outcomes asserted through boto3, moto's recorder and
the result events (read with read_committed).

Event shapes: the EventBridge "CloudWatch Alarm State Change" event of
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html and
the SNS HTTP notification of https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html
carrying a CloudWatch alarm notification as in
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html
(placeholder signature: the worker normalizes, the ingest endpoint verifies)."""

import json
import os
import sys
import time
import uuid

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (assert_worker_actions_declared, http_get, listener_port, metric,  # noqa: E402
                     moto_world, start_worker)
from aws_events import alarm_state_change, state_time_at  # noqa: E402

pytestmark = pytest.mark.e2e

REGION = "us-east-1"
ACCOUNT = "123456789012"        # moto's account: the cell of the scenario events
STORM_ACCOUNT = "444455556666"  # another cell, so that the storm has its own breaker
COOLDOWN_S = 5
BREAKER_MAX = 8
STORM_EVENTS = 1000
STORM_ALARMS = 20


# --- events -----------------------------------------------------------------------------------

def now_state_time():
    return state_time_at(time.time())


def alarm_sns(name, dimensions, state_time):
    message = {
        "AlarmName": name, "AlarmDescription": "CPU above 80%", "AWSAccountId": ACCOUNT,
        "NewStateValue": "ALARM", "NewStateReason": "Threshold Crossed", "OldStateValue": "OK",
        "StateChangeTime": state_time, "Region": "US East (N. Virginia)",
        "AlarmArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}",
        "Trigger": {"MetricName": "CPUUtilization", "Namespace": "AWS/EC2",
                    "StatisticType": "Statistic", "Statistic": "AVERAGE", "Period": 60,
                    "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold",
                    "Threshold": 80.0,
                    "Dimensions": [{"name": k, "value": v} for k, v in dimensions.items()]},
    }
    return {
        "Type": "Notification", "MessageId": str(uuid.uuid4()),
        "TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:fleet-alarms",
        "Subject": f'ALARM: "{name}" in US East (N. Virginia)', "Message": json.dumps(message),
        "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "SignatureVersion": "1", "Signature": "EXAMPLE",
        "SigningCertURL": f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-x.pem",
        "UnsubscribeURL": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe",
    }


def event_id(event):
    return event.get("id") or event["MessageId"]


# --- fixtures ---------------------------------------------------------------------------------

CONFIG = f"""
handlers:
  self_healing:
    rules:
      - name: high-cpu
        match: {{alarm_name: "*HighCPU*", metric_name: CPUUtilization,
                dimensions: {{AutoScalingGroupName: "*"}}}}
        action: {{type: scale_out, by: 1}}
        cooldown: {COOLDOWN_S}s
        verify_timeout: 30s
      - name: status-check
        match: {{alarm_name: "*StatusCheckFailed*"}}
        action: {{type: replace_instance}}
        verify_timeout: 30s
      - name: api-errors
        match: {{alarm_name: "*5xx*", dimensions: {{ServiceName: "*"}}}}
        action: {{type: ecs_force_deploy}}
        verify_timeout: 30s
      - name: deploy-errors
        match: {{alarm_name: "*DeployErrors*"}}
        action: {{type: stop_deployment}}
        verify_timeout: 30s
      - name: storm
        match: {{alarm_name: "storm-*"}}
        action: {{type: reboot_instance}}
        cooldown: 60s
        verify_timeout: 30s
    circuit_breaker: {{max_actions: {BREAKER_MAX}, within: 600s}}
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    # ECS services report their desired tasks running (moto has no scheduler).
    with moto_world(tmp_path_factory.mktemp("heal"), REGION,
                    moto_env={"MOTO_ECS_SERVICE_RUNNING": "2"}, start_recording=True) as world:
        worker, results, send = start_worker(world, "heal", CONFIG, poll=0.1)
        world.update(worker=worker, results=results, send=send)
        yield world


@pytest.fixture(scope="module")
def fleet(world):
    moto = world["moto"]
    ec2, asg, ecs = moto.client("ec2"), moto.client("autoscaling"), moto.client("ecs")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.create_launch_template(LaunchTemplateName="web-lt",
                               LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro"})
    asg.create_auto_scaling_group(AutoScalingGroupName="web-asg", MinSize=1, MaxSize=4,
                                  DesiredCapacity=2, AvailabilityZones=[f"{REGION}a"],
                                  LaunchTemplate={"LaunchTemplateName": "web-lt"})
    standalone = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                                   InstanceType="t3.micro")["Instances"][0]["InstanceId"]
    storm = [i["InstanceId"] for i in ec2.run_instances(
        ImageId=image, MinCount=STORM_ALARMS, MaxCount=STORM_ALARMS,
        InstanceType="t3.micro")["Instances"]]
    ecs.create_cluster(clusterName="prod")
    ecs.register_task_definition(family="api", containerDefinitions=[
        {"name": "api", "image": "nginx", "memory": 128}])
    ecs.create_service(cluster="prod", serviceName="api", taskDefinition="api", desiredCount=2)
    return {"standalone": standalone, "storm": storm}


def desired(moto):
    g = moto.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["web-asg"])["AutoScalingGroups"][0]
    return g["DesiredCapacity"]


def in_service(moto):
    g = moto.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["web-asg"])["AutoScalingGroups"][0]
    return [i["InstanceId"] for i in g["Instances"] if i["LifecycleState"] == "InService"]


# --- scenarios (in order: they share the group) ------------------------------------------------

def test_scale_out_cooldown_redelivery_and_max_size(world, fleet):
    moto, results, send = world["moto"], world["results"], world["send"]
    cpu = {"AutoScalingGroupName": "web-asg"}
    t0 = time.time()
    first = alarm_state_change("web-HighCPU", cpu, state_time=state_time_at(t0))
    send(first)
    r = results.wait_final(event_id(first))
    assert r["status"] == "SUCCEEDED", r
    assert desired(moto) == 3
    assert any(a["action"] == "verify" and a["status"] == "ok" for a in r["actions"]), r
    assert len(in_service(moto)) == 3

    # 20 more ALARM events for the same group within the cooldown: each REJECTED, still 3.
    # Each a state change after the first (an older one would be SKIPPED as stale).
    more = [alarm_state_change("web-HighCPU", cpu, state_time=state_time_at(t0 + 0.001 * (i + 1)))
            for i in range(20)]
    send(*more)
    for e in more:
        r = results.wait_final(event_id(e), timeout=30)
        assert r["status"] == "REJECTED" and r["reason"].startswith("cooldown"), r
    assert time.time() - t0 < COOLDOWN_S + 30
    assert desired(moto) == 3

    # The same record again (a producer retry, a replay): no second outcome, no second action.
    send(first)
    time.sleep(3)
    assert len(results.finals(event_id(first))) == 1
    assert desired(moto) == 3

    # After the cooldown, an ALARM in SNS form: 4.
    time.sleep(max(0.0, t0 + COOLDOWN_S + 1 - time.time()))
    # Its StateChangeTime is now, as CloudWatch would write it: an older one would be SKIPPED as
    # stale (docs/workflows.md).
    sns = alarm_sns("web-HighCPU", cpu, now_state_time())
    send(sns)
    r = results.wait_final(event_id(sns))
    assert r["status"] == "SUCCEEDED", r
    assert desired(moto) == 4
    # Another after the next cooldown: still 4, the group's MaxSize.
    time.sleep(COOLDOWN_S + 1)
    sns2 = alarm_sns("web-HighCPU", cpu, now_state_time())
    send(sns2)
    r = results.wait_final(event_id(sns2))
    assert r["status"] == "SUCCEEDED" and "MaxSize 4" in r["reason"], r
    assert desired(moto) == 4
    # Every SetDesiredCapacity call the worker made, by value: exactly one to 3 and one to 4.
    values = sorted(b.split("DesiredCapacity=")[1].split("&")[0]
                    for b in moto.calls("SetDesiredCapacity"))
    assert values == ["3", "4"], values


def test_a_state_change_older_than_the_last_applied_is_skipped_as_stale(world, fleet):
    # web-HighCPU's last applied change is the scale-out above, a few seconds old: one from an
    # hour ago, delivered late, changes nothing (DESIGN.md; docs/workflows.md, "Stale events").
    moto, results, send = world["moto"], world["results"], world["send"]
    before = desired(moto)
    late = alarm_state_change("web-HighCPU", {"AutoScalingGroupName": "web-asg"},
                             state_time=state_time_at(time.time() - 3600))
    send(late)
    r = results.wait_final(event_id(late))
    assert r["status"] == "SKIPPED" and r["reason"].startswith("stale:"), r
    assert "alarm:arn:aws:cloudwatch:" in r["reason"] and "web-HighCPU" in r["reason"], r
    assert desired(moto) == before


def test_status_check_on_group_instance_is_replaced(world, fleet):
    moto, results, send = world["moto"], world["results"], world["send"]
    before = in_service(moto)
    sick = before[0]
    e = alarm_state_change("web-StatusCheckFailed", {"InstanceId": sick}, metric="StatusCheckFailed")
    send(e)
    r = results.wait_final(event_id(e))
    assert r["status"] == "SUCCEEDED", r
    after = in_service(moto)
    assert sick not in after
    assert len(after) == desired(moto) == 4
    state = moto.client("ec2").describe_instances(InstanceIds=[sick])[
        "Reservations"][0]["Instances"][0]["State"]["Name"]
    assert state in ("shutting-down", "terminated")
    assert any(a["action"] == "verify" and a["status"] == "ok" for a in r["actions"]), r


def test_status_check_on_standalone_instance_reboots_it(world, fleet):
    moto, results, send = world["moto"], world["results"], world["send"]
    sid = fleet["standalone"]
    e = alarm_state_change("solo-StatusCheckFailed", {"InstanceId": sid},
                          metric="StatusCheckFailed")
    send(e)
    r = results.wait_final(event_id(e))
    assert r["status"] == "SUCCEEDED", r
    assert any(sid in b for b in moto.calls("RebootInstances"))
    assert not any(sid in b for b in moto.calls("TerminateInstances"))


def test_ecs_alarm_forces_a_new_deployment(world, fleet):
    moto, results, send = world["moto"], world["results"], world["send"]
    ecs = moto.client("ecs")
    before = ecs.describe_services(cluster="prod", services=["api"])["services"][0][
        "deployments"][0]["id"]
    e = alarm_state_change("api-5xx", {"ClusterName": "prod", "ServiceName": "api"},
                          metric="HTTPCode_Target_5XX_Count")
    send(e)
    r = results.wait_final(event_id(e))
    assert r["status"] == "SUCCEEDED", r
    after = ecs.describe_services(cluster="prod", services=["api"])["services"][0]["deployments"]
    assert after[0]["status"] == "PRIMARY" and after[0]["id"] != before


def test_codedeploy_alarm_stops_the_deployment_of_the_group_that_lists_it(world, fleet):
    # A CodeDeploy alarm names no deployment: the worker finds the group whose alarm
    # configuration lists it (https://docs.aws.amazon.com/codedeploy/latest/userguide/
    # monitoring-create-alarms.html) and stops its active deployment with automatic rollback.
    moto, results, send = world["moto"], world["results"], world["send"]
    codedeploy = moto.client("codedeploy")
    codedeploy.create_application(applicationName="shop", computePlatform="Server")
    for group, alarms in (("prod", [{"name": "shop-DeployErrors"}]), ("canary", [])):
        codedeploy.create_deployment_group(
            applicationName="shop", deploymentGroupName=group,
            alarmConfiguration={"enabled": False, "alarms": alarms},
            serviceRoleArn=f"arn:aws:iam::{ACCOUNT}:role/codedeploy")
    revision = {"revisionType": "S3",
                "s3Location": {"bucket": "releases", "key": "shop.zip", "bundleType": "zip"}}
    prod, canary = (codedeploy.create_deployment(
        applicationName="shop", deploymentGroupName=g, revision=revision)["deploymentId"]
        for g in ("prod", "canary"))
    e = alarm_state_change("shop-DeployErrors", {}, metric="HTTPCode_Target_5XX_Count")
    send(e)
    r = results.wait_final(event_id(e))
    assert r["status"] == "SUCCEEDED", r
    info = codedeploy.get_deployment(deploymentId=prod)["deploymentInfo"]
    assert info["status"] == "Stopped"
    assert info["rollbackInfo"]["rollbackDeploymentId"] in r["reason"], r
    assert codedeploy.get_deployment(deploymentId=canary)["deploymentInfo"]["status"] == "Created"
    stops = [json.loads(b) for b in moto.calls("StopDeployment")]
    assert stops == [{"deploymentId": prod, "autoRollbackEnabled": True}], stops


def test_ok_is_skipped(world, fleet):
    results, send = world["results"], world["send"]
    e = alarm_state_change("web-HighCPU", {"AutoScalingGroupName": "web-asg"}, state="OK")
    send(e)
    r = results.wait_final(event_id(e))
    assert r["status"] == "SKIPPED" and "web-HighCPU" in r["reason"], r


def test_alarm_storm_is_bounded_by_the_breaker(world, fleet):
    moto, results, send = world["moto"], world["results"], world["send"]
    storm = fleet["storm"]
    reboots_before = len(moto.calls("RebootInstances"))
    events = []
    for i in range(STORM_EVENTS):
        k = i % STORM_ALARMS
        events.append(alarm_state_change(
            f"storm-{k}", {"InstanceId": storm[k]}, account=STORM_ACCOUNT,
            state_time=f"2024-05-02T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000+0000"))
    t0 = time.time()
    send(*events)
    # While the storm is processed, the worker still answers other cells.
    probe = alarm_state_change("web-HighCPU", {"AutoScalingGroupName": "web-asg"}, state="OK")
    send(probe)
    assert results.wait_final(event_id(probe), timeout=60)["status"] == "SKIPPED"

    finals = {}
    deadline = time.time() + 120
    while time.time() < deadline and len(finals) < STORM_EVENTS:
        for e in events:
            if event_id(e) not in finals and results.finals(event_id(e)):
                finals[event_id(e)] = results.finals(event_id(e))
        time.sleep(0.5)
    print(f"storm of {STORM_EVENTS}: all final results in {time.time() - t0:.1f}s")
    assert len(finals) == STORM_EVENTS, f"{STORM_EVENTS - len(finals)} events without a result"
    assert all(len(v) == 1 for v in finals.values()), "an event with several final results"
    statuses = [v[0]["status"] for v in finals.values()]
    acted = statuses.count("SUCCEEDED")
    assert acted == BREAKER_MAX, (acted, {s: statuses.count(s) for s in set(statuses)})
    reasons = [v[0]["reason"] for v in finals.values() if v[0]["status"] == "REJECTED"]
    assert len(reasons) == STORM_EVENTS - acted
    assert any(x.startswith("circuit breaker open") for x in reasons)
    assert all(x.startswith(("circuit breaker open", "cooldown")) for x in reasons), reasons[:3]
    reboots = moto.calls("RebootInstances")[reboots_before:]
    assert len(reboots) == BREAKER_MAX
    assert world["worker"].alive()
    # /metrics shows the storm cell's breaker open until its window ends, the other cell's closed.
    status, text = http_get(listener_port(world["worker"]), "/metrics")
    assert status == 200
    storm_cell, cell = f"{STORM_ACCOUNT}/{REGION}", f"{ACCOUNT}/{REGION}"
    assert metric(text, "fleetkeeper_circuit_breaker_open", cell=storm_cell) == 1, text
    assert metric(text, "fleetkeeper_circuit_breaker_actions", cell=storm_cell) == BREAKER_MAX
    closes = metric(text, "fleetkeeper_circuit_breaker_closes_at_seconds", cell=storm_cell)
    assert t0 + 500 < closes <= time.time() + 600, (t0, closes)
    assert metric(text, "fleetkeeper_circuit_breaker_open", cell=cell) == 0, text


def test_every_aws_action_the_worker_sent_is_declared(world, fleet):
    """Last: what the rules above sent is what `fleetkeeper permissions` (and doctor) declare."""
    assert_worker_actions_declared(world["moto"], world["worker"])
