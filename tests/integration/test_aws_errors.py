"""When AWS cannot be called for the worker's own reasons, the event ends FAILED and the reason names
the call and the cause; REJECTED is kept for inputs that are wrong in themselves (docs/workflows.md,
"FAILED or REJECTED").

Against moto with authentication on, started by `scripts/moto.sh start --name aws --auth` (its
.cache/moto-aws.env, or the file FK_MOTO_AUTH_ENV names), and the real Kafka broker. The parameter,
its AMI and the instance exist and are fine: each worker differs from a working one only in how it
can reach AWS (no credentials, a wrong secret, a user without ec2 permissions, an endpoint where
nothing listens). Event shapes as in test_ami_rollout.py and test_self_healing.py."""

import json
import os
import pathlib
import socket
import sys
import uuid

import boto3
import pytest
from botocore.config import Config
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

sys.path.insert(0, os.path.dirname(__file__))
from harness import ROOT, Results, TopicSet, WorkerProcess, bootstrap  # noqa: E402
from aws_events import parameter_store_change  # noqa: E402
from aws_events import alarm_state_change  # noqa: E402

pytestmark = pytest.mark.e2e

REGION = "us-east-1"

CONFIG = """
handlers:
  ami_rollout:
    poll_interval: 1s
  self_healing:
    rules:
      - name: status-check
        match: {alarm_name: "*StatusCheckFailed*"}
        action: {type: replace_instance}
        verify_timeout: 30s
"""

# Every way the AWS CLI could find credentials, so that "none" means none.
CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
)


def moto_auth_env():
    path = pathlib.Path(os.environ.get("FK_MOTO_AUTH_ENV", ROOT / ".cache" / "moto-aws.env"))
    if not path.exists():
        pytest.fail(f"no {path}: run scripts/moto.sh start --name aws --auth")
    env = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    if "AWS_SECRET_ACCESS_KEY" not in env:
        pytest.fail(f"{path} has no keys: start moto with --auth")
    return env


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


@pytest.fixture(scope="module")
def aws(tmp_path_factory):
    """The moto account: a parameter holding an available AMI, an instance, the test user's keys
    and a user who may read parameters but do nothing in EC2."""
    env = moto_auth_env()
    endpoint = env["FK_MOTO_ENDPOINT"]
    key, secret = env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]

    def client(service, k=key, s=secret):
        return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                            aws_access_key_id=k, aws_secret_access_key=s,
                            config=Config(retries={"max_attempts": 1}))

    ec2, ssm, iam = client("ec2"), client("ssm"), client("iam")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]
    assert image["State"] == "available"
    parameter = f"/ami/errors/{uuid.uuid4().hex[:8]}"
    ssm.put_parameter(Name=parameter, Value=image["ImageId"], Type="String")
    instance = ec2.run_instances(ImageId=image["ImageId"], MinCount=1, MaxCount=1,
                                 InstanceType="t3.micro")["Instances"][0]["InstanceId"]
    reader = f"fk-ssm-reader-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=reader)
    iam.put_user_policy(UserName=reader, PolicyName="ssm-read", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": "*"}]}))
    reader_key = iam.create_access_key(UserName=reader)["AccessKey"]
    yield {"endpoint": endpoint, "key": key, "secret": secret, "parameter": parameter,
           "image": image["ImageId"], "instance": instance,
           "reader": (reader_key["AccessKeyId"], reader_key["SecretAccessKey"]),
           "tmp": tmp_path_factory.mktemp("aws-errors")}
    ec2.terminate_instances(InstanceIds=[instance])
    ssm.delete_parameter(Name=parameter)
    iam.delete_access_key(UserName=reader, AccessKeyId=reader_key["AccessKeyId"])
    iam.delete_user_policy(UserName=reader, PolicyName="ssm-read")
    iam.delete_user(UserName=reader)


class Scenario:
    """A worker with its own topics whose only difference is how it reaches AWS."""

    def __init__(self, aws, name, credentials, endpoint=None, extra_env=None):
        self.topics = TopicSet(inputs=(2,), work_partitions=2)
        self.topics.create(AdminClient({"bootstrap.servers": bootstrap()}))
        tmp = aws["tmp"] / name
        tmp.mkdir()
        env = {"AWS_ENDPOINT_URL": endpoint or aws["endpoint"], "AWS_REGION": REGION,
               "AWS_CONFIG_FILE": str(tmp / "none"),
               "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none"),
               "AWS_EC2_METADATA_DISABLED": "true", **(extra_env or {})}
        self.worker = WorkerProcess(
            self.topics.config_yaml({"transactional.id": self.topics.prefix + "-" + name},
                                    extra=CONFIG), name, workdir=tmp)
        for variable in CREDENTIAL_VARIABLES:
            self.worker.env.pop(variable, None)
        self.worker.env.update(env)
        if credentials:
            self.worker.env["AWS_ACCESS_KEY_ID"], self.worker.env["AWS_SECRET_ACCESS_KEY"] = credentials
        self.worker.start()
        self.results = Results(self.topics.results, group_prefix=name + "-reader-", poll=0.2)
        self.producer = Producer({"bootstrap.servers": bootstrap(), "linger.ms": 2})

    def outcome(self, event, timeout=90):
        self.producer.produce(self.topics.inputs[0], value=json.dumps(event).encode())
        self.producer.flush(30)
        return self.results.wait_final(event["id"], timeout=timeout)

    def close(self):
        self.results.close()
        self.worker.stop()


