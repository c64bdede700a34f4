"""Auto Scaling gaps: instance refreshes, lifecycle action completion, resolve:ssm image ids."""

from __future__ import annotations

import math
import random
import uuid
from datetime import datetime, timezone
from typing import Any

from moto.autoscaling.models import (
    ASG_NAME_TAG,
    AutoScalingBackend,
    FakeAutoScalingGroup,
    InstanceState,
    autoscaling_backends,
)
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.ec2.models.instances import Instance

from .core import TIMERS, ClientError, add_action, ec2_tags, state_delay, time_scale, wrap_method

ACTIVE = ("Pending", "InProgress", "Cancelling", "RollbackInProgress", "Baking")


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- resolve:ssm image ids ----------------------------------------------------------------------
# https://docs.aws.amazon.com/autoscaling/ec2/userguide/using-systems-manager-parameters.html:
# a launch template ImageId "resolve:ssm:<name>[:<version>|:<label>]" is resolved to the
# parameter's value when an instance is launched.

def resolve_image_id(image_id: str | None, account_id: str, region: str) -> str | None:
    if not image_id or not image_id.startswith("resolve:ssm:"):
        return image_id
    from moto.ssm.models import ssm_backends

    name = image_id[len("resolve:ssm:"):]
    parameter = ssm_backends[account_id][region].get_parameter(name)
    if parameter is None:
        raise ClientError("ValidationError",
                          f"Unable to resolve the SSM parameter {name} for the image id.")
    return parameter.value


def _install_resolve_ssm() -> None:
    def init(original: Any, self: Instance, ec2_backend: Any, image_id: str, *args: Any,
             **kwargs: Any) -> None:
        template = kwargs.get("launch_template")
        if not image_id and template:
            image_id = ec2_backend._get_template_from_args(template).image_id
        image_id = resolve_image_id(image_id, ec2_backend.account_id, ec2_backend.region_name)
        original(self, ec2_backend, image_id, *args, **kwargs)

    wrap_method(Instance, "__init__", init)


def _install_instance_launch_template() -> None:
    # DescribeAutoScalingGroups/Instances report the template version each instance was launched
    # from, not the group's current one.
    def launch_template(self: InstanceState) -> dict[str, Any] | None:
        group = self.auto_scaling_group
        if group is None or group.ec2_launch_template is None:
            return None
        tag_map = ec2_tags(self.instance)
        template_id = tag_map.get("aws:ec2launchtemplate:id", group.ec2_launch_template.id)
        version = tag_map.get("aws:ec2launchtemplate:version",
                              str(group.ec2_launch_template.default_version_number))
        template = group.ec2_backend.get_launch_template(template_id)
        return {"LaunchTemplateId": template.id, "LaunchTemplateName": template.name,
                "Version": version}

    InstanceState.launch_template = property(launch_template)


def _install_target_group_registration() -> None:
    # moto registers every instance of a group, which fails for instances still pending when state
    # delays are on. Auto Scaling registers an instance when it enters InService.
    def update_attached_target_groups(self: AutoScalingBackend, group_name: str) -> None:
        group = self.autoscaling_groups[group_name]
        if not group.target_group_arns:
            return
        ids = [s.instance.id for s in group.instance_states
               if s.lifecycle_state == "InService" and s.instance.state in ("pending", "running")]
        for target_group in self.elbv2_backend.describe_target_groups(
                target_group_arns=group.target_group_arns, load_balancer_arn=None, names=None):
            for instance_id in ids:
                if instance_id not in target_group.targets:
                    target_group.targets[instance_id] = {"Id": instance_id,
                                                         "Port": target_group.port}
                    target_group.deregistered_targets.pop(instance_id, None)

    AutoScalingBackend.update_attached_target_groups = update_attached_target_groups


# --- Instance refresh ---------------------------------------------------------------------------
# https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_StartInstanceRefresh.html
# https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeInstanceRefreshes.html
# https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_CancelInstanceRefresh.html
# https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_RollbackInstanceRefresh.html
# https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_RefreshPreferences.html
# https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-refresh-overview.html
# The group is replaced in batches: with MaxHealthyPercentage 100 a batch terminates instances
# first, keeping MinHealthyPercentage of the desired capacity InService; above 100 replacements
# launch first, up to MaxHealthyPercentage. A replacement counts once InService after the warmup.

