"""STS gap: AssumeRole against a trust policy that requires an external id.

https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html

With authentication on, moto checks a role's trust policy on AssumeRole, but evaluates a condition
only on the keys the request carries: an AssumeRole without ExternalId met
{"StringEquals": {"sts:ExternalId": "..."}} and was allowed. Here, for trust policies, a condition
on a request-context key moto knows (sts:ExternalId, the only one it collects) is evaluated as AWS
does: a key absent from the request fails StringEquals and StringLike ("If the key that you specify
in a policy condition is not present in the request context, the values do not match"), any one
value of a key may match, StringLike takes the * and ? wildcards, and key names compare
case-insensitively. Other keys and operators stay as moto has them: not evaluated. Identity
policies keep moto's evaluation.

The refusal says what AWS says: AccessDenied, HTTP 403, "User: <caller> is not authorized to
perform: sts:AssumeRole on resource: <role>".
"""

from __future__ import annotations

import fnmatch
from typing import Any

from moto.core.exceptions import AccessDeniedError
from moto.iam.access_control import IAMPolicyStatement, IAMRequest

from .core import wrap_method
from .iam import _as_list

# Condition keys whose request-context value moto collects (moto.iam.utils).
_CONTEXT_KEYS = {"sts:externalid"}


def _condition_met(operator: str, expected: Any, actual: str | None) -> bool | None:
    """Whether one key's condition holds; None for an operator this fill does not evaluate."""
    values = _as_list(expected)
    if operator == "StringEquals":
        return actual is not None and actual in values
    if operator == "StringLike":
        return actual is not None and any(
            fnmatch.fnmatchcase(actual, v.replace("[", "[[]")) for v in values)
    return None


def _trust_conditions_met(statement: dict[str, Any], context: dict[str, str]) -> bool:
    context = {key.lower(): value for key, value in context.items()}
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, expected in keys.items():
            if key.lower() not in _CONTEXT_KEYS:
                continue
            if _condition_met(operator, expected, context.get(key.lower())) is False:
                return False
    return True


def _install_trust_conditions() -> None:
    def check_conditions(original: Any, self: IAMPolicyStatement,
                         incoming: dict[str, str] | None = None) -> bool:
        # moto passes the request context (a dict, empty without ExternalId) only when it checks
        # a role's trust policy; identity policies get None.
        if incoming is None:
            return original(self, incoming)
        return _trust_conditions_met(self._statement, incoming)

    wrap_method(IAMPolicyStatement, "_check_conditions", check_conditions)


def _install_access_denied_message() -> None:
    def raise_access_denied(original: Any, self: IAMRequest) -> None:
        role = (self._data.get("RoleArn") or [""])[0]
        if self._action == "sts:AssumeRole" and role:
            raise AccessDeniedError(user_arn=self._access_key.arn,
                                    action=f"sts:AssumeRole on resource: {role}")
        original(self)

    wrap_method(IAMRequest, "_raise_access_denied", raise_access_denied)


def install() -> None:
    _install_trust_conditions()
    _install_access_denied_message()
