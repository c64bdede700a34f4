"""EC2 fills through boto3: ClientToken, SourceVersion, root volume replacement, state delays."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from conftest import amis, wait_for


def state(ec2, instance_id: str) -> str:
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return reservations[0]["Instances"][0]["State"]["Name"]


def test_run_instances_is_idempotent_with_client_token(aws, name):
    ec2 = aws("ec2")
    image, other = amis(ec2)
    first = ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, InstanceType="t3.micro",
                              ClientToken=name)
    again = ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, InstanceType="t3.micro",
                              ClientToken=name)
    assert again["ReservationId"] == first["ReservationId"]
    assert ({i["InstanceId"] for i in again["Instances"]}
            == {i["InstanceId"] for i in first["Instances"]})

    found = ec2.describe_instances(Filters=[{"Name": "client-token", "Values": [name]}])
    found_ids = {i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]}
    assert found_ids == {i["InstanceId"] for i in first["Instances"]}

    with pytest.raises(ClientError) as error:
        ec2.run_instances(ImageId=other, MinCount=2, MaxCount=2, InstanceType="t3.micro",
                          ClientToken=name)
    assert error.value.response["Error"]["Code"] == "IdempotentParameterMismatch"

    untokened = [ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["ReservationId"]
                 for _ in range(2)]
    assert untokened[0] != untokened[1]


def test_launch_template_version_copies_source_version(aws, name):
    ec2 = aws("ec2")
    image, other = amis(ec2)
    template = ec2.create_launch_template(
        LaunchTemplateName=name,
        LaunchTemplateData={"ImageId": image, "InstanceType": "t3.small", "KeyName": "k",
                            "MetadataOptions": {"HttpTokens": "required"}})["LaunchTemplate"]
    ec2.create_launch_template_version(LaunchTemplateId=template["LaunchTemplateId"],
                                       LaunchTemplateData={"ImageId": image,
                                                           "InstanceType": "m5.large"})
    created = ec2.create_launch_template_version(
        LaunchTemplateId=template["LaunchTemplateId"], SourceVersion="1",
        LaunchTemplateData={"ImageId": other})["LaunchTemplateVersion"]
    assert created["VersionNumber"] == 3
    data = ec2.describe_launch_template_versions(
        LaunchTemplateId=template["LaunchTemplateId"],
        Versions=["3"])["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert data["ImageId"] == other
    assert data["InstanceType"] == "t3.small"  # from version 1, not the latest (2)
    assert data["KeyName"] == "k"
    assert data["MetadataOptions"]["HttpTokens"] == "required"


def test_replace_root_volume_task(aws):
    ec2 = aws("ec2")
    image, new_image = amis(ec2)
    instance_id = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0][
        "InstanceId"]
    wait_for(lambda: state(ec2, instance_id) == "running")
    task = ec2.create_replace_root_volume_task(InstanceId=instance_id, ImageId=new_image)[
        "ReplaceRootVolumeTask"]
    assert task["TaskState"] == "pending" and task["InstanceId"] == instance_id
    seen = set()

    def done():
        current = ec2.describe_replace_root_volume_tasks(
            ReplaceRootVolumeTaskIds=[task["ReplaceRootVolumeTaskId"]])["ReplaceRootVolumeTasks"][0]
        seen.add(current["TaskState"])
        return current["TaskState"] == "succeeded" and current

    finished = wait_for(done, interval=0.05)
    assert "in-progress" in seen
    assert finished["ImageId"] == new_image and "CompleteTime" in finished
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    assert instance["ImageId"] == new_image
    by_instance = ec2.describe_replace_root_volume_tasks(
        Filters=[{"Name": "instance-id", "Values": [instance_id]}])["ReplaceRootVolumeTasks"]
    assert [t["ReplaceRootVolumeTaskId"] for t in by_instance] == [task["ReplaceRootVolumeTaskId"]]

    with pytest.raises(ClientError) as error:
        ec2.create_replace_root_volume_task(InstanceId="i-0123456789abcdef0", ImageId=new_image)
    assert error.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"


def test_replace_root_volume_task_is_idempotent_with_client_token(aws, name):
    ec2 = aws("ec2")
    image, new_image = amis(ec2)
    instance_id = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0][
        "InstanceId"]
    wait_for(lambda: state(ec2, instance_id) == "running")
    first = ec2.create_replace_root_volume_task(InstanceId=instance_id, ImageId=new_image,
                                                ClientToken=name)["ReplaceRootVolumeTask"]
    # While the first is in progress a new task would be refused; the retry gets the first one.
    again = ec2.create_replace_root_volume_task(InstanceId=instance_id, ImageId=new_image,
                                                ClientToken=name)["ReplaceRootVolumeTask"]
    assert again["ReplaceRootVolumeTaskId"] == first["ReplaceRootVolumeTaskId"]
    with pytest.raises(ClientError) as error:
        ec2.create_replace_root_volume_task(InstanceId=instance_id, ImageId=image,
                                            ClientToken=name)
    assert error.value.response["Error"]["Code"] == "IdempotentParameterMismatch"
    tasks = ec2.describe_replace_root_volume_tasks(
        Filters=[{"Name": "instance-id", "Values": [instance_id]}])["ReplaceRootVolumeTasks"]
    assert len(tasks) == 1


def test_instance_states_take_time(aws):
    ec2 = aws("ec2")
    image, _ = amis(ec2)
    instance_id = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0][
        "InstanceId"]
    assert state(ec2, instance_id) == "pending"
    wait_for(lambda: state(ec2, instance_id) == "running")
    ec2.stop_instances(InstanceIds=[instance_id])
    assert state(ec2, instance_id) == "stopping"
    wait_for(lambda: state(ec2, instance_id) == "stopped")
    ec2.terminate_instances(InstanceIds=[instance_id])
    assert state(ec2, instance_id) == "shutting-down"
    wait_for(lambda: state(ec2, instance_id) == "terminated")


def test_image_and_volume_and_target_transitions(aws, name):
    ec2, elbv2 = aws("ec2"), aws("elbv2")
    image, _ = amis(ec2)
    instance_id = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                                    Placement={"AvailabilityZone": "us-east-1a"})["Instances"][0][
        "InstanceId"]
    wait_for(lambda: state(ec2, instance_id) == "running")

    new_image = ec2.create_image(InstanceId=instance_id, Name=name)["ImageId"]
    assert ec2.describe_images(ImageIds=[new_image])["Images"][0]["State"] == "pending"
    wait_for(lambda: ec2.describe_images(ImageIds=[new_image])["Images"][0]["State"]
             == "available")

    volume_id = ec2.create_volume(Size=8, AvailabilityZone="us-east-1a")["VolumeId"]

    def attachment_state():
        attachments = ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]["Attachments"]
        return attachments[0]["State"] if attachments else "none"

    def mapping_state():
        instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0][
            "Instances"][0]
        return {m["DeviceName"]: m["Ebs"]["Status"] for m in instance["BlockDeviceMappings"]
                if m["Ebs"]["VolumeId"] == volume_id}

    ec2.attach_volume(VolumeId=volume_id, InstanceId=instance_id, Device="/dev/sdf")
    assert attachment_state() == "attaching"
    assert mapping_state() == {"/dev/sdf": "attaching"}
    wait_for(lambda: attachment_state() == "attached")
    assert mapping_state() == {"/dev/sdf": "attached"}
    ec2.detach_volume(VolumeId=volume_id)
    assert attachment_state() == "detaching"
    wait_for(lambda: attachment_state() == "none")
    assert ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]["State"] == "available"

    vpc_id = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    target_group = elbv2.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=vpc_id,
                                             TargetType="instance")["TargetGroups"][0]
    arn = target_group["TargetGroupArn"]

    def health():
        descriptions = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
        return [d["TargetHealth"]["State"] for d in descriptions]

    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": instance_id}])
    assert health() == ["initial"]
    wait_for(lambda: health() == ["healthy"])
    elbv2.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": instance_id}])
    assert health() == ["draining"]
    wait_for(lambda: health() == [])
