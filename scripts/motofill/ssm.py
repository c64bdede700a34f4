"""SSM gaps: managed-instance inventory, command invocations, ListCommands filters, patch states,
SendCommand targets.

Test hooks (instance tags, set with CreateTags):
- fk-test:ssm-unmanaged=true     the instance is not an SSM managed instance
- fk-test:ssm-command-status=X   commands on the instance end with status X (e.g. Failed)
- fk-test:patch-missing=N        patches a Scan reports missing (default 0)
- fk-test:patch-scanned-missing=N before any patch command, the instance reports an earlier Scan
                                 that found N missing (without it: no patch state yet)
- fk-test:ssm-ping=X             a running instance's PingStatus (e.g. ConnectionLost: the agent
                                 stopped answering), instead of Online
- fk-test:ssm-command-seconds=N  commands on the instance run N seconds (default: the state delay)
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.ec2.models import ec2_backends
from moto.ssm.models import Command
from moto.ssm.responses import SimpleSystemManagerResponse

from .core import TIMERS, ClientError, add_action, ec2_tags, state_delay, wrap_method

UNMANAGED_TAG = "fk-test:ssm-unmanaged"
COMMAND_STATUS_TAG = "fk-test:ssm-command-status"
PATCH_MISSING_TAG = "fk-test:patch-missing"
PING_TAG = "fk-test:ssm-ping"
SCANNED_TAG = "fk-test:patch-scanned-missing"
COMMAND_SECONDS_TAG = "fk-test:ssm-command-seconds"
INSTALLED_BASE = 40


def _tags(instance: Any) -> dict[str, str]:
    return ec2_tags(instance)


def _ec2(account_id: str, region: str) -> Any:
    return ec2_backends[account_id][region]


# --- SendCommand ------------------------------------------------------------------------------
# https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html and
# https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_Target.html: Targets take
# Key=InstanceIds (ids), Key=tag:<name> or Key=tag-key. Invocations run InProgress for the state
# delay, then end Success (or the status an instance's test tag asks for).

def _install_send_command() -> None:
    def targets_to_ids(self: Command) -> list[str]:
        backend = _ec2(self.account_id, self.backend_region)
        ids: list[str] = []
        for target in self.targets:
            key, values = target["Key"], target.get("Values", [])
            if key == "InstanceIds":
                ids += [backend.get_instance(i).id for i in values]  # InvalidInstanceID.NotFound
                continue
            if not (key.startswith("tag:") or key == "tag-key"):
                raise ClientError("InvalidTarget", f"Target key {key} is not supported.")
            for reservation in backend.all_reservations(filters={key: values}):
                ids += [i.id for i in reservation.instances if i.state == "running"]
        return ids

    def init(original: Any, self: Command, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.instance_ids = sorted(self.instance_ids)
        self.target_count = len(self.instance_ids)
        self.completed_count = 0
        self.error_count = 0
        backend = _ec2(self.account_id, self.backend_region)
        plugin = ("PatchLinux" if self.document_name == "AWS-RunPatchBaseline"
                  else "aws:runShellScript")
        self.invocations = []
        finals = {}
        duration = state_delay()
        for instance_id in self.instance_ids:
            invocation = self.invocation_response(instance_id, plugin)
            instance = backend.get_instance_by_id(instance_id)
            final = _tags(instance).get(COMMAND_STATUS_TAG, "Success") if instance else "Failed"
            finals[instance_id] = final
            if instance and COMMAND_SECONDS_TAG in _tags(instance):
                duration = max(duration, float(_tags(instance)[COMMAND_SECONDS_TAG]))
            invocation.update(Status="InProgress", StatusDetails="InProgress", ResponseCode=-1)
            self.invocations.append(invocation)
        self.status = "InProgress"
        self.status_details = "InProgress"
        self.fk_finished_at = None

        def finish() -> None:
            for invocation in self.invocations:
                final = finals[invocation["InstanceId"]]
                invocation.update(Status=final, StatusDetails=final,
                                  ResponseCode=0 if final == "Success" else 1)
            self.completed_count = len(self.invocations)
            self.error_count = sum(1 for i in self.invocations if i["Status"] != "Success")
            self.status = "Success" if self.error_count == 0 else "Failed"
            self.status_details = self.status
            self.fk_finished_at = utcnow()

        if duration > 0:
            TIMERS.call_later(duration, finish)
        else:
            finish()

    Command._get_instance_ids_from_targets = targets_to_ids
    wrap_method(Command, "__init__", init)


# --- ListCommandInvocations -------------------------------------------------------------------
# https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_ListCommandInvocations.html
# Filters (API_CommandFilter.html): DocumentName, Status, InvokedAfter and InvokedBefore.

def _invocation(command: Command, invocation: dict[str, Any], details: bool) -> dict[str, Any]:
    result: dict[str, Any] = {
        "CommandId": command.command_id,
        "InstanceId": invocation["InstanceId"],
        "Comment": command.comment,
        "DocumentName": command.document_name,
        "DocumentVersion": "$DEFAULT",
        "RequestedDateTime": command.requested_date_time,
        "Status": invocation["Status"],
        "StatusDetails": invocation["StatusDetails"],
        "StandardOutputUrl": "",
        "StandardErrorUrl": "",
        "ServiceRole": command.service_role_arn,
        "NotificationConfig": command.notification_config,
    }
    if details:
        plugin: dict[str, Any] = {
            "Name": invocation["PluginName"],
            "Status": invocation["Status"],
            "StatusDetails": invocation["StatusDetails"],
            "ResponseCode": invocation["ResponseCode"],
            "ResponseStartDateTime": command.requested_date_time,
            "Output": invocation.get("StandardOutputContent", ""),
        }
        if invocation["Status"] not in ("Pending", "InProgress"):
            plugin["ResponseFinishDateTime"] = command.fk_finished_at or utcnow()
        result["CommandPlugins"] = [plugin]
    return result


def _filter_time(key: str, value: str) -> datetime:
    """An InvokedAfter/InvokedBefore value (https://docs.aws.amazon.com/systems-manager/latest/
    APIReference/API_CommandFilter.html: "2024-07-07T00:00:00Z") as moto's naive UTC time."""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(
            timezone.utc).replace(tzinfo=None)
    except ValueError:
        raise ClientError("InvalidFilterValue", f"{key}: {value!r} is not a timestamp") from None


