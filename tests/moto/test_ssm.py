"""SSM fills through boto3: instance information, SendCommand targets, invocations, patch states."""

from __future__ import annotations

from conftest import amis, wait_for


def launch(aws, count: int, tags: dict[str, str] | None = None) -> list[str]:
    ec2 = aws("ec2")
    kwargs = {}
    if tags:
        kwargs["TagSpecifications"] = [{"ResourceType": "instance", "Tags": [
            {"Key": k, "Value": v} for k, v in tags.items()]}]
    ids = [i["InstanceId"] for i in ec2.run_instances(ImageId=amis(ec2)[0], MinCount=count,
                                                      MaxCount=count, **kwargs)["Instances"]]
    wait_for(lambda: all(i["State"]["Name"] == "running" for r in ec2.describe_instances(
        InstanceIds=ids)["Reservations"] for i in r["Instances"]))
    return ids


def test_describe_instance_information(aws):
    managed = launch(aws, 2)
    unmanaged = launch(aws, 1, {"fk-test:ssm-unmanaged": "true"})
    ssm = aws("ssm")
    listed = ssm.describe_instance_information(
        Filters=[{"Key": "InstanceIds", "Values": managed + unmanaged}])["InstanceInformationList"]
    assert {i["InstanceId"] for i in listed} == set(managed)
    assert {i["PingStatus"] for i in listed} == {"Online"}
    assert {i["PlatformType"] for i in listed} == {"Linux"}

    aws("ec2").stop_instances(InstanceIds=[managed[0]])
    listed = ssm.describe_instance_information(
        InstanceInformationFilterList=[{"key": "InstanceIds", "valueSet": [managed[0]]}])[
        "InstanceInformationList"]
    assert listed[0]["PingStatus"] == "ConnectionLost"


def test_send_command_with_instance_id_targets_and_invocations(aws):
    ids = launch(aws, 2)
    failing = launch(aws, 1, {"fk-test:ssm-command-status": "Failed"})
    ssm = aws("ssm")
    command = ssm.send_command(DocumentName="AWS-RunShellScript",
                               Targets=[{"Key": "InstanceIds", "Values": ids + failing}],
                               Parameters={"commands": ["true"]})["Command"]
    assert sorted(command["InstanceIds"]) == sorted(ids + failing)
    command_id = command["CommandId"]

    first = ssm.list_command_invocations(CommandId=command_id)["CommandInvocations"]
    assert {i["Status"] for i in first} == {"InProgress"}

    def finished():
        invocations = ssm.list_command_invocations(CommandId=command_id, Details=True)[
            "CommandInvocations"]
        return all(i["Status"] not in ("Pending", "InProgress") for i in invocations) and invocations

    invocations = {i["InstanceId"]: i for i in wait_for(finished)}
    assert set(invocations) == set(ids + failing)
    assert all(invocations[i]["Status"] == "Success" for i in ids)
    assert invocations[failing[0]]["Status"] == "Failed"
    assert invocations[ids[0]]["CommandPlugins"][0]["ResponseCode"] == 0
    one = ssm.get_command_invocation(CommandId=command_id, InstanceId=ids[0])
    assert one["Status"] == "Success"
    only = ssm.list_command_invocations(CommandId=command_id, InstanceId=ids[1])[
        "CommandInvocations"]
    assert [i["InstanceId"] for i in only] == [ids[1]]


def test_patch_states_follow_run_patch_baseline(aws):
    ids = launch(aws, 2, {"fk-test:patch-missing": "3"})
    ssm = aws("ssm")
    assert ssm.describe_instance_patch_states(InstanceIds=ids)["InstancePatchStates"] == []

    def run(operation: str) -> None:
        command_id = ssm.send_command(DocumentName="AWS-RunPatchBaseline", InstanceIds=ids,
                                      Parameters={"Operation": [operation]})["Command"]["CommandId"]
        wait_for(lambda: all(i["Status"] == "Success" for i in ssm.list_command_invocations(
            CommandId=command_id)["CommandInvocations"]))

    run("Scan")
    states = ssm.describe_instance_patch_states(InstanceIds=ids)["InstancePatchStates"]
    assert {s["InstanceId"] for s in states} == set(ids)
    assert {(s["Operation"], s["MissingCount"]) for s in states} == {("Scan", 3)}
    installed_before = states[0]["InstalledCount"]

    run("Install")
    states = ssm.describe_instance_patch_states(InstanceIds=ids)["InstancePatchStates"]
    assert {(s["Operation"], s["MissingCount"]) for s in states} == {("Install", 0)}
    assert states[0]["InstalledCount"] > installed_before
    assert all(s["OperationEndTime"] > s["OperationStartTime"] for s in states)


def test_an_earlier_scan_and_a_lost_agent_are_test_hooks(aws):
    scanned, lost = launch(aws, 2, {"fk-test:patch-scanned-missing": "4"})
    aws("ec2").create_tags(Resources=[lost], Tags=[{"Key": "fk-test:ssm-ping",
                                                    "Value": "ConnectionLost"}])
    ssm = aws("ssm")
    [state] = [s for s in ssm.describe_instance_patch_states(InstanceIds=[scanned])[
        "InstancePatchStates"]]
    assert (state["Operation"], state["MissingCount"]) == ("Scan", 4)
    pings = {i["InstanceId"]: i["PingStatus"] for i in ssm.describe_instance_information(
        Filters=[{"Key": "InstanceIds", "Values": [scanned, lost]}])["InstanceInformationList"]}
    assert pings == {scanned: "Online", lost: "ConnectionLost"}


def test_list_command_invocations_filters_by_document_and_time(aws):
    """API_CommandFilter.html: DocumentName and InvokedAfter/InvokedBefore narrow the listing to
    the invocations of one document since a time, whatever their command."""
    import datetime
    ids = launch(aws, 2)
    ssm = aws("ssm")
    shell = ssm.send_command(DocumentName="AWS-RunShellScript", InstanceIds=ids[:1],
                             Parameters={"commands": ["true"]})["Command"]["CommandId"]
    patch = [ssm.send_command(DocumentName="AWS-RunPatchBaseline", InstanceIds=[i],
                              Parameters={"Operation": ["Scan"]})["Command"]["CommandId"]
             for i in ids]
    sent = ssm.list_commands(CommandId=patch[0])["Commands"][0]["RequestedDateTime"]
    since = (sent - datetime.timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    listed = ssm.list_command_invocations(Filters=[
        {"key": "DocumentName", "value": "AWS-RunPatchBaseline"},
        {"key": "InvokedAfter", "value": since}])["CommandInvocations"]
    assert {(i["CommandId"], i["InstanceId"]) for i in listed} >= set(zip(patch, ids))
    assert shell not in {i["CommandId"] for i in listed}
    later = (sent + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ssm.list_command_invocations(Filters=[
        {"key": "InvokedAfter", "value": later}])["CommandInvocations"] == []
    assert {i["CommandId"] for i in ssm.list_command_invocations(Filters=[
        {"key": "InvokedBefore", "value": later}])["CommandInvocations"]} >= {shell, *patch}
