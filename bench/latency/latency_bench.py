"""Latency benchmark: how long an event waits for its outcome at the rates a real fleet produces,
on the real broker, fleetkeeper against the two-hop kcat pipeline in the same invocation.

Two paths:
  skipped    inputs that end SKIPPED or REJECTED (the pipeline benchmark's inputs: no AWS call)
             produced at fixed rates (--rates, 100, 1,000 and 5,000 events/s by default, --duration
             seconds each); latency = when the result is read with read_committed - the input's
             produce stamp (wall clock, ns, carried in its event id and key to the result's key).
             The same inputs at the same rates go through kcat's two hops (bench/pipeline/), the
             baseline: what moving a record through the broker twice costs, nothing more.
  alarm      CloudWatch alarm notifications (SNS Lambda-event form, bench/self_healing_bench.py)
             at --alarm-rate per second, each naming a group of its own, into `fleetkeeper run`
             with the self-healing rule `scale_out by 1`; latency = when the group's
             SetDesiredCapacity request arrives at the loopback Auto Scaling endpoint - the
             alarm's produce stamp. The handler reads the group, commits the absolute target,
             reads the group again, then scales (DESIGN.md): two transactions and three calls.

Optional, in the same invocation:
  --before BIN   a second fleetkeeper binary (e.g. built from main) measured on both paths too,
                 alternating with --fleetkeeper, so that before and after share the machine's
                 state.
  --backlog N    the pipeline benchmark's throughput phase (N inputs loaded before the pipeline
                 starts) for kcat and every binary, --rounds times, so that latency and backlog
                 throughput are reported side by side.

  .venv/bin/python bench/latency/latency_bench.py [--quick] [--duration S] [--before BIN]
      [--backlog N] [--json FILE]

Run through scripts/bench.sh latency (which starts the broker), or directly with a broker in
.cache/kafka.env or FK_KAFKA_BOOTSTRAP.
"""

import argparse
import ctypes
import datetime
import json
import multiprocessing
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench" / "pipeline"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "bench" / "workflows"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))
import pipeline_bench as pb  # noqa: E402
import self_healing_bench as sh  # noqa: E402

# Indices of each rate's inputs start at a multiple of this, so that one reader tells them apart.
RATE_STRIDE = 10_000_000


# --- the SKIPPED/REJECTED path --------------------------------------------------------------------

class PromptReader(pb.ResultReader):
    """The pipeline benchmark's reader, but a record's read time is taken as soon as it is
    delivered: consume(n, timeout) waits for n records or the timeout, which would add up to the
    timeout to every record read at a low rate."""

    def __init__(self, brokers, topics):
        super().__init__(brokers, topics)
        # A short long-poll: a committed transaction is read at most this much later.
        self.consumer.close()
        from confluent_kafka import Consumer
        self.consumer = Consumer({
            "bootstrap.servers": brokers, "group.id": "bench-latency-" + uuid.uuid4().hex,
            "isolation.level": "read_committed", "auto.offset.reset": "earliest",
            "enable.auto.commit": False, "fetch.wait.max.ms": 5})
        self.consumer.subscribe([topics.results])

    def poll(self, parse_status):
        msgs = self.consumer.consume(1000, 0)
        if not msgs:
            first = self.consumer.poll(0.02)
            msgs = [first] if first is not None else []
        return self.take(msgs, time.time_ns(), parse_status)


def produce_paced(brokers, topics, first_index, count, rate):
    """`count` stamped inputs at `rate` per second, indices from `first_index` (phase "l")."""
    inputs = pb.Inputs()
    p = Producer({"bootstrap.servers": brokers, "linger.ms": 0, "enable.idempotence": True})
    start = time.monotonic()
    for i in range(count):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        t, key, value = inputs.record("l", first_index + i)
        while True:
            try:
                p.produce(topics[t], value=value, key=key)
                break
            except BufferError:
                p.poll(0.01)
        p.poll(0)
    if p.flush(60) != 0:
        raise RuntimeError("latency inputs not all sent")


def summary(latencies_ms):
    lat = sorted(latencies_ms)
    return {"events": len(lat), "p50_ms": pb.percentile(lat, 0.50),
            "p99_ms": pb.percentile(lat, 0.99), "p999_ms": pb.percentile(lat, 0.999),
            "max_ms": lat[-1] if lat else float("nan")}