class Replacement:
    """One pass over a set of instances, replacing them with a launch template version."""

    def __init__(self, template_id: str, version: str, instance_ids: list[str]) -> None:
        self.template_id = template_id
        self.version = version
        self.to_replace = list(instance_ids)
        self.total = len(instance_ids)
        self.done = 0
        self.launched: list[InstanceState] = []  # launched in the current batch, warming up
        self.terminate_after: list[str] = []  # old instances of the batch still serving

    @property
    def percentage(self) -> int:
        return 100 if self.total == 0 else int(100 * self.done / self.total)


class InstanceRefresh:
    def __init__(self, group: FakeAutoScalingGroup, preferences: dict[str, Any],
                 desired: dict[str, Any] | None, strategy: str) -> None:
        self.id = str(uuid.uuid4())
        self.group = group
        self.status = "Pending"
        self.status_reason = "Waiting for the instance refresh to start."
        self.start_time = _now()
        self.end_time: datetime | None = None
        self.preferences = preferences
        self.desired = desired
        self.strategy = strategy
        self.original_template = (group.ec2_launch_template.id, group.launch_template_version)
        self.original_provided_version = getattr(group, "provided_launch_template_version", None)
        self.forward: Replacement | None = None
        self.rollback: Replacement | None = None
        self.rollback_details: dict[str, Any] | None = None
        self.checkpoints = list(preferences.get("CheckpointPercentages") or [])
        self.launched_ids: set[str] = set()

    # -- description --
    def describe(self) -> dict[str, Any]:
        forward = self.forward
        result: dict[str, Any] = {
            "InstanceRefreshId": self.id,
            "AutoScalingGroupName": self.group.name,
            "Status": self.status,
            "StatusReason": self.status_reason,
            "StartTime": self.start_time,
            "PercentageComplete": forward.percentage if forward else 0,
            "InstancesToUpdate": (len(forward.to_replace) + len(forward.launched)
                                  if forward else 0),
            "ProgressDetails": {"LivePoolProgress": {
                "PercentageComplete": forward.percentage if forward else 0,
                "InstancesToUpdate": len(forward.to_replace) if forward else 0}},
            "Preferences": self.preferences,
            "Strategy": self.strategy,
        }
        if self.status == "Successful":
            result["PercentageComplete"] = 100
            result["InstancesToUpdate"] = 0
        if self.end_time:
            result["EndTime"] = self.end_time
        if self.desired:
            result["DesiredConfiguration"] = self.desired
        if self.rollback_details:
            details = dict(self.rollback_details)
            if self.rollback:
                details["PercentageCompleteOnRollback"] = self.rollback.percentage
                details["InstancesToUpdateOnRollback"] = len(self.rollback.to_replace)
            result["RollbackDetails"] = details
        return result

    # -- configuration --
    def desired_template(self) -> tuple[str, str]:
        if not self.desired:
            return self.original_template
        spec = self.desired.get("LaunchTemplate")
        if not spec and self.desired.get("MixedInstancesPolicy"):
            spec = self.desired["MixedInstancesPolicy"]["LaunchTemplate"][
                "LaunchTemplateSpecification"]
        backend = self.group.ec2_backend
        template = (backend.get_launch_template(spec["LaunchTemplateId"])
                    if spec.get("LaunchTemplateId")
                    else backend.get_launch_template_by_name(spec["LaunchTemplateName"]))
        return template.id, spec.get("Version") or "$Default"

    def _version(self, template_id: str, version: str) -> Any:
        return self.group.ec2_backend.get_launch_template(template_id).get_version(version)

    def _image(self, template_id: str, version: str) -> str | None:
        return resolve_image_id(self._version(template_id, version).image_id,
                                self.group.account_id, self.group.region)

    def _matches(self, state: InstanceState, template_id: str, version: str) -> bool:
        current = state.launch_template
        wanted = self._version(template_id, version)
        return (current is not None and current["LaunchTemplateId"] == template_id
                and str(current["Version"]) == str(wanted.number)
                and state.instance.image_id == self._image(template_id, version))

    def _eligible(self, state: InstanceState) -> bool:
        if state.lifecycle_state == "Standby":
            return self.preferences.get("StandbyInstances") in ("Terminate", "Wait")
        if state.lifecycle_state != "InService":
            return False
        if state.protected_from_scale_in:
            return self.preferences.get("ScaleInProtectedInstances") in ("Refresh", "Wait")
        return True

    def _blocked(self, state: InstanceState) -> bool:
        """An instance that the Wait preferences hold back until it is released."""
        if state.lifecycle_state == "Standby":
            return self.preferences.get("StandbyInstances") == "Wait"
        return bool(state.protected_from_scale_in
                    and self.preferences.get("ScaleInProtectedInstances") == "Wait")

    # -- engine --
    def warmup_seconds(self) -> float:
        warmup = self.preferences.get("InstanceWarmup")
        if warmup is None:
            warmup = self.group.health_check_grace_period or 300
        return float(warmup) * time_scale()

    def start(self) -> None:
        self.status = "InProgress"
        self.status_reason = ""
        template_id, version = self.desired_template()
        states = [s for s in self.group.instance_states if self._eligible(s)]
        if self.preferences.get("SkipMatching"):
            states = [s for s in states if not self._matches(s, template_id, version)]
        self.forward = Replacement(template_id, version, [s.instance.id for s in states])
        self._schedule(0)

    def _schedule(self, delay: float) -> None:
        TIMERS.call_later(delay, self.step)

    def _states_by_id(self) -> dict[str, InstanceState]:
        return {s.instance.id: s for s in self.group.instance_states}

    def _launch(self, template_id: str, version: str, count: int) -> list[InstanceState]:
        group = self.group
        tv = self._version(template_id, version)
        tags = group.get_propagated_tags()
        tags[ASG_NAME_TAG] = group.name
        tags.update(tv.instance_tags)
        subnet_id = group.vpc_zone_identifier.split(",")[0] if group.vpc_zone_identifier else None
        reservation = group.ec2_backend.run_instances(
            tv.image_id, count, tv.user_data, tv.security_groups,
            instance_type=tv.instance_type or group.instance_type or "m1.small",
            tags={"instance": tags},
            placement=None if subnet_id else random.choice(group.availability_zones),
            launch_config=None,
            launch_template={"LaunchTemplateId": template_id, "Version": str(tv.number)},
            is_instance_type_default=False,
            associate_public_ip=None,
            subnet_id=subnet_id,
        )
        states = []
        for instance in reservation.instances:
            instance.autoscaling_group = group
            state = InstanceState(instance, lifecycle_state="Pending",
                                  protected_from_scale_in=group.new_instances_protected_from_scale_in)
            group.instance_states.append(state)
            states.append(state)
            self.launched_ids.add(instance.id)
        return states

    def _terminate(self, instance_ids: list[str]) -> None:
        if not instance_ids:
            return
        group = self.group
        group.instance_states = [s for s in group.instance_states
                                 if s.instance.id not in instance_ids]
        backend = group.autoscaling_backend
        backend.elbv2_backend.notify_terminate_instances(instance_ids)
        group.ec2_backend.terminate_instances(instance_ids)
        backend.update_attached_elbs(group.name)

    def _batch_size(self, remaining: int) -> tuple[int, int]:
        """(instances to replace in this batch, how many of them to terminate before launching)."""
        desired = self.group.desired_capacity or 0
        min_healthy = int(self.preferences.get("MinHealthyPercentage", 90))
        max_healthy = int(self.preferences.get("MaxHealthyPercentage", 100))
        floor = math.ceil(desired * min_healthy / 100)
        cap = max(desired, math.floor(desired * max_healthy / 100))
        batch = min(remaining, max(1, cap - floor))
        terminate_first = max(0, batch - (cap - desired))
        if cap == desired and floor >= desired:
            terminate_first = batch  # 100/100: one at a time is the least AWS would do
        return batch, terminate_first

    def _alarm_firing(self) -> str | None:
        spec = self.preferences.get("AlarmSpecification") or {}
        names = spec.get("Alarms") or []
        if not names:
            return None
        from moto.cloudwatch.models import cloudwatch_backends

        alarms = cloudwatch_backends[self.group.account_id][self.group.region].alarms
        for name in names:
            alarm = alarms.get(name)
            if alarm is not None and alarm.state_value == "ALARM":
                return name
        return None

    def step(self) -> None:
        if self.status == "Pending":
            return self.start()
        if self.status == "Cancelling":
            return self._finish_cancel()
        if self.status not in ("InProgress", "RollbackInProgress", "Baking"):
            return None
        if self.status == "Baking":
            return self._succeed()
        run = self.rollback if self.status == "RollbackInProgress" else self.forward
        assert run is not None
        states = self._states_by_id()
        if run.launched:
            # End of a batch's warmup: the replacements are in service, the rest of the batch goes.
            for state in run.launched:
                if state.lifecycle_state == "Pending":
                    state.lifecycle_state = "InService"
            run.done += len(run.launched)
            run.launched = []
            self._terminate([i for i in run.terminate_after if i in states])
            run.terminate_after = []
            self.group.autoscaling_backend.update_attached_target_groups(self.group.name)
            if self.status == "InProgress":
                alarm = self._alarm_firing()
                if alarm:
                    return self._fail(f"The alarm {alarm} is in the ALARM state.")
                checkpoint = next((c for c in self.checkpoints if c <= run.percentage), None)
                if checkpoint is not None and run.to_replace:
                    self.checkpoints = [c for c in self.checkpoints if c > run.percentage]
                    delay = float(self.preferences.get("CheckpointDelay", 3600)) * time_scale()
                    self.status_reason = (f"Waiting for checkpoint at {checkpoint}% "
                                          f"({run.percentage}% complete).")
                    return self._schedule(delay)
            self.status_reason = ""
        states = self._states_by_id()
        run.to_replace = [i for i in run.to_replace if i in states]
        ready = [i for i in run.to_replace if not self._blocked(states[i])]
        if not run.to_replace:
            return self._finish_run()
        if not ready:
            self.status_reason = ("Waiting for instances in Standby or protected from scale in "
                                  "to be released.")
            return self._schedule(max(0.2, state_delay()))
        batch, terminate_first = self._batch_size(len(ready))
        batch_ids = ready[:batch]
        run.to_replace = [i for i in run.to_replace if i not in batch_ids]
        self._terminate(batch_ids[:terminate_first])
        run.terminate_after = batch_ids[terminate_first:]
        run.launched = self._launch(run.template_id, run.version, len(batch_ids))
        self._schedule(self.warmup_seconds())
        return None

    def _finish_run(self) -> None:
        if self.status == "RollbackInProgress":
            self.status = "RollbackSuccessful"
            self.status_reason = "The instance refresh was rolled back."
            self.end_time = _now()
            return
        bake = float(self.preferences.get("BakeTime") or 0) * time_scale()
        if bake > 0:
            self.status = "Baking"
            self.status_reason = "Waiting for the bake time to end."
            self._schedule(bake)
            return
        self._succeed()

    def _succeed(self) -> None:
        alarm = self._alarm_firing()
        if alarm:
            return self._fail(f"The alarm {alarm} is in the ALARM state.")
        if self.desired:
            template_id, version = self.desired_template()
            policy = self.desired.get("MixedInstancesPolicy")
            if policy:
                self.group.mixed_instances_policy = policy
                self.group._set_launch_configuration(None, {}, policy)
            else:
                self.group._set_launch_configuration(
                    None, {"LaunchTemplateId": template_id,
                           "Version": self.desired["LaunchTemplate"].get("Version")},
                    self.group.mixed_instances_policy)
        self.status = "Successful"
        self.status_reason = ""
        self.end_time = _now()
        return None

    def _fail(self, reason: str) -> None:
        if self.preferences.get("AutoRollback"):
            self.start_rollback(f"Auto rollback: {reason}")
            return
        self.status = "Failed"
        self.status_reason = reason
        self.end_time = _now()

    def start_rollback(self, reason: str) -> None:
        forward = self.forward
        if forward and forward.launched:
            # Replacements warming up are reverted too; their batch's old instances stay.
            for state in forward.launched:
                state.lifecycle_state = "InService"
            forward.launched = []
            forward.terminate_after = []
        states = self._states_by_id()
        revert = [i for i in states if i in self.launched_ids]
        template_id, version = self.original_template
        self.rollback = Replacement(template_id, version, revert)
        self.status = "RollbackInProgress"
        self.status_reason = reason
        self.rollback_details = {"RollbackReason": reason, "RollbackStartTime": _now()}
        self._schedule(0)

    def cancel(self) -> None:
        self.status = "Cancelling"
        self.status_reason = "Cancelling the instance refresh."
        self._schedule(min(state_delay(), 1.0))

    def _finish_cancel(self) -> None:
        run = self.forward
        if run and run.launched:
            for state in run.launched:
                state.lifecycle_state = "InService"
            run.done += len(run.launched)
            run.launched = []
            self._terminate([i for i in run.terminate_after if i in self._states_by_id()])
            run.terminate_after = []
        self.status = "Cancelled"
        self.status_reason = "The instance refresh was cancelled."
        self.end_time = _now()


