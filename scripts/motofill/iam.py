"""IAM gap: SimulatePrincipalPolicy.

https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
Identity policies only (inline and attached, of the user, its groups, or the role, plus
PolicyInputList): an explicit Deny wins, then an Allow; otherwise implicitDeny. Action, NotAction,
Resource and NotResource match with the * and ? wildcards, actions case-insensitively. Conditions
are not evaluated: a statement with a Condition is reported in MissingContextValues when it would
have decided the result.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any
from urllib.parse import unquote

from moto.core.responses import ActionResult
from moto.iam.responses import IamResponse

from .core import ClientError, add_action


def _load(document: Any) -> dict[str, Any]:
    if isinstance(document, dict):
        return document
    try:
        return json.loads(document)
    except (TypeError, ValueError):
        return json.loads(unquote(document))


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _match(pattern: str, value: str, ignore_case: bool) -> bool:
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _statement_applies(statement: dict[str, Any], action: str, resource: str) -> bool:
    if "Action" in statement:
        if not any(_match(p, action, True) for p in _as_list(statement["Action"])):
            return False
    elif "NotAction" in statement:
        if any(_match(p, action, True) for p in _as_list(statement["NotAction"])):
            return False
    else:
        return False
    if "Resource" in statement:
        return any(_match(p, resource, False) for p in _as_list(statement["Resource"]))
    if "NotResource" in statement:
        return not any(_match(p, resource, False) for p in _as_list(statement["NotResource"]))
    return False


def _principal_policies(backend: Any, arn: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(source id, source type, document) of every identity policy of the principal."""
    resource = arn.split(":", 5)[-1] if arn.count(":") >= 5 else ""
    kind, _, path_name = resource.partition("/")
    name = path_name.rsplit("/", 1)[-1]
    if kind == "user":
        principal = backend.get_user(name)
        holders = [("user", principal)] + [("group", g)
                                           for g in backend.get_groups_for_user(name)]
    elif kind == "role":
        holders = [("role", backend.get_role(name))]
    elif kind == "group":
        holders = [("group", backend.get_group(name))]
    else:
        raise ClientError("InvalidInput", f"Invalid PolicySourceArn: {arn}")
    policies = []
    for holder_type, holder in holders:
        for policy_name, document in holder.policies.items():
            policies.append((policy_name, holder_type, _load(document)))
        for policy in holder.managed_policies.values():
            version = next((v for v in policy.versions if v.is_default), policy.versions[-1])
            policies.append((policy.name, "aws-managed" if ":aws:policy" in policy.arn
                             else "managed", _load(version.document)))
    return policies


def evaluate(policies: list[tuple[str, str, dict[str, Any]]], action: str,
             resource: str) -> dict[str, Any]:
    decision = "implicitDeny"
    matched: list[dict[str, Any]] = []
    missing: list[str] = []
    for source_id, source_type, document in policies:
        statements = document.get("Statement", [])
        for statement in [statements] if isinstance(statements, dict) else statements:
            if not _statement_applies(statement, action, resource):
                continue
            if statement.get("Condition"):
                for operator in statement["Condition"].values():
                    missing += [k for k in operator if k not in missing]
                continue
            entry = {"SourcePolicyId": source_id, "SourcePolicyType": source_type}
            if statement.get("Effect") == "Deny":
                if decision != "explicitDeny":
                    matched = []
                decision = "explicitDeny"
                matched.append(entry)
            elif statement.get("Effect") == "Allow" and decision != "explicitDeny":
                decision = "allowed"
                matched.append(entry)
    return {"EvalActionName": action, "EvalResourceName": resource, "EvalDecision": decision,
            "MatchedStatements": matched,
            "MissingContextValues": missing if decision == "implicitDeny" else []}


def _install_simulate_principal_policy() -> None:
    def simulate_principal_policy(self: IamResponse) -> ActionResult:
        arn = self._get_param("PolicySourceArn")
        actions = self._get_param("ActionNames", []) or []
        resources = self._get_param("ResourceArns", []) or ["*"]
        if not actions:
            raise ClientError("InvalidInput", "ActionNames must not be empty.")
        policies = _principal_policies(self.backend, arn)
        for index, document in enumerate(self._get_param("PolicyInputList", []) or []):
            policies.append((f"PolicyInputList.{index + 1}", "user", _load(document)))
        results = [evaluate(policies, action, resource)
                   for action in actions for resource in resources]
        return ActionResult({"EvaluationResults": results, "IsTruncated": False})

    add_action(IamResponse, "simulate_principal_policy", simulate_principal_policy)


def install() -> None:
    _install_simulate_principal_policy()
