"""Permissions are declared once: every AWS action the worker sends is one that the worker itself
or an enabled handler declares (`fleetkeeper permissions`, what `doctor` simulates and IAM policies
are made from). Representative scenarios run on the real Kafka broker and moto (started here with
scripts/moto_launcher.py, recording on); the worker's requests are told from the tests' own boto3
calls by their User-Agent, and the comparison fails naming each undeclared action.

Events and rollout settings are those of test_ami_rollout.py and test_self_healing.py."""

import json
import os
import sys

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Moto, Results, TopicSet, WorkerProcess, assert_worker_actions_declared,  # noqa: E402
                     aws_action, bootstrap, worker_actions)
# The suites' own event shapes and rollout settings.
from aws_events import parameter_store_change  # noqa: E402
from test_ami_rollout import CONFIG as AMI_CONFIG  # noqa: E402
from aws_events import alarm_state_change  # noqa: E402

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's account
PARAM = "/ami/linux/permissions"


# --- how a recorded request becomes an IAM action --------------------------------------------------

def _recorded(service, user_agent, body="", target=None, url="/"):
    headers = {"User-Agent": user_agent,
               "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/{service}/"
                                "aws4_request, SignedHeaders=host, Signature=0"}
    if target:
        headers["X-Amz-Target"] = target
    return {"headers": headers, "method": "POST", "url": url, "body": body,
            "body_encoded": False}


def test_recorded_requests_name_their_iam_action_and_only_the_workers_count():
    worker = "fleetkeeper"
    entries = [
        _recorded("ec2", worker, "Action=DetachNetworkInterface&Version=2016-11-15"),
        _recorded("monitoring", worker, "Action=PutMetricData&Namespace=x"),
        _recorded("ssm", worker, '{"Name": "/ami"}', target="AmazonSSM.GetParameter"),
        _recorded("ec2", worker, url="/?Action=DescribeImages&Version=2016-11-15"),
        # The test's own set-up calls are not the worker's.
        _recorded("ec2", "Boto3/1.34 md/Botocore#1.34", "Action=ModifyInstanceAttribute"),
    ]
    assert aws_action(entries[1]) == "cloudwatch:PutMetricData"
    assert worker_actions(entries) == {"ec2:DetachNetworkInterface", "cloudwatch:PutMetricData",
                                       "ssm:GetParameter", "ec2:DescribeImages"}


# --- end to end ---------------------------------------------------------------------------------

def _send(topics, *events):
    producer = Producer({"bootstrap.servers": bootstrap(), "linger.ms": 2})
    for e in events:
        producer.produce(topics.inputs[0], value=json.dumps(e).encode())
    producer.flush(30)



@pytest.fixture
def services(tmp_path):
    started = {}

    def start(moto_env, config):
        moto = Moto(tmp_path, env=moto_env)
        started["moto"] = moto
        topics = TopicSet(inputs=(3,), work_partitions=3)
        topics.create(AdminClient({"bootstrap.servers": bootstrap()}))
        started["results"] = Results(topics.results, group_prefix="perm-reader-", poll=0.2)
        worker = WorkerProcess(topics.config_yaml({"transactional.id": topics.prefix + "-perm"},
                                                  extra=config),
                               "perm", env=moto.worker_env(tmp_path, REGION), workdir=tmp_path)
        started["worker"] = worker
        return moto, topics, started["results"], worker

    yield start
    if "results" in started:
        started["results"].close()
    if "worker" in started and started["worker"].alive():
        started["worker"].stop()
    if "moto" in started:
        started["moto"].stop()


def _running(ec2, iid):
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid],
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return iid


