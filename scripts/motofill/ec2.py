"""EC2 gaps: RunInstances idempotency, CreateLaunchTemplateVersion SourceVersion, root volume
replacement tasks, ModifyInstanceAttribute UserData and InstanceInitiatedShutdownBehavior, CPU
credit specifications, the network interface attachment's DeleteOnTermination, and the user data
and CPU credit option in GetLaunchTemplateData."""

from __future__ import annotations

import base64
import copy
import threading
import uuid
from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.core.types import Base64EncodedString
from moto.core.utils import utcnow
from moto.ec2 import utils as ec2_utils
from moto.ec2.exceptions import InvalidInstanceIdError
from moto.ec2.models.instances import InstanceBackend
from moto.ec2.responses import EC2Response

from .core import TIMERS, ClientError, add_action, state_delay, wrap_method

_request = threading.local()


# --- RunInstances ClientToken ------------------------------------------------------------------
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RunInstances.html (ClientToken) and
# https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html: a retry with the same
# token and the same parameters returns the original reservation; the same token with different
# parameters fails with IdempotentParameterMismatch.

def _run_fingerprint(image_id: str, count: int, kwargs: dict[str, Any]) -> tuple:
    keys = ("instance_type", "subnet_id", "key_name", "placement", "private_ip",
            "launch_template")
    return (image_id, count) + tuple(repr(kwargs.get(k)) for k in keys)


def _install_client_token() -> None:
    def response_run_instances(original: Any, self: EC2Response) -> Any:
        # moto's handler substitutes a fixed token when none is given: remember the real one.
        _request.client_token = self._get_param("ClientToken") or None
        try:
            return original(self)
        finally:
            _request.client_token = None

    def backend_run_instances(original: Any, self: Any, image_id: str, count: int,
                              user_data: Any, security_group_names: list[str],
                              **kwargs: Any) -> Any:
        token = getattr(_request, "client_token", None)
        _request.client_token = None  # an ASG launch inside this request is not the client's
        if token:
            fingerprint = _run_fingerprint(image_id, count, kwargs)
            for reservation in self.reservations.values():
                if getattr(reservation, "fk_client_token", None) == token:
                    if reservation.fk_fingerprint != fingerprint:
                        raise ClientError(
                            "IdempotentParameterMismatch",
                            "The client token you have provided is associated with a resource "
                            "that has different parameters.")
                    return reservation
        reservation = original(self, image_id, count, user_data, security_group_names, **kwargs)
        if token:
            reservation.fk_client_token = token
            reservation.fk_fingerprint = _run_fingerprint(image_id, count, kwargs)
            for instance in reservation.instances:
                instance.fk_client_token = token
                instance.client_token = token
        return reservation

    wrap_method(EC2Response, "run_instances", response_run_instances)
    wrap_method(InstanceBackend, "run_instances", backend_run_instances)
    # DescribeInstances filter "client-token".
    ec2_utils.filter_dict_attribute_mapping["client-token"] = "fk_client_token"


# --- CreateLaunchTemplateVersion SourceVersion --------------------------------------------------
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateLaunchTemplateVersion.html:
# "The new version inherits the same launch parameters as the source version, except for
# parameters that you specify in LaunchTemplateData."

def _merge_template_data(source: Any, overrides: Any) -> Any:
    if isinstance(source, dict) and isinstance(overrides, dict):
        merged = dict(source)
        for key, value in overrides.items():
            merged[key] = _merge_template_data(source.get(key), value) if key in source else value
        return merged
    return copy.deepcopy(overrides)


def _install_source_version() -> None:
    def create_launch_template_version(original: Any, self: EC2Response) -> Any:
        source_version = self._get_param("SourceVersion")
        if source_version:
            name = self._get_param("LaunchTemplateName")
            template_id = self._get_param("LaunchTemplateId")
            template = (self.ec2_backend.get_launch_template(template_id) if template_id
                        else self.ec2_backend.get_launch_template_by_name(name))
            source = template.get_version(source_version)
            data = _merge_template_data(copy.deepcopy(source.data),
                                        self._get_param("LaunchTemplateData", {}))
            # Hand the merged data to moto's own handler, which creates and serialises the version.
            original_get_param = self._get_param

            def get_param(param_name: str, if_none: Any = None) -> Any:
                if param_name == "LaunchTemplateData":
                    return data
                return original_get_param(param_name, if_none)

            self._get_param = get_param
            try:
                return original(self)
            finally:
                del self._get_param
        return original(self)

    wrap_method(EC2Response, "create_launch_template_version", create_launch_template_version)