def _filtered_commands(response: SimpleSystemManagerResponse,
                       instance_id: str | None) -> tuple[list[Command], dict[str, str]]:
    """The backend's commands (by CommandId, and InstanceId when given) that pass the request's
    CommandFilters DocumentName, InvokedAfter and InvokedBefore; and the filters, by key."""
    commands = response.ssm_backend.list_commands(response._get_param("CommandId"), instance_id)
    filters = {f["key"]: f["value"] for f in response._get_param("Filters", []) or []}
    after = _filter_time("InvokedAfter", filters["InvokedAfter"]) \
        if "InvokedAfter" in filters else None
    before = _filter_time("InvokedBefore", filters["InvokedBefore"]) \
        if "InvokedBefore" in filters else None
    kept = [c for c in commands
            if ("DocumentName" not in filters or c.document_name == filters["DocumentName"])
            and (after is None or c.requested_date_time >= after)
            and (before is None or c.requested_date_time <= before)]
    return kept, filters


def _page(response: SimpleSystemManagerResponse, key: str, items: list[Any]) -> ActionResult:
    """One page of `items` under `key`: MaxResults (default 50) from NextToken (an index)."""
    max_results = int(response._get_param("MaxResults") or 50)
    start = int(response._get_param("NextToken") or 0)
    answer: dict[str, Any] = {key: items[start:start + max_results]}
    if start + max_results < len(items):
        answer["NextToken"] = str(start + max_results)
    return ActionResult(answer)