def _refreshes(backend: AutoScalingBackend) -> dict[str, list[InstanceRefresh]]:
    if not hasattr(backend, "fk_instance_refreshes"):
        backend.fk_instance_refreshes = {}
    return backend.fk_instance_refreshes


def _group(backend: AutoScalingBackend, name: str) -> FakeAutoScalingGroup:
    group = backend.autoscaling_groups.get(name)
    if group is None:
        raise ClientError("ValidationError", f"AutoScalingGroup name not found - {name}")
    return group


def _active(backend: AutoScalingBackend, name: str) -> InstanceRefresh | None:
    return next((r for r in _refreshes(backend).get(name, []) if r.status in ACTIVE), None)


def _validate_preferences(prefs: dict[str, Any]) -> None:
    low = prefs.get("MinHealthyPercentage")
    high = prefs.get("MaxHealthyPercentage")
    if low is not None and not 0 <= int(low) <= 100:
        raise ClientError("ValidationError", "MinHealthyPercentage must be between 0 and 100.")
    if high is not None:
        if not 100 <= int(high) <= 200:
            raise ClientError("ValidationError",
                              "MaxHealthyPercentage must be between 100 and 200.")
        if low is None:
            raise ClientError("ValidationError",
                              "MinHealthyPercentage is required with MaxHealthyPercentage.")
        if int(high) - int(low) > 100:
            raise ClientError("ValidationError", "The difference between MaxHealthyPercentage "
                              "and MinHealthyPercentage cannot be greater than 100.")
    checkpoints = prefs.get("CheckpointPercentages") or []
    if checkpoints and (sorted(checkpoints) != list(checkpoints)
                        or any(not 0 <= int(c) <= 100 for c in checkpoints)):
        raise ClientError("ValidationError",
                          "CheckpointPercentages must be ascending values between 0 and 100.")


