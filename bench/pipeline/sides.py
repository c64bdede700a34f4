"""The sides of the pipeline benchmark (pipeline_bench.py): `fleetkeeper run` (with its operator
listener scraped, or off) and two kcat pipes making the same two hops."""

import os
import re
import signal
import subprocess
import threading
import time
import urllib.request


# --- the two pipelines ----------------------------------------------------------------------------

class FleetkeeperPipeline:
    name = "fleetkeeper"

    def __init__(self, binary, brokers, topics, workdir, name="fleetkeeper", listener=True,
                 scrape_interval=0.1):
        self.binary = binary
        self.topics = topics
        self.name, self.listener, self.scrape_interval = name, listener, scrape_interval
        self.log = workdir / f"{name}.log"
        self.config = workdir / f"{name}.yaml"
        self.scraper = None
        # Settings to compare, read once: they go into the config and into describe().
        # FK_BENCH_KAFKA: extra librdkafka properties, e.g. '"linger.ms": "20"'.
        # FK_BENCH_TXN: kafka_transactions (on by default).
        # FK_BENCH_RUNTIME: extra runtime settings, e.g. "batch_max_records: 2000".
        self.kafka_extra = [p.strip() for p in os.environ.get("FK_BENCH_KAFKA", "").split(",")
                            if p.strip()]
        self.txn = os.environ.get("FK_BENCH_TXN", "on")
        self.runtime = os.environ.get("FK_BENCH_RUNTIME", "")
        self.config.write_text("\n".join([
            "kafka:",
            f'  "bootstrap.servers": "{brokers}"',
            f'  "group.id": "{topics.prefix}-group"',
            f'  "transactional.id": "{topics.prefix}-worker"',
            *[f"  {p}" for p in self.kafka_extra],
            f'kafka_transactions: "{self.txn}"',
            "topics:",
            f"  inputs: [{', '.join(topics.inputs)}]",
            f"  work: {topics.work}",
            f"  results: {topics.results}",
            f"  dlq: {topics.dlq}",
            f"  state: {topics.state}",
            f"  control: {topics.control}",
            f"  partitions: {topics.work_partitions}",
            "aws: {region: us-east-1, default_account: '111122223333'}",
            # Any free port: other workers on the machine may hold the default one.
            "observability: {listen: " + ("'127.0.0.1:0'" if listener else "'off'") + "}",
            f"runtime: {{{self.runtime}}}",
            # FK_BENCH_LOG_LEVEL=debug: a line per batch (records, fill and commit times).
            f"log: {{level: {os.environ.get('FK_BENCH_LOG_LEVEL', 'info')}}}",
            "",
        ]))
        self.proc = None
        self.logfh = None

    def describe(self):
        extra = f", kafka: {{{', '.join(self.kafka_extra)}}}" if self.kafka_extra else ""
        listener = (f"listener on, /metrics scraped every {self.scrape_interval:g} s" if self.listener
                    else "listener off")
        return (f"{self.binary} run, kafka_transactions: {self.txn}, "
                f"runtime: {self.runtime or 'default batching'}{extra}, {listener}")

    def start(self):
        self.logfh = open(self.log, "w")
        # FK_BENCH_WRAP: a command to run the worker under, e.g. "perf record -g -o FILE".
        wrap = os.environ.get("FK_BENCH_WRAP", "").split()
        self.proc = subprocess.Popen(wrap + [self.binary, "run", "--config", str(self.config)],
                                     stdout=self.logfh, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while "worker started" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None:
                raise RuntimeError(f"fleetkeeper exited with {self.proc.returncode}:\n"
                                   + self.log.read_text(errors="replace")[-3000:])
            if time.time() > deadline:
                raise RuntimeError("fleetkeeper did not start in 60 s; see " + str(self.log))
            time.sleep(0.05)
        if self.listener:
            self.scraper = Scraper(self.log, self.scrape_interval)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def pids(self):
        return [self.proc.pid] if self.proc else []

    def stop(self):
        if self.scraper:
            self.scraper.stop()
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.logfh:
            self.logfh.close()


class Scraper:
    """GETs the worker's /metrics every `interval` seconds, as a (very eager) Prometheus would."""

    def __init__(self, log, interval):
        m = None
        deadline = time.time() + 10
        while m is None and time.time() < deadline:
            m = re.search(r"observability: /metrics, /healthz and /readyz on \S+:(\d+)",
                          log.read_text(errors="replace"))
            time.sleep(0.05)
        if m is None:
            raise RuntimeError(f"the worker did not say where it listens; see {log}")
        self.url = f"http://127.0.0.1:{m.group(1)}/metrics"
        self.interval, self.scrapes, self.stopped = interval, 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped.wait(self.interval):
            try:
                with urllib.request.urlopen(self.url, timeout=5) as r:
                    r.read()
                self.scrapes += 1
            except OSError:
                pass  # the worker stopping

    def stop(self):
        self.stopped.set()
        self.thread.join(10)


class KcatPipeline:
    name = "kcat"

    def __init__(self, kcat, brokers, topics, workdir):
        self.kcat = kcat
        self.brokers = brokers
        self.topics = topics
        self.log = workdir / "kcat.log"
        self.procs = []
        self.logfh = None

    def describe(self):
        return ("kcat -C -G (auto commit, -u) | kcat -P, twice; key and value copied unchanged, "
                "no transactions, no parsing")

    def _hop(self, group, sources, sink):
        # -f '%k\t%s\n' / -K '\t': key and value on one line (the JSON inputs hold no raw tab or
        # newline); -u writes each record at once instead of buffering stdout.
        consumer = subprocess.Popen(
            [self.kcat, "-C", "-b", self.brokers, "-G", group, "-X", "auto.offset.reset=earliest",
             "-q", "-u", "-f", "%k\\t%s\\n", *sources],
            stdout=subprocess.PIPE, stderr=self.logfh)
        producer = subprocess.Popen(
            [self.kcat, "-P", "-b", self.brokers, "-t", sink, "-K", "\\t"],
            stdin=consumer.stdout, stderr=self.logfh)
        consumer.stdout.close()  # the producer owns the read end now
        self.procs += [consumer, producer]

    def start(self):
        self.logfh = open(self.log, "w")
        self._hop(f"{self.topics.prefix}-hop1", self.topics.inputs, self.topics.work)
        self._hop(f"{self.topics.prefix}-hop2", [self.topics.work], self.topics.results)

    def alive(self):
        return all(p.poll() is None for p in self.procs)

    def pids(self):
        return [p.pid for p in self.procs]

    def stop(self):
        # Consumers first: their producers then see end of input and flush.
        for p in self.procs[0::2] + self.procs[1::2]:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if self.logfh:
            self.logfh.close()
