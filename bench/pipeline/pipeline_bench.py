"""Pipeline benchmark: fleetkeeper's ingest + work stages against the same two Kafka hops made by
kcat, on the same real broker, in one run.

Both sides read input records and make two hops, as fleetkeeper does:
    input topics -> (hop 1) -> work topic -> (hop 2) -> results topic
  fleetkeeper: `fleetkeeper run` with kafka_transactions: on. Hop 1 parses and normalizes each
               record and produces a protobuf work item; hop 2 routes it and produces a JSON result.
               Every batch commits its outputs and consumed offsets in one Kafka transaction.
  kcat:        two `kcat -C -G ... | kcat -P ...` pipes that copy key and value unchanged: no
               parsing, no transactions, offsets auto-committed by the consumer group. It is
               the cost of moving the same records through the broker, nothing more.

Every input ends SKIPPED or REJECTED in fleetkeeper (no AWS call): alarms no rule matches,
instance refresh events with no workflow, deleted parameters, approvals naming unknown workflows.

fleetkeeper runs as two sides in each round, to show what the operator listener costs: with the
listener on and /metrics scraped every 0.1 s (`--scrape-interval`; a Prometheus scrapes every
15-60 s, so this is a hundred times the load or more), and with `observability.listen: off`. `--before BIN` adds a third fleetkeeper side running
another binary (an older build) on the same broker in the same rounds.

Two measurements per side:
  throughput  N records are loaded before the pipeline starts; events/s is the rate at which the
              pipeline wrote their results (the results' record timestamps) between the 5 % and
              the 95 % mark, so that start-up (group join, init_transactions) and the tail are
              left out, and the reader's own speed does not cap the number.
  latency     with the pipeline warm, M records are produced at a fixed rate; each carries its
              produce time (wall clock, ns) in its event id and key, which both sides carry to the
              results record's key; latency = when the result is read with read_committed - stamp.

Run through scripts/bench.sh (which starts the broker), or directly with a broker in
.cache/kafka.env or FK_KAFKA_BOOTSTRAP. Prints a summary; --json writes the numbers.
"""

import argparse
import json
import multiprocessing
import os
import pathlib
import platform
import re
import shutil
import sys
import tempfile
import time
import uuid

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from harness import bootstrap, broker_pid, cpu_seconds, thread_cpu_seconds  # noqa: E402
from sides import FleetkeeperPipeline, KcatPipeline  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "events"

# The stamp in every input's event id and key: phase (b = throughput, l = latency), index, produce
# time in ns since the epoch.
STAMP = re.compile(rb"fk([blf])(\d+)t(\d+)")
# A fleetkeeper result's status, as its JSON writer spells it.
STATUS = re.compile(rb'"status": ?"([A-Z_]+)"')

# While a phase waits for its last results, filler inputs (phase "f", results ignored) trickle in
# at this rate. kcat -P (Debian's 1.7.1) holds back lines it has already read from stdin until more
# input arrives or stdin closes, so without them the last records of a phase would stay in the
# pipes. Both sides get the same trickle.
FILLERS_PER_S = 100

ACCOUNTS = ["111122223333", "444455556666"]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]


# --- inputs ---------------------------------------------------------------------------------------

class Inputs:
    """Input templates from the test fixtures (tests/fixtures/events/README.md names the AWS page
    each follows), with "@ID@" where the stamp goes and account/region varied so that the records
    spread over cells, hence over work partitions. All four kinds take both hops in fleetkeeper
    (unsupported detail-types, which stop after hop 1, are left out so both sides move the same
    number of records)."""

    def __init__(self):
        self.templates = []  # (topic index, bytes with @ID@)
        envelopes = ["cloudwatch-alarm-metric-math.json",
                     "autoscaling-instance-refresh-failed.json",
                     "ssm-parameter-store-change-delete.json"]
        for account in ACCOUNTS:
            for region in REGIONS:
                for name in envelopes:
                    ev = json.loads((FIXTURES / "eventbridge" / name).read_text())
                    ev["id"] = "@ID@"
                    ev["account"], ev["region"] = account, region
                    ev["resources"] = [r.replace("111122223333", account)
                                       .replace("eu-west-1", region).replace("us-east-1", region)
                                       for r in ev["resources"]]
                    self.templates.append((0, json.dumps(ev, separators=(",", ":")).encode()))
                approval = json.loads(
                    (FIXTURES / "native" / "approval-by-workflow.json").read_text())
                approval["approval"]["workflow_id"] = f"{account}/{region}/patch-@ID@"
                self.templates.append((1, json.dumps(approval, separators=(",", ":")).encode()))

    def record(self, phase, i):
        """(topic index, key, value) of input i, stamped now."""
        stamp = b"fk%s%dt%d" % (phase.encode(), i, time.time_ns())
        topic, template = self.templates[i % len(self.templates)]
        return topic, stamp, template.replace(b"@ID@", stamp)


