"""AMI rollout end to end: a parameter change on the real Kafka broker, the worker rolling the new
AMI out on moto (started here with scripts/moto_launcher.py, recording on, short state delays),
outcomes asserted through boto3, moto's recorder and the result events (read_committed).

Event shapes: "Parameter Store Change" as in
https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-systems-manager-event-examples.html
and the CloudTrail "AWS API Call via CloudTrail" event for PutParameter as in
https://docs.aws.amazon.com/eventbridge/latest/ref/events-structure.html and
https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-cloudtrail-logs.html
(requestParameters of https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html)."""

import ipaddress
import json
import os
import sys
import time
import uuid

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Lane, assert_worker_actions_declared, moto_world  # noqa: E402
from aws_events import parameter_store_change  # noqa: E402

pytestmark = pytest.mark.e2e

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's account
PARAM = "/ami/linux/test"
OTHER_PARAM = "/ami/linux/other"


def cloudtrail_put_parameter(name, value, version):
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.ssm", "account": ACCOUNT,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "region": REGION,
        "resources": [],
        "detail": {
            "eventVersion": "1.08", "eventSource": "ssm.amazonaws.com",
            "eventName": "PutParameter", "awsRegion": REGION, "eventType": "AwsApiCall",
            "requestParameters": {"name": name, "type": "String", "value": value,
                                  "overwrite": True},
            "responseElements": {"version": version, "tier": "Standard"},
            "requestID": str(uuid.uuid4()), "eventID": str(uuid.uuid4()),
        },
    }


