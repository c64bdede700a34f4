"""CodeDeploy gaps: StopDeployment, with auto rollback; BatchGetDeploymentGroups; the alarm
configuration of a deployment group (moto stores it but answers {}).

https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_StopDeployment.html
https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_RollbackInfo.html
https://docs.aws.amazon.com/codedeploy/latest/userguide/deployments-rollback-and-redeploy.html:
stopping a deployment with auto rollback redeploys the last revision that deployed successfully
as a new deployment (creator "codeDeployRollback").
https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_BatchGetDeploymentGroups.html
https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_DeploymentGroupInfo.html
https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_AlarmConfiguration.html:
deploymentGroupsInfo lists the groups that exist; a missing one is named in errorMessage, not an
error of the call.
"""

from __future__ import annotations

from typing import Any

from moto.codedeploy import responses as codedeploy_responses
from moto.codedeploy.responses import CodeDeployResponse
from moto.core.responses import ActionResult
from moto.core.utils import utcnow

from .core import TIMERS, ClientError, add_action, state_delay

FINISHED = ("Succeeded", "Failed", "Stopped")


def _install_rollback_info() -> None:
    original = codedeploy_responses._deployment_info

    def deployment_info(deployment: Any) -> dict[str, Any]:
        info = original(deployment)
        info["rollbackInfo"] = getattr(deployment, "fk_rollback_info", {})
        if getattr(deployment, "fk_creator", None):
            info["creator"] = deployment.fk_creator
        return info

    codedeploy_responses._deployment_info = deployment_info


def _install_group_info() -> None:
    original = codedeploy_responses._deployment_group_info

    def deployment_group_info(group: Any) -> dict[str, Any]:
        info = original(group)
        alarms = group.alarm_configuration or {}
        info["alarmConfiguration"] = {
            "enabled": bool(alarms.get("enabled", False)),
            "ignorePollAlarmFailure": bool(alarms.get("ignorePollAlarmFailure", False)),
            "alarms": [{"name": a["name"]} for a in alarms.get("alarms", [])],
        }
        return info

    codedeploy_responses._deployment_group_info = deployment_group_info


def _install_batch_get_deployment_groups() -> None:
    def batch_get_deployment_groups(self: CodeDeployResponse) -> ActionResult:
        backend = self.codedeploy_backend
        application = self._get_param("applicationName")
        names = self._get_param("deploymentGroupNames") or []
        if application not in backend.applications:
            raise ClientError("ApplicationDoesNotExistException",
                              f"The application {application} does not exist with the user or "
                              "AWS account.")
        if len(names) > 100:
            raise ClientError("BatchLimitExceededException",
                              "The maximum number of names or IDs allowed for this request (100) "
                              "was exceeded.")
        groups = backend.deployment_groups.get(application, {})
        found = [codedeploy_responses._deployment_group_info(groups[n]) for n in names
                 if n in groups]
        missing = [n for n in names if n not in groups]
        result: dict[str, Any] = {"deploymentGroupsInfo": found}
        if missing:
            result["errorMessage"] = ("Deployment groups do not exist: " + ", ".join(missing))
        return ActionResult(result)

    add_action(CodeDeployResponse, "batch_get_deployment_groups", batch_get_deployment_groups)


def _finish_later(deployment: Any) -> None:
    def in_progress() -> None:
        if deployment.status == "Created":
            deployment.status = "InProgress"
            deployment.start_time = utcnow()
            TIMERS.call_later(state_delay(), succeed)

    def succeed() -> None:
        if deployment.status == "InProgress":
            deployment.status = "Succeeded"
            deployment.complete_time = utcnow()

    TIMERS.call_later(state_delay(), in_progress)


def _install_stop_deployment() -> None:
    def stop_deployment(self: CodeDeployResponse) -> ActionResult:
        backend = self.codedeploy_backend
        deployment_id = self._get_param("deploymentId")
        deployment = backend.get_deployment(deployment_id)  # DeploymentDoesNotExistException
        if deployment.status in FINISHED:
            raise ClientError("DeploymentAlreadyCompletedException",
                              f"The deployment {deployment_id} is already completed.")
        deployment.status = "Stopped"
        deployment.complete_time = utcnow()
        if not self._get_param("autoRollbackEnabled"):
            return ActionResult({"status": "Succeeded",
                                 "statusMessage": "The deployment was stopped."})
        previous = [d for d in backend.deployments.values()
                    if d is not deployment and d.status == "Succeeded"
                    and d.application_name == deployment.application_name
                    and d.deployment_group_name == deployment.deployment_group_name]
        revision = previous[-1].revision if previous else deployment.revision
        rollback_id = backend.create_deployment(
            application_name=deployment.application_name,
            deployment_group_name=deployment.deployment_group_name,
            revision=revision,
            deployment_config_name=deployment.deployment_config_name,
            description=f"Rollback of {deployment_id}",
        )
        rollback = backend.deployments[rollback_id]
        rollback.fk_creator = "codeDeployRollback"
        rollback.fk_rollback_info = {"rollbackTriggeringDeploymentId": deployment_id}
        deployment.fk_rollback_info = {
            "rollbackDeploymentId": rollback_id,
            "rollbackMessage": f"Deployment {deployment_id} was stopped; rolling back with "
                               f"deployment {rollback_id}.",
        }
        _finish_later(rollback)
        return ActionResult({"status": "Pending",
                             "statusMessage": f"Stopped; rolling back with {rollback_id}."})

    add_action(CodeDeployResponse, "stop_deployment", stop_deployment)


def install() -> None:
    _install_rollback_info()
    _install_group_info()
    _install_batch_get_deployment_groups()
    _install_stop_deployment()
