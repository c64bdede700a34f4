"""The ECS service scheduler the launcher adds to moto (scripts/motofill/ecs.py), through boto3,
with transitional states of 0.3 s: services run their desired count of tasks
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_services.html), a forced
deployment replaces them (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html),
a stopped task is replaced, a draining instance is emptied
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-draining.html),
and the List* calls page (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListServices.html)."""

from __future__ import annotations

import json

from conftest import wait_for


def make_cluster(aws, name: str, with_instance: bool = False) -> str | None:
    ecs = aws("ecs")
    ecs.create_cluster(clusterName=name)
    ecs.register_task_definition(family=name, containerDefinitions=[
        {"name": "app", "image": "nginx", "memory": 128}])
    if not with_instance:
        return None
    ec2 = aws("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    host = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    return ecs.register_container_instance(
        cluster=name, instanceIdentityDocument=json.dumps({"instanceId": host}))[
        "containerInstance"]["containerInstanceArn"]


def svc(ecs, cluster: str, name: str) -> dict:
    return ecs.describe_services(cluster=cluster, services=[name])["services"][0]


def running(ecs, cluster: str, name: str) -> list[str]:
    return ecs.list_tasks(cluster=cluster, serviceName=name, desiredStatus="RUNNING")["taskArns"]


def test_services_run_their_desired_count_after_the_state_delay(aws, name):
    ecs = aws("ecs")
    make_cluster(aws, name)
    created = ecs.create_service(cluster=name, serviceName="api", taskDefinition=name,
                                 desiredCount=2)["service"]
    assert created["runningCount"] == 0 and created["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    wait_for(lambda: svc(ecs, name, "api")["runningCount"] == 2)
    deployment = svc(ecs, name, "api")["deployments"][0]
    assert deployment["rolloutState"] == "COMPLETED" and deployment["runningCount"] == 2
    tasks = ecs.describe_tasks(cluster=name, tasks=running(ecs, name, "api"))["tasks"]
    assert {t["group"] for t in tasks} == {"service:api"}
    assert {t["lastStatus"] for t in tasks} == {"RUNNING"}
    # Described again and again, a task stays RUNNING (moto's own state machine is off).
    for _ in range(3):
        ecs.describe_tasks(cluster=name, tasks=[tasks[0]["taskArn"]])
    assert ecs.describe_tasks(cluster=name, tasks=[tasks[0]["taskArn"]])["tasks"][0][
        "lastStatus"] == "RUNNING"

    ecs.update_service(cluster=name, service="api", desiredCount=0)
    assert svc(ecs, name, "api")["runningCount"] == 2  # not yet
    wait_for(lambda: svc(ecs, name, "api")["runningCount"] == 0)
    assert running(ecs, name, "api") == []


def test_forced_deployment_replaces_the_tasks(aws, name):
    ecs = aws("ecs")
    make_cluster(aws, name)
    ecs.create_service(cluster=name, serviceName="api", taskDefinition=name, desiredCount=2)
    wait_for(lambda: svc(ecs, name, "api")["runningCount"] == 2)
    old_tasks = set(running(ecs, name, "api"))
    old = svc(ecs, name, "api")["deployments"][0]["id"]
    forced = ecs.update_service(cluster=name, service="api", forceNewDeployment=True)["service"]
    assert [(d["status"], d["rolloutState"]) for d in forced["deployments"]] == [
        ("PRIMARY", "IN_PROGRESS"), ("ACTIVE", "COMPLETED")]
    assert forced["deployments"][1]["id"] == old
    wait_for(lambda: len(svc(ecs, name, "api")["deployments"]) == 1)
    after = svc(ecs, name, "api")
    assert after["deployments"][0]["id"] != old
    assert after["deployments"][0]["rolloutState"] == "COMPLETED"
    assert not old_tasks & set(running(ecs, name, "api"))
    assert len(running(ecs, name, "api")) == 2


def test_a_stopped_task_stops_after_the_delay_and_is_replaced(aws, name):
    ecs = aws("ecs")
    make_cluster(aws, name)
    ecs.create_service(cluster=name, serviceName="api", taskDefinition=name, desiredCount=1)
    wait_for(lambda: len(running(ecs, name, "api")) == 1)
    task = running(ecs, name, "api")[0]
    stopped = ecs.stop_task(cluster=name, task=task, reason="test")["task"]
    assert stopped["desiredStatus"] == "STOPPED" and stopped["lastStatus"] == "STOPPING"
    wait_for(lambda: ecs.describe_tasks(cluster=name, tasks=[task])["tasks"][0]["lastStatus"]
             == "STOPPED")
    wait_for(lambda: len(running(ecs, name, "api")) == 1 and running(ecs, name, "api")[0] != task)


def test_draining_an_instance_moves_its_tasks(aws, name):
    ecs = aws("ecs")
    instance = make_cluster(aws, name, with_instance=True)
    ecs.create_service(cluster=name, serviceName="api", taskDefinition=name, desiredCount=2)

    def on_instance():
        return ecs.describe_container_instances(cluster=name, containerInstances=[instance])[
            "containerInstances"][0]["runningTasksCount"]

    wait_for(lambda: on_instance() == 2)
    ecs.update_container_instances_state(cluster=name, containerInstances=[instance],
                                         status="DRAINING")
    wait_for(lambda: on_instance() == 0)
    wait_for(lambda: svc(ecs, name, "api")["runningCount"] == 2)


def test_list_calls_page(aws, name):
    ecs = aws("ecs")
    make_cluster(aws, name)
    for i in range(23):
        ecs.create_service(cluster=name, serviceName=f"s{i:02d}", taskDefinition=name,
                           desiredCount=0)
    first = ecs.list_services(cluster=name)
    assert len(first["serviceArns"]) == 10 and first["nextToken"]
    seen = list(first["serviceArns"])
    token = first["nextToken"]
    while token:
        page = ecs.list_services(cluster=name, maxResults=5, nextToken=token)
        seen += page["serviceArns"]
        token = page.get("nextToken")
    assert len(seen) == 23 == len(set(seen))
    assert len(ecs.list_tasks(cluster=name, maxResults=1)["taskArns"]) == 0