@pytest.mark.e2e
def test_an_ami_rollout_sends_only_declared_actions(services):
    """A group refreshed, a router relaunched with everything a relaunch carries over (a secondary
    interface, secondary private addresses, stop protection, a data volume, an Elastic IP, a
    target group) and an instance whose root volume is replaced in place."""
    moto, topics, results, worker = services(
        {"FK_MOTO_STATE_DELAY": "0.5", "FK_MOTO_TIME_SCALE": "0.05"}, AMI_CONFIG)
    ec2, asg, ssm, elb = (moto.client("ec2"), moto.client("autoscaling"), moto.client("ssm"),
                          moto.client("elbv2"))
    images = [i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"]
              if i.get("State", "available") == "available"]
    old, new = images[0], images[1]
    ssm.put_parameter(Name=PARAM, Value=old, Type="String")
    bind = {"fleetkeeper:ami-parameter": PARAM}

    template = ec2.create_launch_template(
        LaunchTemplateName="perm-lt",
        LaunchTemplateData={"ImageId": f"resolve:ssm:{PARAM}", "InstanceType": "t3.micro"},
    )["LaunchTemplate"]["LaunchTemplateId"]
    asg.create_auto_scaling_group(AutoScalingGroupName="perm-asg", MinSize=2, MaxSize=3,
                                  DesiredCapacity=2, AvailabilityZones=[f"{REGION}a"],
                                  LaunchTemplate={"LaunchTemplateId": template, "Version": "1"})

    subnet = ec2.describe_subnets(Filters=[{"Name": "availability-zone",
                                            "Values": [f"{REGION}a"]}])["Subnets"][0]

    def instance(tags, **extra):
        return _running(ec2, ec2.run_instances(
            ImageId=old, MinCount=1, MaxCount=1, InstanceType="t3.micro",
            SubnetId=subnet["SubnetId"],
            TagSpecifications=[{"ResourceType": "instance",
                                "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
            **extra)["Instances"][0]["InstanceId"])

    router = instance({**bind, "Name": "router"}, CreditSpecification={"CpuCredits": "unlimited"})
    eni = ec2.create_network_interface(SubnetId=subnet["SubnetId"])["NetworkInterface"][
        "NetworkInterfaceId"]
    attachment = ec2.attach_network_interface(NetworkInterfaceId=eni, InstanceId=router,
                                              DeviceIndex=1)["AttachmentId"]
    ec2.modify_network_interface_attribute(
        NetworkInterfaceId=eni, Attachment={"AttachmentId": attachment, "DeleteOnTermination": True})
    described = ec2.describe_instances(InstanceIds=[router])["Reservations"][0]["Instances"][0]
    [primary] = [n["NetworkInterfaceId"] for n in described["NetworkInterfaces"]
                 if n["Attachment"]["DeviceIndex"] == 0]
    ec2.assign_private_ip_addresses(NetworkInterfaceId=primary, SecondaryPrivateIpAddressCount=2)
    ec2.modify_instance_attribute(InstanceId=router, DisableApiStop={"Value": True})
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=10)["VolumeId"]
    ec2.get_waiter("volume_available").wait(VolumeIds=[volume],
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    ec2.attach_volume(VolumeId=volume, InstanceId=router, Device="/dev/sdf")
    alloc = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=alloc, InstanceId=router)
    tg = elb.create_target_group(Name="perm", Protocol="HTTP", Port=80, VpcId=subnet["VpcId"],
                                 TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": router, "Port": 80}])
    in_place = instance({**bind, "fleetkeeper:replacement-strategy": "replace-root-volume"})

    worker.start()
    ssm.put_parameter(Name=PARAM, Value=new, Type="String", Overwrite=True)
    change = parameter_store_change(PARAM)
    _send(topics, change)
    r = results.wait_final(change["id"], timeout=420)
    assert r["status"] == "SUCCEEDED", f"{json.dumps(r, indent=1)}\n{worker.tail()}"
    done = {(a["resource"], a["action"]) for a in r["actions"] if a["status"] == "succeeded"}
    assert {("asg:perm-asg", "instance-refresh"), (f"instance:{router}", "relaunch"),
            (f"instance:{in_place}", "replace-root-volume")} <= done, done

    sent = assert_worker_actions_declared(moto, worker)
    # The scenario reached the calls doctor's former list lacked: the comparison was not empty.
    assert {"ec2:DetachNetworkInterface", "ec2:UnassignPrivateIpAddresses",
            "ec2:ModifyInstanceAttribute", "ec2:CreateReplaceRootVolumeTask",
            "autoscaling:StartInstanceRefresh", "ec2:AssociateAddress",
            "elasticloadbalancing:RegisterTargets", "cloudwatch:PutMetricData"} <= sent, sorted(sent)


HEALING_CONFIG = """
handlers:
  ami_rollout: {enabled: false}
  self_healing:
    notify_topic_arn: "%(topic)s"
    rules:
      - name: high-cpu
        match: {alarm_name: "*HighCPU*", dimensions: {AutoScalingGroupName: "*"}}
        action: {type: scale_out, by: 1}
        cooldown: 1s
        repeat_while_alarm: true
        verify_timeout: 30s
      - name: status-check
        match: {alarm_name: "*StatusCheckFailed*"}
        action: {type: replace_instance}
        verify_timeout: 30s
      - name: hung
        match: {alarm_name: "*Hung*"}
        action: {type: reboot_instance}
        verify_timeout: 30s
      - name: api-errors
        match: {alarm_name: "*5xx*", dimensions: {ServiceName: "*"}}
        action: {type: ecs_force_deploy}
        verify_timeout: 30s
      - name: deploy-errors
        match: {alarm_name: "*DeployErrors*"}
        action: {type: stop_deployment}
        verify_timeout: 30s
      - name: page
        match: {alarm_name: "*Page*"}
        action: {type: notify}
"""


@pytest.mark.e2e
def test_self_healing_sends_only_declared_actions(services):
    """Every action type once (replace_instance in a group and standalone), a rule that re-reads
    its alarm, and an SNS report of every action."""
    boot = {"MOTO_ECS_SERVICE_RUNNING": "2"}
    # The topic ARN is known before moto starts: moto's account and region are fixed.
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:fleet-ops"
    moto, topics, results, worker = services(boot, HEALING_CONFIG % {"topic": topic})
    ec2, asg, ecs, sns, cw, codedeploy = (moto.client(s) for s in (
        "ec2", "autoscaling", "ecs", "sns", "cloudwatch", "codedeploy"))
    assert sns.create_topic(Name="fleet-ops")["TopicArn"] == topic
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.create_launch_template(LaunchTemplateName="heal-lt",
                               LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro"})
    asg.create_auto_scaling_group(AutoScalingGroupName="heal-asg", MinSize=1, MaxSize=4,
                                  DesiredCapacity=2, AvailabilityZones=[f"{REGION}a"],
                                  LaunchTemplate={"LaunchTemplateName": "heal-lt"})
    # The alarm the scale-out rule re-reads; not in ALARM, so one re-read ends the rule.
    cw.put_metric_alarm(AlarmName="heal-HighCPU", MetricName="CPUUtilization", Namespace="AWS/EC2",
                        Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=80.0,
                        ComparisonOperator="GreaterThanThreshold",
                        Dimensions=[{"Name": "AutoScalingGroupName", "Value": "heal-asg"}])
    solo, hung = (i["InstanceId"] for i in ec2.run_instances(
        ImageId=image, MinCount=2, MaxCount=2, InstanceType="t3.micro")["Instances"])
    ecs.create_cluster(clusterName="prod")
    ecs.register_task_definition(family="api", containerDefinitions=[
        {"name": "api", "image": "nginx", "memory": 128}])
    ecs.create_service(cluster="prod", serviceName="api", taskDefinition="api", desiredCount=2)
    codedeploy.create_application(applicationName="shop", computePlatform="Server")
    codedeploy.create_deployment_group(
        applicationName="shop", deploymentGroupName="prod",
        alarmConfiguration={"enabled": False, "alarms": [{"name": "shop-DeployErrors"}]},
        serviceRoleArn=f"arn:aws:iam::{ACCOUNT}:role/codedeploy")
    codedeploy.create_deployment(applicationName="shop", deploymentGroupName="prod", revision={
        "revisionType": "S3",
        "s3Location": {"bucket": "releases", "key": "shop.zip", "bundleType": "zip"}})
    member = [i["InstanceId"] for i in asg.describe_auto_scaling_groups(
        AutoScalingGroupNames=["heal-asg"])["AutoScalingGroups"][0]["Instances"]][0]

    worker.start()
    events = [alarm_state_change("heal-HighCPU", {"AutoScalingGroupName": "heal-asg"}),
              alarm_state_change("member-StatusCheckFailed", {"InstanceId": member}),
              alarm_state_change("solo-StatusCheckFailed", {"InstanceId": solo}),
              alarm_state_change("box-Hung", {"InstanceId": hung}),
              alarm_state_change("api-5xx", {"ClusterName": "prod", "ServiceName": "api"}),
              alarm_state_change("shop-DeployErrors", {}),
              alarm_state_change("oncall-Page", {})]
    _send(topics, *events)
    for e in events:
        r = results.wait_final(e["id"], timeout=120)
        assert r["status"] == "SUCCEEDED", f"{json.dumps(r, indent=1)}\n{worker.tail()}"

    sent = assert_worker_actions_declared(moto, worker)
    assert {"autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup",
            "ec2:RebootInstances", "ecs:UpdateService", "codedeploy:StopDeployment",
            "sns:Publish", "cloudwatch:DescribeAlarms", "cloudwatch:PutMetricData"} <= sent, \
        sorted(sent)
