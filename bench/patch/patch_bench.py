#!/usr/bin/env python3
"""Rolling patch: makespan of a campaign over N instances against the bound its max_concurrency
allows, and AWS calls per instance (issue 20, "Benchmark").

One invocation, one worker (`fleetkeeper run` on the real Kafka broker of scripts/kafka.sh), one
moto server started through the launcher (scripts/moto.sh, authentication and recorder on; the
drain held by FK_MOTO_STATE_DELAY, each AWS-RunPatchBaseline command running --command-seconds via
the fk-test:ssm-command-seconds hook of scripts/motofill/ssm.py), five patch requests in a row:

  1. fixed cost: a landing zone with no instance (discover, report);
  2. a dry run of the one-instance zone: its discovery and plan, D1;
  3. baseline: a landing zone of ONE instance: one instance's patch alone, T1;
  4. a dry run of the fleet: the N instances' discovery and plan, DN;
  5. the fleet: a landing zone of N instances, max_concurrency C% (default 10%).

The fleet's instances are spread over G target groups (default 10), with handlers.patch
max_unavailable at C% of a group, so the groups' budgets allow exactly one batch out of service.
Each instance is drained, patched (Install, RebootIfNeeded), checked (status checks, patch state)
and registered again; no AMI backup (--backup to add one).

Makespan = from the request's produce (acknowledged) to its final result read with
read_committed. Bound = DN + ceil(N / batch) x (T1 - D1): the campaign's discovery of its N
instances (what its dry run does, no batch), then batches one after the other, each no faster
than one instance's patch alone. The bound of the first figures, ceil(N / batch) x (T1 - fixed) +
fixed, is printed too: it counts discovery as the empty zone's, which on moto is seconds short of
the fleet's (DescribeInstances of 1,000 instances takes moto about 7 s). Calls = every request
moto's recorder lists between the request and its final result, by API, divided by N. The seed
pipeline's polling (one call per instance every 30 s while it waits, every instance at once) is
computed for the same command time.

  .venv/bin/python bench/patch/patch_bench.py [--quick] [--bin PATH] [--json FILE]
      [--instances N] [--concurrency PCT] [--groups G] [--state-delay S] [--command-seconds S]
      [--poll-interval S] [--backup]

Exits non-zero when a campaign does not end as expected with every instance patched (the numbers
of a broken run mean nothing); the goals (<= 1.1x the bound, <= 12 calls per instance) are
reported, not enforced.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import sys
import tempfile
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT / "bench" / "ami_rollout"))
# The launcher's moto under a name of our own, the request/result driver, the calls by API, the
# worker's start and the three measured runs.
from ami_rollout_bench import (Moto, Rollouts, measure, print_calls_by_api,  # noqa: E402
                               start_worker)

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's
SEED_POLL_S = 30  # the seed pipeline's `sleep 30` between status reads


def log(msg: str) -> None:
    print(f"[patch-bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def make_zone(moto: Moto, zone: str, count: int, groups: int, command_s: float,
              image: str, subnet: dict) -> list[str]:
    """`count` running instances tagged Environment=`zone`, with patches missing and commands that
    run `command_s`, spread over `groups` target groups; returns their ids."""
    if count == 0:
        return []
    ec2, elb = moto.client("ec2"), moto.client("elbv2")
    ids: list[str] = []
    for start in range(0, count, 500):
        n = min(500, count - start)
        ids += [i["InstanceId"] for i in ec2.run_instances(
            ImageId=image, MinCount=n, MaxCount=n, InstanceType="t3.micro",
            SubnetId=subnet["SubnetId"],
            TagSpecifications=[{"ResourceType": "instance", "Tags": [
                {"Key": "Environment", "Value": zone},
                {"Key": "fk-test:patch-scanned-missing", "Value": "4"},
                {"Key": "fk-test:ssm-command-seconds", "Value": str(command_s)}]}])["Instances"]]
    ids.sort()
    for at in range(0, count, 200):
        ec2.get_waiter("instance_running").wait(InstanceIds=ids[at:at + 200],
                                                WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    for g in range(min(groups, count)):
        members = ids[g::groups]
        arn = elb.create_target_group(Name=f"{zone}-{g}", Protocol="HTTP", Port=80,
                                      VpcId=subnet["VpcId"],
                                      TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
        for at in range(0, len(members), 100):
            elb.register_targets(TargetGroupArn=arn, Targets=[
                {"Id": i, "Port": 80} for i in members[at:at + 100]])
    return ids


def campaign(driver: Rollouts, moto: Moto, zone: str, fields: dict,
             timeout: float) -> tuple[dict, float]:
    """One patch request for landing zone `zone`: its final result and its makespan."""
    rid = f"bench-{zone}-{uuid.uuid4().hex[:6]}"
    request = {"patch_request": {"request_id": rid, "requested_by": "bench", "account": ACCOUNT,
                                 "region": REGION, "targets": [{"landing_zone": zone}], **fields}}
    return driver.send_and_wait(moto, request, rid, timeout)


def unpatched(result: dict, ids: list[str]) -> list[str]:
    """The instances whose final action is not `patched`."""
    final = {a["resource"].split(":", 1)[1]: a["status"] for a in result.get("actions", [])
             if a["action"] == "patch" and a["resource"].startswith("instance:")}
    return [i for i in ids if final.get(i) != "patched"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.environ.get("FK_BIN",
                                                    str(ROOT / "build" / "app" / "fleetkeeper")))
    ap.add_argument("--quick", action="store_true", help="CI-sized: 100 instances, 0.5 s delays")
    ap.add_argument("--instances", type=int)
    ap.add_argument("--concurrency", type=int, default=10, help="max_concurrency, percent")
    ap.add_argument("--groups", type=int, default=10, help="target groups the fleet is spread over")
    ap.add_argument("--state-delay", type=float,
                    help="seconds moto holds a draining target and other transitions "
                         "(default 1, quick 0.5)")
    ap.add_argument("--command-seconds", type=float,
                    help="seconds each AWS-RunPatchBaseline command runs (default 5, quick 2)")
    ap.add_argument("--poll-interval", type=float,
                    help="handlers.patch poll_interval in seconds (default: state delay / 2)")
    ap.add_argument("--backup", action="store_true", help="backup_ami: an AMI before each patch")
    ap.add_argument("--json", help="write the numbers here as JSON")
    args = ap.parse_args()
    n = args.instances or (100 if args.quick else 1000)
    pct = args.concurrency
    delay = args.state_delay if args.state_delay is not None else (0.5 if args.quick else 1.0)
    command_s = args.command_seconds if args.command_seconds is not None else \
        (2.0 if args.quick else 5.0)
    poll = args.poll_interval if args.poll_interval is not None else max(0.2, delay / 2)
    os.environ["FK_BIN"] = args.bin
    if not os.path.exists(args.bin):
        print(f"no fleetkeeper binary at {args.bin}: build it (or pass --bin)", file=sys.stderr)
        return 2

    workdir = pathlib.Path(tempfile.mkdtemp(prefix="fk-patch-bench-"))
    log(f"N={n} max_concurrency {pct}% groups {args.groups} state delay {delay}s command "
        f"{command_s}s poll {poll}s; work dir {workdir}")
    moto = Moto(delay, name="patchbench")
    worker = driver = None
    try:
        ec2 = moto.client("ec2")
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        subnet = ec2.describe_subnets(Filters=[{"Name": "availability-zone",
                                                "Values": [f"{REGION}a"]}])["Subnets"][0]
        runs = {"fixed": ("bench-none", 0), "dry_one": ("bench-one", 1),
                "baseline": ("bench-one", 1), "dry_fleet": ("bench-fleet", n),
                "fleet": ("bench-fleet", n)}
        zones = {}  # by zone name: its instances (a dry run and its patch share a zone)
        t0 = time.monotonic()
        for key, (zone, count) in runs.items():
            if zone not in zones:
                zones[zone] = make_zone(moto, zone, count, args.groups if key.endswith("fleet")
                                        else 1, command_s, image, subnet)
        time.sleep(delay + 0.5)  # registered targets turn healthy after the delay
        log(f"fleet of {n + 1} instances in {args.groups + 1} target groups made in "
            f"{time.monotonic() - t0:.1f}s")

        topics, worker = start_worker(moto, workdir, "patch-bench", f"""