def _install_list_command_invocations() -> None:
    def list_command_invocations(self: SimpleSystemManagerResponse) -> ActionResult:
        instance_id = self._get_param("InstanceId")
        details = bool(self._get_param("Details"))
        commands, filters = _filtered_commands(self, None)
        result = []
        for command in commands:
            for invocation in command.invocations:
                if instance_id and invocation["InstanceId"] != instance_id:
                    continue
                if "Status" in filters and invocation["Status"] != filters["Status"]:
                    continue
                result.append(_invocation(command, invocation, details))
        return _page(self, "CommandInvocations", result)

    add_action(SimpleSystemManagerResponse, "list_command_invocations", list_command_invocations)


# --- ListCommands Filters and pagination --------------------------------------------------------
# https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_ListCommands.html: moto lists
# every command, ignoring Filters, MaxResults and NextToken; AWS lists the newest first.

def _install_list_commands() -> None:
    def list_commands(self: SimpleSystemManagerResponse) -> ActionResult:
        commands, filters = _filtered_commands(self, self._get_param("InstanceId"))
        if "Status" in filters:
            commands = [c for c in commands if c.status == filters["Status"]]
        newest_first = sorted(commands, key=lambda c: c.requested_date_time, reverse=True)
        page = _page(self, "Commands", newest_first)  # the page's commands only are rendered
        page.result["Commands"] = [c.response_object() for c in page.result["Commands"]]
        return page

    add_action(SimpleSystemManagerResponse, "list_commands", list_commands)


# --- DescribeInstanceInformation ----------------------------------------------------------------
# https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstanceInformation.html
# https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_InstanceInformation.html
# Every EC2 instance of the account and region is managed unless tagged unmanaged: running ones
# are Online, stopped ones ConnectionLost; terminated ones are gone.

def _install_describe_instance_information() -> None:
    def describe_instance_information(self: SimpleSystemManagerResponse) -> ActionResult:
        backend = _ec2(self.current_account, self.region)
        wanted: dict[str, list[str]] = {}
        for f in self._get_param("InstanceInformationFilterList", []) or []:
            wanted[f["key"]] = f["valueSet"]
        for f in self._get_param("Filters", []) or []:
            wanted[f["Key"]] = f["Values"]
        items = []
        for instance in backend.all_instances():
            tags = _tags(instance)
            if instance.state in ("terminated", "shutting-down"):
                continue
            if tags.get(UNMANAGED_TAG, "").lower() == "true":
                continue
            ping = (tags.get(PING_TAG, "Online") if instance.state == "running"
                    else "ConnectionLost")
            item = {
                "InstanceId": instance.id,
                "PingStatus": ping,
                "LastPingDateTime": utcnow(),
                "AgentVersion": "3.3.0.0",
                "IsLatestVersion": True,
                "PlatformType": "Linux",
                "PlatformName": "Amazon Linux",
                "PlatformVersion": "2023",
                "ResourceType": "EC2Instance",
                "IPAddress": instance.private_ip,
                "ComputerName": instance.private_dns_name,
                "AssociationStatus": "Success",
                "SourceId": instance.id,
                "SourceType": "AWS::EC2::Instance",
            }
            keep = True
            for key, values in wanted.items():
                if key == "InstanceIds":
                    keep &= instance.id in values
                elif key == "PingStatus":
                    keep &= ping in values
                elif key == "PlatformTypes":
                    keep &= "Linux" in values
                elif key == "ResourceType":
                    keep &= "EC2Instance" in values
                elif key.startswith("tag:"):
                    keep &= tags.get(key[4:]) in values
                elif key == "tag-key":
                    keep &= any(v in tags for v in values)
            if keep:
                items.append(item)
        max_results = int(self._get_param("MaxResults") or 50)
        start = int(self._get_param("NextToken") or 0)
        response: dict[str, Any] = {"InstanceInformationList": items[start:start + max_results]}
        if start + max_results < len(items):
            response["NextToken"] = str(start + max_results)
        return ActionResult(response)

    add_action(SimpleSystemManagerResponse, "describe_instance_information",
               describe_instance_information)


