"""AWS faults end to end: the worker on the real Kafka broker against moto through the launcher's
fault injection (scripts/motofill/faults.py), which touches only the worker's requests.

- 20% throttling and 5% server errors: an AMI rollout (an Auto Scaling group and three standalone
  instances) and a self-healing storm (reboots, a scale-out) all finish SUCCEEDED, within the retry
  quota, with the adaptive rate limiter on; the retries per call are printed for docs/.
- A connection reset after moto ran RunInstances: the relaunch sends it again with the same
  ClientToken, and every replaced instance has exactly one successor.
- AWS unreachable for 60 s mid-rollout (every connection reset): the rollout waits and resumes,
  and finishes SUCCEEDED.

The modules share one fleet and roll three AMIs out in turn. Event shapes as in test_ami_rollout.py
and test_self_healing.py (which cite the AWS documentation they follow)."""

import json
import time

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from harness import (Moto, Results, TopicSet, WorkerProcess, bootstrap, http_get, listener_port,
                     metric)
from aws_events import parameter_store_change  # noqa: E402
from aws_events import alarm_state_change  # noqa: E402
from test_self_healing import event_id  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

REGION = "us-east-1"
PARAM = "/ami/faults/linux"
BIND = {"fleetkeeper:ami-parameter": PARAM}
STANDALONE = 3
STORM = 10