def produce_inputs(brokers, topics, phase, count, rate=None):
    """Produces `count` stamped inputs, paced at `rate` per second when given, else at once."""
    inputs = Inputs()
    # linger.ms=0 when paced: the stamp is taken at produce(), client batching would count as
    # pipeline latency.
    p = Producer({"bootstrap.servers": brokers, "linger.ms": 0 if rate else 20,
                  "enable.idempotence": True, "batch.num.messages": 10000})
    errors = []

    def on_delivery(err, _msg):
        if err is not None:
            errors.append(str(err))

    start = time.monotonic()
    for i in range(count):
        if rate:
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        t, key, value = inputs.record(phase, i)
        while True:
            try:
                p.produce(topics[t], value=value, key=key, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.01)
        p.poll(0)
    if p.flush(60) != 0 or errors:
        raise RuntimeError(f"input produce failed: {errors[:3]} ({p.flush(0)} records not sent)")


class Fillers:
    """Filler inputs, FILLERS_PER_S at most, sent while a phase waits for its last results."""

    def __init__(self, brokers, topics):
        self.inputs = Inputs()
        self.topics = topics
        self.producer = Producer({"bootstrap.servers": brokers, "linger.ms": 0})
        self.sent = 0
        self.last = 0.0

    def nudge(self):
        now = time.monotonic()
        if now - self.last < 1.0 / FILLERS_PER_S:
            return
        self.last = now
        t, key, value = self.inputs.record("f", self.sent)
        self.producer.produce(self.topics[t], value=value, key=key)
        self.producer.poll(0)
        self.sent += 1

    def close(self):
        self.producer.flush(10)


# --- topics ---------------------------------------------------------------------------------------

class Topics:
    def __init__(self, side, input_partitions=(6, 3), work_partitions=6, result_partitions=6):
        prefix = f"bench-{side}-{uuid.uuid4().hex[:8]}"
        self.prefix = prefix
        self.inputs = [f"{prefix}.events", f"{prefix}.commands"]
        self.work = f"{prefix}.work"
        self.results = f"{prefix}.results"
        self.dlq = f"{prefix}.dlq"
        self.state = f"{prefix}.state"
        self.control = f"{prefix}.control"
        self.input_partitions = input_partitions
        self.work_partitions = work_partitions
        self.result_partitions = result_partitions

    def create(self, admin):
        topics = [NewTopic(t, n, 1) for t, n in zip(self.inputs, self.input_partitions)]
        compact = {"cleanup.policy": "compact"}
        topics += [NewTopic(self.work, self.work_partitions, 1),
                   NewTopic(self.state, self.work_partitions, 1, config=compact),
                   NewTopic(self.results, self.result_partitions, 1),
                   NewTopic(self.dlq, self.result_partitions, 1),
                   NewTopic(self.control, 1, 1, config=compact)]
        for fut in admin.create_topics(topics, operation_timeout=30).values():
            fut.result()
        wait_for_topics(admin, [t.topic for t in topics])

    def delete(self, admin):
        names = self.inputs + [self.work, self.results, self.dlq, self.state, self.control]
        for fut in admin.delete_topics(names, operation_timeout=30).values():
            try:
                fut.result()
            except Exception:  # noqa: BLE001 - best effort: the broker's data is fresh every start
                pass
        # The broker removes a deleted topic's files later (file.delete.delay.ms): hundreds of MB
        # after a run. Removed while the next side runs, they stalled its commits by up to 0.9 s,
        # so wait until they are gone (a broker of scripts/kafka.sh, whose data dir is known).
        data = broker_data_dir()
        if data is None:
            return
        deadline = time.time() + 120
        while time.time() < deadline:
            if not any(d.name.startswith(self.prefix) for d in data.iterdir()):
                return
            time.sleep(0.5)
        print(f"  (files of {self.prefix} still on disk after 120 s)", file=sys.stderr)