def _rollback_blocker(refresh: InstanceRefresh) -> str | None:
    """Why the group's previous configuration cannot be restored, per the rollback documentation."""
    if not refresh.desired:
        return "The instance refresh has no desired configuration."
    template_id, version = refresh.original_template
    if str(refresh.original_provided_version or version).lower() in ("$latest", "$default"):
        return ("The Auto Scaling group uses the launch template's $Latest or $Default version.")
    image = refresh._version(template_id, version).image_id or ""
    if image.startswith("resolve:ssm:"):
        return ("The Auto Scaling group's launch template uses a Systems Manager parameter "
                "instead of an AMI ID.")
    return None


def _install_instance_refresh() -> None:
    def start_instance_refresh(self: AutoScalingResponse) -> ActionResult:
        backend = self.autoscaling_backend
        name = self._get_param("AutoScalingGroupName")
        group = _group(backend, name)
        if _active(backend, name):
            raise ClientError("InstanceRefreshInProgress",
                              "An Instance Refresh is already in progress and blocks the "
                              "execution of this Instance Refresh.")
        if group.ec2_launch_template is None:
            raise ClientError("ValidationError", "Instance refresh with a launch configuration "
                              "is not emulated; use a launch template.")
        prefs = dict(self._get_param("Preferences") or {})
        _validate_preferences(prefs)
        prefs.setdefault("MinHealthyPercentage", 90)
        prefs.setdefault("SkipMatching", False)
        prefs.setdefault("AutoRollback", False)
        prefs.setdefault("ScaleInProtectedInstances", "Ignore")
        prefs.setdefault("StandbyInstances", "Ignore")
        if prefs.get("CheckpointPercentages"):
            prefs.setdefault("CheckpointDelay", 3600)
        desired = self._get_param("DesiredConfiguration") or None
        refresh = InstanceRefresh(group, prefs, desired, self._get_param("Strategy") or "Rolling")
        refresh.desired_template()  # a missing template fails the request, not the refresh
        if prefs.get("AutoRollback"):
            blocker = _rollback_blocker(refresh)
            if blocker:
                raise ClientError("ValidationError",
                                  f"AutoRollback is not supported for this request: {blocker}")
        _refreshes(backend).setdefault(name, []).insert(0, refresh)
        TIMERS.call_later(min(state_delay(), 1.0), refresh.step)
        return ActionResult({"InstanceRefreshId": refresh.id})

    def describe_instance_refreshes(self: AutoScalingResponse) -> ActionResult:
        backend = self.autoscaling_backend
        name = self._get_param("AutoScalingGroupName")
        _group(backend, name)
        ids = self._get_param("InstanceRefreshIds") or []
        refreshes = [r for r in _refreshes(backend).get(name, []) if not ids or r.id in ids]
        max_records = int(self._get_param("MaxRecords") or 50)
        start = int(self._get_param("NextToken") or 0)
        page = refreshes[start:start + max_records]
        result: dict[str, Any] = {"InstanceRefreshes": [r.describe() for r in page]}
        if start + max_records < len(refreshes):
            result["NextToken"] = str(start + max_records)
        return ActionResult(result)

    def cancel_instance_refresh(self: AutoScalingResponse) -> ActionResult:
        backend = self.autoscaling_backend
        name = self._get_param("AutoScalingGroupName")
        _group(backend, name)
        refresh = _active(backend, name)
        if refresh is None or refresh.status == "Cancelling":
            raise ClientError("ActiveInstanceRefreshNotFound",
                              "No in progress or pending Instance Refresh found for Auto Scaling "
                              f"group {name}")
        refresh.cancel()
        return ActionResult({"InstanceRefreshId": refresh.id})

    def rollback_instance_refresh(self: AutoScalingResponse) -> ActionResult:
        backend = self.autoscaling_backend
        name = self._get_param("AutoScalingGroupName")
        _group(backend, name)
        refresh = _active(backend, name)
        if refresh is None or refresh.status in ("Cancelling", "RollbackInProgress"):
            raise ClientError("ActiveInstanceRefreshNotFound",
                              "No in progress or pending Instance Refresh found for Auto Scaling "
                              f"group {name}")
        blocker = _rollback_blocker(refresh)
        if blocker:
            raise ClientError("IrreversibleInstanceRefresh", blocker)
        if refresh.status == "Pending":
            refresh.start()
        refresh.start_rollback("Rollback requested by the user.")
        return ActionResult({"InstanceRefreshId": refresh.id})

    add_action(AutoScalingResponse, "start_instance_refresh", start_instance_refresh)
    add_action(AutoScalingResponse, "describe_instance_refreshes", describe_instance_refreshes)
    add_action(AutoScalingResponse, "cancel_instance_refresh", cancel_instance_refresh)
    add_action(AutoScalingResponse, "rollback_instance_refresh", rollback_instance_refresh)


