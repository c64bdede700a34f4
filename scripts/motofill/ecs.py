"""ECS gaps: moto keeps services but runs no service scheduler (a service never starts a task, its
runningCount is a constant, a forced deployment only renames the deployment), never drains a
container instance, returns ListServices in one page and ignores ListTasks' serviceName.

Filled here, on moto's own models:
- The service scheduler keeps desiredCount RUNNING tasks (group "service:<name>", startedBy the
  deployment id) for each ACTIVE service, placed on the cluster's ACTIVE container instances when
  it has any; runningCount, pendingCount and the PRIMARY deployment's counts follow, and
  rolloutState is COMPLETED once the deployment runs its desired count.
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_services.html
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html
- UpdateService with forceNewDeployment starts a new PRIMARY deployment (rolloutState
  IN_PROGRESS); the previous one is ACTIVE until its tasks are replaced, then it is gone.
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html
- A stopped task of a service is replaced; StopTask leaves the task STOPPING, then STOPPED.
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html
- A DRAINING container instance: its service tasks are stopped and started again on ACTIVE
  instances, so its runningTasksCount drops to 0.
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-draining.html
- ListServices, ListTasks and ListClusters page by maxResults (defaults 10, 100, 100; at most 100)
  and nextToken; ListTasks filters by serviceName.
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListServices.html
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html

A change is acted on FK_MOTO_STATE_DELAY seconds later (at once when 0), so that waiting logic is
exercised. moto's own task state machine (each DescribeTasks moves a task one state on) is
switched off: task states change only as described here.
"""

from __future__ import annotations

import copy
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.ecs.models import EC2ContainerServiceBackend, Service, Task
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.moto_api import state_manager

from .core import TIMERS, ClientError, state_delay, wrap_method

_MAX_PAGE = 100


# --- the service scheduler ---------------------------------------------------------------------

def _group(service: Service) -> str:
    return f"service:{service.name}"


def _cluster_tasks(backend: EC2ContainerServiceBackend, cluster_name: str) -> dict[str, Task]:
    return backend.tasks.setdefault(cluster_name, {})


def _live_tasks(backend: EC2ContainerServiceBackend, service: Service) -> list[Task]:
    return [t for t in _cluster_tasks(backend, service.cluster_name).values()
            if t.group == _group(service) and t.desired_status == "RUNNING"]


def _instance_of(backend: EC2ContainerServiceBackend, task: Task) -> Any:
    if not task.container_instance_arn:
        return None
    instances = backend.container_instances.get(task.cluster_name, {})
    return instances.get(task.container_instance_arn.split("/")[-1])


def _stop(backend: EC2ContainerServiceBackend, task: Task, reason: str) -> None:
    if task.desired_status == "STOPPED":
        return
    task.desired_status = "STOPPED"
    task.stopped_reason = reason
    instance = _instance_of(backend, task)
    if instance is not None:
        instance.running_tasks_count = max(0, instance.running_tasks_count - 1)

    def stopped() -> None:
        task.last_status = "STOPPED"
        task.stopped_at = utcnow()

    if state_delay() > 0:
        task.last_status = "STOPPING"
        TIMERS.call_later(state_delay(), stopped)
    else:
        stopped()


def _start(backend: EC2ContainerServiceBackend, service: Service, deployment_id: str) -> None:
    cluster = backend.clusters[service.cluster_name]
    definition = backend.describe_task_definition(service.task_definition)
    active = [ci for ci in backend.container_instances.get(cluster.name, {}).values()
              if ci.status == "ACTIVE"]
    instance = min(active, key=lambda ci: ci.running_tasks_count) if active else None
    task = Task(cluster, definition, instance.container_instance_arn if instance else None,
                None, backend, _group(service), launch_type=service.launch_type or "EC2",
                started_by=deployment_id)
    task.last_status = "RUNNING"
    task.health_status = "HEALTHY"
    task.started_at = utcnow()
    _cluster_tasks(backend, cluster.name)[task.task_arn] = task
    if instance is not None:
        instance.running_tasks_count += 1