def wait_for_topics(admin, names, timeout=30):
    """Until the broker's metadata lists every topic of `names` with its partitions: a worker
    started right after CreateTopics could find one unknown on a loaded machine."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        known = admin.list_topics(timeout=10).topics
        if all(n in known and known[n].error is None and known[n].partitions for n in names):
            return
        time.sleep(0.1)
    raise RuntimeError(f"topics not in the broker's metadata after {timeout} s: {names}")


def broker_data_dir():
    """The data dir of the broker scripts/kafka.sh runs for bootstrap(), or None."""
    if broker_pid() is None:
        return None
    port = bootstrap().rsplit(":", 1)[-1]
    data = ROOT / ".cache" / ("kafka-run" if port == "19092" else f"kafka-run-{port}") / "data"
    return data if data.is_dir() else None


# --- measurement ----------------------------------------------------------------------------------
class ResultReader:
    """Reads the results topic with read_committed; records when each stamped input's first result
    became readable."""

    def __init__(self, brokers, topics):
        self.consumer = Consumer({
            "bootstrap.servers": brokers, "group.id": "bench-reader-" + uuid.uuid4().hex,
            "isolation.level": "read_committed", "auto.offset.reset": "earliest",
            "enable.auto.commit": False, "fetch.wait.max.ms": 10})
        self.consumer.subscribe([topics.results])
        self.seen = {}       # (phase, index) -> ns when read
        self.stamps = {}     # (phase, index) -> ns when its input was produced
        self.result_ms = {}  # (phase, index) -> the result record's timestamp (CreateTime, ms)
        self.statuses = {}   # fleetkeeper result status -> count (kcat results have none)
        self.duplicates = 0
        # Results read per phase, kept as they come: wait_for asks after every poll, and counting
        # `seen` each time cost the reader O(N^2) CPU, taken from the pipeline it measures.
        self.counts = {}

    def poll(self, parse_status):
        # Small batches: the read time of a batch stands for each of its records.
        msgs = self.consumer.consume(200, 0.05)
        return self.take(msgs, time.time_ns(), parse_status)

    def take(self, msgs, now, parse_status):
        """Notes the stamped results among `msgs`, read at `now` (ns)."""
        for m in msgs:
            if m.error():
                continue
            found = STAMP.search(m.key() or b"")
            if not found:
                continue
            ident = (found.group(1).decode(), int(found.group(2)))
            if ident[0] == "f":
                continue
            if ident in self.seen:
                self.duplicates += 1
                continue
            self.seen[ident] = now
            self.counts[ident[0]] = self.counts.get(ident[0], 0) + 1
            self.stamps[ident] = int(found.group(3))
            self.result_ms[ident] = m.timestamp()[1]
            if parse_status:
                # The status alone, without decoding the whole result in Python for each record.
                value = m.value()
                found = STATUS.search(value)
                status = found.group(1).decode() if found else json.loads(value).get("status", "?")
                self.statuses[status] = self.statuses.get(status, 0) + 1
        return len(msgs)

    def count(self, phase):
        return self.counts.get(phase, 0)

    def wait_for(self, phase, n, timeout, pipeline, parse_status, fillers):
        deadline = time.time() + timeout
        while self.count(phase) < n:
            fillers.nudge()
            if time.time() > deadline:
                missing = [i for i in range(n) if (phase, i) not in self.seen]
                raise RuntimeError(f"{pipeline.name}: only {self.count(phase)} of {n} results "
                                   f"after {timeout} s (missing e.g. {missing[:8]}); see "
                                   f"{pipeline.log}")
            if not pipeline.alive():
                raise RuntimeError(f"{pipeline.name} stopped; see {pipeline.log}")
            self.poll(parse_status)

    def close(self):
        self.consumer.close()


def count_statuses(brokers, topics, phase, n, timeout):
    """Status -> count over the first result of each of the n inputs of `phase`, read again from
    the results topic."""
    consumer = Consumer({
        "bootstrap.servers": brokers, "group.id": "bench-statuses-" + uuid.uuid4().hex,
        "isolation.level": "read_committed", "auto.offset.reset": "earliest",
        "enable.auto.commit": False})
    consumer.subscribe([topics.results])
    seen, statuses = set(), {}
    deadline = time.time() + timeout
    try:
        while len(seen) < n:
            if time.time() > deadline:
                raise RuntimeError(f"only {len(seen)} of {n} results found again on "
                                   f"{topics.results}")
            for m in consumer.consume(1000, 0.5):
                found = None if m.error() else STAMP.search(m.key() or b"")
                if not found or found.group(1).decode() != phase:
                    continue
                index = int(found.group(2))
                if index in seen:
                    continue
                seen.add(index)
                value = m.value()
                status = STATUS.search(value)
                status = status.group(1).decode() if status else json.loads(value).get("status", "?")
                statuses[status] = statuses.get(status, 0) + 1
    finally:
        consumer.close()
    return statuses


def peak_rss_kb(pid):
    """VmHWM of a running process (kB), 0 when it cannot be read."""
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


def run_side(side, make_pipeline, brokers, admin, args, workdir):
    topics = Topics(side)
    topics.create(admin)
    pipeline = make_pipeline(topics)
    parse_status = side.startswith("fleetkeeper")
    out = {"pipeline": pipeline.describe()}
    try:
        # Throughput: the backlog is in place before the pipeline starts.
        produce_inputs(brokers, topics.inputs, "b", args.events)
        reader = ResultReader(brokers, topics)
        fillers = Fillers(brokers, topics.inputs)
        t0 = time.time_ns()
        broker = broker_pid()
        broker_cpu0 = cpu_seconds(broker) if broker else 0.0
        driver0 = time.process_time()
        pipeline.start()
        # The results' statuses are counted after the run (count_statuses), not while it is
        # measured: this driver shares the cores with the pipeline, and kcat's results have none.
        reader.wait_for("b", args.events, args.timeout, pipeline, False, fillers)
        # CPU per event of the throughput phase (start-up included): where the time goes.
        out["cpu_us_per_event"] = 1e6 * sum(cpu_seconds(p) for p in pipeline.pids()) / args.events
        # This driver's own CPU (reading the results) over the same phase: it shares the cores.
        out["driver_cpu_us_per_event"] = 1e6 * (time.process_time() - driver0) / args.events
        if parse_status:
            # Per thread, in creation order (the poll thread first, then each librdkafka client's
            # main and broker threads): which of them the CPU goes to.
            threads = sorted(t for p in pipeline.pids() for t in thread_cpu_seconds(p).items())
            out["thread_cpu_us_per_event"] = [
                [name, round(1e6 * s / args.events, 1)] for (_, name), s in threads if s > 0]
            # The worker's peak resident memory so far: the backlog is where it peaks.
            out["peak_rss_mb"] = peak_rss_kb(pipeline.pids()[0]) / 1024
        if broker:
            out["broker_cpu_us_per_event"] = 1e6 * (cpu_seconds(broker) - broker_cpu0) / args.events
        # The rate at which the pipeline wrote the results, from their timestamps (set by the
        # producing client; fleetkeeper's become readable at its commit, a few ms later), so that
        # the reader's own speed does not cap it.
        written = sorted(ms for (p, _), ms in reader.result_ms.items() if p == "b")
        lo_i, hi_i = int(0.05 * (len(written) - 1)), int(0.95 * (len(written) - 1))
        out["events"] = args.events
        out["events_per_s"] = (hi_i - lo_i) / max((written[hi_i] - written[lo_i]) / 1e3, 1e-3)
        reads = sorted(t for (p, _), t in reader.seen.items() if p == "b")
        out["wall_s_from_start"] = (reads[-1] - t0) / 1e9

        # Latency: the pipeline is warm and idle; inputs arrive at a fixed rate.
        ctx = multiprocessing.get_context("fork")
        driver = ctx.Process(target=produce_inputs,
                             args=(brokers, topics.inputs, "l", args.latency_events,
                                   args.latency_rate))
        driver.start()
        reader.wait_for("l", args.latency_events, args.timeout, pipeline, parse_status, fillers)
        driver.join()
        fillers.close()
        out["filler_events"] = fillers.sent
        lat = sorted((reader.seen[k] - reader.stamps[k]) / 1e6
                     for k in reader.seen if k[0] == "l")
        out["latency_events"] = args.latency_events
        out["latency_rate"] = args.latency_rate
        out["p50_ms"] = percentile(lat, 0.50)
        out["p99_ms"] = percentile(lat, 0.99)
        out["max_ms"] = lat[-1]
        out["duplicates"] = reader.duplicates
        if parse_status:
            statuses = count_statuses(brokers, topics, "b", args.events, args.timeout)
            for status, n in reader.statuses.items():
                statuses[status] = statuses.get(status, 0) + n
            out["statuses"] = statuses
        reader.close()
        if getattr(pipeline, "scraper", None):
            out["metrics_scrapes"] = pipeline.scraper.scrapes
    finally:
        pipeline.stop()
        topics.delete(admin)
    return out


def machine():
    model = "unknown CPU"
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": model, "load_average": os.getloadavg(),
            "system": f"{platform.system()} {platform.release()}"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # Enough for a few dozen of fleetkeeper's transactions (up to 30000 records or 300 ms each):
    # the throughput is read from when results become readable, at each commit, so a run of a
    # handful of commits measures the commits' spacing, not a rate.
    ap.add_argument("--events", type=int, default=400000, help="throughput backlog per side")
    ap.add_argument("--latency-events", type=int, default=3000)
    ap.add_argument("--latency-rate", type=float, default=500.0, help="inputs per second")
    ap.add_argument("--quick", action="store_true",
                    help="CI-sized: 4000 events, 300 latency events at 300/s")
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds per phase")
    ap.add_argument("--fleetkeeper", default=os.environ.get(
        "FK_BIN", str(ROOT / "build" / "app" / "fleetkeeper")))
    ap.add_argument("--kcat", default=shutil.which("kcat") or "kcat")
    ap.add_argument("--json", help="write the numbers here")
    ap.add_argument("--only", choices=("kcat", "fleetkeeper"),
                    help="run one side alone (for iterating; no ratio)")
    ap.add_argument("--before", metavar="BIN",
                    help="another fleetkeeper binary (an older build) as one more side")
    ap.add_argument("--scrape-interval", type=float, default=0.1,
                    help="seconds between the listener side's GETs of /metrics")
    ap.add_argument("--no-listener-side", action="store_true",
                    help="leave out the side with the operator listener off")
    ap.add_argument("--rounds", type=int, default=3,
                    help="kcat then fleetkeeper, this many times; the round with the median ratio "
                         "is reported (a single run moves by a third with the broker's own load)")
    args = ap.parse_args()
    if args.quick:
        args.events, args.latency_events, args.latency_rate = 4000, 300, 300.0
        args.rounds = 1
    if not os.access(args.fleetkeeper, os.X_OK):
        sys.exit(f"fleetkeeper binary not found at {args.fleetkeeper}: build it (or --fleetkeeper)")
    if not shutil.which(args.kcat):
        sys.exit("kcat not found: run scripts/install-deps.sh")

    brokers = bootstrap()
    admin = AdminClient({"bootstrap.servers": brokers})
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="fk-bench-pipeline-"))
    report = {"machine": machine(), "broker": "Apache Kafka 3.9.1 (scripts/kafka.sh), 1 node"}
    # kcat first in each round: the baseline, then the same data path through fleetkeeper: with
    # the operator listener scraped, without it, and the --before binary.
    factories = {"kcat": lambda t: KcatPipeline(args.kcat, brokers, t, workdir),
                 "fleetkeeper": lambda t: FleetkeeperPipeline(
                     args.fleetkeeper, brokers, t, workdir, scrape_interval=args.scrape_interval)}
    if not args.no_listener_side:
        factories["fleetkeeper-nolistener"] = lambda t: FleetkeeperPipeline(
            args.fleetkeeper, brokers, t, workdir, "fleetkeeper-nolistener", listener=False)
    if args.before:
        factories["fleetkeeper-before"] = lambda t: FleetkeeperPipeline(
            args.before, brokers, t, workdir, "fleetkeeper-before",
            scrape_interval=args.scrape_interval)
    if args.only == "kcat":
        sides = ("kcat",)
    elif args.only == "fleetkeeper":
        sides = tuple(name for name in factories if name != "kcat")
    else:
        sides = tuple(factories)
    rounds = []
    for _ in range(max(args.rounds, 1)):
        r = {side: run_side(side, factories[side], brokers, admin, args, workdir)
             for side in sides}
        if "kcat" in r:
            for side in sides[1:]:
                suffix = side[len("fleetkeeper"):].replace("-", "_")
                r["ratio" + suffix] = r[side]["events_per_s"] / r["kcat"]["events_per_s"]
        rounds.append(r)
    key = (lambda r: r["ratio"]) if "ratio" in rounds[0] else (
        lambda r: r[sides[0]]["events_per_s"])
    median = sorted(rounds, key=key)[(len(rounds) - 1) // 2]
    report.update(median)
    report["rounds"] = rounds
    fk = report.get("fleetkeeper", {})

    m = report["machine"]
    print(f"pipeline benchmark: {m['cpus']} CPUs ({m['cpu']}), load average "
          f"{m['load_average'][0]:.1f}; logs in {workdir}")
    print(f"  {'side':<26} {'events/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'cpu us/ev':>10} {'broker us/ev':>13} {'driver us/ev':>13}  (throughput: {args.events} events; "
          f"latency: {args.latency_events} at {args.latency_rate:g}/s)")
    for i, rnd in enumerate(rounds, 1):
        for side in sides:
            r = rnd[side]
            label = f"{side} #{i}" if len(rounds) > 1 else side
            print(f"  {label:<26} {r['events_per_s']:>8.0f} {r['p50_ms']:>8.1f} "
                  f"{r['p99_ms']:>8.1f} {r['max_ms']:>8.1f} {r['cpu_us_per_event']:>10.1f} "
                  f"{r.get('broker_cpu_us_per_event', float('nan')):>13.1f} "
                  f"{r['driver_cpu_us_per_event']:>13.1f}")
            if r.get("thread_cpu_us_per_event"):
                print("    threads us/ev: " + ", ".join(
                    f"{name} {us:g}" for name, us in r["thread_cpu_us_per_event"]))
        if "ratio" in rnd and len(rounds) > 1:
            print("  " + ", ".join(f"{k} #{i}: {v:.2f}x" for k, v in rnd.items()
                                   if k.startswith("ratio")))
    if "ratio" in report:
        print(f"  ratio fleetkeeper/kcat: {report['ratio']:.2f}x (median of {len(rounds)} "
              f"round(s); target >= 0.8x; listener on, /metrics scraped every {args.scrape_interval:g} s, "
              f"{fk.get('metrics_scrapes', 0)} scrapes)")
    for side in (sides[2:] if "ratio" in report else ()):
        suffix = side[len("fleetkeeper"):].replace("-", "_")
        ratios = sorted(rnd["ratio" + suffix] for rnd in rounds)
        mains = sorted(rnd["ratio"] for rnd in rounds)
        print(f"  ratio {side}/kcat: {report['ratio' + suffix]:.2f}x in the same round "
              f"(all rounds: {', '.join(f'{x:.2f}' for x in ratios)}; fleetkeeper's: "
              f"{', '.join(f'{x:.2f}' for x in mains)})")
    print(f"  fleetkeeper outcomes: {fk.get('statuses')}")
    unexpected = {f"{side}: {s}": c for side in sides if side.startswith("fleetkeeper")
                  for s, c in report[side].get("statuses", {}).items()
                  if s not in ("SKIPPED", "REJECTED")}
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if unexpected:
        # The benchmark's inputs must end without an AWS call; anything else is a wrong setup.
        sys.exit(f"unexpected fleetkeeper outcomes {unexpected}: the inputs no longer end "
                 "SKIPPED/REJECTED")


if __name__ == "__main__":
    main()
