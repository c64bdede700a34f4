"""`fleetkeeper replay` against the real Kafka broker (scripts/kafka.sh): what it sends is read back
from the topic, record for record, and a path it cannot read sends nothing."""

import json
import subprocess
import uuid

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from harness import ROOT, bootstrap, fleetkeeper_bin

# EventBridge events as the AWS documentation shows them (../shared/testdata/events, one folder
# per source document).
EVENTS = ROOT.parent / "shared" / "testdata" / "events"
SSM_EVENTS = EVENTS / "awsdocs-aws-systems-manager-user-guide"


@pytest.fixture(scope="module")
def admin():
    return AdminClient({"bootstrap.servers": bootstrap()})


@pytest.fixture()
def new_topic(admin):
    """Makes fresh single-partition topics (so that the order of records is the order sent) and
    deletes them after the test."""
    made = []

    def make(**config):
        name = "t" + uuid.uuid4().hex[:10] + ".replay"
        for future in admin.create_topics([NewTopic(name, 1, 1, config=config)],
                                          operation_timeout=30).values():
            future.result()
        made.append(name)
        return name

    yield make
    if made:
        admin.delete_topics(made)


@pytest.fixture()
def topic(new_topic):
    return new_topic()


def replay(topic, *paths):
    return subprocess.run([fleetkeeper_bin(), "replay", "--bootstrap", bootstrap(), "--topic",
                           topic, *map(str, paths)], capture_output=True, text=True, timeout=120)


def records(topic, timeout=30):
    """Every record of the topic's partition, read up to its end."""
    consumer = Consumer({"bootstrap.servers": bootstrap(), "group.id": "t-" + uuid.uuid4().hex,
                         "enable.auto.commit": False})
    try:
        _, end = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        consumer.assign([TopicPartition(topic, 0, 0)])
        out = []
        while len(out) < end:
            message = consumer.poll(timeout)
            assert message is not None, f"read {len(out)} of {end} records of {topic}"
            assert not message.error(), message.error()
            out.append(message.value())
        return out
    finally:
        consumer.close()


def test_a_json_file_is_one_record_byte_for_byte(topic):
    path = SSM_EVENTS / "parameter-store-change-create.json"
    r = replay(topic, path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"replayed 1 records from 1 files to {topic}\n"
    assert records(topic) == [path.read_bytes()]


def test_a_directory_is_its_record_files_in_path_order(topic, tmp_path):
    first = json.loads((SSM_EVENTS / "parameter-store-change-create.json").read_text())
    (tmp_path / "b.json").write_text(json.dumps(first))
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "more.jsonl").write_text('{"n": 1}\n{"n": 2}\n')
    (tmp_path / "README.txt").write_text("not an event")
    r = replay(topic, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"replayed 3 records from 2 files to {topic}\n"
    got = records(topic)
    assert [json.loads(v) for v in got] == [{"n": 1}, {"n": 2}, first]


def test_a_jsonl_file_is_one_record_per_line(topic, tmp_path):
    # As written on Windows: CRLF line ends, a blank line, no newline after the last record.
    lines = [json.dumps({"version": "0", "id": str(uuid.uuid4()), "detail": {"i": i}})
             for i in range(5)]
    path = tmp_path / "events.jsonl"
    path.write_bytes(("\r\n".join(lines[:2]) + "\r\n\r\n" + "\r\n".join(lines[2:])).encode())
    r = replay(topic, path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"replayed 5 records from 1 files to {topic}\n"
    assert records(topic) == [line.encode() for line in lines]


def test_a_missing_file_is_named_and_nothing_is_sent(topic, tmp_path):
    good = SSM_EVENTS / "parameter-store-change-create.json"
    missing = tmp_path / "absent.json"
    r = replay(topic, good, missing)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stderr == f"fleetkeeper replay: cannot read {missing}: No such file or directory\n"
    assert records(topic) == []


def test_a_directory_without_events_is_named(topic, tmp_path):
    (tmp_path / "notes.txt").write_text("nothing to replay")
    r = replay(topic, tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert str(tmp_path) in r.stderr and "no .json, .jsonl or .ndjson files" in r.stderr
    assert records(topic) == []


def test_records_the_broker_refuses_fail_the_replay(new_topic, tmp_path):
    topic = new_topic(**{"max.message.bytes": "1024"})
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"big": "x" * 4096}))
    r = replay(topic, path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stderr == (f"fleetkeeper replay: 1 of 1 records not written to {topic}: "
                        "Broker: Message size too large\n")
    assert r.stdout == ""
    assert records(topic) == []