CONFIG = """
handlers:
  ami_rollout:
    refresh_defaults: {MinHealthyPercentage: 50, InstanceWarmup: 1, SkipMatching: true}
    replacement: {strategy: relaunch, max_concurrency: 2, max_unavailable: 1, step_timeout: 300s}
  self_healing:
    rules:
      - name: high-cpu
        match: {alarm_name: "*HighCPU*", dimensions: {AutoScalingGroupName: "*"}}
        action: {type: scale_out, by: 1}
        verify_timeout: 120s
      - name: storm
        match: {alarm_name: "storm-*"}
        action: {type: reboot_instance}
        verify_timeout: 120s
    circuit_breaker: {max_actions: 50, within: 600s}
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("aws-faults")
    moto = Moto(tmp, env={"FK_MOTO_STATE_DELAY": "0.3", "FK_MOTO_TIME_SCALE": "0.05"})
    topics = TopicSet(inputs=(3,), work_partitions=3)
    topics.create(AdminClient({"bootstrap.servers": bootstrap()}))
    ec2, asg, ssm = moto.client("ec2"), moto.client("autoscaling"), moto.client("ssm")
    images = [i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"]
              if i.get("State", "available") == "available"]
    ssm.put_parameter(Name=PARAM, Value=images[0], Type="String")
    ec2.create_launch_template(LaunchTemplateName="faults-lt",
                               LaunchTemplateData={"ImageId": images[0], "InstanceType": "t3.micro"})
    asg.create_auto_scaling_group(
        AutoScalingGroupName="faults-asg", MinSize=2, MaxSize=4, DesiredCapacity=2,
        AvailabilityZones=[f"{REGION}a"], LaunchTemplate={"LaunchTemplateName": "faults-lt"},
        Tags=[{"Key": k, "Value": v, "PropagateAtLaunch": False} for k, v in BIND.items()])
    subnet = ec2.describe_subnets(Filters=[{"Name": "availability-zone",
                                            "Values": [f"{REGION}a"]}])["Subnets"][0]["SubnetId"]
    ec2.run_instances(ImageId=images[0], MinCount=STANDALONE, MaxCount=STANDALONE,
                      InstanceType="t3.micro", SubnetId=subnet,
                      TagSpecifications=[{"ResourceType": "instance", "Tags": [
                          {"Key": k, "Value": v} for k, v in {**BIND, "Name": "faults"}.items()]}])
    storm = [i["InstanceId"] for i in ec2.run_instances(
        ImageId=images[0], MinCount=STORM, MaxCount=STORM, InstanceType="t3.micro")["Instances"]]

    env = moto.worker_env(tmp, REGION, AWS_RETRY_MODE="adaptive")
    worker = WorkerProcess(topics.config_yaml({"transactional.id": topics.prefix + "-faults"},
                                              extra=CONFIG), "faults", env=env, workdir=tmp).start()
    results = Results(topics.results, group_prefix="faults-reader-", poll=0.2)
    producer = Producer({"bootstrap.servers": bootstrap(), "linger.ms": 2})

    def send(*events):
        for e in events:
            producer.produce(topics.inputs[0], value=json.dumps(e).encode())
        producer.flush(30)

    yield {"moto": moto, "worker": worker, "results": results, "send": send, "images": images,
           "storm": storm}
    results.close()
    worker.stop()
    moto.stop()


def roll_out(world, image):
    world["moto"].client("ssm").put_parameter(Name=PARAM, Value=image, Type="String",
                                              Overwrite=True)
    change = parameter_store_change(PARAM)
    world["send"](change)
    return change


def standalone_on(moto, image):
    reservations = moto.client("ec2").describe_instances(Filters=[
        {"Name": "tag:Name", "Values": ["faults"]}, {"Name": "image-id", "Values": [image]},
        {"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"]
    return [i["InstanceId"] for r in reservations for i in r["Instances"]]


def test_throttling_and_server_errors_leave_every_workflow_succeeded(world):
    moto, results, send = world["moto"], world["results"], world["send"]
    moto.set_faults(throttle=0.2, server_error=0.05, seed=11)
    image = world["images"][1]
    rollout = roll_out(world, image)
    storm = [alarm_state_change(f"storm-{i}", {"InstanceId": iid}, account="123456789012")
             for i, iid in enumerate(world["storm"])]
    cpu = alarm_state_change("faults-HighCPU", {"AutoScalingGroupName": "faults-asg"})
    send(*storm, cpu)
    for e in [*storm, cpu]:
        r = results.wait_final(event_id(e), timeout=240)
        assert r["status"] == "SUCCEEDED", (r["status"], r["reason"])
    r = results.wait_final(rollout["id"], timeout=420)
    assert r["status"] == "SUCCEEDED", (r["status"], r["reason"])
    assert len(standalone_on(moto, image)) == STANDALONE

    seen = moto.fault_counts()
    throttled = sum(c.get("throttle", 0) for c in seen.values())
    errors = sum(c.get("error", 0) for c in seen.values())
    requests = sum(c.get("requests", 0) for c in seen.values())
    assert throttled > 0 and errors > 0, seen
    port = listener_port(world["worker"])
    status, text = http_get(port, "/metrics")
    assert status == 200
    calls = metric(text, "fleetkeeper_aws_calls_total")
    retries = metric(text, "fleetkeeper_aws_retries_total")
    rate = metric(text, "fleetkeeper_aws_adaptive_rate", service="ec2")
    quota = metric(text, "fleetkeeper_aws_retry_quota_available", service="ec2")
    # The figures docs/reliability.md records.
    print(f"\nAWS faults: {requests} requests, {throttled} throttled, {errors} 5xx; "
          f"{calls:.0f} calls, {retries:.0f} retries ({retries / calls:.2f} per call); "
          f"ec2 adaptive rate {rate:.1f}/s, ec2 retry quota left {quota:.0f}")
    assert retries > 0
    assert rate > 0, "the adaptive limiter never turned on"
    assert "retry quota" not in world["worker"].log.read_text(errors="replace")
    moto.set_faults()


def test_a_reset_after_run_instances_makes_one_instance_per_replacement(world):
    moto, results = world["moto"], world["results"]
    moto.set_faults(reset_after={"RunInstances": 2})
    image = world["images"][2]
    rollout = roll_out(world, image)
    r = results.wait_final(rollout["id"], timeout=420)
    assert r["status"] == "SUCCEEDED", (r["status"], r["reason"])
    assert moto.fault_counts()["RunInstances"]["reset-after"] == 2
    # Exactly one successor per replaced instance, although two launches lost their answer.
    assert len(standalone_on(moto, image)) == STANDALONE
    moto.set_faults()


def test_an_aws_outage_of_60s_makes_the_rollout_wait_and_resume(world):
    moto, results, worker = world["moto"], world["results"], world["worker"]
    image = world["images"][3]
    rollout = roll_out(world, image)
    # The outage starts once the rollout acts (its first replacement launched).
    deadline = time.time() + 120
    while not standalone_on(moto, image):
        assert time.time() < deadline, "the rollout never launched a replacement"
        time.sleep(0.2)
    started = time.time()
    moto.set_faults(outage_seconds=60)
    time.sleep(60)
    assert not results.finals(rollout["id"]), results.finals(rollout["id"])
    r = results.wait_final(rollout["id"], timeout=420)
    assert r["status"] == "SUCCEEDED", (r["status"], r["reason"])
    assert time.time() - started > 60
    # The worker kept trying during the outage: its connections were reset, it did not give up.
    assert sum(c.get("reset", 0) for c in moto.fault_counts().values()) > 0, moto.fault_counts()
    assert len(standalone_on(moto, image)) == STANDALONE
    assert worker.alive()
