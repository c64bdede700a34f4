"""ECS lifecycle end to end: ECS commands on the real Kafka broker, the worker acting on moto
(scripts/moto_launcher.py, whose motofill/ecs.py runs the service scheduler moto lacks, with a
1 s state delay so that every verification waits), outcomes asserted through boto3, moto's
recorder and the result events (read with read_committed).

Schedules (handlers.ecs.schedules) are real five-field crons: the module computes, when it
starts, the first whole minute at least SCHEDULE_LEAD seconds ahead and writes the two schedules
of cluster "sched" for that minute and the next, in Asia/Kolkata (UTC+05:30, so that the zone
is applied); the schedule test, last in the file, waits for them (at most about two minutes).

Inputs: native commands in the JSON wrapper form {"ecs_command": {...}} (consumers/normalizer.h),
and the same command as an EventBridge event of detail-type "Fleetkeeper ECS Command" (the
envelope of https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html).
"""

import datetime
import json
import os
import re
import sys
import threading
import time
import uuid
import zoneinfo

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Moto, Results, TopicSet, WorkerProcess, assert_worker_actions_declared,  # noqa: E402
                     bootstrap, worker_actions)
from inputs import eventbridge  # noqa: E402

pytestmark = pytest.mark.e2e

REGION = "us-east-1"
ACCOUNT = "123456789012"        # moto's account: the cell of the commands
OUTSIDER = "999988887777"       # not in commands.allowed_accounts
BIG_SERVICES = 520
TAG = "fleetkeeper:previous-desired-count"
SUSPENDED_TAG = "fleetkeeper:scaling-suspended"
MUTATING = {"ecs:UpdateService", "ecs:TagResource", "ecs:UntagResource", "ecs:StopTask",
            "ecs:UpdateContainerInstancesState", "application-autoscaling:RegisterScalableTarget"}
API_TARGET = "service/dev/api"   # dev/api is under Application Auto Scaling: min 1, max 4
SCHEDULE_LEAD = 50               # seconds: the worker and the fleet are up by then
ZONE = "Asia/Kolkata"


def schedule_minutes():
    """The first whole minute at least SCHEDULE_LEAD s ahead, and the next (UTC datetimes)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    first = (now + datetime.timedelta(seconds=SCHEDULE_LEAD + 60)).replace(second=0,
                                                                           microsecond=0)
    return first, first + datetime.timedelta(minutes=1)


def cron_at(when):
    local = when.astimezone(zoneinfo.ZoneInfo(ZONE))
    return f"{local.minute} {local.hour} * * *"


def config(down_at, up_at):
    """The worker's config, with the two schedules at these minutes."""
    return f"""
commands: {{allowed_accounts: ["{ACCOUNT}"], max_targets: 1000}}
safety:
  # prod/api: both its tasks run on the one container instance that the drain test drains.
  max_unavailable: {{per_ecs_service: {{"dev/ledger": "1", "prod/api": "2"}}}}
  ecs_min_running: {{"dev/floor": 2}}
handlers:
  ecs:
    verify_timeout: 40s
    poll_interval: 1s
    schedules:
      - {{name: sched-down, cron: "{cron_at(down_at)}", time_zone: {ZONE},
         select: {{cluster: sched, services: ["night-*"], tag: "env=dev"}},
         action: {{type: scale, to: 0}}}}
      - {{name: sched-up, cron: "{cron_at(up_at)}", time_zone: {ZONE},
         select: {{cluster: sched, services: ["*"]}}, action: {{type: restore}}}}
"""


def occurrence_id(name, when):
    """The trigger id of a schedule's occurrence: ecs-schedule:<name>@<RFC 3339 UTC, ms>."""
    return f"ecs-schedule:{name}@{when.strftime('%Y-%m-%dT%H:%M:%S')}.000Z"