def skipped_path(name, make_pipeline, brokers, admin, args, workdir):
    """{rate: summary} for one side, every rate on one running pipeline."""
    topics = pb.Topics(name.split(" ")[0])
    topics.create(admin)
    pipeline = make_pipeline(topics, workdir)
    out = {"pipeline": pipeline.describe(), "rates": {}}
    reader = PromptReader(brokers, topics)
    fillers = pb.Fillers(brokers, topics.inputs)
    try:
        pipeline.start()
        # Warm: the group has joined and a first transaction went through before the clock runs.
        produce_paced(brokers, topics.inputs, 0, 20, 50.0)
        reader.wait_for("l", 20, args.timeout, pipeline, False, fillers)
        done = 20
        ctx = multiprocessing.get_context("fork")
        for k, rate in enumerate(args.rates, 1):
            count = int(rate * args.duration)
            first = k * RATE_STRIDE
            driver = ctx.Process(target=produce_paced,
                                 args=(brokers, topics.inputs, first, count, rate))
            driver.start()
            reader.wait_for("l", done + count, args.timeout + args.duration, pipeline,
                            name.startswith("fleetkeeper"), fillers)
            driver.join()
            if driver.exitcode != 0:
                raise RuntimeError(f"{name}: the input driver failed at {rate}/s")
            done += count
            lat = [(reader.seen[key] - reader.stamps[key]) / 1e6 for key in reader.seen
                   if key[0] == "l" and first <= key[1] < first + count]
            out["rates"][rate] = summary(lat)
            print(f"  {name:<22} {rate:>6g}/s  " + fmt_summary(out["rates"][rate]), flush=True)
        out["statuses"] = reader.statuses
        out["duplicates"] = reader.duplicates
    finally:
        fillers.close()
        reader.close()
        pipeline.stop()
        topics.delete(admin)
    unexpected = {s: c for s, c in reader.statuses.items() if s not in ("SKIPPED", "REJECTED")}
    if unexpected:
        raise RuntimeError(f"{name}: unexpected outcomes {unexpected}; the inputs must end "
                           "SKIPPED/REJECTED")
    return out


def fmt_summary(s):
    return (f"p50 {s['p50_ms']:7.1f}  p99 {s['p99_ms']:7.1f}  p99.9 {s['p999_ms']:7.1f}  "
            f"max {s['max_ms']:7.1f} ms  ({s['events']} events)")


# --- the alarm path -------------------------------------------------------------------------------

class ArrivalEndpoint(sh.Endpoint):
    """The self-healing bench's Auto Scaling endpoint, noting when each group's first
    SetDesiredCapacity request arrived (wall clock, ns; shared memory, one slot per group)."""

    arrivals = None

    def respond(self, path, headers, body):
        if b"Action=SetDesiredCapacity" in body:
            now = time.time_ns()
            name = sh.urllib.parse.parse_qs(body.decode())["AutoScalingGroupName"][0]
            k = self.index(name)
            if k is not None and self.arrivals[k] == 0:
                self.arrivals[k] = now
        super().respond(path, headers, body)


def serve_arrivals(sock, shared, arrivals, stop_event):
    ArrivalEndpoint.shared = shared
    ArrivalEndpoint.arrivals = arrivals

    async def main():
        loop = sh.asyncio.get_running_loop()
        server = await loop.create_server(ArrivalEndpoint, sock=sock)
        while not stop_event.is_set():
            await sh.asyncio.sleep(0.1)
        server.close()
    sh.asyncio.run(main())