# --- Replace root volume tasks -------------------------------------------------------------------
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateReplaceRootVolumeTask.html
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeReplaceRootVolumeTasks.html
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ReplaceRootVolumeTask.html
# TaskState: pending -> in-progress -> succeeded. The instance keeps its id, network interfaces and
# data volumes; with ImageId its root volume (and so its image id) comes from that AMI. A repeated
# ClientToken returns the task it created (the idempotency of
# https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html).

class ReplaceRootVolumeTask:
    def __init__(self, instance: Any, image_id: str | None, snapshot_id: str | None,
                 delete_replaced: bool, tags: list[dict[str, str]]) -> None:
        self.id = "replacevol-" + uuid.uuid4().hex[:17]
        self.instance = instance
        self.image_id = image_id
        self.snapshot_id = snapshot_id
        self.delete_replaced = delete_replaced
        self.tags = tags
        self.state = "pending"
        self.start_time = utcnow()
        self.complete_time: Any = None
        self.client_token: str | None = None

    def describe(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "ReplaceRootVolumeTaskId": self.id,
            "InstanceId": self.instance.id,
            "TaskState": self.state,
            "StartTime": self.start_time.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "Tags": self.tags,
            "DeleteReplacedRootVolume": self.delete_replaced,
        }
        if self.complete_time:
            result["CompleteTime"] = self.complete_time.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        if self.image_id:
            result["ImageId"] = self.image_id
        if self.snapshot_id:
            result["SnapshotId"] = self.snapshot_id
        return result


def _tasks(backend: Any) -> dict[str, ReplaceRootVolumeTask]:
    if not hasattr(backend, "fk_replace_root_volume_tasks"):
        backend.fk_replace_root_volume_tasks = {}
    return backend.fk_replace_root_volume_tasks


def _advance_task(task: ReplaceRootVolumeTask) -> None:
    if task.state == "pending":
        task.state = "in-progress"
        TIMERS.call_later(state_delay(), lambda: _advance_task(task))
    elif task.state == "in-progress":
        if task.image_id:
            task.instance.image_id = task.image_id
        task.state = "succeeded"
        task.complete_time = utcnow()


def _install_replace_root_volume() -> None:
    def create_replace_root_volume_task(self: EC2Response) -> ActionResult:
        instance_id = self._get_param("InstanceId")
        image_id = self._get_param("ImageId")
        snapshot_id = self._get_param("SnapshotId")
        token = self._get_param("ClientToken") or None
        if token:
            for task in _tasks(self.ec2_backend).values():
                if task.client_token != token:
                    continue
                if (task.instance.id, task.image_id, task.snapshot_id) != (
                        instance_id, image_id, snapshot_id):
                    raise ClientError("IdempotentParameterMismatch",
                                      "The client token you have provided is associated with a "
                                      "resource that has different parameters.")
                return ActionResult({"ReplaceRootVolumeTask": task.describe()})
        if image_id and snapshot_id:
            raise ClientError("InvalidParameterCombination",
                              "You can specify either a snapshot or an AMI, not both.")
        instance = self.ec2_backend.get_instance(instance_id)
        if image_id:
            self.ec2_backend.describe_images(ami_ids=[image_id])  # InvalidAMIID.NotFound
        if snapshot_id:
            self.ec2_backend.get_snapshot(snapshot_id)
        if instance.state not in ("running", "stopped"):
            raise ClientError("IncorrectInstanceState",
                              f"The instance '{instance_id}' is not in a state from which it can "
                              "have its root volume replaced.")
        for task in _tasks(self.ec2_backend).values():
            if task.instance is instance and task.state in ("pending", "in-progress"):
                raise ClientError("IncorrectState",
                                  f"The instance '{instance_id}' already has a root volume "
                                  "replacement task in progress.")
        tags = []
        for spec in self._get_param("TagSpecifications", []) or []:
            if spec.get("ResourceType") == "replace-root-volume-task":
                tags += spec.get("Tags", [])
        self.error_on_dryrun()
        task = ReplaceRootVolumeTask(instance, image_id, snapshot_id,
                                     bool(self._get_param("DeleteReplacedRootVolume")), tags)
        task.client_token = token
        _tasks(self.ec2_backend)[task.id] = task
        TIMERS.call_later(state_delay(), lambda: _advance_task(task))
        return ActionResult({"ReplaceRootVolumeTask": task.describe()})

    def describe_replace_root_volume_tasks(self: EC2Response) -> ActionResult:
        ids = self._get_param("ReplaceRootVolumeTaskIds", []) or []
        filters = {f["Name"]: f.get("Values", []) for f in self._get_param("Filters", []) or []}
        tasks = list(_tasks(self.ec2_backend).values())
        if ids:
            missing = [i for i in ids if i not in _tasks(self.ec2_backend)]
            if missing:
                raise ClientError("InvalidReplaceRootVolumeTaskId.NotFound",
                                  f"The replace root volume task ID '{missing[0]}' does not exist")
            tasks = [t for t in tasks if t.id in ids]
        if "instance-id" in filters:
            tasks = [t for t in tasks if t.instance.id in filters["instance-id"]]
        if "replace-root-volume-task-id" in filters:
            tasks = [t for t in tasks if t.id in filters["replace-root-volume-task-id"]]
        return ActionResult({"ReplaceRootVolumeTasks": [t.describe() for t in tasks]})

    add_action(EC2Response, "create_replace_root_volume_task", create_replace_root_volume_task)
    add_action(EC2Response, "describe_replace_root_volume_tasks",
               describe_replace_root_volume_tasks)