def _primary(service: Service) -> dict[str, Any] | None:
    return next((d for d in service.deployments if d.get("status") == "PRIMARY"), None)


def _sync_counts(backend: EC2ContainerServiceBackend, service: Service) -> None:
    """The service's and its deployments' counts from the tasks it runs now."""
    live = _live_tasks(backend, service)
    service.running_count = len(live)
    service.pending_count = max(0, service.desired_count - len(live))
    primary = _primary(service)
    for d in service.deployments:
        mine = [t for t in live if t.started_by == d["id"]]
        d["runningCount"] = len(mine)
        d["desiredCount"] = service.desired_count if d is primary else 0
        d["pendingCount"] = max(0, d["desiredCount"] - len(mine))
    if primary is not None:
        done = primary["runningCount"] == service.desired_count and len(service.deployments) == 1
        primary["rolloutState"] = "COMPLETED" if done else "IN_PROGRESS"
        primary["rolloutStateReason"] = (f"ECS deployment {primary['id']} completed." if done
                                         else f"ECS deployment {primary['id']} in progress.")
        primary["updatedAt"] = utcnow()


def _schedule(backend: EC2ContainerServiceBackend, service: Service) -> None:
    """One scheduler pass over the service: replace tasks of older deployments and of draining
    instances, then start or stop tasks until the primary deployment runs desiredCount."""
    if service.status != "ACTIVE":
        return
    primary = _primary(service)
    if primary is None:
        return
    for task in _live_tasks(backend, service):
        instance = _instance_of(backend, task)
        if task.started_by != primary["id"]:
            _stop(backend, task, f"Task replaced by deployment {primary['id']}")
        elif instance is not None and instance.status == "DRAINING":
            _stop(backend, task, "Container instance is DRAINING")
    live = _live_tasks(backend, service)
    for _ in range(service.desired_count - len(live)):
        _start(backend, service, primary["id"])
    for task in live[service.desired_count:]:
        _stop(backend, task, "Scaling activity initiated by deployment " + primary["id"])
    service.deployments = [primary]
    _sync_counts(backend, service)


def _schedule_all(backend: EC2ContainerServiceBackend) -> None:
    for service in list(backend.services.values()):
        _schedule(backend, service)
    for name, cluster in backend.clusters.items():
        tasks = _cluster_tasks(backend, name).values()
        cluster.running_tasks_count = sum(1 for t in tasks if t.last_status == "RUNNING")
        cluster.pending_tasks_count = 0
        cluster.active_services_count = sum(1 for s in backend.services.values()
                                            if s.cluster_name == name and s.status == "ACTIVE")


def _after_change(backend: EC2ContainerServiceBackend) -> None:
    if state_delay() > 0:
        TIMERS.call_later(state_delay(), lambda: _schedule_all(backend))
    else:
        _schedule_all(backend)