CONFIG = """
handlers:
  ami_rollout:
    refresh_defaults: {MinHealthyPercentage: 50, InstanceWarmup: 1, SkipMatching: true}
    replacement: {strategy: relaunch, max_concurrency: 2, max_unavailable: 1, step_timeout: 120s}
    metrics_namespace: Fleetkeeper/AmiRollout
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """moto and the topics of the worker "ami", which test_parameter_change_rolls_the_new_ami_out
    starts (world["worker"]) with the environment it tests."""
    with moto_world(tmp_path_factory.mktemp("ami"), REGION,
                    moto_env={"FK_MOTO_STATE_DELAY": "0.5", "FK_MOTO_TIME_SCALE": "0.05"}) as world:
        lane = Lane(world, "ami")
        world.update(lane=lane, results=lane.results, send=lane.send)
        yield world


def _template(ec2, name, image):
    return ec2.create_launch_template(
        LaunchTemplateName=name,
        LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro"},
    )["LaunchTemplate"]["LaunchTemplateId"]


def _group(asg, name, template, version="1", tags=None, size=2):
    asg.create_auto_scaling_group(
        AutoScalingGroupName=name, MinSize=size, MaxSize=size + 1, DesiredCapacity=size,
        AvailabilityZones=[f"{REGION}a"],
        LaunchTemplate={"LaunchTemplateId": template, "Version": version},
        Tags=[{"Key": k, "Value": v, "PropagateAtLaunch": False}
              for k, v in (tags or {}).items()])


def _standalone(ec2, image, tags, subnet):
    i = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro",
                          SubnetId=subnet,
                          TagSpecifications=[{"ResourceType": "instance", "Tags": [
                              {"Key": k, "Value": v} for k, v in tags.items()]}],
                          )["Instances"][0]["InstanceId"]
    return i


@pytest.fixture(scope="module")
def fleet(world):
    moto = world["moto"]
    ec2, asg, ssm, elb = (moto.client("ec2"), moto.client("autoscaling"), moto.client("ssm"),
                          moto.client("elbv2"))
    images = [i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"]
              if i.get("State", "available") == "available"]
    old, new = images[0], images[1]
    ssm.put_parameter(Name=PARAM, Value=old, Type="String")
    ssm.put_parameter(Name=OTHER_PARAM, Value=old, Type="String")
    bind = {"fleetkeeper:ami-parameter": PARAM}

    # Groups: resolve:ssm template; plain template + tag; excluded (EXCLUDED_ASGS); a target that
    # shares its template at $Latest with a group that is not a target.
    _group(asg, "ssm-asg", _template(ec2, "ssm-lt", f"resolve:ssm:{PARAM}"))
    _group(asg, "tagged-asg", _template(ec2, "tagged-lt", old), tags=bind)
    _group(asg, "excluded-asg", _template(ec2, "excluded-lt", old), tags=bind)
    shared = _template(ec2, "shared-lt", old)
    _group(asg, "shared-asg", shared, version="$Latest", tags=bind)
    _group(asg, "bystander-asg", shared, version="$Latest")

    subnet = ec2.describe_subnets(Filters=[{"Name": "availability-zone",
                                            "Values": [f"{REGION}a"]}])["Subnets"][0]
    tg = elb.create_target_group(Name="web", Protocol="HTTP", Port=80, VpcId=subnet["VpcId"],
                                 TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    standalone = {}
    for n in range(2):
        iid = _standalone(ec2, old, {**bind, "Name": f"web-{n}"}, subnet["SubnetId"])
        ec2.get_waiter("instance_running").wait(InstanceIds=[iid],
                                                WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        vols = {}
        for device, size in (("/dev/sdf", 10), ("/dev/sdg", 20)):
            v = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=size)["VolumeId"]
            ec2.get_waiter("volume_available").wait(VolumeIds=[v],
                                                    WaiterConfig={"Delay": 1, "MaxAttempts": 60})
            ec2.attach_volume(VolumeId=v, InstanceId=iid, Device=device)
            vols[device] = v
        standalone[iid] = vols
    first = next(iter(standalone))
    alloc = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=alloc, InstanceId=first)
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": i, "Port": 80} for i in standalone])
    excluded = _standalone(ec2, old, bind, subnet["SubnetId"])
    other = _standalone(ec2, old, {"fleetkeeper:ami-parameter": OTHER_PARAM}, subnet["SubnetId"])

    # A router: a secondary interface at device 1 that goes with the instance on termination, two
    # secondary private addresses on its primary interface, the T3 credit option chosen at launch,
    # and stop protection (moto refuses StopInstances for it, as EC2 does).
    routed = ec2.run_instances(
        ImageId=old, MinCount=1, MaxCount=1, InstanceType="t3.micro", SubnetId=subnet["SubnetId"],
        CreditSpecification={"CpuCredits": "unlimited"},
        TagSpecifications=[{"ResourceType": "instance", "Tags": [
            {"Key": k, "Value": v} for k, v in {**bind, "Name": "router"}.items()]}],
    )["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[routed],
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    eni = ec2.create_network_interface(SubnetId=subnet["SubnetId"], Description="data plane")[
        "NetworkInterface"]["NetworkInterfaceId"]
    attachment = ec2.attach_network_interface(NetworkInterfaceId=eni, InstanceId=routed,
                                              DeviceIndex=1)["AttachmentId"]
    ec2.modify_network_interface_attribute(
        NetworkInterfaceId=eni, Attachment={"AttachmentId": attachment, "DeleteOnTermination": True})
    [primary] = [n["NetworkInterfaceId"] for n in _instance(moto, routed)["NetworkInterfaces"]
                 if n["Attachment"]["DeviceIndex"] == 0]
    # Two addresses at the subnet's end: moto hands instances their primary address in order from
    # the subnet's start without checking the secondary addresses it assigned, so a count-assigned
    # (random) address could be given to a later launch, the replacement among them. EC2 reserves
    # an assigned address for its interface.
    top = ipaddress.ip_network(subnet["CidrBlock"]).broadcast_address
    router_ips = sorted(str(top - k) for k in (2, 3))
    ec2.assign_private_ip_addresses(NetworkInterfaceId=primary, PrivateIpAddresses=router_ips)
    assert _secondary_ips(_instance(moto, routed)) == router_ips
    ec2.modify_instance_attribute(InstanceId=routed, DisableApiStop={"Value": True})
    return {"old": old, "new": new, "standalone": standalone, "eip": alloc, "first": first,
            "tg": tg, "excluded": excluded, "other": other, "shared": shared, "routed": routed,
            "eni": eni, "router_ips": router_ips}


def _secondary_ips(instance):
    """The secondary private addresses of the instance's primary interface, sorted."""
    return sorted(a["PrivateIpAddress"] for n in instance["NetworkInterfaces"]
                  if n["Attachment"]["DeviceIndex"] == 0
                  for a in n["PrivateIpAddresses"] if not a["Primary"])