def command(action, cluster="dev", account=ACCOUNT, **fields):
    rid = f"ecs-{action}-{uuid.uuid4().hex[:8]}"
    body = {"request_id": rid, "requested_by": "ecs-e2e", "account": account, "region": REGION,
            "action": action, "reason": "end to end test", **fields}
    if cluster is not None:
        body["cluster"] = cluster
    return rid, body


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ecs")
    moto = Moto(tmp, env={"FK_MOTO_STATE_DELAY": "1"}, start_recording=True)
    # Cluster sched, for the schedules: night-api (2, env=dev) and night-db (1, env=prod) are
    # named by the glob, only night-api by the tag; day-web (1, env=dev) by neither. It exists
    # before the worker starts, which plans the occurrences at once.
    ecs = moto.client("ecs")
    ecs.register_task_definition(family="sched", containerDefinitions=[
        {"name": "app", "image": "nginx", "memory": 128}])
    ecs.create_cluster(clusterName="sched")
    for name, count, env_tag in (("night-api", 2, "dev"), ("night-db", 1, "prod"),
                                 ("day-web", 1, "dev")):
        ecs.create_service(cluster="sched", serviceName=name, taskDefinition="sched",
                           desiredCount=count, tags=[{"key": "env", "value": env_tag}])
    topics = TopicSet(inputs=(3,), work_partitions=3)
    topics.create(AdminClient({"bootstrap.servers": bootstrap()}))
    env = {"AWS_ENDPOINT_URL": moto.endpoint, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION,
           "AWS_CONFIG_FILE": str(tmp / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none")}
    # The schedules' minutes count from the worker's start, not from the module's import: the
    # modules before this one may take longer than the lead.
    down_at, up_at = schedule_minutes()
    worker = WorkerProcess(topics.config_yaml({"transactional.id": topics.prefix + "-ecs"},
                                              extra=config(down_at, up_at)),
                           "ecs", env=env, workdir=tmp).start()
    results = Results(topics.results, group_prefix="ecs-reader-")
    producer = Producer({"bootstrap.servers": bootstrap(), "linger.ms": 2})

    def send(body=None, envelope=None):
        value = envelope if envelope is not None else {"ecs_command": body}
        producer.produce(topics.inputs[0], value=json.dumps(value).encode())
        producer.flush(30)

    def run(action, timeout=90, **kw):
        rid, body = command(action, **kw)
        send(body)
        return results.wait_final(rid, timeout=timeout)

    yield {"moto": moto, "worker": worker, "results": results, "send": send, "run": run,
           "down_at": down_at, "up_at": up_at}
    results.close()
    worker.stop()
    moto.stop()


@pytest.fixture(scope="module")
def fleet(world):
    """Cluster dev: api (2), web (3), worker (2); cluster prod: api (2) on one EC2 container
    instance; cluster big: 520 services at desired 0."""
    moto = world["moto"]
    ec2, ecs = moto.client("ec2"), moto.client("ecs")
    ecs.register_task_definition(family="app", containerDefinitions=[
        {"name": "app", "image": "nginx", "memory": 128}])
    ecs.create_cluster(clusterName="prod")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    host = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                             InstanceType="t3.micro")["Instances"][0]["InstanceId"]
    instance = ecs.register_container_instance(
        cluster="prod", instanceIdentityDocument=json.dumps({"instanceId": host}))[
        "containerInstance"]["containerInstanceArn"]
    ecs.create_service(cluster="prod", serviceName="api", taskDefinition="app", desiredCount=2,
                       launchType="EC2")
    ecs.create_cluster(clusterName="dev")
    for name, count in (("api", 2), ("web", 3), ("worker", 2), ("ledger", 4), ("floor", 2)):
        ecs.create_service(cluster="dev", serviceName=name, taskDefinition="app",
                           desiredCount=count, launchType="EC2")
    ecs.create_cluster(clusterName="big")
    for i in range(BIG_SERVICES):
        ecs.create_service(cluster="big", serviceName=f"svc-{i:03d}", taskDefinition="app",
                           desiredCount=0)
    moto.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs", ResourceId=API_TARGET, ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=1, MaxCapacity=4)
    wait_for(lambda: service(moto, "prod", "api")["runningCount"] == 2, "prod/api running 2")
    wait_for(lambda: service(moto, "dev", "web")["runningCount"] == 3, "dev/web running 3")
    return {"instance": instance, "host": host}


def wait_for(predicate, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def service(moto, cluster, name):
    return moto.client("ecs").describe_services(cluster=cluster, services=[name],
                                                include=["TAGS"])["services"][0]


def tags_of(svc):
    return {t["key"]: t["value"] for t in svc.get("tags") or []}


def scalable(moto, resource_id=API_TARGET):
    targets = moto.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[resource_id])["ScalableTargets"]
    assert len(targets) == 1, targets
    return targets[0]


def suspended(target):
    state = target.get("SuspendedState") or {}
    return (state.get("DynamicScalingInSuspended", False),
            state.get("DynamicScalingOutSuspended", False),
            state.get("ScheduledScalingSuspended", False))


def worker_mutations_since_reset(moto):
    return sorted(worker_actions(moto.recorded()) & MUTATING)


# --- list ---------------------------------------------------------------------------------------

def test_list_services_is_complete_and_paginated(world, fleet):
    moto = world["moto"]
    moto.record_from_here()
    r = world["run"]("list_services", cluster="big")
    assert r["status"] == "SUCCEEDED", r
    listed = [a for a in r["actions"] if a["action"] == "service"]
    assert len(listed) == BIG_SERVICES, r["reason"]
    assert {a["detail"].split(":")[0] for a in listed} == {f"svc-{i:03d}" for i in
                                                          range(BIG_SERVICES)}
    assert "desired 0, running 0, pending 0" in listed[0]["detail"]
    # 100 per page: six ListServices calls, each after the first with the previous nextToken.
    pages = moto.calls("ListServices")
    assert len(pages) == 6, pages
    assert sum('"nextToken"' in p for p in pages) == 5
    assert worker_mutations_since_reset(moto) == []


def test_list_clusters_and_tasks(world, fleet):
    r = world["run"]("list_clusters", cluster=None)
    assert r["status"] == "SUCCEEDED", r
    clusters = {a["detail"].split(":")[0]: a for a in r["actions"]}
    assert {"dev", "prod", "big"} <= set(clusters)
    assert clusters["prod"]["status"] == "ACTIVE"
    assert "1 container instances" in clusters["prod"]["detail"]
    r = world["run"]("list_tasks", cluster="dev", services=["web"])
    assert r["status"] == "SUCCEEDED", r
    tasks = [a for a in r["actions"] if a["action"] == "task"]
    assert len(tasks) == 3 and all(a["status"] == "RUNNING" for a in tasks), r
    assert all("health HEALTHY" in a["detail"] and "service web" in a["detail"] for a in tasks)


# --- scale and restore --------------------------------------------------------------------------

def test_scale_two_services_to_zero_and_restore(world, fleet):
    """api is under Application Auto Scaling: its scaling is suspended while at zero and resumed
    by the restore; web has no scalable target."""
    moto, run = world["moto"], world["run"]
    assert suspended(scalable(moto)) == (False, False, False)
    r = run("scale", services=["api", "web"], desired_count=0)
    assert r["status"] == "SUCCEEDED", r
    api, web = service(moto, "dev", "api"), service(moto, "dev", "web")
    assert (api["desiredCount"], api["runningCount"]) == (0, 0)
    assert (web["desiredCount"], web["runningCount"]) == (0, 0)
    assert tags_of(api)[TAG] == "2" and tags_of(web)[TAG] == "3"
    assert tags_of(api)[SUSPENDED_TAG] == "in,out,scheduled" and SUSPENDED_TAG not in tags_of(web)
    target = scalable(moto)
    assert suspended(target) == (True, True, True), target
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 4)
    registered = [a for a in r["actions"] if a["action"] == "RegisterScalableTarget"]
    assert [a["resource"] for a in registered] == ["ecs:dev/api"], r["actions"]
    assert "was min 1, max 4, scaling active" in registered[0]["detail"]
    verified = [a for a in r["actions"] if a["action"] == "verify"]
    assert {a["resource"] for a in verified} == {"ecs:dev/api", "ecs:dev/web"}
    assert any("desired 3 -> 0, running 3 -> 0" in a["detail"] for a in verified), verified

    r = run("restore", services=["api", "web"])
    assert r["status"] == "SUCCEEDED", r
    api, web = service(moto, "dev", "api"), service(moto, "dev", "web")
    assert (api["desiredCount"], api["runningCount"]) == (2, 2)
    assert (web["desiredCount"], web["runningCount"]) == (3, 3)
    assert not {TAG, SUSPENDED_TAG} & (set(tags_of(api)) | set(tags_of(web)))
    assert suspended(scalable(moto)) == (False, False, False)