# --- ModifyInstanceAttribute UserData and InstanceInitiatedShutdownBehavior ---------------------
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyInstanceAttribute.html: UserData
# is a BlobAttributeValue, so the wire value is base64 of the user data. moto decodes the blob and
# then validates the decoded bytes as base64 again, refusing ordinary user data; it accepts
# InstanceInitiatedShutdownBehavior.Value and ignores it.

def _install_modify_instance_attribute() -> None:
    def dot_value_handler(original: Any, self: EC2Response) -> bool:
        raw = self._get_param("UserData.Value")
        behavior = self._get_param("InstanceInitiatedShutdownBehavior.Value")
        if raw is None and behavior is None:
            return original(self)
        self.error_on_dryrun()
        instance_id = self._get_param("InstanceId")
        if behavior is not None:
            if behavior not in ("stop", "terminate"):
                raise ClientError("InvalidParameterValue",
                                  f"Value ({behavior}) for parameter "
                                  "instanceInitiatedShutdownBehavior is invalid.")
            self.ec2_backend.modify_instance_attribute(
                instance_id, "instance_initiated_shutdown_behavior", behavior)
            return True
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        self.ec2_backend.modify_instance_attribute(
            instance_id, "user_data", Base64EncodedString(base64.b64encode(raw).decode("ascii")))
        return True

    wrap_method(EC2Response, "_dot_value_instance_attribute_handler", dot_value_handler)


# --- CPU credit specifications -------------------------------------------------------------------
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstanceCreditSpecifications.html
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyInstanceCreditSpecification.html
# https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/burstable-performance-instances-unlimited-mode-concepts.html
# moto answers "standard" for every instance and has no ModifyInstanceCreditSpecification. Here the
# option comes from RunInstances' CreditSpecification or the last modification, else the documented
# launch default (T2: standard; T3, T3a, T4g: unlimited). Only burstable instances are listed.

def _cpu_credits(instance: Any) -> str | None:
    family = str(instance.instance_type).split(".")[0]
    if not family.startswith("t"):
        return None
    return getattr(instance, "fk_cpu_credits", None) or (
        "standard" if family == "t2" else "unlimited")