def _asg_images(moto, name):
    g = moto.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    ids = [i["InstanceId"] for i in g["Instances"] if i["LifecycleState"] == "InService"]
    res = moto.client("ec2").describe_instances(InstanceIds=ids)["Reservations"]
    return {i["ImageId"] for r in res for i in r["Instances"]}


def _instance(moto, iid):
    return moto.client("ec2").describe_instances(InstanceIds=[iid])["Reservations"][0][
        "Instances"][0]


def test_parameter_change_rolls_the_new_ami_out(world, fleet):
    moto, results = world["moto"], world["results"]
    env = moto.worker_env(
        world["tmp"], REGION,
        # The original Lambda's variables, as users set them today.
        EXCLUDED_ASGS="excluded-asg", EXCLUDED_INSTANCES=json.dumps([fleet["excluded"]]),
        ASG_CONFIGURATIONS=json.dumps({"ssm-asg": {"MinHealthyPercentage": 0}}))
    worker = world["lane"].start_worker(CONFIG, env=env)
    world["worker"] = worker

    # Record only what the worker does from here on.
    moto.record_from_here()
    version = moto.client("ssm").put_parameter(Name=PARAM, Value=fleet["new"], Type="String",
                                               Overwrite=True)["Version"]
    change = parameter_store_change(PARAM)
    trail = cloudtrail_put_parameter(PARAM, fleet["new"], version)
    world["send"](change, trail)

    finals = {}
    deadline = time.time() + 420
    while time.time() < deadline and len(finals) < 2:
        for e in (change, trail):
            f = results.finals(e["id"])
            if f:
                finals[e["id"]] = f
        time.sleep(0.5)
    assert len(finals) == 2, f"outcomes: {finals}\n{worker.tail()}"
    # Exactly one final each; one event owns the rollout, the other is its duplicate.
    assert all(len(v) == 1 for v in finals.values()), finals
    outcomes = [v[0] for v in finals.values()]
    rollout = next(r for r in outcomes if r["status"] != "SKIPPED")
    duplicate = next(r for r in outcomes if r["status"] == "SKIPPED")
    assert rollout["workflow_id"] in duplicate["reason"], duplicate
    # The shared-template target is REJECTED, so the rollout as a whole is PARTIAL.
    assert rollout["status"] == "PARTIAL", json.dumps(rollout, indent=1)
    assert f"param:{PARAM}:{version}" in rollout["reason"], rollout
    actions = {(a["resource"], a["action"]): a for a in rollout["actions"]}

    # Groups bound by resolve:ssm and by tag run the new AMI; the others are untouched.
    assert _asg_images(moto, "ssm-asg") == {fleet["new"]}
    assert _asg_images(moto, "tagged-asg") == {fleet["new"]}
    assert _asg_images(moto, "excluded-asg") == {fleet["old"]}
    assert _asg_images(moto, "bystander-asg") == {fleet["old"]}
    assert _asg_images(moto, "shared-asg") == {fleet["old"]}
    assert actions[("asg:ssm-asg", "instance-refresh")]["status"] == "succeeded"
    assert actions[("asg:tagged-asg", "instance-refresh")]["status"] == "succeeded"
    assert actions[("asg:excluded-asg", "skip")]["status"] == "skipped"
    shared = actions[("asg:shared-asg", "instance-refresh")]
    assert shared["status"] == "rejected" and "bystander-asg" in shared["detail"], shared
    versions = moto.client("ec2").describe_launch_template_versions(
        LaunchTemplateId=fleet["shared"])["LaunchTemplateVersions"]
    assert len(versions) == 1  # nothing leaked into the bystander
    # ASG_CONFIGURATIONS over refresh_defaults: MinHealthyPercentage 0 for ssm-asg only.
    starts = moto.calls("StartInstanceRefresh")
    assert len(starts) == 2, starts
    ssm_start = next(b for b in starts if "AutoScalingGroupName=ssm-asg" in b)
    assert "Preferences.MinHealthyPercentage=0" in ssm_start, ssm_start
    assert "Preferences.InstanceWarmup=1" in ssm_start, ssm_start

    # Standalone instances: replaced, volumes at the same devices, EIP and target group moved.
    ec2 = moto.client("ec2")
    elb = moto.client("elbv2")
    registered = {t["Target"]["Id"] for t in elb.describe_target_health(
        TargetGroupArn=fleet["tg"])["TargetHealthDescriptions"]}
    for old_id, vols in fleet["standalone"].items():
        assert _instance(moto, old_id)["State"]["Name"] in ("terminated", "shutting-down")
        res = ec2.describe_instances(Filters=[
            {"Name": "tag:fleetkeeper:replaces", "Values": [old_id]}])["Reservations"]
        fresh = [i for r in res for i in r["Instances"]]
        assert len(fresh) == 1, fresh
        fresh = fresh[0]
        assert fresh["ImageId"] == fleet["new"]
        assert fresh["State"]["Name"] == "running"
        tags = {t["Key"]: t["Value"] for t in fresh.get("Tags", [])}
        assert tags["fleetkeeper:ami-parameter"] == PARAM
        for device, vol in vols.items():
            att = ec2.describe_volumes(VolumeIds=[vol])["Volumes"][0]["Attachments"]
            assert [(a["InstanceId"], a["Device"]) for a in att] == [(fresh["InstanceId"], device)]
        assert fresh["InstanceId"] in registered and old_id not in registered
        assert actions[(f"instance:{old_id}", "relaunch")]["status"] == "succeeded"
        if old_id == fleet["first"]:
            addr = ec2.describe_addresses(AllocationIds=[fleet["eip"]])["Addresses"][0]
            assert addr["InstanceId"] == fresh["InstanceId"]
    # The router: its interface at device 1 of the new instance (attached while it was stopped,
    # DeleteOnTermination as before), its credit option carried by RunInstances.
    routed = fleet["routed"]
    assert _instance(moto, routed)["State"]["Name"] in ("terminated", "shutting-down")
    res = ec2.describe_instances(Filters=[
        {"Name": "tag:fleetkeeper:replaces", "Values": [routed]}])["Reservations"]
    [fresh] = [i for r in res for i in r["Instances"]]
    assert fresh["ImageId"] == fleet["new"] and fresh["State"]["Name"] == "running"
    eni = ec2.describe_network_interfaces(NetworkInterfaceIds=[fleet["eni"]])["NetworkInterfaces"][0]
    assert (eni["Attachment"]["InstanceId"], eni["Attachment"]["DeviceIndex"]) == (
        fresh["InstanceId"], 1), eni
    assert eni["Attachment"]["DeleteOnTermination"] is True, eni
    # Its secondary private addresses: released by the old primary interface, then assigned to the
    # new one before the new instance started.
    assert _secondary_ips(fresh) == fleet["router_ips"], fresh["NetworkInterfaces"]
    # Its stop protection: lifted on the old instance to stop it, carried to the new one.
    assert ec2.describe_instance_attribute(InstanceId=fresh["InstanceId"], Attribute="disableApiStop")[
        "DisableApiStop"]["Value"] is True
    unassigned, assigned = moto.calls("UnassignPrivateIpAddresses"), moto.calls(
        "AssignPrivateIpAddresses")
    assert len(unassigned) == 1 and len(assigned) == 1, (unassigned, assigned)
    assert all(ip in assigned[0] for ip in fleet["router_ips"]), assigned
    assert ec2.describe_instance_credit_specifications(InstanceIds=[fresh["InstanceId"]])[
        "InstanceCreditSpecifications"] == [{"InstanceId": fresh["InstanceId"],
                                             "CpuCredits": "unlimited"}]
    assert actions[(f"instance:{routed}", "relaunch")]["status"] == "succeeded"
    moved = actions[(f"eni:{fleet['eni']}", "attach-network-interface")]
    assert moved["status"] == "succeeded" and moved.get("aws_request_id"), moved

    # Each RunInstances carried a ClientToken; one launch per instance; the router's carried its
    # credit option (T3 would launch unlimited anyway, so the request is what proves it).
    runs = moto.calls("RunInstances")
    assert len(runs) == 3 and all("ClientToken=" in b for b in runs), runs
    [router_run] = [b for b in runs if routed in b]
    assert "CreditSpecification.CpuCredits=unlimited" in router_run, router_run
    # Every EC2, ELBv2 and Auto Scaling call that changed something names its request id in the
    # result.
    changes = {"stop-instances", "detach-volume", "detach-network-interface", "run-instances",
               "attach-volume", "attach-network-interface", "start-instances",
               "associate-address", "modify-network-interface-attribute",
               "modify-instance-attribute", "unassign-private-ip-addresses", "assign-private-ip-addresses",
               "terminate-instances", "create-launch-template-version", "register-targets",
               "deregister-targets", "start-instance-refresh", "update-auto-scaling-group"}
    seen = set()
    for a in rollout["actions"]:
        if a["action"] in changes and a["status"] == "succeeded":
            assert a.get("aws_request_id"), a
            seen.add(a["action"])
    assert {"register-targets", "deregister-targets", "start-instance-refresh",
            "assign-private-ip-addresses", "modify-instance-attribute"} <= seen, seen

    # The rollout's metrics went to CloudWatch under the configured namespace.
    metrics = [b for b in moto.calls("PutMetricData")
               if "Fleetkeeper%2FAmiRollout" in b or "Fleetkeeper/AmiRollout" in b]
    assert metrics and all(m in metrics[-1] for m in ("TargetsSucceeded", "RolloutDuration")), \
        moto.calls("PutMetricData")

    # Exclusions and other parameters: untouched.
    for iid in (fleet["excluded"], fleet["other"]):
        i = _instance(moto, iid)
        assert i["State"]["Name"] == "running" and i["ImageId"] == fleet["old"]
    assert actions[(f"instance:{fleet['excluded']}", "skip")]["status"] == "skipped"
    assert (f"instance:{fleet['other']}", "skip") not in actions


