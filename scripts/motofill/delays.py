"""Transitional states that moto skips, held for FK_MOTO_STATE_DELAY seconds (off when 0).

- Instances: pending -> running (launch, start), stopping -> stopped, shutting-down -> terminated.
  https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-lifecycle.html
- Images made by CreateImage/CopyImage: pending -> available.
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Image.html (State)
- Volume attachments: attaching -> attached, detaching -> detached; the attaching state also in
  the instance's block device mapping (a detaching volume leaves the mapping at once, as moto has it).
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_VolumeAttachment.html
- ELBv2 targets: initial -> healthy after registration, draining -> unused after deregistration.
  https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetHealth.html
"""

from __future__ import annotations

import threading
import time
from typing import Any

from moto.ec2.models.amis import AmiBackend
from moto.ec2.models.elastic_block_store import EBSBackend
from moto.ec2.models.instances import Instance, InstanceState
from moto.ec2.responses import EC2Response
from moto.elbv2.models import ELBv2Backend, FakeHealthStatus, FakeTargetGroup

from .core import after_state_delay, state_delay, wrap_method

_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64,
          "stopped": 80}


def _hold_instance(instance: Instance, transitional: str, final: str) -> None:
    def settle() -> None:
        if instance._state.name == transitional:
            instance._state = InstanceState(final, _CODES[final])

    if state_delay() > 0:
        instance._state = InstanceState(transitional, _CODES[transitional])
        after_state_delay(settle)


def _install_instances() -> None:
    def init(original: Any, self: Instance, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        _hold_instance(self, "pending", "running")

    def start(original: Any, self: Instance) -> Any:
        previous = original(self)
        if previous.name != "running":
            _hold_instance(self, "pending", "running")
        return previous

    def stop(original: Any, self: Instance) -> Any:
        previous = original(self)
        if previous.name != "stopped":
            _hold_instance(self, "stopping", "stopped")
        return previous

    def terminate(original: Any, self: Instance) -> Any:
        previous = original(self)
        if previous.name != "terminated":
            _hold_instance(self, "shutting-down", "terminated")
        return previous

    wrap_method(Instance, "__init__", init)
    wrap_method(Instance, "start", start)
    wrap_method(Instance, "stop", stop)
    wrap_method(Instance, "terminate", terminate)


def _hold_image(image: Any) -> None:
    def settle() -> None:
        if image.state == "pending":
            image.state = "available"

    if state_delay() > 0:
        image.state = "pending"
        after_state_delay(settle)


def _install_images() -> None:
    def create_image(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
        image = original(self, *args, **kwargs)
        _hold_image(image)
        return image

    wrap_method(AmiBackend, "create_image", create_image)
    wrap_method(AmiBackend, "copy_image", create_image)


_api_call = threading.local()


def _install_volumes() -> None:
    # Only AttachVolume/DetachVolume requests get a transition: moto also detaches volumes
    # internally (instance termination), where a held attachment would block the volume's deletion.
    def flagged(original: Any, self: Any) -> Any:
        _api_call.active = True
        try:
            return original(self)
        finally:
            _api_call.active = False

    wrap_method(EC2Response, "attach_volume", flagged)
    wrap_method(EC2Response, "detach_volume", flagged)

    def attach(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
        attachment = original(self, *args, **kwargs)
        if attachment is not None and state_delay() > 0 and getattr(_api_call, "active", False):
            attachment.status = "attaching"
            # The instance's block device mapping (DescribeInstances, EbsInstanceBlockDevice
            # Status: attaching | attached) shows the same state; moto maps "in-use" to attached.
            # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_EbsInstanceBlockDevice.html
            device = attachment.instance.block_device_mapping.get(attachment.device)
            if device is not None:
                device.status = "attaching"

            def settle() -> None:
                if attachment.status == "attaching":
                    attachment.status = "attached"
                    if device is not None and device.status == "attaching":
                        device.status = "in-use"

            after_state_delay(settle)
        return attachment

    def detach(original: Any, self: Any, volume_id: str, instance_id: str | None = None,
               device_path: str | None = None) -> Any:
        volume = self.get_volume(volume_id)
        if not instance_id and volume.attachment is not None:
            # InstanceId is optional in DetachVolume; moto needs it.
            instance_id = volume.attachment.instance.id
        attachment = original(self, volume_id, instance_id, device_path)
        if state_delay() > 0 and getattr(_api_call, "active", False):
            # The volume stays in-use, its attachment "detaching", until the detach completes.
            attachment.status = "detaching"
            volume.attachment = attachment

            def settle() -> None:
                if volume.attachment is attachment:
                    volume.attachment = None
                attachment.status = "detached"

            after_state_delay(settle)
        return attachment

    wrap_method(EBSBackend, "attach_volume", attach)
    wrap_method(EBSBackend, "detach_volume", detach)


# (target group arn, target id) -> monotonic time of the last registration / deregistration
_registered_at: dict[tuple[str, str], float] = {}
_deregistered_at: dict[tuple[str, str], float] = {}


def _install_target_health() -> None:
    def register(original: Any, self: FakeTargetGroup, targets: list[dict[str, Any]]) -> None:
        original(self, targets)
        now = time.monotonic()
        for target in targets:
            _registered_at[(self.arn, target["Id"])] = now
            _deregistered_at.pop((self.arn, target["Id"]), None)

    def deregister(original: Any, self: FakeTargetGroup, targets: list[dict[str, Any]]) -> None:
        original(self, targets)
        now = time.monotonic()
        for target in targets:
            _deregistered_at[(self.arn, target["Id"])] = now
            _registered_at.pop((self.arn, target["Id"]), None)

    def health_for(original: Any, self: FakeTargetGroup, target: dict[str, Any],
                   ec2_backend: Any) -> FakeHealthStatus:
        status = original(self, target, ec2_backend)
        delay = state_delay()
        if delay <= 0:
            return status
        key = (self.arn, target["Id"])
        now = time.monotonic()
        port = target.get("Port", self.port)
        if status.status == "healthy" and now - _registered_at.get(key, 0.0) < delay:
            return FakeHealthStatus(target["Id"], port, self.health_check_port, "initial",
                                    "Elb.RegistrationInProgress",
                                    "Target registration is in progress")
        if key in _deregistered_at and now - _deregistered_at[key] < delay:
            return FakeHealthStatus(target["Id"], port, self.health_check_port, "draining",
                                    "Target.DeregistrationInProgress",
                                    "Target deregistration is in progress")
        return status

    def describe_target_health(original: Any, self: ELBv2Backend, target_group_arn: str,
                               targets: list[dict[str, Any]]) -> list[FakeHealthStatus]:
        result = original(self, target_group_arn, targets)
        if targets:
            return result
        # Without a target list AWS also reports the targets that are still draining.
        target_group = self.target_groups[target_group_arn]
        now = time.monotonic()
        for (arn, target_id), at in list(_deregistered_at.items()):
            if arn == target_group_arn and now - at < state_delay():
                entry = target_group.deregistered_targets.get(target_id, {"Id": target_id})
                result.append(target_group.health_for(entry, self.ec2_backend))
        return result

    wrap_method(FakeTargetGroup, "register", register)
    wrap_method(FakeTargetGroup, "deregister", deregister)
    wrap_method(FakeTargetGroup, "health_for", health_for)
    wrap_method(ELBv2Backend, "describe_target_health", describe_target_health)


def install() -> None:
    _install_instances()
    _install_images()
    _install_volumes()
    _install_target_health()
