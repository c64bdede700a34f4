"""Instance refreshes, lifecycle actions and resolve:ssm through boto3 against the launcher."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import amis, wait_for

FINAL = ("Successful", "Failed", "Cancelled", "RollbackSuccessful", "RollbackFailed")


def make_group(aws: Any, name: str, capacity: int, version: str = "1",
               image: str | None = None) -> tuple[str, str, str]:
    """A group on template version 1 (image a); version 2 of the template has image b."""
    ec2, asg = aws("ec2"), aws("autoscaling")
    a, b = amis(ec2)
    template = ec2.create_launch_template(
        LaunchTemplateName=name,
        LaunchTemplateData={"ImageId": image or a, "InstanceType": "t3.micro"})["LaunchTemplate"]
    ec2.create_launch_template_version(LaunchTemplateId=template["LaunchTemplateId"],
                                       SourceVersion="1", LaunchTemplateData={"ImageId": b})
    asg.create_auto_scaling_group(
        AutoScalingGroupName=name, MinSize=0, MaxSize=capacity * 2, DesiredCapacity=capacity,
        LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"], "Version": version},
        AvailabilityZones=["us-east-1a"])
    return template["LaunchTemplateId"], a, b


def group(aws: Any, name: str) -> dict[str, Any]:
    return aws("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[name])["AutoScalingGroups"][0]


def refresh(aws: Any, name: str) -> dict[str, Any]:
    return aws("autoscaling").describe_instance_refreshes(
        AutoScalingGroupName=name)["InstanceRefreshes"][0]


def images_of(aws: Any, instance_ids: list[str]) -> set[str]:
    reservations = aws("ec2").describe_instances(InstanceIds=instance_ids)["Reservations"]
    return {i["ImageId"] for r in reservations for i in r["Instances"]}


def follow(aws: Any, name: str, timeout: float = 60) -> tuple[dict[str, Any], list[int], set[str]]:
    """Polls the refresh to its end: (last description, InService counts seen, statuses seen)."""
    in_service, statuses = [], set()
    deadline = time.monotonic() + timeout
    while True:
        description = refresh(aws, name)
        statuses.add(description["Status"])
        in_service.append(sum(1 for i in group(aws, name)["Instances"]
                              if i["LifecycleState"] == "InService"))
        if description["Status"] in FINAL:
            return description, in_service, statuses
        assert time.monotonic() < deadline, f"refresh still {description['Status']}"
        time.sleep(0.05)


@pytest.mark.parametrize("min_healthy,max_healthy", [(50, 100), (75, 100), (100, 150)])
def test_refresh_replaces_all_instances_keeping_min_healthy(aws, name, min_healthy, max_healthy):
    template_id, _, new_image = make_group(aws, name, capacity=4)
    before = {i["InstanceId"] for i in group(aws, name)["Instances"]}
    refresh_id = aws("autoscaling").start_instance_refresh(
        AutoScalingGroupName=name,
        DesiredConfiguration={"LaunchTemplate": {"LaunchTemplateId": template_id,
                                                 "Version": "2"}},
        Preferences={"MinHealthyPercentage": min_healthy, "MaxHealthyPercentage": max_healthy,
                     "InstanceWarmup": 40})["InstanceRefreshId"]

    description, in_service, statuses = follow(aws, name)

    assert description["InstanceRefreshId"] == refresh_id
    assert description["Status"] == "Successful"
    assert description["PercentageComplete"] == 100
    assert "InProgress" in statuses
    assert min(in_service) >= math.ceil(4 * min_healthy / 100)
    assert min(in_service) < 4 or max_healthy > 100  # it did take instances out of service
    final = group(aws, name)
    after = {i["InstanceId"] for i in final["Instances"]}
    assert len(after) == 4 and not after & before
    assert images_of(aws, list(after)) == {new_image}
    assert {i["LaunchTemplate"]["Version"] for i in final["Instances"]} == {"2"}
    assert final["LaunchTemplate"]["Version"] == "2"  # the group takes the desired configuration
    assert description["DesiredConfiguration"]["LaunchTemplate"]["Version"] == "2"
    assert "EndTime" in description and description["Preferences"]["InstanceWarmup"] == 40


def test_second_refresh_is_refused_while_one_runs(aws, name):
    template_id, _, _ = make_group(aws, name, capacity=2)
    asg = aws("autoscaling")
    asg.start_instance_refresh(AutoScalingGroupName=name, Preferences={"InstanceWarmup": 100})
    with pytest.raises(ClientError) as error:
        asg.start_instance_refresh(AutoScalingGroupName=name)
    assert error.value.response["Error"]["Code"] == "InstanceRefreshInProgress"
    asg.cancel_instance_refresh(AutoScalingGroupName=name)
    assert wait_for(lambda: refresh(aws, name)["Status"] == "Cancelled")
    with pytest.raises(ClientError) as error:
        asg.cancel_instance_refresh(AutoScalingGroupName=name)
    assert error.value.response["Error"]["Code"] == "ActiveInstanceRefreshNotFound"


@pytest.mark.parametrize("group_version", ["$Latest", "$Default"])
def test_auto_rollback_refused_for_latest_or_default(aws, name, group_version):
    template_id, _, _ = make_group(aws, name, capacity=1, version=group_version)
    with pytest.raises(ClientError) as error:
        aws("autoscaling").start_instance_refresh(
            AutoScalingGroupName=name,
            DesiredConfiguration={"LaunchTemplate": {"LaunchTemplateId": template_id,
                                                     "Version": "2"}},
            Preferences={"AutoRollback": True})
    assert error.value.response["Error"]["Code"] == "ValidationError"
    assert "$Latest or $Default" in error.value.response["Error"]["Message"]


def test_auto_rollback_refused_for_ssm_parameter_image(aws, name):
    aws("ssm").put_parameter(Name=f"/{name}/ami", Value=amis(aws("ec2"))[0], Type="String")
    template_id, _, _ = make_group(aws, name, capacity=1, image=f"resolve:ssm:/{name}/ami")
    with pytest.raises(ClientError) as error:
        aws("autoscaling").start_instance_refresh(
            AutoScalingGroupName=name,
            DesiredConfiguration={"LaunchTemplate": {"LaunchTemplateId": template_id,
                                                     "Version": "2"}},
            Preferences={"AutoRollback": True})
    assert "Systems Manager parameter" in error.value.response["Error"]["Message"]


def test_rollback_restores_previous_configuration(aws, name):
    template_id, old_image, _ = make_group(aws, name, capacity=4)
    asg = aws("autoscaling")
    asg.start_instance_refresh(
        AutoScalingGroupName=name,
        DesiredConfiguration={"LaunchTemplate": {"LaunchTemplateId": template_id,
                                                 "Version": "2"}},
        Preferences={"MinHealthyPercentage": 50, "InstanceWarmup": 100})
    wait_for(lambda: refresh(aws, name)["PercentageComplete"] >= 50)
    asg.rollback_instance_refresh(AutoScalingGroupName=name)

    description, in_service, statuses = follow(aws, name)

    assert description["Status"] == "RollbackSuccessful"
    assert "RollbackInProgress" in statuses
    assert description["RollbackDetails"]["RollbackReason"]
    assert min(in_service) >= 2
    final = group(aws, name)
    assert final["LaunchTemplate"]["Version"] == "1"
    assert images_of(aws, [i["InstanceId"] for i in final["Instances"]]) == {old_image}


def test_rollback_without_desired_configuration_is_irreversible(aws, name):
    make_group(aws, name, capacity=2)
    asg = aws("autoscaling")
    asg.start_instance_refresh(AutoScalingGroupName=name, Preferences={"InstanceWarmup": 100})
    with pytest.raises(ClientError) as error:
        asg.rollback_instance_refresh(AutoScalingGroupName=name)
    assert error.value.response["Error"]["Code"] == "IrreversibleInstanceRefresh"
    asg.cancel_instance_refresh(AutoScalingGroupName=name)


def test_alarm_fails_refresh_and_auto_rollback_reverts(aws, name):
    template_id, old_image, _ = make_group(aws, name, capacity=2)
    cloudwatch = aws("cloudwatch")
    cloudwatch.put_metric_alarm(AlarmName=name, MetricName="Errors", Namespace="Test",
                                Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanThreshold")
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="test")
    aws("autoscaling").start_instance_refresh(
        AutoScalingGroupName=name,
        DesiredConfiguration={"LaunchTemplate": {"LaunchTemplateId": template_id,
                                                 "Version": "2"}},
        Preferences={"MinHealthyPercentage": 50, "InstanceWarmup": 20, "AutoRollback": True,
                     "AlarmSpecification": {"Alarms": [name]}})
    description, _, statuses = follow(aws, name)
    assert description["Status"] == "RollbackSuccessful"
    assert name in description["RollbackDetails"]["RollbackReason"]
    final = group(aws, name)
    assert images_of(aws, [i["InstanceId"] for i in final["Instances"]]) == {old_image}


def test_skip_matching_leaves_current_instances(aws, name):
    template_id, _, _ = make_group(aws, name, capacity=2)
    before = {i["InstanceId"] for i in group(aws, name)["Instances"]}
    aws("autoscaling").start_instance_refresh(
        AutoScalingGroupName=name,
        DesiredConfiguration={"LaunchTemplate": {"LaunchTemplateId": template_id,
                                                 "Version": "1"}},
        Preferences={"SkipMatching": True, "InstanceWarmup": 20})
    description, _, _ = follow(aws, name)
    assert description["Status"] == "Successful"
    assert {i["InstanceId"] for i in group(aws, name)["Instances"]} == before


def test_checkpoint_pauses_refresh(aws, name):
    template_id, _, _ = make_group(aws, name, capacity=2)
    aws("autoscaling").start_instance_refresh(
        AutoScalingGroupName=name,
        DesiredConfiguration={"LaunchTemplate": {"LaunchTemplateId": template_id,
                                                 "Version": "2"}},
        Preferences={"MinHealthyPercentage": 50, "InstanceWarmup": 10,
                     "CheckpointPercentages": [50, 100], "CheckpointDelay": 100})
    paused = wait_for(lambda: (lambda d: d if "checkpoint" in d.get("StatusReason", "") else None)(
        refresh(aws, name)))
    assert paused["Status"] == "InProgress" and paused["PercentageComplete"] == 50
    description, _, _ = follow(aws, name)
    assert description["Status"] == "Successful"


def test_group_instances_resolve_ssm_image(aws, name):
    ec2, ssm = aws("ec2"), aws("ssm")
    image, _ = amis(ec2)
    ssm.put_parameter(Name=f"/{name}/ami", Value=image, Type="String")
    make_group(aws, name, capacity=2, image=f"resolve:ssm:/{name}/ami")
    ids = [i["InstanceId"] for i in group(aws, name)["Instances"]]
    assert images_of(aws, ids) == {image}


def test_lifecycle_actions(aws, name):
    make_group(aws, name, capacity=1)
    asg = aws("autoscaling")
    asg.put_lifecycle_hook(AutoScalingGroupName=name, LifecycleHookName="launch",
                           LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING")
    instance_id = group(aws, name)["Instances"][0]["InstanceId"]
    asg.record_lifecycle_action_heartbeat(AutoScalingGroupName=name, LifecycleHookName="launch",
                                          InstanceId=instance_id)
    asg.complete_lifecycle_action(AutoScalingGroupName=name, LifecycleHookName="launch",
                                  InstanceId=instance_id, LifecycleActionResult="CONTINUE")
    for call in (asg.complete_lifecycle_action, asg.record_lifecycle_action_heartbeat):
        kwargs = {"AutoScalingGroupName": name, "LifecycleHookName": "missing",
                  "InstanceId": instance_id}
        if call == asg.complete_lifecycle_action:
            kwargs["LifecycleActionResult"] = "CONTINUE"
        with pytest.raises(ClientError) as error:
            call(**kwargs)
        assert error.value.response["Error"]["Code"] == "ValidationError"
