import sys
import pathlib

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: end to end on the real Kafka broker (and moto)")
