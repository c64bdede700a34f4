"""A flood of 1,000,000 input records (10% unreadable, one of 1.2 MB) on the real Kafka broker,
produced as fast as the client can, while the worker reads them (docs/reliability.md, "Resource
bounds"): the worker's resident memory stays under the bound its configuration implies, sampled
every 0.2 s from /proc, and every input gets exactly one outcome (read_committed).

What bounds the memory under a backlog of inputs: librdkafka's prefetch stops fetching once its
queue holds `queued.max.messages.kbytes` (set here to 32 MiB), and a batch holds at most
`runtime.batch_max_records` records (30,000) until it commits. Workflows are bounded by
`runtime.max_pending_per_partition` (test_backpressure.py); the inputs here start none.

Part of the fault suites (scripts/faults.sh): it takes minutes, beyond the test command's budget.
The input mix is the pipeline tests' (harness.good_record, bad_record), whose event forms cite
their AWS documentation pages there."""

import os
import threading
import time

import pytest
from confluent_kafka.admin import AdminClient

from harness import TopicSet, WorkerProcess, bootstrap
from inputs import InputDriver, assert_exactly_one, collect_outcomes

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

# FK_FLOOD_N, FK_FLOOD_PREFETCH_KB and FK_FLOOD_BATCH change the sizes (to see what the bound is
# made of); the defaults are the scenario docs/reliability.md records.
N = int(os.environ.get("FK_FLOOD_N", 1_000_000))
PREFETCH_KB = int(os.environ.get("FK_FLOOD_PREFETCH_KB", 32 * 1024))
BATCH = int(os.environ.get("FK_FLOOD_BATCH", 30000))
# The bound the configuration implies (docs/reliability.md, "Resource bounds"): 100 MB for the
# process, its threads' allocator arenas and the ingest lane; twice the prefetch (records fetched,
# and the same records held in the batch until it commits); 6 KB per record of a batch (the input,
# its result or work item, and their copies in the producer's queue until the commit). Measured,
# not derived: peaks of 102-107 MB at 8 MiB / 5,000 (bound 145) and 153-277 MB at 32 MiB / 30,000
# (bound 339) over 1,000,000 inputs; the faster the flood arrives, the higher the peak.
BOUND_MB = 100 + 2 * PREFETCH_KB // 1024 + 6 * BATCH // 1024
CONFIG = f"runtime: {{batch_max_records: {BATCH}}}\nhandlers:\n  ami_rollout: {{enabled: false}}\n"


class RssSampler:
    """VmRSS of a process every 0.2 s, from /proc/<pid>/status."""

    def __init__(self, pid):
        self.pid, self.samples, self.stopped = pid, [], False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped:
            try:
                with open(f"/proc/{self.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            self.samples.append((time.time(), int(line.split()[1]) // 1024))
            except OSError:
                return
            time.sleep(0.2)

    def stop(self):
        self.stopped = True
        self.thread.join(5)
        return max((mb for _, mb in self.samples), default=0)


def test_a_million_inputs_stay_under_the_memory_bound_and_each_gets_one_outcome(tmp_path):
    topics = TopicSet(inputs=(6, 6), work_partitions=6)
    topics.create(AdminClient({"bootstrap.servers": bootstrap()}))
    cfg = topics.config_yaml({"transactional.id": topics.prefix + "-flood",
                              "queued.max.messages.kbytes": str(PREFETCH_KB)}, extra=CONFIG)
    worker = WorkerProcess(cfg, "flood", workdir=tmp_path)
    try:
        worker.start()
        rss = RssSampler(worker.proc.pid)
        started = time.time()
        driver = InputDriver(topics, N).start()
        driver.join()
        produced_s = time.time() - started
        outcomes = collect_outcomes(topics, driver.delivered, timeout=900)
        done_s = time.time() - started
        peak = rss.stop()
        assert_exactly_one(outcomes, driver.delivered)
        dlq = sum(1 for v in outcomes.values() if v[0][0] == "DLQ")
        assert 0.08 * N < dlq < 0.12 * N, dlq
        print(f"\nflood: {N} inputs produced in {produced_s:.0f} s, all outcomes read after "
              f"{done_s:.0f} s; {dlq} dead-lettered; worker RSS peak {peak} MB "
              f"(bound {BOUND_MB} MB), {len(rss.samples)} samples")
        assert worker.proc.poll() is None, worker.tail()
        assert peak <= BOUND_MB, (peak, BOUND_MB)
    finally:
        worker.kill()
