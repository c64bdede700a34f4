"""`fleetkeeper doctor`, `freeze`/`unfreeze` and `ingest` against the real Kafka broker
(scripts/kafka.sh) and, for doctor's AWS checks, moto with authentication on
(scripts/moto.sh start --name doctor --auth)."""

import http.client
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import boto3
import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient

from harness import ROOT, TopicSet, bootstrap, fleetkeeper_bin

SNS_DIR = ROOT.parent / "shared" / "testdata" / "sns" / "aws-sdk-java-v2" / "sns-message-manager"


def moto_env():
    env_file = ROOT / ".cache" / "moto-doctor.env"
    if not env_file.exists():
        subprocess.run([str(ROOT / "scripts" / "moto.sh"), "start", "--name", "doctor", "--auth"],
                       check=True, stdout=subprocess.DEVNULL)
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    return {"AWS_ENDPOINT_URL": values["FK_MOTO_ENDPOINT"],
            "AWS_ACCESS_KEY_ID": values["AWS_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": values["AWS_SECRET_ACCESS_KEY"],
            "AWS_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1",
            "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
            "AWS_EC2_METADATA_DISABLED": "true"}


def moto_iam(env):
    return boto3.client("iam", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


@pytest.fixture(scope="module")
def aws_env():
    """moto's test user, also allowed the cloudwatch: actions the self-healing handler calls (its
    base policy names the "monitoring" prefix moto authorizes requests by)."""
    env = moto_env()
    iam = moto_iam(env)
    iam.put_user_policy(UserName="fleetkeeper-test", PolicyName="cloudwatch",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                            "Effect": "Allow", "Action": "cloudwatch:*", "Resource": "*"}]}))
    yield env
    iam.delete_user_policy(UserName="fleetkeeper-test", PolicyName="cloudwatch")


@pytest.fixture(scope="module")
def admin():
    return AdminClient({"bootstrap.servers": bootstrap()})


@pytest.fixture()
def topics(admin):
    t = TopicSet(work_partitions=3)
    t.create(admin)
    yield t
    admin.delete_topics([*t.inputs, t.work, t.results, t.dlq, t.state, t.control])


def write_config(tmp_path, topics, extra=""):
    path = tmp_path / "config.yaml"
    path.write_text(topics.config_yaml(extra=extra))
    return path


def run(args, env=None, timeout=120):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run([fleetkeeper_bin(), *args], env={**clean, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


def lines(result):
    return {line.split(":", 1)[0].split(None, 1)[1]: line
            for line in result.stdout.splitlines() if line[:4] in ("ok  ", "FAIL", "warn", "skip")}


HEALING_ONLY = """handlers:
  ami_rollout: {enabled: false}
  patch: {enabled: false}
  self_healing:
    rules:
      - {name: scale, match: {alarm_name: "*HighCPU*"}, action: {type: scale_out, by: 1}}
"""


def test_doctor_passes_on_a_healthy_setup(tmp_path, topics, aws_env):
    env = aws_env
    r = run(["doctor", "--config", str(write_config(tmp_path, topics, HEALING_ONLY))], env)
    checks = lines(r)
    assert r.returncode == 0, r.stdout + r.stderr
    assert checks["config"].startswith("ok")
    assert checks["kafka"].startswith("ok") and "reachable" in checks["kafka"]
    assert checks["topics"].startswith("ok") and "compacted" in checks["topics"]
    assert checks["credentials"] == "ok    credentials: from environment"
    assert "user/fleetkeeper-test" in checks["caller identity"]
    assert checks["permissions self_healing"].startswith("ok"), checks["permissions self_healing"]
    assert env["AWS_SECRET_ACCESS_KEY"] not in r.stdout + r.stderr


def test_doctor_fails_on_denied_actions_and_a_missing_topic(tmp_path, topics, admin, aws_env):
    env = aws_env
    iam = moto_iam(env)
    iam.put_user_policy(UserName="fleetkeeper-test", PolicyName="deny-scaling",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                            "Effect": "Deny", "Action": "autoscaling:SetDesiredCapacity",
                            "Resource": "*"}]}))
    try:
        r = run(["doctor", "--config", str(write_config(tmp_path, topics, HEALING_ONLY))], env)
    finally:
        iam.delete_user_policy(UserName="fleetkeeper-test", PolicyName="deny-scaling")
    checks = lines(r)
    assert r.returncode == 1, r.stdout
    assert checks["permissions self_healing"].startswith("FAIL")
    assert "autoscaling:SetDesiredCapacity (explicitDeny)" in checks["permissions self_healing"]

    # A missing topic with topics.create false: named, and nothing created.
    missing = f"{topics.prefix}.absent"
    cfg = write_config(tmp_path, topics, "").read_text().replace(
        f"inputs: [{', '.join(topics.inputs)}]", f"inputs: [{topics.inputs[0]}, {missing}]")
    path = tmp_path / "missing.yaml"
    path.write_text(cfg.replace("topics:\n", "topics:\n  create: false\n"))
    r = run(["doctor", "--config", str(path)], env)
    checks = lines(r)
    assert r.returncode == 1, r.stdout
    assert checks["topics"] == f"FAIL  topics: missing and topics.create is false: {missing}"
    assert missing not in admin.list_topics(timeout=10).topics