def test_scaling_above_the_scalable_targets_max_says_so(world, fleet):
    moto, run = world["moto"], world["run"]
    r = run("scale", services=["api"], desired_count=6)
    assert r["status"] == "SUCCEEDED", r
    assert "above the scalable target's max 4" in r["reason"], r["reason"]
    assert service(moto, "dev", "api")["desiredCount"] == 6
    r = run("scale", services=["api"], desired_count=2)
    assert r["status"] == "SUCCEEDED" and "above" not in r["reason"], r


def test_restore_without_tag_is_rejected(world, fleet):
    moto = world["moto"]
    moto.record_from_here()
    r = world["run"]("restore", services=["worker"])
    assert r["status"] == "REJECTED", r
    assert "worker" in r["reason"] and TAG in r["reason"]
    assert worker_mutations_since_reset(moto) == []


# --- restart, stop tasks, drain -----------------------------------------------------------------

def test_restart_waits_for_the_new_deployment(world, fleet):
    moto = world["moto"]
    topic = moto.client("sns").create_topic(Name="ecs-summaries")["TopicArn"]
    before = service(moto, "prod", "api")["deployments"][0]["id"]
    r = world["run"]("restart", cluster="prod", services=["api"], notify_topic_arn=topic)
    assert r["status"] == "SUCCEEDED", r
    # The summary went to the command's topic: the result says so, and moto saw the Publish.
    [summary] = [a for a in r["actions"] if a["action"] == "sns-publish"]
    assert summary["resource"] == topic and summary["status"] == "succeeded", summary
    published = [b for b in moto.calls("Publish") if "ecs-summaries" in b]
    assert len(published) == 1 and "restart" in published[0], published
    after = service(moto, "prod", "api")["deployments"]
    assert len(after) == 1 and after[0]["status"] == "PRIMARY" and after[0]["id"] != before
    assert after[0]["rolloutState"] == "COMPLETED"
    verified = [a for a in r["actions"] if a["action"] == "verify"]
    assert after[0]["id"] in verified[0]["detail"] and before in verified[0]["detail"]