def _install_credit_specifications() -> None:
    def response_run_instances(original: Any, self: EC2Response) -> Any:
        _request.cpu_credits = (self._get_param("CreditSpecification") or {}).get("CpuCredits")
        try:
            return original(self)
        finally:
            _request.cpu_credits = None

    def backend_run_instances(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
        credits = getattr(_request, "cpu_credits", None)
        _request.cpu_credits = None
        reservation = original(self, *args, **kwargs)
        for instance in reservation.instances if credits else []:
            if not hasattr(instance, "fk_cpu_credits"):  # an idempotent retry keeps the first
                instance.fk_cpu_credits = credits
        return reservation

    def describe_instance_credit_specifications(self: EC2Response) -> ActionResult:
        ids = self._get_param("InstanceIds", []) or []
        filters = {f["Name"]: f.get("Values", []) for f in self._get_param("Filters", []) or []}
        instances = (self.ec2_backend.get_multi_instances_by_id(ids) if ids
                     else self.ec2_backend.all_instances())
        if "instance-id" in filters:
            instances = [i for i in instances if i.id in filters["instance-id"]]
        specs = [{"InstanceId": i.id, "CpuCredits": _cpu_credits(i)}
                 for i in instances if _cpu_credits(i)]
        return ActionResult({"InstanceCreditSpecifications": specs})

    def modify_instance_credit_specification(self: EC2Response) -> ActionResult:
        self.error_on_dryrun()
        succeeded, failed = [], []
        for spec in self._get_param("InstanceCreditSpecifications", []) or []:
            instance_id, credits = spec.get("InstanceId"), spec.get("CpuCredits")
            if credits not in ("standard", "unlimited"):
                raise ClientError("InvalidParameterValue",
                                  f"Invalid value '{credits}' for CpuCredits: use standard or "
                                  "unlimited.")
            try:
                instance = self.ec2_backend.get_instance(instance_id)
            except InvalidInstanceIdError:
                failed.append({"InstanceId": instance_id,
                               "Error": {"Code": "InvalidInstanceID.NotFound",
                                         "Message": f"The instance ID '{instance_id}' does not "
                                                    "exist"}})
                continue
            instance.fk_cpu_credits = credits
            succeeded.append({"InstanceId": instance_id})
        return ActionResult({"SuccessfulInstanceCreditSpecifications": succeeded,
                             "UnsuccessfulInstanceCreditSpecifications": failed})

    wrap_method(EC2Response, "run_instances", response_run_instances)
    wrap_method(InstanceBackend, "run_instances", backend_run_instances)
    add_action(EC2Response, "describe_instance_credit_specifications",
               describe_instance_credit_specifications)
    add_action(EC2Response, "modify_instance_credit_specification",
               modify_instance_credit_specification)


# --- GetLaunchTemplateData UserData and CreditSpecification ---------------------------------------
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GetLaunchTemplateData.html and
# API_ResponseLaunchTemplateData.html: UserData is the instance's user data, base64 as
# DescribeInstanceAttribute returns it; CreditSpecification.CpuCredits its credit option. moto
# leaves UserData out and answers "standard" for every instance; here the credit option is the one
# DescribeInstanceCreditSpecifications gives (above), and absent for an instance that is not
# burstable.

def _install_launch_template_data() -> None:
    def get_launch_template_data(original: Any, self: EC2Response) -> Any:
        answer = original(self)
        instance = self.ec2_backend.get_instance(self._get_param("InstanceId"))
        data = answer.result["LaunchTemplateData"]
        if instance.user_data is not None:
            data["UserData"] = str(instance.user_data)
        credits = _cpu_credits(instance)
        if credits:
            data["CreditSpecification"] = {"CpuCredits": credits}
        else:
            data.pop("CreditSpecification", None)
        return answer

    wrap_method(EC2Response, "get_launch_template_data", get_launch_template_data)


# --- ModifyNetworkInterfaceAttribute Attachment.DeleteOnTermination -------------------------------
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyNetworkInterfaceAttribute.html
# and API_NetworkInterfaceAttachmentChanges.html: moto ignores the Attachment member.

def _install_attachment_delete_on_termination() -> None:
    def modify_network_interface_attribute(original: Any, self: EC2Response) -> Any:
        attachment = self._get_param("Attachment") or {}
        if "DeleteOnTermination" not in attachment:
            return original(self)
        self.error_on_dryrun()
        eni = self.ec2_backend.get_network_interface(self._get_param("NetworkInterfaceId"))
        if not eni.attachment_id or eni.attachment_id != attachment.get("AttachmentId"):
            raise ClientError("InvalidAttachmentID.NotFound",
                              f"The attachment ID '{attachment.get('AttachmentId')}' does not "
                              "exist")
        value = attachment["DeleteOnTermination"]
        eni.delete_on_termination = value if isinstance(value, bool) else str(value) == "true"
        return EmptyResult()

    wrap_method(EC2Response, "modify_network_interface_attribute",
                modify_network_interface_attribute)


def install() -> None:
    _install_client_token()
    _install_source_version()
    _install_replace_root_volume()
    _install_modify_instance_attribute()
    _install_credit_specifications()
    _install_attachment_delete_on_termination()
    _install_launch_template_data()
