"""The worker on a SASL_SSL listener of the real Kafka 3.9.1 broker (SCRAM-SHA-512 over TLS with a CA
made at broker start; scripts/kafka.sh): librdkafka properties pass through, the password comes
from the environment through `${env:…}`, and it appears in no log line and in no command output.
A wrong password fails the start naming the authentication failure, not the password."""

import json
import pathlib
import subprocess
import uuid

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from harness import ROOT, TopicSet, WorkerProcess, bootstrap, fleetkeeper_bin

NO_AWS = "handlers:\n  ami_rollout: {enabled: false}\n"


def sasl_env():
    port = bootstrap().rsplit(":", 1)[-1]
    name = "kafka-sasl.env" if port == "19092" else f"kafka-sasl-{port}.env"
    path = ROOT / ".cache" / name
    if not path.exists():
        pytest.fail(f"no {path}: scripts/kafka.sh start makes the SASL_SSL listener")
    return dict(line.split("=", 1) for line in path.read_text().split())


def client_conf(env, password=None):
    return {"bootstrap.servers": env["FK_KAFKA_SASL_BOOTSTRAP"], "security.protocol": "SASL_SSL",
            "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": env["FK_KAFKA_SASL_USER"],
            "sasl.password": password or env["FK_KAFKA_SASL_PASSWORD"],
            "ssl.ca.location": env["FK_KAFKA_SASL_CA"]}


def worker_config(topics, env):
    config = topics.config_yaml({
        "transactional.id": topics.prefix + "-sasl",
        "bootstrap.servers": env["FK_KAFKA_SASL_BOOTSTRAP"],
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": env["FK_KAFKA_SASL_USER"],
        "ssl.ca.location": env["FK_KAFKA_SASL_CA"],
    }, extra=NO_AWS)
    # The password is not in the file: a reference the worker resolves from its environment.
    return config.replace('kafka:\n', 'kafka:\n  "sasl.password": "${env:FK_TEST_KAFKA_PASSWORD}"\n', 1)


@pytest.fixture
def sasl_topics():
    env = sasl_env()
    topics = TopicSet(inputs=(2,), work_partitions=2)
    topics.create(AdminClient(client_conf(env)))
    return env, topics


def test_worker_runs_on_sasl_ssl_and_never_prints_the_password(sasl_topics, tmp_path):
    env, topics = sasl_topics
    password = env["FK_KAFKA_SASL_PASSWORD"]
    worker = WorkerProcess(worker_config(topics, env), "sasl", workdir=tmp_path,
                           env={"FK_TEST_KAFKA_PASSWORD": password})
    worker.start()
    try:
        producer = Producer(client_conf(env))
        event_id = str(uuid.uuid4())
        body = {"version": "0", "id": event_id, "detail-type": "Parameter Store Change",
                "source": "aws.ssm", "account": "111122223333", "time": "2026-11-22T03:00:00Z",
                "region": "us-east-1", "resources": [],
                "detail": {"name": "/ami/demo", "type": "String", "operation": "Update"}}
        producer.produce(topics.inputs[0], json.dumps(body).encode())
        assert producer.flush(30) == 0

        consumer = Consumer({**client_conf(env), "group.id": "reader-" + uuid.uuid4().hex,
                             "isolation.level": "read_committed",
                             "auto.offset.reset": "earliest"})
        consumer.subscribe([topics.results])
        result = None
        for _ in range(120):
            m = consumer.poll(0.5)
            if m is not None and not m.error():
                r = json.loads(m.value())
                if r["status"] != "IN_PROGRESS":
                    result = r
                    break
        consumer.close()
        assert result is not None, worker.tail()
        assert result["status"] == "REJECTED" and "disabled" in result["reason"], result
    finally:
        worker.stop()
    log = worker.log.read_text(errors="replace")
    assert password not in log

    for command in (["doctor", "--config", str(worker.config)],
                    ["validate-config", str(worker.config)]):
        out = subprocess.run([fleetkeeper_bin(), *command], capture_output=True, text=True,
                             env={**worker.env, "AWS_EC2_METADATA_DISABLED": "true"}, timeout=120)
        assert password not in out.stdout + out.stderr, command


def test_a_wrong_password_fails_naming_authentication_not_the_password(sasl_topics, tmp_path):
    env, topics = sasl_topics
    wrong = "not-the-password-" + uuid.uuid4().hex
    worker = WorkerProcess(worker_config(topics, env), "sasl-wrong", workdir=tmp_path,
                           env={"FK_TEST_KAFKA_PASSWORD": wrong})
    worker.start(wait=False)
    try:
        # It gives up at the broker's refusal, not at the producer's 60 s start timeout.
        rc = worker.proc.wait(timeout=30)
    finally:
        worker.kill()
    log = worker.log.read_text(errors="replace")
    assert rc != 0, log[-3000:]
    assert "cannot start: init_transactions" in log, log[-3000:]
    assert "refused the producer's authentication" in log, log[-3000:]
    assert wrong not in log


def test_sasl_env_file_names_a_ca_that_exists():
    env = sasl_env()
    assert pathlib.Path(env["FK_KAFKA_SASL_CA"]).exists()
