"""EC2 fills the relaunch strategy needs, through boto3: ModifyInstanceAttribute UserData and
InstanceInitiatedShutdownBehavior, CPU credit specifications, the network interface attachment's
DeleteOnTermination, GetLaunchTemplateData's user data and credit option."""

from __future__ import annotations

import base64

import pytest
from botocore.exceptions import ClientError
from conftest import amis


def subnet(ec2, octet: int) -> str:
    vpc = ec2.create_vpc(CidrBlock=f"10.{octet}.0.0/16")["Vpc"]["VpcId"]
    return ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{octet}.1.0/24",
                             AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]


def launch(ec2, instance_type: str, **kwargs) -> str:
    image, _ = amis(ec2)
    return ec2.run_instances(ImageId=image, InstanceType=instance_type, MinCount=1, MaxCount=1,
                             **kwargs)["Instances"][0]["InstanceId"]


# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyInstanceAttribute.html: the
# UserData member is a blob; boto3 base64-encodes the bytes, DescribeInstanceAttribute returns
# that base64 text. InstanceInitiatedShutdownBehavior is stop | terminate.
def test_modify_instance_attribute_user_data_and_shutdown_behavior(aws):
    ec2 = aws("ec2")
    instance = launch(ec2, "t3.micro")
    script = b"#!/bin/sh\necho relaunched\n"
    ec2.modify_instance_attribute(InstanceId=instance, UserData={"Value": script})
    described = ec2.describe_instance_attribute(InstanceId=instance, Attribute="userData")
    assert base64.b64decode(described["UserData"]["Value"]) == script
    ec2.modify_instance_attribute(InstanceId=instance,
                                  InstanceInitiatedShutdownBehavior={"Value": "terminate"})
    assert ec2.describe_instance_attribute(
        InstanceId=instance, Attribute="instanceInitiatedShutdownBehavior"
    )["InstanceInitiatedShutdownBehavior"]["Value"] == "terminate"
    with pytest.raises(ClientError) as error:
        ec2.modify_instance_attribute(InstanceId=instance,
                                      InstanceInitiatedShutdownBehavior={"Value": "hibernate"})
    assert error.value.response["Error"]["Code"] == "InvalidParameterValue"
    # The other attributes still go through moto's own handler.
    ec2.modify_instance_attribute(InstanceId=instance, DisableApiStop={"Value": True})
    assert ec2.describe_instance_attribute(
        InstanceId=instance, Attribute="disableApiStop")["DisableApiStop"]["Value"] is True
    ec2.modify_instance_attribute(InstanceId=instance, DisableApiStop={"Value": False})


# https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/burstable-performance-instances-unlimited-mode-concepts.html
# (T2 launches standard, T3 unlimited), API_DescribeInstanceCreditSpecifications.html (burstable
# instances only) and API_ModifyInstanceCreditSpecification.html (per-instance outcomes).
def test_credit_specifications_follow_launch_and_modification(aws):
    ec2 = aws("ec2")
    t2 = launch(ec2, "t2.micro")
    t3 = launch(ec2, "t3.micro")
    chosen = launch(ec2, "t3.small", CreditSpecification={"CpuCredits": "standard"})
    other = launch(ec2, "m5.large")

    def credits(ids):
        specs = ec2.describe_instance_credit_specifications(InstanceIds=ids)
        return {s["InstanceId"]: s["CpuCredits"] for s in specs["InstanceCreditSpecifications"]}

    assert credits([t2, t3, chosen, other]) == {t2: "standard", t3: "unlimited",
                                                chosen: "standard"}

    modified = ec2.modify_instance_credit_specification(InstanceCreditSpecifications=[
        {"InstanceId": t3, "CpuCredits": "standard"},
        {"InstanceId": "i-0000000000000dead", "CpuCredits": "unlimited"}])
    assert modified["SuccessfulInstanceCreditSpecifications"] == [{"InstanceId": t3}]
    [failed] = modified["UnsuccessfulInstanceCreditSpecifications"]
    assert failed["InstanceId"] == "i-0000000000000dead"
    assert failed["Error"]["Code"] == "InvalidInstanceID.NotFound"
    assert credits([t3]) == {t3: "standard"}

    by_filter = ec2.describe_instance_credit_specifications(
        Filters=[{"Name": "instance-id", "Values": [chosen]}])
    assert by_filter["InstanceCreditSpecifications"] == [
        {"InstanceId": chosen, "CpuCredits": "standard"}]

    with pytest.raises(ClientError) as error:
        ec2.modify_instance_credit_specification(InstanceCreditSpecifications=[
            {"InstanceId": t2, "CpuCredits": "turbo"}])
    assert error.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert credits([t2]) == {t2: "standard"}


# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyNetworkInterfaceAttribute.html
# with API_NetworkInterfaceAttachmentChanges.html.
def test_attachment_delete_on_termination_is_modified(aws):
    ec2 = aws("ec2")
    subnet_id = subnet(ec2, 77)
    instance = launch(ec2, "t3.micro", SubnetId=subnet_id)
    eni = ec2.create_network_interface(SubnetId=subnet_id)["NetworkInterface"]["NetworkInterfaceId"]
    attachment = ec2.attach_network_interface(NetworkInterfaceId=eni, InstanceId=instance,
                                              DeviceIndex=1)["AttachmentId"]

    def attached():
        return ec2.describe_network_interfaces(
            NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]["Attachment"]

    assert attached()["DeleteOnTermination"] is False
    ec2.modify_network_interface_attribute(
        NetworkInterfaceId=eni,
        Attachment={"AttachmentId": attachment, "DeleteOnTermination": True})
    assert attached()["DeleteOnTermination"] is True
    nics = ec2.describe_instances(
        InstanceIds=[instance])["Reservations"][0]["Instances"][0]["NetworkInterfaces"]
    assert {n["NetworkInterfaceId"]: n["Attachment"]["DeleteOnTermination"]
            for n in nics}[eni] is True

    with pytest.raises(ClientError) as error:
        ec2.modify_network_interface_attribute(
            NetworkInterfaceId=eni,
            Attachment={"AttachmentId": "eni-attach-00000000", "DeleteOnTermination": False})
    assert error.value.response["Error"]["Code"] == "InvalidAttachmentID.NotFound"
    # Other attributes still go through moto's own handler.
    ec2.modify_network_interface_attribute(NetworkInterfaceId=eni,
                                           Description={"Value": "secondary"})
    assert ec2.describe_network_interfaces(
        NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]["Description"] == "secondary"


# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GetLaunchTemplateData.html with
# API_ResponseLaunchTemplateData.html: the instance's user data (base64) and the settings the
# relaunch carries over, in one call; CreditSpecification only for a burstable instance.
def test_launch_template_data_carries_user_data_and_credit_option(aws):
    ec2 = aws("ec2")
    script = b"#!/bin/sh\necho from launch template data\n"
    burstable = launch(ec2, "t3.micro", UserData=script.decode(),
                       CreditSpecification={"CpuCredits": "standard"},
                       InstanceInitiatedShutdownBehavior="terminate")
    # moto ignores RunInstances' DisableApiTermination; set afterwards, as an operator would.
    ec2.modify_instance_attribute(InstanceId=burstable, DisableApiTermination={"Value": True})
    plain = launch(ec2, "m5.large")

    data = ec2.get_launch_template_data(InstanceId=burstable)["LaunchTemplateData"]
    assert base64.b64decode(data["UserData"]) == script
    assert data["CreditSpecification"] == {"CpuCredits": "standard"}
    assert data["DisableApiTermination"] is True
    assert data["InstanceInitiatedShutdownBehavior"] == "terminate"
    assert data["InstanceType"] == "t3.micro"

    # Modified user data and credit option show on the next read.
    ec2.stop_instances(InstanceIds=[burstable])
    ec2.modify_instance_attribute(InstanceId=burstable, UserData={"Value": b"#!/bin/sh\n"})
    ec2.modify_instance_credit_specification(InstanceCreditSpecifications=[
        {"InstanceId": burstable, "CpuCredits": "unlimited"}])
    data = ec2.get_launch_template_data(InstanceId=burstable)["LaunchTemplateData"]
    assert base64.b64decode(data["UserData"]) == b"#!/bin/sh\n"
    assert data["CreditSpecification"] == {"CpuCredits": "unlimited"}

    data = ec2.get_launch_template_data(InstanceId=plain)["LaunchTemplateData"]
    assert "UserData" not in data
    assert "CreditSpecification" not in data
    assert data["DisableApiTermination"] is False
    ec2.modify_instance_attribute(InstanceId=burstable, DisableApiTermination={"Value": False})
