"""Starts scripts/moto_launcher.py on a free port for the tests of this folder."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = ROOT / "scripts" / "moto_launcher.py"
REGION = "us-east-1"

# Warmups of 100 s take 1 s; transitional states last 0.3 s.
TIME_SCALE = 0.01
STATE_DELAY = 0.3


class Launcher:
    def __init__(self, tmp: Path, extra_env: dict[str, str] | None = None) -> None:
        port_file = tmp / f"port-{uuid.uuid4().hex}"
        self.recording = tmp / f"recording-{uuid.uuid4().hex}.jsonl"
        env = dict(os.environ, FK_MOTO_TIME_SCALE=str(TIME_SCALE),
                   FK_MOTO_STATE_DELAY=str(STATE_DELAY), MOTO_ENABLE_RECORDING="True",
                   MOTO_RECORDER_FILEPATH=str(self.recording), **(extra_env or {}))
        self.log = open(tmp / f"launcher-{uuid.uuid4().hex}.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, str(LAUNCHER), "--port", "0", "--port-file", str(port_file)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not port_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"launcher did not start; see {self.log.name}")
            time.sleep(0.1)
        self.endpoint = f"http://127.0.0.1:{port_file.read_text().strip()}"
        urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=10).read()

    def client(self, service: str, key: str = "testing", secret: str = "testing") -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=key, aws_secret_access_key=secret)

    def post(self, path: str, body: bytes = b"") -> bytes:
        request = urllib.request.Request(f"{self.endpoint}{path}", data=body, method="POST",
                                         headers={"Content-Type": "text/plain"})
        return urllib.request.urlopen(request, timeout=10).read()

    def get(self, path: str) -> bytes:
        return urllib.request.urlopen(f"{self.endpoint}{path}", timeout=10).read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    launcher = Launcher(tmp_path_factory.mktemp("moto"))
    yield launcher
    launcher.stop()


@pytest.fixture(scope="session")
def aws(moto: Launcher) -> Callable[[str], Any]:
    return moto.client


@pytest.fixture(scope="session")
def authenticated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    """A launcher with authentication on (--setup-auth): .key and .secret are the test user's."""
    launcher = Launcher(tmp_path_factory.mktemp("auth"))
    try:
        out = subprocess.run([sys.executable, str(LAUNCHER), "--setup-auth", launcher.endpoint],
                             capture_output=True, text=True, check=True).stdout
        env = dict(line.split("=", 1) for line in out.splitlines())
        launcher.key, launcher.secret = env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
        yield launcher
    finally:
        launcher.stop()


@pytest.fixture
def name() -> str:
    return "t-" + uuid.uuid4().hex[:10]


def wait_for(predicate: Callable[[], Any], timeout: float = 30, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def amis(ec2: Any) -> tuple[str, str]:
    images = ec2.describe_images(Owners=["amazon"])["Images"]
    return images[0]["ImageId"], images[1]["ImageId"]
