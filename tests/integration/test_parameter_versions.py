"""A parameter put while an AMI rollout reads the parameter for the last time is rolled out too
(docs/safety.md, "A second event for the same resource"), end to end on the real Kafka broker and
moto through the launcher.

The Parameter Store event names the parameter, not its version, so the dedup key of a rollout is
the parameter's name and the next put's event is a duplicate of the running rollout: it is
SKIPPED, and held as a signal of the rollout. The rollout's last step reads the parameter again
(`check-parameter-version`); here the launcher holds every GetParameter answer of the worker for a
few seconds after moto served it (scripts/motofill/faults.py, `hold_answer_ms`), and the test puts
the parameter and sends its event while that last answer is on its way, so the read that would
finish the rollout is older than the put. The runtime runs the read again, the rollout rolls the
new version out, and the instance ends on the third image.

The "Parameter Store Change" event follows
https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-systems-manager-event-examples.html
(tests/integration/aws_events.py)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Moto, launch_running, rollout_images_and_subnet, start_worker,  # noqa: E402
                     wait_for)
from aws_events import parameter_store_change  # noqa: E402
from test_guard_rollback import replacement_of  # noqa: E402

pytestmark = pytest.mark.e2e

REGION = "us-east-1"
PARAM = "/ami/versions/linux"
HOLD_MS = 5000

CONFIG = """
handlers:
  ami_rollout:
    replacement: {strategy: relaunch, max_concurrency: 1, step_timeout: 300s}
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("parameter-versions")
    moto = Moto(tmp, env={"FK_MOTO_STATE_DELAY": "0.3", "FK_MOTO_TIME_SCALE": "0.05"})
    ec2, ssm = moto.client("ec2"), moto.client("ssm")
    old, new, subnet = rollout_images_and_subnet(ec2, REGION)
    third = next(i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"]
                 if i.get("State", "available") == "available" and i["ImageId"] not in (old, new))
    ssm.put_parameter(Name=PARAM, Value=old, Type="String")
    [instance] = launch_running(ec2, old, subnet, 1,
                                [{"Key": "fleetkeeper:ami-parameter", "Value": PARAM}])
    state = {"moto": moto, "tmp": tmp, "env": moto.worker_env(tmp, REGION), "old": old,
             "new": new, "third": third, "instance": instance, "workers": [], "readers": []}
    yield state
    for r in state["readers"]:
        r.close()
    for w in state["workers"]:
        w.stop()
    moto.stop()


def answered(moto, action):
    return moto.fault_counts().get(action, {}).get("answered", 0)


def test_a_put_during_the_last_read_is_rolled_out_too(world):
    moto = world["moto"]
    ec2, ssm = moto.client("ec2"), moto.client("ssm")
    moto.set_faults(hold_answer_ms={"GetParameter": HOLD_MS})
    worker, results, send = start_worker(world, "versions", CONFIG)

    second = ssm.put_parameter(Name=PARAM, Value=world["new"], Type="String",
                               Overwrite=True)["Version"]
    first_event = parameter_store_change(PARAM)
    send(first_event)
    # The rollout reads the parameter (1), replaces the instance, reports, and reads it once more
    # (2): that answer, version `second`, is held on its way back while the next put is made.
    wait_for("the rollout's last read of the parameter",
             lambda: answered(moto, "GetParameter") >= 2, 300, worker)
    assert replacement_of(ec2, world["instance"]), "the last read came before the replacement"
    third = ssm.put_parameter(Name=PARAM, Value=world["third"], Type="String",
                              Overwrite=True)["Version"]
    next_event = parameter_store_change(PARAM)
    send(next_event)

    held = results.wait_final(next_event["id"], timeout=60)
    assert held["status"] == "SKIPPED", held
    assert "reads the parameter again before it finishes" in held["reason"], held
    done = results.wait_final(first_event["id"], timeout=300)
    assert done["status"] == "SUCCEEDED", done
    assert f"param:{PARAM}:{third}" in done["reason"], done
    assert f"after param:{PARAM}:{second}" in done["reason"], done
    replaced = replacement_of(ec2, world["instance"])
    latest = replacement_of(ec2, replaced["InstanceId"])
    assert latest and latest["ImageId"] == world["third"], latest
    assert len(results.finals(first_event["id"])) == 1
    assert len(results.finals(next_event["id"])) == 1
    assert "running it again" in worker.tail(), "the last read was not the one run again"
