"""docker/compose.yaml, checked without a Docker engine: every file it mounts or builds from exists,
the worker's configuration validates, the demo seed and the worker agree on the endpoint, and the
worker's port is the one its configuration serves."""

import os
import pathlib
import subprocess

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker" / "compose.yaml"
BIN = pathlib.Path(os.environ.get("FK_BIN", ROOT / "build" / "app" / "fleetkeeper"))


def services():
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_services_of_the_demo():
    assert {"kafka", "moto", "seed", "fleetkeeper", "replay", "results"} <= set(services())
    assert services()["kafka"]["image"] == "apache/kafka:3.9.1", "the broker the tests run"


def test_every_local_path_exists():
    base = COMPOSE.parent
    for name, svc in services().items():
        build = svc.get("build")
        if build:
            assert (base / build["context"] / build["dockerfile"]).exists(), name
        for volume in svc.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith((".", "/")) and "shared/testdata" not in source:
                assert (base / source).exists(), f"{name} mounts {source}, which does not exist"


def test_worker_configuration_validates_and_serves_the_published_port():
    worker = services()["fleetkeeper"]
    mount = next(v for v in worker["volumes"] if v.endswith(":/etc/fleetkeeper/fleetkeeper.yaml:ro"))
    config = COMPOSE.parent / mount.split(":", 1)[0]
    out = subprocess.run([str(BIN), "validate-config", str(config)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    listen = yaml.safe_load(config.read_text())["observability"]["listen"]
    assert f"{listen.rsplit(':', 1)[1]}:9464" in worker["ports"][0]
    assert yaml.safe_load(config.read_text())["kafka"]["bootstrap.servers"] == "kafka:9092"


def test_seed_and_worker_use_the_same_aws_endpoint():
    svc = services()
    assert svc["seed"]["environment"]["AWS_ENDPOINT_URL"] == \
        svc["fleetkeeper"]["environment"]["AWS_ENDPOINT_URL"]
    assert "--port 5000" in svc["moto"]["command"]
    assert (ROOT / "docker" / "seed_demo.py").exists()