def test_a_later_put_of_the_same_parameter_rolls_out_again(world, fleet):
    """Name + version is the dedup key (DESIGN.md): the next AMI put must not be a duplicate of the
    finished rollout of the previous one."""
    moto, results = world["moto"], world["results"]
    assert "worker" in world, "runs after test_parameter_change_rolls_the_new_ami_out"
    version = moto.client("ssm").put_parameter(Name=PARAM, Value=fleet["old"], Type="String",
                                               Overwrite=True)["Version"]
    change = parameter_store_change(PARAM)
    world["send"](change)
    r = results.wait_final(change["id"], timeout=420)
    assert r["status"] != "SKIPPED", r
    assert f"param:{PARAM}:{version}" in r["reason"], r
    assert _asg_images(moto, "tagged-asg") == {fleet["old"]}
    world["later_change"] = change


# Every call that changes something in these services.
MUTATING = ("RunInstances", "StopInstances", "StartInstances", "TerminateInstances",
            "AttachVolume", "DetachVolume", "AssociateAddress", "ModifyInstanceAttribute",
            "CreateLaunchTemplateVersion", "StartInstanceRefresh", "UpdateAutoScalingGroup",
            "CreateReplaceRootVolumeTask", "RegisterTargets", "DeregisterTargets",
            "AttachNetworkInterface", "DetachNetworkInterface", "AssignPrivateIpAddresses",
            "UnassignPrivateIpAddresses", "CreateTags")


