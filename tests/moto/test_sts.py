"""STS AssumeRole of a role whose trust policy requires an external id, through boto3 against the
launcher with authentication on (moto checks trust policies only then). The trust policy follows
"Access to AWS accounts owned by third parties"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html);
the refusal, the AssumeRole API reference
(https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError


def make_role(iam, name: str, trusted_arn: str, condition: dict) -> str:
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": trusted_arn}, "Action": "sts:AssumeRole",
        "Condition": condition}]}
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def refusal(sts, **kwargs) -> dict:
    with pytest.raises(ClientError) as error:
        sts.assume_role(RoleSessionName="fk", **kwargs)
    return error.value.response


def test_assume_role_requires_the_external_id_the_trust_policy_names(authenticated, name):
    iam = authenticated.client("iam", authenticated.key, authenticated.secret)
    sts = authenticated.client("sts", authenticated.key, authenticated.secret)
    me = sts.get_caller_identity()["Arn"]
    role = make_role(iam, name, me, {"StringEquals": {"sts:ExternalId": "Unique-Id-1234"}})

    assumed = sts.assume_role(RoleArn=role, RoleSessionName="fk", ExternalId="Unique-Id-1234")
    assert assumed["AssumedRoleUser"]["Arn"].endswith(f":assumed-role/{name}/fk")

    for kwargs in ({}, {"ExternalId": "another-id"}):
        response = refusal(sts, RoleArn=role, **kwargs)
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 403, kwargs
        assert response["Error"]["Code"] == "AccessDenied", kwargs
        assert response["Error"]["Message"] == (
            f"User: {me} is not authorized to perform: sts:AssumeRole on resource: {role}"), kwargs


def test_string_like_and_key_case(authenticated, name):
    iam = authenticated.client("iam", authenticated.key, authenticated.secret)
    sts = authenticated.client("sts", authenticated.key, authenticated.secret)
    me = sts.get_caller_identity()["Arn"]
    # Condition keys are case-insensitive; StringLike takes * and ? wildcards.
    role = make_role(iam, name, me, {"StringLike": {"STS:externalid": ["team-?-*", "ops"]}})
    sts.assume_role(RoleArn=role, RoleSessionName="fk", ExternalId="team-a-2026")
    sts.assume_role(RoleArn=role, RoleSessionName="fk", ExternalId="ops")
    assert refusal(sts, RoleArn=role, ExternalId="team-ab-1")["Error"]["Code"] == "AccessDenied"
    assert refusal(sts, RoleArn=role)["Error"]["Code"] == "AccessDenied"