# --- DescribeInstancePatchStates ----------------------------------------------------------------
# https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstancePatchStates.html
# https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_InstancePatchState.html
# The state comes from the instance's last finished AWS-RunPatchBaseline command: Install leaves
# nothing missing; Scan reports the instance's fk-test:patch-missing count. Before any command, an
# instance tagged fk-test:patch-scanned-missing reports an earlier Scan; one without has no state.

def _patch_state(instance_id: str, operation: str, reboot_option: str, installed: int,
                 missing: int, failed: int, start: Any, end: Any) -> dict[str, Any]:
    return {
        "InstanceId": instance_id,
        "PatchGroup": "",
        "BaselineId": "pb-0c10e65780fc35b47",
        "OwnerInformation": "",
        "InstalledCount": installed,
        "InstalledOtherCount": 0,
        "InstalledPendingRebootCount": 0,
        "InstalledRejectedCount": 0,
        "MissingCount": missing,
        "FailedCount": failed,
        "UnreportedNotApplicableCount": 0,
        "NotApplicableCount": 0,
        "OperationStartTime": start,
        "OperationEndTime": end,
        "Operation": operation,
        "RebootOption": reboot_option,
    }


def _install_describe_instance_patch_states() -> None:
    def describe_instance_patch_states(self: SimpleSystemManagerResponse) -> ActionResult:
        instance_ids = self._get_param("InstanceIds", []) or []
        if not instance_ids:
            raise ClientError("ValidationException", "InstanceIds must be specified.")
        backend = _ec2(self.current_account, self.region)
        states = []
        for instance_id in instance_ids:
            last = None
            for command in self.ssm_backend.list_commands(None, None):
                if command.document_name != "AWS-RunPatchBaseline":
                    continue
                for invocation in command.invocations:
                    if (invocation["InstanceId"] == instance_id
                            and invocation["Status"] not in ("Pending", "InProgress")):
                        last = (command, invocation)
            instance = backend.get_instance_by_id(instance_id)
            if last is None:
                # No patch command yet: an instance tagged as scanned earlier reports that scan.
                if instance is not None and SCANNED_TAG in _tags(instance):
                    states.append(_patch_state(instance_id, "Scan", "NoReboot", INSTALLED_BASE,
                                               int(_tags(instance)[SCANNED_TAG]), 0,
                                               utcnow() - timedelta(days=1),
                                               utcnow() - timedelta(days=1) + timedelta(minutes=1)))
                continue
            command, invocation = last
            operation = (command.parameters.get("Operation") or ["Scan"])[0]
            missing = int(_tags(instance).get(PATCH_MISSING_TAG, "0")) if instance else 0
            failed = 0 if invocation["Status"] == "Success" else 1
            if operation == "Install" and not failed:
                missing = 0
            installs = sum(1 for c in self.ssm_backend.list_commands(None, instance_id)
                           if c.document_name == "AWS-RunPatchBaseline"
                           and (c.parameters.get("Operation") or ["Scan"])[0] == "Install")
            finished = command.fk_finished_at or utcnow()
            states.append(_patch_state(
                instance_id, operation,
                (command.parameters.get("RebootOption") or ["RebootIfNeeded"])[0],
                INSTALLED_BASE + installs, missing, failed, command.requested_date_time,
                max(finished, command.requested_date_time + timedelta(milliseconds=1))))
        return ActionResult({"InstancePatchStates": states})

    add_action(SimpleSystemManagerResponse, "describe_instance_patch_states",
               describe_instance_patch_states)


def install() -> None:
    _install_send_command()
    _install_list_command_invocations()
    _install_list_commands()
    _install_describe_instance_information()
    _install_describe_instance_patch_states()