def _mutations(moto):
    return {a: n for a in MUTATING if (n := len(moto.calls(a)))}


def _subnet(ec2):
    return ec2.describe_subnets(Filters=[{"Name": "availability-zone",
                                          "Values": [f"{REGION}a"]}])["Subnets"][0]["SubnetId"]


def test_the_same_event_again_changes_nothing(world, fleet):
    """An event delivered twice (same id: EventBridge delivers at least once) gets no second
    outcome and no second rollout. A later event of the same cell, ordered after it on the work
    partition, shows that the duplicate was read."""
    moto, results = world["moto"], world["results"]
    assert "later_change" in world, "runs after test_a_later_put_of_the_same_parameter_rolls_out_again"
    change = world["later_change"]
    moto.record_from_here()
    world["send"](change)
    marker = dict(parameter_store_change(PARAM), detail={
        "operation": "Delete", "name": PARAM, "type": "String", "description": ""})
    world["send"](marker)
    m = results.wait_final(marker["id"], timeout=120)
    assert m["status"] == "SKIPPED" and "deleted" in m["reason"], m
    assert len(results.finals(change["id"])) == 1, results.finals(change["id"])
    assert _mutations(moto) == {}, _mutations(moto)


def test_a_value_that_is_not_an_available_ami_is_rejected_and_nothing_is_touched(world, fleet):
    moto, results = world["moto"], world["results"]
    assert "worker" in world, "runs after test_parameter_change_rolls_the_new_ami_out"
    ec2, ssm = moto.client("ec2"), moto.client("ssm")
    param = "/ami/linux/typo"
    ssm.put_parameter(Name=param, Value=fleet["old"], Type="String")
    iid = _standalone(ec2, fleet["old"], {"fleetkeeper:ami-parameter": param}, _subnet(ec2))
    moto.record_from_here()
    ssm.put_parameter(Name=param, Value="ami-0123456789abcdef0", Type="String", Overwrite=True)
    change = parameter_store_change(param)
    world["send"](change)
    r = results.wait_final(change["id"], timeout=120)
    assert r["status"] == "REJECTED" and "ami-0123456789abcdef0" in r["reason"], r
    assert _mutations(moto) == {}, _mutations(moto)
    i = _instance(moto, iid)
    assert i["ImageId"] == fleet["old"] and i["State"]["Name"] in ("pending", "running"), i


