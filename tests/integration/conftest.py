import sys
import pathlib

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from effect_recorder import EffectRecorder  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: end to end on the real Kafka broker (and moto)")
    config.addinivalue_line("markers", "faults: the fault suites, run by scripts/faults.sh rather "
                            "than the test command (docs/reliability.md)")


@pytest.fixture
def recorder():
    """The loopback recorder of the test-only effect handler's POSTs (effect_recorder.py)."""
    r = EffectRecorder().start()
    yield r
    r.stop()
