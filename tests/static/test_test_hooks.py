"""The test hooks stay out of the production executable: the FK_TEST_* settings (commit faults, the
fenced linger, the effect handler) are read only by `fleetkeeper-test` (tests/testing), which the
end-to-end tests run for the scenarios that set them (tests/integration/harness.py)."""

import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(os.environ.get("FK_BIN", ROOT / "build" / "app" / "fleetkeeper"))
TEST_BIN = pathlib.Path(os.environ.get("FK_TEST_BIN",
                                       BIN.resolve().parents[1] / "tests" / "fleetkeeper-test"))


def read(path):
    assert path.exists(), f"{path} not built (build the tree first, or set FK_BIN / FK_TEST_BIN)"
    return path.read_bytes()


def test_the_production_executable_reads_no_test_setting():
    data = read(BIN)
    at = data.find(b"FK_TEST_")
    assert at < 0, f"{BIN} contains {data[at:at + 40]!r}: a test hook is linked into it"


def test_the_test_executable_has_the_hooks_the_harness_sets():
    data = read(TEST_BIN)
    for name in (b"FK_TEST_CRASH_BEFORE_COMMIT", b"FK_TEST_ABORT_BATCH", b"FK_TEST_HANDLERS",
                 b"FK_TEST_LINGER_AFTER_FENCE_MS", b"FK_TEST_EFFECT_URL"):
        assert name in data, f"{TEST_BIN} does not read {name.decode()}"
