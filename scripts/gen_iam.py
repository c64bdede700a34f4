#!/usr/bin/env python3
"""Writes deploy/iam/<owner>.json, one IAM policy document per owner of AWS actions (the worker
process and each handler), from what the built binary declares: `fleetkeeper permissions --json`
for scripts/gen-iam.yaml, the configuration with every action-adding setting on.

    scripts/gen_iam.py [--bin PATH] [--out DIR]   write the policies (and delete stale ones)
    scripts/gen_iam.py --check [--bin PATH]       exit 1, naming the files, when DIR is stale

PATH defaults to $FK_BIN, else build/app/fleetkeeper; DIR to deploy/iam. Only the standard library."""

import argparse
import json
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIG = ROOT / "scripts" / "gen-iam.yaml"
OUT = ROOT / "deploy" / "iam"
ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")


def declared_actions(binary):
    """{owner: [action, ...]} as the binary declares them for CONFIG."""
    run = subprocess.run([str(binary), "permissions", "--config", str(CONFIG), "--json"],
                         capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{binary} permissions failed ({run.returncode}): {run.stderr.strip()}")
    return json.loads(run.stdout)


def policy(actions):
    """One Allow statement per service, services and actions sorted. Resource "*": which groups,
    instances, roles and topics an operator's fleet has is not known here (deploy/iam/README.md)."""
    by_service = {}
    for action in actions:
        if not ACTION.match(action):
            raise ValueError(f"not an IAM action name: {action!r}")
        by_service.setdefault(action.split(":", 1)[0], set()).add(action)
    statements = []
    for service in sorted(by_service):
        sid = "".join(part.capitalize() for part in service.split("-"))
        statements.append({"Sid": sid, "Effect": "Allow", "Action": sorted(by_service[service]),
                           "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


def render(binary):
    """{file name: text} of every policy."""
    files = {}
    for owner, actions in declared_actions(binary).items():
        if not actions:
            # IAM refuses a policy without statements, and an empty list means the configuration
            # no longer turns on what the owner can do.
            sys.exit(f"{CONFIG.relative_to(ROOT)} declares no action for {owner}: turn its features on")
        files[f"{owner}.json"] = json.dumps(policy(actions), indent=2) + "\n"
    return files


def stale(files, out):
    """Names of the files in out that differ from files, are missing, or should not be there."""
    present = {p.name for p in out.glob("*.json")} if out.is_dir() else set()
    names = []
    for name in sorted(present | set(files)):
        path = out / name
        if name not in files or not path.exists() or path.read_text() != files[name]:
            names.append(name)
    return names


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=os.environ.get("FK_BIN", ROOT / "build" / "app" / "fleetkeeper"))
    parser.add_argument("--out", default=OUT, type=pathlib.Path)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    files = render(args.bin)
    if args.check:
        names = stale(files, args.out)
        if names:
            print(f"{args.out}: stale {', '.join(names)}; regenerate with: "
                  f"scripts/gen_iam.py --bin {args.bin} --out {args.out}", file=sys.stderr)
            return 1
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name in stale(files, args.out):
        path = args.out / name
        if name in files:
            path.write_text(files[name])
        else:
            path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