def test_stop_all_tasks_of_a_service_one_at_a_time(world, fleet):
    moto = world["moto"]
    ecs = moto.client("ecs")
    before = ecs.list_tasks(cluster="dev", serviceName="worker", desiredStatus="RUNNING")[
        "taskArns"]
    assert len(before) == 2
    moto.record_from_here()
    r = world["run"]("stop_tasks", services=["worker"], max_concurrency=1)
    assert r["status"] == "SUCCEEDED", r
    stops = moto.calls("StopTask")
    assert len(stops) == 2, stops
    # One round at a time: the second StopTask only after the first task's replacement ran.
    stopped = [a for a in r["actions"] if a["action"] == "StopTask"]
    assert [a["resource"].rsplit("/", 1)[1] for a in stopped] == [
        t.rsplit("/", 1)[1] for t in before]
    described = ecs.describe_tasks(cluster="dev", tasks=before)["tasks"]
    assert {t["lastStatus"] for t in described} == {"STOPPED"}
    assert service(moto, "dev", "worker")["runningCount"] == 2


def test_stop_a_named_task(world, fleet):
    moto = world["moto"]
    ecs = moto.client("ecs")
    task = ecs.list_tasks(cluster="dev", serviceName="api", desiredStatus="RUNNING")["taskArns"][0]
    r = world["run"]("stop_tasks", tasks=[task])
    assert r["status"] == "SUCCEEDED", r
    assert ecs.describe_tasks(cluster="dev", tasks=[task])["tasks"][0]["lastStatus"] == "STOPPED"


def running_tasks(ecs, cluster, name):
    """The service's tasks that are meant to run and do (desired and last status RUNNING)."""
    arns = ecs.list_tasks(cluster=cluster, serviceName=name, desiredStatus="RUNNING")["taskArns"]
    if not arns:
        return []
    return [t["taskArn"] for t in ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]
            if t["lastStatus"] == "RUNNING"]