def alarm_path(name, binary, brokers, admin, args, workdir):
    count = max(1, int(args.alarm_rate * args.alarm_duration))
    warm = 10
    groups = count + warm
    ctx = multiprocessing.get_context("fork")
    shared = ctx.RawArray("i", groups)
    arrivals = ctx.RawArray(ctypes.c_int64, groups)
    stamps = ctx.RawArray(ctypes.c_int64, groups)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    sock.setblocking(False)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    stop_event = ctx.Event()
    server = ctx.Process(target=serve_arrivals, args=(sock, shared, arrivals, stop_event),
                         daemon=True)
    server.start()
    sock.close()

    prefix = "bench-alarm-" + uuid.uuid4().hex[:8]
    topics = {k: f"{prefix}.{k}" for k in ("events", "work", "results", "dlq", "state", "control")}
    compact = {"cleanup.policy": "compact"}
    new = [NewTopic(topics["events"], 6, 1), NewTopic(topics["work"], 6, 1),
           NewTopic(topics["state"], 6, 1, config=compact), NewTopic(topics["results"], 6, 1),
           NewTopic(topics["dlq"], 1, 1), NewTopic(topics["control"], 1, 1, config=compact)]
    for f in admin.create_topics(new, operation_timeout=30).values():
        f.result()
    pb.wait_for_topics(admin, list(topics.values()))
    config = workdir / f"{prefix}.yaml"
    # FK_BENCH_LOG_LEVEL=debug: a line per batch and per commit, as in the pipeline benchmark.
    config.write_text(sh.worker_config(prefix, topics, brokers, "log: {level: %s}\n"
                                       % os.environ.get("FK_BENCH_LOG_LEVEL", "info")))
    env = dict(os.environ, AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="bench",
               AWS_SECRET_ACCESS_KEY="bench", AWS_REGION=sh.REGION,
               AWS_CONFIG_FILE=str(workdir / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(workdir / "none"))
    log_path = workdir / f"{prefix}.log"
    log = open(log_path, "w")
    proc = subprocess.Popen([binary, "run", "--config", str(config)], stdout=log,
                            stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.time() + 60
        while "worker started" not in log_path.read_text(errors="replace"):
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{name}: worker did not start; see {log_path}")
            time.sleep(0.05)

        def wait_arrivals(lo, hi, timeout):
            deadline = time.time() + timeout
            while any(arrivals[i] == 0 for i in range(lo, hi)):
                if proc.poll() is not None:
                    raise RuntimeError(f"{name}: worker exited; see {log_path}")
                if time.time() > deadline:
                    got = sum(1 for i in range(lo, hi) if arrivals[i])
                    raise RuntimeError(f"{name}: {got} of {hi - lo} SetDesiredCapacity requests "
                                       f"after {timeout} s; see {log_path}")
                time.sleep(0.2)

        # Warm: the group has joined, every partition is restored and the AWS client connected.
        warm_stamps = ctx.RawArray(ctypes.c_int64, warm)
        produce_alarms_range(brokers, topics["events"], 0, warm, 20.0, groups, warm_stamps)
        wait_arrivals(0, warm, args.timeout)
        driver = ctx.Process(target=produce_alarms_range,
                             args=(brokers, topics["events"], warm, count, args.alarm_rate,
                                   groups, stamps))
        driver.start()
        driver.join()
        wait_arrivals(warm, warm + count, args.timeout)
        lat = [(arrivals[warm + i] - stamps[i]) / 1e6 for i in range(count)]
        out = summary(lat)
        out["rate"] = args.alarm_rate
        print(f"  {name:<22} alarms {args.alarm_rate:g}/s -> SetDesiredCapacity  "
              + fmt_summary(out), flush=True)
        return out
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        stop_event.set()
        server.join(10)
        for f in admin.delete_topics(list(topics.values()), operation_timeout=30).values():
            try:
                f.result()
            except Exception:  # noqa: BLE001 - best effort: the broker's data is fresh every start
                pass


def produce_alarms_range(brokers, topic, first, count, rate, groups, stamps):
    """Alarms first .. first+count-1 at `rate` per second; stamps[i - first] gets alarm i's."""
    p = Producer({"bootstrap.servers": brokers, "linger.ms": 0})
    events = [json.dumps(sh.sns_lambda_event(first + i, groups)).encode() for i in range(count)]
    start = time.monotonic()
    for i, value in enumerate(events):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        stamps[i] = time.time_ns()
        p.produce(topic, value=value)
        p.poll(0)
    if p.flush(60) != 0:
        raise RuntimeError("alarms not all sent")


# --- start and idle -------------------------------------------------------------------------------

LOG_TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) ")


def log_ms(line):
    """The epoch ms of a worker log line's RFC 3339 stamp, or None."""
    found = LOG_TS.match(line)
    if not found:
        return None
    stamp = datetime.datetime.strptime(found.group(1).replace("Z", "+0000"),
                                       "%Y-%m-%dT%H:%M:%S.%f%z")
    return stamp.timestamp() * 1000


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def start_path(name, binary, brokers, admin, args, checkpoints):
    """Process start -> first record consumed (and -> its result read with read_committed) with
    `checkpoints` records in fleet.state partition 0; then the idle worker's RSS."""
    import workflows_bench as wb
    from effect_recorder import EffectRecorder
    from harness import TopicSet, WorkerProcess
    from confluent_kafka import Consumer
    topics = TopicSet(inputs=(1, 3), work_partitions=6)
    topics.create(admin)
    pb.wait_for_topics(admin, [*topics.inputs, topics.work, topics.results, topics.dlq,
                               topics.state, topics.control])
    recorder = EffectRecorder().start()
    if checkpoints:
        wb.write_checkpoints(topics.state, checkpoints)
    # One input waiting before the process starts: an alarm no rule matches (ends SKIPPED).
    t, key, value = pb.Inputs().record("l", 0)
    p = Producer({"bootstrap.servers": brokers})
    p.produce(topics.inputs[0], value=value, key=key)
    p.flush(30)
    reader = Consumer({"bootstrap.servers": brokers, "group.id": "bench-start-" + uuid.uuid4().hex,
                       "isolation.level": "read_committed", "auto.offset.reset": "earliest",
                       "enable.auto.commit": False, "fetch.wait.max.ms": 5})
    reader.subscribe([topics.results])
    reader.poll(1.0)  # joined before the worker starts
    cfg = topics.config_yaml({"transactional.id": f"{topics.prefix}-start"},
                             extra="log: {level: debug}\n")
    os.environ["FK_BIN"] = binary
    w = WorkerProcess(cfg, "start", workdir=tempfile.mkdtemp(prefix="fk-bench-start-"), env={
        "FK_TEST_HANDLERS": "effect", "FK_TEST_EFFECT_URL": recorder.url,
        "AWS_ACCESS_KEY_ID": "AKIDBENCH", "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_EC2_METADATA_DISABLED": "true"})
    out = {"checkpoints": checkpoints}
    try:
        started = time.time() * 1000
        w.start(wait=False)
        result_ms = None
        deadline = time.time() + args.timeout
        while result_ms is None and time.time() < deadline:
            m = reader.poll(0.02)
            if m is not None and not m.error() and pb.STAMP.search(m.key() or b""):
                result_ms = time.time() * 1000
        if result_ms is None:
            raise RuntimeError(f"{name}: no result {args.timeout} s after start; see {w.log}")
        consumed_ms = None
        for line in w.log.read_text(errors="replace").splitlines():
            found = re.search(r"batch of (\d+) records", line)
            if found and int(found.group(1)) > 0:
                consumed_ms = log_ms(line)
                break
        out["to_first_consumed_ms"] = consumed_ms - started if consumed_ms else None
        out["to_first_result_ms"] = result_ms - started
        time.sleep(args.idle)
        out["idle_rss_mb"] = rss_kb(w.proc.pid) / 1024
        first = out["to_first_consumed_ms"]
        print(f"  {name:<22} {checkpoints:>6} checkpoint records: start -> first record consumed "
              f"{first if first is None else round(first)} ms, -> its result "
              f"{out['to_first_result_ms']:.0f} ms; RSS after {args.idle:g} s idle "
              f"{out['idle_rss_mb']:.1f} MB", flush=True)
    finally:
        reader.close()
        w.stop()
        recorder.stop()
        for f in admin.delete_topics([*topics.inputs, topics.work, topics.results, topics.dlq,
                                      topics.state, topics.control]).values():
            try:
                f.result()
            except Exception:  # noqa: BLE001 - best effort
                pass
    return out


# --- backlog throughput (the pipeline benchmark's first phase) ------------------------------------

def backlog(name, make_pipeline, brokers, admin, args, workdir):
    """events/s over a backlog of args.backlog inputs, as bench/pipeline/ measures it."""
    side_args = argparse.Namespace(events=args.backlog, latency_events=50, latency_rate=100.0,
                                   timeout=args.timeout)
    side = "kcat" if name == "kcat" else "fleetkeeper"
    r = pb.run_side(side, lambda t: make_pipeline(t, workdir), brokers, admin, side_args, workdir)
    print(f"  {name:<22} backlog {args.backlog}: {r['events_per_s']:9.0f} events/s, "
          f"CPU {r['cpu_us_per_event']:.1f} us/event (broker "
          f"{r.get('broker_cpu_us_per_event', float('nan')):.1f})", flush=True)
    if "peak_rss_mb" in r:
        print(f"  {'':<22} peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
    return {"events_per_s": r["events_per_s"], "cpu_us_per_event": r["cpu_us_per_event"],
            "broker_cpu_us_per_event": r.get("broker_cpu_us_per_event"),
            "peak_rss_mb": r.get("peak_rss_mb")}


# --- main -----------------------------------------------------------------------------------------

def median(values):
    """The median over the rounds; with an even count, the mean of the two middle values (with two
    rounds the lower one alone would report the better round)."""
    s = sorted(values)
    if not s:
        return float("nan")
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rates", default="100,1000,5000",
                    help="events/s of the SKIPPED path, comma-separated")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds per rate")
    ap.add_argument("--alarm-rate", type=float, default=100.0, help="alarms/s")
    ap.add_argument("--alarm-duration", type=float, help="seconds of alarms (default --duration)")
    ap.add_argument("--paths", default="skipped,alarm,start",
                    help="which measurements: skipped, alarm, start (comma-separated)")
    ap.add_argument("--checkpoints", type=int, default=100000,
                    help="start: checkpoint records in fleet.state for the second start")
    ap.add_argument("--idle", type=float, default=10.0,
                    help="start: seconds the worker idles before its RSS is read")
    ap.add_argument("--backlog", type=int, default=0,
                    help="also the pipeline benchmark's backlog throughput with this many inputs")
    ap.add_argument("--rounds", type=int, default=1,
                    help="repeat everything; medians over the rounds are reported")
    ap.add_argument("--quick", action="store_true", help="CI-sized: 5 s per rate, no backlog")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for results")
    ap.add_argument("--fleetkeeper", default=os.environ.get(
        "FK_BIN", str(ROOT / "build" / "app" / "fleetkeeper")))
    ap.add_argument("--before", help="a second fleetkeeper binary, measured alongside")
    ap.add_argument("--kcat", default=shutil.which("kcat") or "kcat")
    ap.add_argument("--json", help="write the numbers here")
    args = ap.parse_args()
    args.rates = [float(r) for r in args.rates.split(",") if r.strip()]
    if args.quick:
        args.duration, args.backlog, args.rounds = 5.0, 0, 1
        args.checkpoints, args.idle = 10000, 3.0
    if args.alarm_duration is None:
        args.alarm_duration = args.duration
    paths = {p.strip() for p in args.paths.split(",") if p.strip()}
    if not paths <= {"skipped", "alarm", "start"}:
        sys.exit(f"--paths: unknown measurement in {sorted(paths)} (skipped, alarm, start)")
    binaries = {"fleetkeeper": args.fleetkeeper}
    if args.before:
        binaries["fleetkeeper before"] = args.before
    for label, path in binaries.items():
        if not os.access(path, os.X_OK):
            sys.exit(f"{label} binary not found at {path}: build it")
    if "skipped" in paths and not shutil.which(args.kcat):
        sys.exit("kcat not found: run scripts/install-deps.sh")

    brokers = pb.bootstrap()
    admin = AdminClient({"bootstrap.servers": brokers})
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="fk-bench-latency-"))
    m = pb.machine()
    print(f"latency benchmark: {m['cpus']} CPUs ({m['cpu']}), load average "
          f"{m['load_average'][0]:.1f}; rates {args.rates} events/s, {args.duration:g} s each; "
          f"logs in {workdir}", flush=True)

    def kcat(t, w):
        return pb.KcatPipeline(args.kcat, brokers, t, w)

    def fk(path):
        return lambda t, w: pb.FleetkeeperPipeline(path, brokers, t, w)

    sides = [("kcat", kcat)] + [(label, fk(path)) for label, path in binaries.items()]
    rounds = []
    for r in range(args.rounds):
        if args.rounds > 1:
            print(f"round {r + 1}", flush=True)
        rnd = {}
        for label, make in sides:
            rnd[label] = {}
            if args.backlog:
                rnd[label]["backlog"] = backlog(label, make, brokers, admin, args, workdir)
            if "skipped" in paths:
                rnd[label]["skipped"] = skipped_path(label, make, brokers, admin, args, workdir)
            if "alarm" in paths and label != "kcat":
                rnd[label]["alarm"] = alarm_path(label, binaries[label], brokers, admin, args,
                                                 workdir)
            if "start" in paths and label != "kcat":
                rnd[label]["start"] = [start_path(label, binaries[label], brokers, admin, args, n)
                                       for n in (0, args.checkpoints)]
        rounds.append(rnd)

    # Medians over the rounds, per side and measure; ratios against kcat of the same rounds.
    report = {"machine": m, "rates": args.rates, "duration_s": args.duration,
              "alarm_rate": args.alarm_rate, "rounds": rounds}
    print("\nmedians over", len(rounds), "round(s):")
    med = {}
    for label, _ in sides:
        med[label] = {}
        if "skipped" in paths:
            for rate in args.rates:
                med[label][rate] = {q: median([rnd[label]["skipped"]["rates"][rate][q]
                                               for rnd in rounds])
                                    for q in ("p50_ms", "p99_ms", "p999_ms")}
                s = med[label][rate]
                line = (f"  {label:<22} {rate:>6g}/s  p50 {s['p50_ms']:7.1f}  p99 "
                        f"{s['p99_ms']:7.1f}  p99.9 {s['p999_ms']:7.1f} ms")
                if label != "kcat":
                    k = med["kcat"][rate]
                    s["p99_vs_kcat"] = s["p99_ms"] / k["p99_ms"]
                    line += f"   p99 {s['p99_vs_kcat']:.2f}x kcat's"
                print(line)
        if "alarm" in paths and label != "kcat":
            a = {q: median([rnd[label]["alarm"][q] for rnd in rounds])
                 for q in ("p50_ms", "p99_ms")}
            med[label]["alarm"] = a
            print(f"  {label:<22} alarm {args.alarm_rate:g}/s -> SetDesiredCapacity  p50 "
                  f"{a['p50_ms']:.1f}  p99 {a['p99_ms']:.1f} ms")
        if "start" in paths and label != "kcat":
            st = {}
            for i, n in enumerate((0, args.checkpoints)):
                st[n] = {q: median([rnd[label]["start"][i][q] or float("nan") for rnd in rounds])
                         for q in ("to_first_consumed_ms", "to_first_result_ms", "idle_rss_mb")}
                print(f"  {label:<22} start, {n} checkpoint records: first record consumed "
                      f"{st[n]['to_first_consumed_ms']:.0f} ms, its result "
                      f"{st[n]['to_first_result_ms']:.0f} ms; idle RSS "
                      f"{st[n]['idle_rss_mb']:.1f} MB")
            med[label]["start"] = st
        if args.backlog:
            eps = [rnd[label]["backlog"]["events_per_s"] for rnd in rounds]
            med[label]["backlog_events_per_s"] = median(eps)
            line = f"  {label:<22} backlog {median(eps):9.0f} events/s"
            rss = [rnd[label]["backlog"]["peak_rss_mb"] for rnd in rounds
                   if rnd[label]["backlog"].get("peak_rss_mb")]
            if rss:
                med[label]["backlog_peak_rss_mb"] = median(rss)
                line += f", peak RSS {median(rss):.0f} MB"
            if label != "kcat":
                ratios = [rnd[label]["backlog"]["events_per_s"]
                          / rnd["kcat"]["backlog"]["events_per_s"] for rnd in rounds]
                med[label]["backlog_ratio"] = median(ratios)
                line += (f"   {median(ratios):.2f}x kcat (rounds: "
                         + ", ".join(f"{x:.2f}" for x in ratios) + ")")
            print(line)
    report["medians"] = {k: {str(r): v for r, v in d.items()} for k, d in med.items()}
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(report, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