# --- Lifecycle actions --------------------------------------------------------------------------
# https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_CompleteLifecycleAction.html
# https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_RecordLifecycleActionHeartbeat.html

def _check_lifecycle_request(self: AutoScalingResponse) -> None:
    backend = self.autoscaling_backend
    group_name = self._get_param("AutoScalingGroupName")
    hook_name = self._get_param("LifecycleHookName")
    group = _group(backend, group_name)
    if f"{group_name}_{hook_name}" not in backend.lifecycle_hooks:
        raise ClientError("ValidationError",
                          f"No Lifecycle Hook found with name {hook_name} for group {group_name}")
    token = self._get_param("LifecycleActionToken")
    instance_id = self._get_param("InstanceId")
    if not token and not instance_id:
        raise ClientError("ValidationError",
                          "Either LifecycleActionToken or InstanceId must be specified.")
    if instance_id and instance_id not in {s.instance.id for s in group.instance_states}:
        raise ClientError("ValidationError",
                          f"No active Lifecycle Action found with instance ID {instance_id}")


def _install_lifecycle_actions() -> None:
    def complete_lifecycle_action(self: AutoScalingResponse) -> Any:
        _check_lifecycle_request(self)
        result = self._get_param("LifecycleActionResult")
        if result not in ("CONTINUE", "ABANDON"):
            raise ClientError("ValidationError",
                              "LifecycleActionResult must be CONTINUE or ABANDON.")
        return EmptyResult()

    def record_lifecycle_action_heartbeat(self: AutoScalingResponse) -> Any:
        _check_lifecycle_request(self)
        return EmptyResult()

    add_action(AutoScalingResponse, "complete_lifecycle_action", complete_lifecycle_action)
    add_action(AutoScalingResponse, "record_lifecycle_action_heartbeat",
               record_lifecycle_action_heartbeat)


def install() -> None:
    _install_resolve_ssm()
    _install_instance_launch_template()
    _install_target_group_registration()
    _install_instance_refresh()
    _install_lifecycle_actions()


__all__ = ["install", "resolve_image_id", "autoscaling_backends"]