def _install_scheduler() -> None:
    def create_service(original: Any, self: EC2ContainerServiceBackend, *args: Any,
                       **kwargs: Any) -> Any:
        service = original(self, *args, **kwargs)
        _sync_counts(self, service)
        _after_change(self)
        return service

    def update_service(original: Any, self: EC2ContainerServiceBackend,
                       properties: dict[str, Any]) -> Any:
        force = bool(properties.get("force_new_deployment"))
        cluster = self._get_cluster(properties.get("cluster", "default"))
        before = self._get_service(cluster.name, properties["service"].split("/")[-1])
        previous = copy.deepcopy(_primary(before))
        service = original(self, properties)
        primary = _primary(service)
        if force and previous is not None and primary is not None:
            # moto renamed the deployment in place: keep the old one ACTIVE beside the new one.
            previous["status"] = "ACTIVE"
            service.deployments = [primary, previous]
        _sync_counts(self, service)
        _after_change(self)
        return service

    def stop_task(original: Any, self: EC2ContainerServiceBackend, cluster_str: str,
                  task_str: str, reason: str) -> Any:
        cluster = self._get_cluster(cluster_str)
        task_id = task_str.split("/")[-1]
        for arn, task in _cluster_tasks(self, cluster.name).items():
            if arn.endswith(task_id):
                _stop(self, task, reason or "Task stopped by user")
                for service in self.services.values():
                    if service.cluster_name == cluster.name and task.group == _group(service):
                        _sync_counts(self, service)
                _after_change(self)
                return task
        raise ClientError("InvalidParameterException", f"The referenced task was not found: "
                                                       f"{task_str}")

    def update_instances(original: Any, self: EC2ContainerServiceBackend, *args: Any,
                         **kwargs: Any) -> Any:
        answer = original(self, *args, **kwargs)
        _after_change(self)
        return answer

    wrap_method(EC2ContainerServiceBackend, "create_service", create_service)
    wrap_method(EC2ContainerServiceBackend, "update_service", update_service)
    wrap_method(EC2ContainerServiceBackend, "stop_task", stop_task)
    wrap_method(EC2ContainerServiceBackend, "update_container_instances_state", update_instances)


# --- paging and filters -------------------------------------------------------------------------

def _page(response: EC2ContainerServiceResponse, items: list[str], key: str,
          default_size: int) -> ActionResult:
    size = response._get_param("maxResults") or default_size
    if not 1 <= int(size) <= _MAX_PAGE:
        raise ClientError("InvalidParameterException",
                          f"maxResults must be between 1 and {_MAX_PAGE}.")
    token = response._get_param("nextToken")
    start = 0
    if token:
        if not str(token).isdigit() or int(token) > len(items):
            raise ClientError("InvalidParameterException", "Invalid nextToken.")
        start = int(token)
    end = start + int(size)
    result: dict[str, Any] = {key: items[start:end]}
    if end < len(items):
        result["nextToken"] = str(end)
    return ActionResult(result)


def _install_paging() -> None:
    def list_services(original: Any, self: EC2ContainerServiceResponse) -> ActionResult:
        arns = self.ecs_backend.list_services(
            self._get_param("cluster", "default"), self._get_param("schedulingStrategy"),
            launch_type=self._get_param("launchType"))
        return _page(self, arns, "serviceArns", 10)

    def list_clusters(original: Any, self: EC2ContainerServiceResponse) -> ActionResult:
        return _page(self, [c.arn for c in self.ecs_backend.clusters.values()], "clusterArns", 100)

    def list_tasks(original: Any, self: EC2ContainerServiceResponse) -> ActionResult:
        tasks = self.ecs_backend.list_tasks(
            self._get_param("cluster", "default"), None,
            self._get_param("family"), self._get_param("startedBy"), None,
            self._get_param("desiredStatus"))
        # containerInstance, its ID or full ARN
        # (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html), filtered
        # here: moto's own filter fails on a task placed on no container instance.
        instance = self._get_param("containerInstance")
        if instance:
            tasks = [t for t in tasks if instance in (t.container_instance_arn or "")]
        service = self._get_param("serviceName")
        if service:
            tasks = [t for t in tasks if t.group == f"service:{service.split('/')[-1]}"]
        return _page(self, [t.task_arn for t in tasks], "taskArns", 100)

    wrap_method(EC2ContainerServiceResponse, "list_services", list_services)
    wrap_method(EC2ContainerServiceResponse, "list_clusters", list_clusters)
    wrap_method(EC2ContainerServiceResponse, "list_tasks", list_tasks)


def install() -> None:
    # Tasks keep the state this module gives them; moto's default moves a task on per describe.
    state_manager.set_transition(model_name="ecs::task",
                                 transition={"progression": "manual", "times": 1 << 62})
    _install_scheduler()
    _install_paging()