def test_stopping_named_tasks_keeps_the_service_within_its_budget(world, fleet):
    """dev/ledger runs 4 tasks with safety.max_unavailable 1: stopping 3 of them by name stops
    one, waits for its replacement, then the next; boto3 sampling ECS every 0.1 s never sees more
    than one task out."""
    moto = world["moto"]
    ecs = moto.client("ecs")
    wait_for(lambda: len(running_tasks(ecs, "dev", "ledger")) == 4, "dev/ledger running 4")
    chosen = running_tasks(ecs, "dev", "ledger")[:3]
    moto.record_from_here()
    rid, body = command("stop_tasks", tasks=chosen)
    samples, done = [], threading.Event()

    def sample():
        sampler = moto.client("ecs")
        while not done.is_set():
            samples.append(4 - len(running_tasks(sampler, "dev", "ledger")))
            time.sleep(0.1)

    thread = threading.Thread(target=sample)
    thread.start()
    try:
        world["send"](body)
        r = world["results"].wait_final(rid, timeout=120)
    finally:
        done.set()
        thread.join()
    assert r["status"] == "SUCCEEDED", r
    assert len(samples) > 20 and max(samples) == 1, samples
    stops = moto.calls("StopTask")
    assert len(stops) == 3, stops
    # The second and third tasks waited on the ledger, named with the one that held the budget.
    waits = [a for a in r["actions"] if a["action"] == "reserve-capacity"]
    assert {a["resource"].rsplit("/", 1)[1] for a in waits} >= {
        t.rsplit("/", 1)[1] for t in chosen[1:]}, waits
    assert all(re.search(r"ecs:dev/ledger: \d of 4 out of service \(.*\); max_unavailable 1",
                         a["detail"]) for a in waits), waits
    wait_for(lambda: len(running_tasks(ecs, "dev", "ledger")) == 4, "dev/ledger back to 4")


def test_the_floor_refuses_stopping_below_ecs_min_running(world, fleet):
    """dev/floor runs 2 tasks and safety.ecs_min_running keeps 2: stop_tasks waits, stops
    nothing, and fails after its verify_timeout naming the floor."""
    moto = world["moto"]
    ecs = moto.client("ecs")
    wait_for(lambda: len(running_tasks(ecs, "dev", "floor")) == 2, "dev/floor running 2")
    before = running_tasks(ecs, "dev", "floor")
    moto.record_from_here()
    r = world["run"]("stop_tasks", services=["floor"], verify_timeout="4s")
    assert r["status"] == "FAILED", r
    assert "waited 4 s for the blast-radius ledger, nothing stopped: " \
        "ecs:dev/floor: 2 of 2 in service, and it keeps at least 2" in r["reason"], r
    assert moto.calls("StopTask") == []
    assert sorted(running_tasks(ecs, "dev", "floor")) == sorted(before)


def test_drain_moves_the_tasks_off_the_instance(world, fleet):
    moto = world["moto"]
    ecs = moto.client("ecs")
    on_host = ecs.describe_container_instances(cluster="prod", containerInstances=[
        fleet["instance"]])["containerInstances"][0]
    assert on_host["runningTasksCount"] == 2
    # Both of api's tasks run there: the drain takes two of api's budget (one unit per task,
    # docs/safety.md), which config() sets to two (with the default one it would wait).
    # A scale of api sent right behind it shares the service's lock with the drain (the drain
    # locks the services of the instance's tasks): one waits for the other.
    drain_id, drain = command("drain", cluster="prod", container_instances=[fleet["instance"]])
    scale_id, scale = command("scale", cluster="prod", services=["api"], desired_count=2)
    world["send"](drain)
    world["send"](scale)
    r = world["results"].wait_final(drain_id, timeout=90)
    assert r["status"] == "SUCCEEDED", json.dumps(r, indent=1)
    s = world["results"].wait_final(scale_id, timeout=90)
    assert s["status"] == "SUCCEEDED", json.dumps(s, indent=1)
    waited = [x["reason"] for x in world["results"].by_event.get(scale_id, []) +
              world["results"].by_event.get(drain_id, [])
              if x["status"] == "IN_PROGRESS" and "waiting for ecs:prod/api (held by" in x["reason"]]
    assert waited, (world["results"].by_event.get(scale_id), world["results"].by_event.get(drain_id))
    now = ecs.describe_container_instances(cluster="prod", containerInstances=[
        fleet["instance"]])["containerInstances"][0]
    assert now["status"] == "DRAINING" and now["runningTasksCount"] == 0
    verified = [a for a in r["actions"] if a["action"] == "verify"]
    assert "2 tasks moved" in verified[0]["detail"], verified