def test_replace_root_volume_keeps_the_instance_id(world, fleet):
    """An instance tagged fleetkeeper:replacement-strategy=replace-root-volume keeps its id (and
    so its alarms keyed on InstanceId): CreateReplaceRootVolumeTask with the new image, then the
    health checks; the untagged instances of the worker are relaunched (the other tests)."""
    moto, results = world["moto"], world["results"]
    assert "worker" in world, "runs after test_parameter_change_rolls_the_new_ami_out"
    ec2, ssm = moto.client("ec2"), moto.client("ssm")
    param = "/ami/linux/in-place"
    ssm.put_parameter(Name=param, Value=fleet["old"], Type="String")
    iid = _standalone(ec2, fleet["old"], {"fleetkeeper:ami-parameter": param,
                                          "fleetkeeper:replacement-strategy": "replace-root-volume"},
                      _subnet(ec2))
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid],
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    moto.record_from_here()
    ssm.put_parameter(Name=param, Value=fleet["new"], Type="String", Overwrite=True)
    change = parameter_store_change(param)
    world["send"](change)
    r = results.wait_final(change["id"], timeout=420)
    assert r["status"] == "SUCCEEDED", json.dumps(r, indent=1)
    i = _instance(moto, iid)
    assert i["ImageId"] == fleet["new"] and i["State"]["Name"] == "running", i
    assert not ec2.describe_instances(Filters=[
        {"Name": "tag:fleetkeeper:replaces", "Values": [iid]}])["Reservations"]
    tasks = moto.calls("CreateReplaceRootVolumeTask")
    assert len(tasks) == 1 and iid in tasks[0] and fleet["new"] in tasks[0], tasks
    assert "RunInstances" not in _mutations(moto), _mutations(moto)
    actions = {(a["resource"], a["action"]): a for a in r["actions"]}
    assert actions[(f"instance:{iid}", "replace-root-volume")]["status"] == "succeeded", actions


