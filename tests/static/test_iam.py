"""deploy/iam/*.json are what scripts/gen_iam.py makes from the built binary's declared actions
(`fleetkeeper permissions --json` for scripts/gen-iam.yaml): a handler that declares a new action
fails here until the policies are regenerated."""

import json
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
IAM = ROOT / "deploy" / "iam"
GENERATOR = ROOT / "scripts" / "gen_iam.py"
BIN = pathlib.Path(os.environ.get("FK_BIN", ROOT / "build" / "app" / "fleetkeeper"))


def generate(*args):
    return subprocess.run([sys.executable, str(GENERATOR), "--bin", str(BIN), *args],
                          capture_output=True, text=True)


def test_committed_policies_are_current(tmp_path):
    run = generate("--out", str(tmp_path))
    assert run.returncode == 0, run.stderr
    fresh = {p.name: p.read_text() for p in tmp_path.glob("*.json")}
    committed = {p.name: p.read_text() for p in IAM.glob("*.json")}
    assert fresh, "the generator wrote no policy"
    stale = sorted(n for n in fresh.keys() | committed.keys() if fresh.get(n) != committed.get(n))
    assert not stale, (f"deploy/iam is stale ({', '.join(stale)}); regenerate with: "
                       f"scripts/gen_iam.py --bin {BIN}")


def test_check_mode_catches_an_edited_a_missing_and_an_extra_policy(tmp_path):
    assert generate("--out", str(tmp_path)).returncode == 0
    assert generate("--check", "--out", str(tmp_path)).returncode == 0
    policy = tmp_path / "ami_rollout.json"
    edited = policy.read_text().replace('"ec2:RunInstances",\n', "")
    assert edited != policy.read_text()
    policy.write_text(edited)
    run = generate("--check", "--out", str(tmp_path))
    assert run.returncode == 1 and "ami_rollout.json" in run.stderr and "regenerate" in run.stderr
    policy.unlink()
    (tmp_path / "retired_handler.json").write_text("{}\n")
    run = generate("--check", "--out", str(tmp_path))
    assert run.returncode == 1 and "ami_rollout.json, retired_handler.json" in run.stderr
    assert generate("--out", str(tmp_path)).returncode == 0
    assert not (tmp_path / "retired_handler.json").exists()
    assert generate("--check", "--out", str(tmp_path)).returncode == 0


def test_policies_are_allow_only_documents_with_sorted_actions():
    for path in sorted(IAM.glob("*.json")):
        doc = json.loads(path.read_text())
        assert doc["Version"] == "2012-10-17", path.name
        assert doc["Statement"], f"{path.name} has no statement"
        services = []
        for statement in doc["Statement"]:
            assert statement["Effect"] == "Allow", path.name
            actions = statement["Action"]
            assert actions == sorted(set(actions)), f"{path.name}: actions not sorted and unique"
            assert len({a.split(":")[0] for a in actions}) == 1, f"{path.name}: one service a statement"
            services.append(actions[0].split(":")[0])
        assert services == sorted(set(services)), f"{path.name}: services not sorted and unique"


def test_generator_config_uses_every_self_healing_action_type():
    # The policies are only as broad as scripts/gen-iam.yaml: a new action type must get a rule there.
    probe = ROOT / "scripts" / "gen-iam.yaml"
    out = subprocess.run([str(BIN), "validate-config", "/dev/stdin"], capture_output=True, text=True,
                         input="handlers: {self_healing: {rules: [{name: probe, action: {}}]}}\n")
    m = re.search(r"required: one of ([a-z_ |]+)", out.stdout + out.stderr)
    assert m, out.stdout + out.stderr
    types = {t.strip() for t in m.group(1).split("|")}
    used = set(re.findall(r"type: ([a-z_]+)", probe.read_text()))
    assert types <= used, f"scripts/gen-iam.yaml has no rule of type {sorted(types - used)}"
