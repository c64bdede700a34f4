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

The "Parameter Store Change" event (test_ami_rollout.py) follows
https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-systems-manager-event-examples.html."""

import json
import os
import sys

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Moto, Results, TopicSet, WorkerProcess, assert_worker_actions_declared,  # noqa: E402
                     bootstrap, launch_running, rollout_images_and_subnet, wait_for,
                     worker_mutating_calls)
from aws_events import parameter_store_change  # noqa: E402
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
    for r in state["readers"]:
        r.close()
    for w in state["workers"]:
        w.stop()
    moto.stop()


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

    topics = TopicSet(inputs=(3,), work_partitions=3)
    topics.create(AdminClient({"bootstrap.servers": bootstrap()}))
    results = Results(topics.results, group_prefix="rollback-reader-", poll=0.2)
    world["readers"].append(results)
    worker = WorkerProcess(topics.config_yaml({"transactional.id": topics.prefix + "-rollback"},
                                              extra=CONFIG),
                           "rollback", env=world["env"], workdir=world["tmp"]).start()
    world["workers"].append(worker)
    moto.record_from_here()
    moto.client("ssm").put_parameter(Name=PARAM, Value=world["new"], Type="String",
                                     Overwrite=True)
    change = parameter_store_change(PARAM)
    producer = Producer({"bootstrap.servers": bootstrap(), "linger.ms": 2})
    producer.produce(topics.inputs[0], value=json.dumps(change).encode())
    producer.flush(30)

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