def test_doctor_reports_bad_credentials(tmp_path, topics, aws_env):
    env = {**aws_env, "AWS_SECRET_ACCESS_KEY": "wrong-secret"}
    r = run(["doctor", "--config", str(write_config(tmp_path, topics))], env)
    checks = lines(r)
    assert r.returncode == 1, r.stdout
    assert checks["credentials"].startswith("ok")
    assert checks["caller identity"].startswith("FAIL")
    assert "SignatureDoesNotMatch" in checks["caller identity"]


def test_doctor_assumes_an_accounts_role_with_its_external_id(tmp_path, topics, aws_env):
    """A role whose trust policy requires an external id ("Access to AWS accounts owned by third
    parties", IAM User Guide,
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html)
    is assumed with aws.accounts[*].external_id, and refused without it or with another."""
    env = aws_env
    iam = moto_iam(env)
    me = boto3.client("sts", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                      aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"]).get_caller_identity()
    name = "fk-ext-" + uuid.uuid4().hex[:8]
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": me["Arn"]}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "fk-tenant-42"}}}]}
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*",
                                                "Resource": "*"}]}))
    account = me["Account"]

    def doctor(external_id):
        text = write_config(tmp_path, topics, HEALING_ONLY).read_text()
        entry = f'role_arn: "{role}"' + (f", external_id: {external_id}" if external_id else "")
        text = text.replace("aws: {region: us-east-1, default_account: '111122223333'}",
                            f"aws: {{region: us-east-1, accounts: {{'{account}': {{{entry}}}}}}}")
        path = tmp_path / "external-id.yaml"
        path.write_text(text)
        valid = run(["validate-config", str(path)])
        assert valid.returncode == 0, valid.stderr
        return run(["doctor", "--config", str(path)], env)

    try:
        r = doctor("fk-tenant-42")
        checks = lines(r)
        assert checks[f"role {account}"] == (
            f"ok    role {account}: assumed: arn:aws:sts::{account}:assumed-role/{name}/fleetkeeper")
        assert r.returncode == 0, r.stdout + r.stderr

        for external_id in (None, "fk-tenant-43"):
            r = doctor(external_id)
            check = lines(r)[f"role {account}"]
            assert r.returncode == 1, r.stdout
            assert check.startswith(f"FAIL  role {account}: cannot act as {role}: "), check
            assert "AccessDenied" in check and f"sts:AssumeRole on resource: {role}" in check, check
    finally:
        iam.delete_role_policy(RoleName=name, PolicyName="all")
        iam.delete_role(RoleName=name)