commands: {{allowed_accounts: ["{ACCOUNT}"], max_targets: {n + 10}}}
handlers:
  self_healing: {{enabled: false}}
  patch:
    defaults: {{poll_interval: {int(poll * 1000)}ms, max_unavailable: "{pct}%",
               command_timeout: 600s, status_ok_timeout: 300s, drain_timeout: 600s}}
""")
        driver = Rollouts(topics)
        fields = {"max_concurrency": f"{pct}%", "max_errors": "0", "operation": "Install",
                  "reboot_option": "RebootIfNeeded", "backup_ami": args.backup}

        def run_one(key, zone, count):
            dry = key.startswith("dry_")
            result, seconds = campaign(driver, moto, zone, {**fields, "dry_run": dry},
                                       timeout=600 + 5 * count)
            return result, seconds, [] if dry else [
                f"not patched: {i}" for i in unpatched(result, zones[zone])]

        measured = measure(moto, worker, runs, run_one,
                           expect={"dry_one": "DRY_RUN", "dry_fleet": "DRY_RUN"})
        if measured is None:
            return 1

        t1 = measured["baseline"]["makespan_s"]
        fixed = measured["fixed"]["makespan_s"]
        d1 = measured["dry_one"]["makespan_s"]
        dn = measured["dry_fleet"]["makespan_s"]
        batch = max(1, n * pct // 100)
        rounds = math.ceil(n / batch)
        bound = dn + rounds * (t1 - d1)
        first_bound = rounds * (t1 - fixed) + fixed
        makespan = measured["fleet"]["makespan_s"]
        fleet_calls = measured["fleet"]["calls"]
        # The seed pipeline: every instance at once, a status read every 30 s while it runs.
        seed_calls = 1 + math.ceil(command_s / SEED_POLL_S)
        out = {
            "instances": n, "max_concurrency_pct": pct, "batch": batch, "rounds": rounds,
            "groups": args.groups, "state_delay_s": delay, "command_s": command_s,
            "poll_interval_s": poll, "backup_ami": args.backup,
            "fixed_cost_s": fixed, "dry_run_one_s": d1, "dry_run_fleet_s": dn,
            "one_instance_s": t1, "bound_s": bound, "makespan_s": makespan,
            "ratio_to_bound": makespan / bound, "first_bound_s": first_bound,
            "ratio_to_first_bound": makespan / first_bound,
            "calls_per_instance": fleet_calls["per_instance"],
            "baseline_calls_per_instance": measured["baseline"]["calls"]["per_instance"],
            "seed_calls_per_instance": seed_calls, "runs": measured,
        }
        print()
        print(f"Rolling patch, {n} instances in {args.groups} target groups, max_concurrency "
              f"{pct}% ({batch} a batch), drain {delay}s, command {command_s}s, poll {poll}s")
        print(f"  one instance alone (T1)         {t1:8.2f} s   (its dry run D1 {d1:.2f} s; "
              f"an empty zone {fixed:.2f} s)")
        print(f"  the fleet's dry run (DN)        {dn:8.2f} s")
        print(f"  bound DN + {rounds} x (T1 - D1)     {bound:8.2f} s")
        print(f"  makespan                        {makespan:8.2f} s")
        print(f"  ratio to the bound              {makespan / bound:8.3f}   (goal <= 1.1)")
        print(f"  (first bound {rounds} x (T1 - fixed) + fixed {first_bound:.2f} s: "
              f"{makespan / first_bound:.3f})")
        print(f"  AWS calls per instance          {fleet_calls['per_instance']:8.2f}   (goal <= 12; "
              f"{fleet_calls['mutating_per_instance']:.2f} mutating, "
              f"{fleet_calls['reads_per_instance']:.2f} reads; alone: "
              f"{out['baseline_calls_per_instance']:.0f}; the seed's polling: "
              f">= {seed_calls} per instance for the command alone, at 30 s a look)")
        print_calls_by_api(fleet_calls, n)
        if args.json:
            pathlib.Path(args.json).write_text(json.dumps(out, indent=1))
        return 0
    finally:
        if driver:
            driver.close()
        if worker:
            worker.stop()
        moto.stop()


if __name__ == "__main__":
    sys.exit(main())