def test_kill_9_during_replacements_finishes_with_one_new_instance_each(world, fleet):
    """DESIGN.md "Guarantees": a crash at any instant strands nothing. Killed while the
    replacements of a cohort are under way (stops, starts and terminations sent for several
    instances in one call), the restarted worker finishes them: one new instance per old one,
    volumes attached once, no orphan left running."""
    moto, results = world["moto"], world["results"]
    assert "worker" in world, "runs after test_parameter_change_rolls_the_new_ami_out"
    worker = world["worker"]
    ec2, ssm = moto.client("ec2"), moto.client("ssm")
    param = "/ami/linux/crash"
    subnet = _subnet(ec2)
    ssm.put_parameter(Name=param, Value=fleet["old"], Type="String")
    volumes = {}
    for n in range(3):
        iid = _standalone(ec2, fleet["old"], {"fleetkeeper:ami-parameter": param,
                                              "Name": f"crash-{n}"}, subnet)
        ec2.get_waiter("instance_running").wait(InstanceIds=[iid],
                                                WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        v = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=5)["VolumeId"]
        ec2.attach_volume(VolumeId=v, InstanceId=iid, Device="/dev/sdf")
        volumes[iid] = v
    ec2.get_waiter("volume_in_use").wait(VolumeIds=list(volumes.values()),
                                         WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    ssm.put_parameter(Name=param, Value=fleet["new"], Type="String", Overwrite=True)
    change = parameter_store_change(param)
    world["send"](change)

    def replacements(old_id):
        res = ec2.describe_instances(Filters=[
            {"Name": "tag:fleetkeeper:replaces", "Values": [old_id]}])["Reservations"]
        return [i for r in res for i in r["Instances"]]

    # Kill as soon as a replacement has been launched: the cohort is mid-sequence.
    deadline = time.time() + 180
    while time.time() < deadline and not any(replacements(i) for i in volumes):
        time.sleep(0.2)
    assert any(replacements(i) for i in volumes), worker.tail()
    assert worker.kill() == -9
    worker.start()

    r = results.wait_final(change["id"], timeout=420)
    assert r["status"] == "SUCCEEDED", json.dumps(r, indent=1)
    for old_id, vol in volumes.items():
        assert _instance(moto, old_id)["State"]["Name"] in ("terminated", "shutting-down")
        live = [i for i in replacements(old_id)
                if i["State"]["Name"] not in ("terminated", "shutting-down")]
        assert len(live) == 1, (old_id, replacements(old_id))
        assert live[0]["ImageId"] == fleet["new"] and live[0]["State"]["Name"] == "running"
        att = ec2.describe_volumes(VolumeIds=[vol])["Volumes"][0]["Attachments"]
        assert [(a["InstanceId"], a["Device"]) for a in att] == [(live[0]["InstanceId"],
                                                                  "/dev/sdf")]


def test_dry_run_lists_every_action_and_changes_nothing(world, fleet):
    """With dry_run on, the result lists what each target would get and moto's recorder shows no
    call that changes anything."""
    moto, results = world["moto"], world["results"]
    assert "worker" in world, "runs after test_parameter_change_rolls_the_new_ami_out"
    worker = world["worker"]
    worker.stop()
    worker.start(extra_env={"FLEETKEEPER_DRY_RUN": "true"})
    moto.record_from_here()
    version = moto.client("ssm").put_parameter(Name=PARAM, Value=fleet["new"], Type="String",
                                               Overwrite=True)["Version"]
    change = parameter_store_change(PARAM)
    world["send"](change)
    r = results.wait_final(change["id"], timeout=180)
    assert r["status"] == "DRY_RUN", json.dumps(r, indent=1)
    assert f"param:{PARAM}:{version}" in r["reason"], r
    planned = [a for a in r["actions"] if a["status"] == "dry-run"]
    refreshes = [a for a in planned if a["action"] == "instance-refresh"]
    relaunches = [a for a in planned if a["action"] == "relaunch"]
    assert refreshes and relaunches, json.dumps(r, indent=1)
    for a in relaunches:
        assert "stop-instances" in a["detail"] and f"run-instances {fleet['new']}" in a["detail"], a
        i = _instance(moto, a["resource"].split(":", 1)[1])
        assert i["ImageId"] == fleet["old"] and i["State"]["Name"] == "running", i
    assert _mutations(moto) == {}, _mutations(moto)


def test_every_aws_action_the_worker_sent_is_declared(world, fleet):
    """Last: what the rollouts above sent is what `fleetkeeper permissions` (and doctor) declare."""
    assert "worker" in world, "runs after test_parameter_change_rolls_the_new_ami_out"
    assert_worker_actions_declared(world["moto"], world["worker"])
