"""The launcher's AWS fault injection (scripts/motofill/faults.py): only requests whose User-Agent is
the worker's are touched, each protocol gets its own throttling and server errors, a reset after
moto acted keeps the effect, and an outage resets every connection until it ends."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from conftest import REGION, Launcher, amis


def configure(moto: Launcher, **faults: Any) -> dict[str, Any]:
    return json.loads(moto.post("/fleetkeeper-faults", json.dumps(faults).encode()))


def counts(moto: Launcher) -> dict[str, dict[str, int]]:
    return json.loads(moto.get("/fleetkeeper-faults"))["counts"]


def worker_client(moto: Launcher, service: str) -> Any:
    """A client that sends the worker's User-Agent and does not retry."""
    return boto3.client(service, endpoint_url=moto.endpoint, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(user_agent="fleetkeeper", retries={"max_attempts": 1,
                                                                         "mode": "standard"}))


@pytest.fixture
def faulty(moto: Launcher):
    yield moto
    configure(moto)  # none, for the other tests of the session


def error_code(call) -> tuple[str, int]:
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_throttling_and_server_errors_speak_each_protocol(faulty: Launcher) -> None:
    configure(faulty, throttle=1.0)
    assert error_code(lambda: worker_client(faulty, "ec2").describe_instances()) == (
        "RequestLimitExceeded", 503)
    assert error_code(lambda: worker_client(faulty, "autoscaling").describe_auto_scaling_groups()) == (
        "Throttling", 400)
    assert error_code(lambda: worker_client(faulty, "ssm").describe_instance_information()) == (
        "ThrottlingException", 400)
    configure(faulty, server_error=1.0)
    assert error_code(lambda: worker_client(faulty, "ec2").describe_instances()) == (
        "InternalError", 500)
    assert error_code(lambda: worker_client(faulty, "ssm").describe_instance_information()) == (
        "InternalFailure", 500)
    # The test's own clients are never touched.
    faulty.client("ec2").describe_instances()
    seen = counts(faulty)
    assert seen["DescribeInstances"]["throttle"] >= 1 and seen["DescribeInstances"]["error"] >= 1
    assert seen["DescribeInstanceInformation"]["throttle"] >= 1


def test_a_reset_after_moto_acted_keeps_the_effect_and_the_client_token_dedupes(
        faulty: Launcher) -> None:
    image, _ = amis(faulty.client("ec2"))
    configure(faulty, reset_after={"RunInstances": 1})
    ec2 = worker_client(faulty, "ec2")
    token = "fault-test-" + str(time.time_ns())
    # botocore sends the request again after the reset (a connection error is retried even with
    # max_attempts 1), with the same token: the answer names the instance the lost one carried.
    again = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, ClientToken=token)
    reservations = faulty.client("ec2").describe_instances(
        Filters=[{"Name": "client-token", "Values": [token]}])["Reservations"]
    made = [i["InstanceId"] for r in reservations for i in r["Instances"]]
    assert made == [again["Instances"][0]["InstanceId"]]
    assert counts(faulty)["RunInstances"] == {"requests": 2, "reset-after": 1}


def test_an_outage_resets_every_connection_until_it_ends(faulty: Launcher) -> None:
    configure(faulty, outage_seconds=2)
    ec2 = worker_client(faulty, "ec2")
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        ec2.describe_instances()
    faulty.client("ec2").describe_instances()  # not the worker's: served
    time.sleep(2.2)
    ec2.describe_instances()
    assert urllib.request.urlopen(f"{faulty.endpoint}/fleetkeeper-faults").status == 200