def read_all(topic, n, timeout=30):
    c = Consumer({"bootstrap.servers": bootstrap(), "group.id": "t-" + uuid.uuid4().hex,
                  "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
    c.subscribe([topic])
    out, deadline = [], time.time() + timeout
    while len(out) < n and time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            out.append(m)
    c.close()
    return out


def test_freeze_then_unfreeze(tmp_path, topics):
    cfg = write_config(tmp_path, topics)
    r = run(["freeze", "--config", str(cfg), "--reason", "incident 42"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("frozen by ") and "incident 42" in r.stdout
    r = run(["unfreeze", "--config", str(cfg)])
    assert r.returncode == 0, r.stderr
    records = read_all(topics.control, 2)
    assert len(records) == 2
    for m in records:
        assert m.key() == b"freeze"
        assert dict(m.headers())["fk-type"] == b"fleetkeeper.v1.ControlRecord"
    # ControlRecord field 1 (frozen, varint): 0x08 0x01 when true; proto3 omits it when false.
    assert records[0].value().startswith(b"\x08\x01")
    assert b"incident 42" in records[0].value()
    assert not records[1].value().startswith(b"\x08\x01")
    assert run(["freeze", "--config", str(cfg), "--reason", " "]).returncode == 2


def test_ingest_produces_eventbridge_and_sns_deliveries(tmp_path, topics):
    cfg = write_config(tmp_path, topics)
    proc = subprocess.Popen([fleetkeeper_bin(), "ingest", "--config", str(cfg), "--listen",
                             "127.0.0.1:0", "--sns-cert-dir", str(SNS_DIR)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert first.startswith("ingest listening on http://127.0.0.1:"), first
        base = first.split()[3].rstrip(",")

        def post(body, headers):
            req = urllib.request.Request(base + "/", data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    return resp.status
            except urllib.error.HTTPError as e:
                return e.code

        with urllib.request.urlopen(base + "/healthz", timeout=10) as resp:
            assert resp.status == 200
        event = json.dumps({"version": "0", "id": str(uuid.uuid4()),
                            "detail-type": "Parameter Store Change", "source": "aws.ssm",
                            "account": "111122223333", "time": "2026-01-01T00:00:00Z",
                            "region": "us-east-1", "resources": [],
                            "detail": {"name": "/ami/linux/test", "operation": "Update"}}).encode()
        assert post(event, {"Content-Type": "application/json"}) == 200
        sns = (SNS_DIR / "test-notification-with-subject.json").read_bytes()
        assert post(sns, {"x-amz-sns-message-type": "Notification"}) == 200
        forged = sns.replace(b"Hello!", b"Hullo!")
        assert post(forged, {"x-amz-sns-message-type": "Notification"}) == 403
        assert post(b"{not json", {}) == 400
        # One kept-alive connection: a chunked body (as EventBridge API destinations may send),
        # then a second request on the same connection.
        chunked = json.dumps({"version": "0", "id": str(uuid.uuid4()), "detail-type": "x",
                              "source": "aws.ssm", "detail": {}}).encode()
        again = json.dumps({"version": "0", "id": str(uuid.uuid4()), "detail-type": "x",
                            "source": "aws.ssm", "detail": {}}).encode()
        host, port = base.removeprefix("http://").rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request("POST", "/", body=iter([chunked[:20], chunked[20:]]),
                     headers={"Content-Type": "application/json"}, encode_chunked=True)
        first_reply = conn.getresponse()
        assert first_reply.status == 200, first_reply.read()
        first_reply.read()
        sock = conn.sock
        conn.request("POST", "/", body=again, headers={"Content-Type": "application/json"})
        assert conn.getresponse().status == 200
        assert conn.sock is sock, "the second request needed a new connection"
        conn.close()
        records = read_all(topics.inputs[0], 5, timeout=15)
        assert sorted(m.value() for m in records) == sorted([event, sns, chunked, again])
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def test_ingest_listens_on_ipv6(tmp_path, topics):
    cfg = write_config(tmp_path, topics)
    proc = subprocess.Popen([fleetkeeper_bin(), "ingest", "--config", str(cfg), "--listen",
                             "[::1]:0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert first.startswith("ingest listening on http://[::1]:"), first
        base = first.split()[3].rstrip(",")
        with urllib.request.urlopen(base + "/healthz", timeout=10) as resp:
            assert resp.status == 200
        event = json.dumps({"version": "0", "id": str(uuid.uuid4()), "detail-type": "x",
                            "source": "aws.ssm", "detail": {}}).encode()
        req = urllib.request.Request(base + "/", data=event, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == 200
        assert [m.value() for m in read_all(topics.inputs[0], 2, timeout=10)] == [event]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