# --- dry run, refusals, EventBridge -------------------------------------------------------------

def test_dry_run_lists_the_calls_and_makes_none(world, fleet):
    moto, run = world["moto"], world["run"]
    moto.record_from_here()
    before = service(moto, "dev", "web")
    task = moto.client("ecs").list_tasks(cluster="dev", serviceName="web",
                                         desiredStatus="RUNNING")["taskArns"][0]
    cases = [
        ("scale", {"services": ["web"], "desired_count": 0}, {"TagResource", "UpdateService"}),
        ("scale", {"services": ["api"], "desired_count": 0},
         {"TagResource", "RegisterScalableTarget", "UpdateService"}),
        ("restart", {"services": ["api"]}, {"UpdateService"}),
        ("stop_tasks", {"tasks": [task]}, {"StopTask"}),
        ("drain", {"cluster": "prod", "container_instances": [fleet["instance"]]},
         {"UpdateContainerInstancesState"}),
    ]
    for action, fields, calls in cases:
        r = run(action, dry_run=True, **fields)
        assert r["status"] == "DRY_RUN", json.dumps(r, indent=1)
        assert {a["action"] for a in r["actions"]} == calls, r
        assert all(a["status"] == "dry-run" for a in r["actions"])
    assert worker_mutations_since_reset(moto) == []
    after = service(moto, "dev", "web")
    assert after["desiredCount"] == before["desiredCount"] and TAG not in tags_of(after)


def test_missing_cluster_or_service_is_rejected_with_nothing_touched(world, fleet):
    moto, run = world["moto"], world["run"]
    moto.record_from_here()
    r = run("scale", cluster="nowhere", services=["api"], desired_count=0)
    assert r["status"] == "REJECTED" and "cluster nowhere not found" in r["reason"], r
    r = run("scale", services=["api", "ghost"], desired_count=0)
    assert r["status"] == "REJECTED" and "service ghost not found in cluster dev" in r["reason"], r
    assert worker_mutations_since_reset(moto) == []
    assert service(moto, "dev", "api")["desiredCount"] == 2


def test_unauthorized_account_and_invalid_fields_are_rejected(world, fleet):
    run = world["run"]
    r = run("scale", account=OUTSIDER, services=["api"], desired_count=0)
    assert r["status"] == "REJECTED", r
    assert OUTSIDER in r["reason"] and "commands.allowed_accounts" in r["reason"]
    r = run("scale", services=["api"], desired_count=-1)
    assert r["status"] == "REJECTED" and r["reason"].startswith("desired_count:"), r
    r = run("reboot", services=["api"])
    assert r["status"] == "REJECTED" and 'unknown action "reboot"' in r["reason"], r
    r = run("restart", cluster=None, services=["api"])
    assert r["status"] == "REJECTED" and r["reason"].startswith("cluster:"), r
    r = run("restart", services=["api"], notify_topic_arn="ecs-summaries")
    assert r["status"] == "REJECTED" and r["reason"].startswith("notify_topic_arn:"), r


def test_eventbridge_wrapped_command(world, fleet):
    moto = world["moto"]
    _, body = command("scale", services=["worker"], desired_count=3)
    envelope = eventbridge("Fleetkeeper ECS Command", "fleetkeeper.cli", body, region=REGION,
                           account=ACCOUNT)
    world["send"](envelope=envelope)
    r = world["results"].wait_final(envelope["id"], timeout=90)
    assert r["status"] == "SUCCEEDED", r
    svc = service(moto, "dev", "worker")
    assert (svc["desiredCount"], svc["runningCount"]) == (3, 3)


