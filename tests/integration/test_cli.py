"""The command line's conventions, run on the built binary: usage errors exit 2 with a message on
stderr (README.md, "Commands"), --version names the version, the commit and librdkafka, and a
directory where a file is expected is an error naming it. No services needed."""

import re
import subprocess

import pytest

from harness import ROOT, fleetkeeper_bin


def run(*args):
    return subprocess.run([fleetkeeper_bin(), *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args, named", [
    (["run", "--bogus"], "--bogus"),                          # unknown option
    (["replay"], "paths"),                                    # missing argument
    (["ingest", "--listen"], "--listen"),                     # option without its value
    (["workflows", "remove"], "remove"),                      # bad value
    (["frobnicate"], "frobnicate"),                           # unknown subcommand
    ([], "subcommand"),                                       # no subcommand
])
def test_usage_errors_exit_2_with_a_message(args, named):
    r = run(*args)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert named in r.stderr, r.stderr
    assert "--help" in r.stderr, r.stderr
    assert r.stdout == ""


def expected_commit():
    top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=ROOT, capture_output=True,
                         text=True)
    if top.returncode != 0 or top.stdout.strip() != str(ROOT.resolve()):
        return "unknown"
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.strip()


def test_version_names_version_commit_and_librdkafka():
    r = run("--version")
    assert r.returncode == 0, r.stderr
    version, commit, librdkafka = r.stdout.splitlines()
    project = re.search(r"project\(fleetkeeper VERSION (\S+)",
                        (ROOT / "CMakeLists.txt").read_text()).group(1)
    assert version == f"fleetkeeper {project}"
    # The commit the binary was built from: a stale build here means the build did not follow HEAD.
    assert commit == f"commit {expected_commit()}"
    assert re.fullmatch(r"librdkafka \d+\.\d+\.\d+\S*", librdkafka), librdkafka


def test_validate_config_of_a_directory_is_an_error_naming_it(tmp_path):
    r = run("validate-config", str(tmp_path))
    assert r.returncode == 1, r.stdout
    assert r.stderr == f"fleetkeeper validate-config: {tmp_path}: is a directory, not a file\n"
    assert "valid" not in r.stdout


def test_a_config_directory_is_refused_naming_it(tmp_path):
    # Read as an empty file, it would be a default config: `run` would start the embedded broker.
    r = run("run", "--config", str(tmp_path))
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"{tmp_path}: is a directory, not a file" in r.stderr
