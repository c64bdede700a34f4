"""The launcher's server: moto's recorder and authentication, and scripts/moto.sh."""

from __future__ import annotations

import base64
import json
import os
import subprocess

import pytest
from botocore.exceptions import ClientError
from conftest import ROOT, amis


def test_recorder_lists_calls_that_leave_no_state(moto, aws):
    ec2 = aws("ec2")
    instance_id = ec2.run_instances(ImageId=amis(ec2)[0], MinCount=1, MaxCount=1)["Instances"][0][
        "InstanceId"]
    moto.post("/moto-api/recorder/reset-recording")
    ec2.reboot_instances(InstanceIds=[instance_id])
    lines = moto.get("/moto-api/recorder/download-recording").decode().splitlines()
    entries = [json.loads(line) for line in lines]
    bodies = [base64.b64decode(e["body"]).decode() if e["body_encoded"] else e["body"]
              for e in entries]
    assert any("Action=RebootInstances" in b and instance_id in b for b in bodies)
    assert not any("Action=RunInstances" in b for b in bodies)


def test_authentication_rejects_a_wrong_signature(authenticated):
    key, secret = authenticated.key, authenticated.secret

    identity = authenticated.client("sts", key, secret).get_caller_identity()
    assert identity["Arn"].endswith(":user/fleetkeeper-test")
    authenticated.client("ec2", key, secret).describe_instances()

    with pytest.raises(ClientError) as error:
        authenticated.client("sts", key, "not-the-secret").get_caller_identity()
    assert error.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    with pytest.raises(ClientError) as error:  # EC2 names the same failure AuthFailure
        authenticated.client("ec2", key, "not-the-secret").describe_instances()
    assert error.value.response["Error"]["Code"] == "AuthFailure"
    with pytest.raises(ClientError) as error:
        authenticated.client("s3", key, secret).list_buckets()  # not in the test user's policy
    assert error.value.response["Error"]["Code"] == "AccessDenied"


def test_moto_sh_start_and_stop(tmp_path):
    script = ROOT / "scripts" / "moto.sh"
    name = f"pytest{os.getpid()}"
    env_file = ROOT / ".cache" / f"moto-{name}.env"
    try:
        subprocess.run([str(script), "start", "--name", name], check=True, capture_output=True,
                       timeout=90)
        values = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
        endpoint = values["FK_MOTO_ENDPOINT"]
        assert endpoint.startswith("http://127.0.0.1:")
        status = subprocess.run([str(script), "status", "--name", name], capture_output=True,
                                text=True)
        assert status.returncode == 0 and endpoint in status.stdout
    finally:
        subprocess.run([str(script), "stop", "--name", name], check=True, timeout=60)
    assert not env_file.exists()
    status = subprocess.run([str(script), "status", "--name", name], capture_output=True)
    assert status.returncode == 3