def test_kill_during_verify_resumes_the_wait_and_acts_once(world, fleet):
    moto, worker, results = world["moto"], world["worker"], world["results"]
    moto.record_from_here()
    rid, body = command("scale", services=["web"], desired_count=5)
    world["send"](body)
    wait_for(lambda: any("verifying" in x["reason"] for x in results.by_event.get(rid, [])),
             "the verify wait", timeout=60)
    worker.kill()
    worker.start()
    r = results.wait_final(rid, timeout=120)
    assert r["status"] == "SUCCEEDED", r
    assert len(results.finals(rid)) == 1
    updates = [b for b in moto.calls("UpdateService") if '"web"' in b]
    assert len(updates) == 1, updates
    svc = service(moto, "dev", "web")
    assert (svc["desiredCount"], svc["runningCount"]) == (5, 5)


def test_two_commands_on_one_service_run_one_after_the_other(world, fleet):
    moto, results = world["moto"], world["results"]
    moto.record_from_here()
    first_id, first = command("scale", services=["api"], desired_count=4)
    second_id, second = command("scale", services=["api"], desired_count=1)
    world["send"](first)
    world["send"](second)
    a = results.wait_final(first_id, timeout=90)
    b = results.wait_final(second_id, timeout=90)
    assert a["status"] == "SUCCEEDED" and b["status"] == "SUCCEEDED", (a, b)
    # The second waited for the service lock the first held through its verification.
    held = [x["reason"] for x in results.by_event.get(second_id, []) + results.by_event.get(
        first_id, []) if x["status"] == "IN_PROGRESS" and "waiting for ecs:dev/api" in x["reason"]]
    assert held, results.by_event.get(second_id)
    updates = [json.loads(body)["desiredCount"] for body in moto.calls("UpdateService")
               if json.loads(body).get("service") == "api"]
    # Whichever took the lock first acted, verified and finished before the other acted.
    counts = {first_id: 4, second_id: 1}
    by_finish = sorted([a, b], key=lambda r: r["finished_at"])
    assert updates == [counts[r["correlation_id"]] for r in by_finish], updates
    svc = service(moto, "dev", "api")
    assert svc["desiredCount"] == svc["runningCount"] == updates[-1]


def test_every_call_is_declared(world, fleet):
    assert_worker_actions_declared(world["moto"], world["worker"])


# --- schedules (last: it waits for the minutes the module chose when it started) ----------------

def test_schedule_scales_down_and_back(world, fleet):
    """sched-down (night-* with env=dev: night-api only) at DOWN_AT, sched-up (restore, every
    service of sched that has something to restore) a minute later; each occurrence once."""
    moto, results = world["moto"], world["results"]
    DOWN_AT, UP_AT = world["down_at"], world["up_at"]  # noqa: N806 (the docstring's names)
    down_id, up_id = occurrence_id("sched-down", DOWN_AT), occurrence_id("sched-up", UP_AT)
    wait = (UP_AT - datetime.datetime.now(datetime.timezone.utc)).total_seconds() + 90
    r = results.wait_final(down_id, timeout=max(wait, 90))
    assert r["status"] == "SUCCEEDED", r
    assert r["workflow_id"], r
    planned = [x for x in results.by_event.get(down_id, []) if x["status"] == "IN_PROGRESS"]
    assert any("due " + DOWN_AT.strftime("%Y-%m-%dT%H:%M") in x["reason"] for x in planned), planned
    night = service(moto, "sched", "night-api")
    assert (night["desiredCount"], night["runningCount"]) == (0, 0)
    assert tags_of(night)[TAG] == "2"
    for name, count in (("night-db", 1), ("day-web", 1)):
        svc = service(moto, "sched", name)
        assert svc["desiredCount"] == count and TAG not in tags_of(svc), svc
    # Not before its minute, and only the selected service was acted on.
    assert r["finished_at"] >= occurrence_id("", DOWN_AT).split("@")[1], r
    assert {a["resource"] for a in r["actions"] if a["action"] == "UpdateService"} == {
        "ecs:sched/night-api"}, r["actions"]

    r = results.wait_final(up_id, timeout=max(wait, 90))
    assert r["status"] == "SUCCEEDED", r
    night = service(moto, "sched", "night-api")
    assert (night["desiredCount"], night["runningCount"]) == (2, 2)
    assert TAG not in tags_of(night)
    assert {a["resource"] for a in r["actions"] if a["action"] == "UpdateService"} == {
        "ecs:sched/night-api"}, r["actions"]
    assert len(results.finals(down_id)) == 1 and len(results.finals(up_id)) == 1