@pytest.fixture(scope="module")
def scenarios(aws):
    made = {}

    def get(name):
        if name not in made:
            made[name] = {
                "working": lambda: Scenario(aws, name, (aws["key"], aws["secret"])),
                "no-credentials": lambda: Scenario(aws, name, None),
                "wrong-secret": lambda: Scenario(aws, name, (aws["key"], "not-the-secret")),
                "no-ec2-permission": lambda: Scenario(aws, name, aws["reader"]),
                "unreachable": lambda: Scenario(
                    aws, name, (aws["key"], aws["secret"]),
                    endpoint=f"http://127.0.0.1:{closed_port()}",
                    extra_env={"AWS_MAX_ATTEMPTS": "1"}),
            }[name]()
        return made[name]

    yield get
    for scenario in made.values():
        scenario.close()


def status_check_alarm(aws):
    return alarm_state_change(f"errors-StatusCheckFailed-{uuid.uuid4().hex[:6]}",
                             {"InstanceId": aws["instance"]}, metric="StatusCheckFailed")


def assert_failed_naming(result, call, *causes):
    assert result["status"] == "FAILED", (result["status"], result["reason"])
    assert call in result["reason"], result["reason"]
    assert any(c in result["reason"] for c in causes), result["reason"]


def test_a_working_worker_finds_the_parameter_and_its_ami(aws, scenarios):
    """The control: the same event with working credentials is not rejected (nothing is bound)."""
    result = scenarios("working").outcome(parameter_store_change(aws["parameter"]))
    assert result["status"] == "SKIPPED", (result["status"], result["reason"])
    assert aws["image"] in result["reason"], result["reason"]


def test_no_credentials_fail_the_parameter_change_naming_the_call(aws, scenarios):
    result = scenarios("no-credentials").outcome(parameter_store_change(aws["parameter"]))
    assert_failed_naming(result, "ssm GetParameter", "no AWS credentials")
    assert "not found: nothing done" not in result["reason"]


def test_a_wrong_secret_fails_the_parameter_change_naming_the_call(aws, scenarios):
    result = scenarios("wrong-secret").outcome(parameter_store_change(aws["parameter"]))
    assert_failed_naming(result, "ssm GetParameter", "SignatureDoesNotMatch")


def test_no_ec2_permission_fails_the_parameter_change_naming_the_call(aws, scenarios):
    result = scenarios("no-ec2-permission").outcome(parameter_store_change(aws["parameter"]))
    assert_failed_naming(result, "ec2 DescribeImages", "AccessDenied", "UnauthorizedOperation")


def test_an_unreachable_endpoint_fails_the_parameter_change_naming_the_call(aws, scenarios):
    result = scenarios("unreachable").outcome(parameter_store_change(aws["parameter"]),
                                              timeout=150)
    assert_failed_naming(result, "ssm GetParameter", "Connection refused", "Couldn't connect")


def test_no_credentials_fail_the_alarm_action_naming_the_call(aws, scenarios):
    result = scenarios("no-credentials").outcome(status_check_alarm(aws))
    assert_failed_naming(result, "ec2 DescribeInstances", "no AWS credentials")


def test_a_wrong_secret_fails_the_alarm_action_naming_the_call(aws, scenarios):
    result = scenarios("wrong-secret").outcome(status_check_alarm(aws))
    assert_failed_naming(result, "ec2 DescribeInstances", "AuthFailure", "SignatureDoesNotMatch")
