"""IAM SimulatePrincipalPolicy and CodeDeploy StopDeployment through boto3."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from conftest import wait_for


def test_simulate_principal_policy(aws, name):
    iam = aws("iam")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    iam.put_user_policy(UserName=name, PolicyName="allow", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["ec2:Describe*", "autoscaling:*"], "Resource": "*"},
            {"Effect": "Deny", "Action": "autoscaling:DeleteAutoScalingGroup",
             "Resource": "*"}]}))
    group = iam.create_group(GroupName=name)["Group"]["GroupName"]
    iam.add_user_to_group(GroupName=group, UserName=name)
    policy_arn = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "ssm:SendCommand",
             "Resource": "arn:aws:ec2:*:*:instance/*"}]}))["Policy"]["Arn"]
    iam.attach_group_policy(GroupName=group, PolicyArn=policy_arn)

    results = iam.simulate_principal_policy(
        PolicySourceArn=arn,
        ActionNames=["ec2:DescribeInstances", "autoscaling:StartInstanceRefresh",
                     "autoscaling:DeleteAutoScalingGroup", "ec2:TerminateInstances"])[
        "EvaluationResults"]
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in results}
    assert decisions == {"ec2:DescribeInstances": "allowed",
                         "autoscaling:StartInstanceRefresh": "allowed",
                         "autoscaling:DeleteAutoScalingGroup": "explicitDeny",
                         "ec2:TerminateInstances": "implicitDeny"}

    on_instance = iam.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["ssm:SendCommand"],
        ResourceArns=["arn:aws:ec2:us-east-1:123456789012:instance/i-1",
                      "arn:aws:ssm:us-east-1:123456789012:document/X"])["EvaluationResults"]
    assert [r["EvalDecision"] for r in on_instance] == ["allowed", "implicitDeny"]
    assert on_instance[0]["MatchedStatements"][0]["SourcePolicyId"] == name


def make_deployment(codedeploy, name: str) -> str:
    codedeploy.create_application(applicationName=name, computePlatform="Server")
    codedeploy.create_deployment_group(
        applicationName=name, deploymentGroupName=name,
        serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy")
    return codedeploy.create_deployment(
        applicationName=name, deploymentGroupName=name,
        revision={"revisionType": "S3", "s3Location": {"bucket": "b", "key": "k",
                                                       "bundleType": "zip"}})["deploymentId"]


def test_stop_deployment_with_auto_rollback(aws, name):
    codedeploy = aws("codedeploy")
    deployment_id = make_deployment(codedeploy, name)
    stopped = codedeploy.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
    assert stopped["status"] == "Pending"
    info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    assert info["status"] == "Stopped"
    rollback_id = info["rollbackInfo"]["rollbackDeploymentId"]
    assert wait_for(lambda: codedeploy.get_deployment(deploymentId=rollback_id)[
        "deploymentInfo"]["status"] == "Succeeded")
    rollback = codedeploy.get_deployment(deploymentId=rollback_id)["deploymentInfo"]
    assert rollback["creator"] == "codeDeployRollback"
    assert rollback["rollbackInfo"]["rollbackTriggeringDeploymentId"] == deployment_id

    with pytest.raises(ClientError) as error:
        codedeploy.stop_deployment(deploymentId=deployment_id)
    assert error.value.response["Error"]["Code"] == "DeploymentAlreadyCompletedException"


def test_stop_deployment_without_rollback(aws, name):
    codedeploy = aws("codedeploy")
    deployment_id = make_deployment(codedeploy, name)
    assert codedeploy.stop_deployment(deploymentId=deployment_id)["status"] == "Succeeded"
    info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    assert info["status"] == "Stopped" and not info.get("rollbackInfo")


def test_deployment_groups_carry_their_alarm_configuration(aws, name):
    codedeploy = aws("codedeploy")
    codedeploy.create_application(applicationName=name, computePlatform="Server")
    alarms = {"enabled": True, "ignorePollAlarmFailure": False,
              "alarms": [{"name": f"{name}-5xx"}, {"name": f"{name}-latency"}]}
    codedeploy.create_deployment_group(
        applicationName=name, deploymentGroupName="guarded", alarmConfiguration=alarms,
        serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy")
    codedeploy.create_deployment_group(
        applicationName=name, deploymentGroupName="plain",
        serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy")

    got = codedeploy.get_deployment_group(applicationName=name, deploymentGroupName="guarded")
    assert got["deploymentGroupInfo"]["alarmConfiguration"] == alarms

    batch = codedeploy.batch_get_deployment_groups(
        applicationName=name, deploymentGroupNames=["guarded", "plain", "gone"])
    by_name = {g["deploymentGroupName"]: g for g in batch["deploymentGroupsInfo"]}
    assert set(by_name) == {"guarded", "plain"}
    assert [a["name"] for a in by_name["guarded"]["alarmConfiguration"]["alarms"]] == [
        f"{name}-5xx", f"{name}-latency"]
    assert by_name["plain"]["alarmConfiguration"]["alarms"] == []
    assert "gone" in batch["errorMessage"]

    with pytest.raises(ClientError) as error:
        codedeploy.batch_get_deployment_groups(applicationName=name + "-none",
                                               deploymentGroupNames=["guarded"])
    assert error.value.response["Error"]["Code"] == "ApplicationDoesNotExistException"


def test_active_deployments_are_listed_by_status(aws, name):
    codedeploy = aws("codedeploy")
    deployment_id = make_deployment(codedeploy, name)
    active = ["Created", "Queued", "InProgress", "Ready"]
    listed = codedeploy.list_deployments(applicationName=name, deploymentGroupName=name,
                                         includeOnlyStatuses=active)["deployments"]
    assert listed == [deployment_id]
    codedeploy.stop_deployment(deploymentId=deployment_id)
    assert codedeploy.list_deployments(applicationName=name, deploymentGroupName=name,
                                       includeOnlyStatuses=active)["deployments"] == []
