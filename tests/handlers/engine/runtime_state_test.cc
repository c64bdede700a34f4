// The durable workflow runtime's state: redelivered and duplicate events, dry run and the stale
// rule across a restore, restore from fleet.state records, abort, expiry, and the event ids each
// batch writes.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "handlers/engine/runtime.h"
#include "tests/handlers/engine/runtime_fixture.h"

namespace fleetkeeper::handlers::testing {
namespace {

using ::testing::HasSubstr;

constexpr int32_t kP = 3;

TEST(WorkflowRuntime, RedeliveredEventIdProducesNothing) {
  RuntimeRig rig;
  rig.Own(kP);
  const v1::Event ev = EcsCommand("req-7", "web");
  rig.Consume(kP, ev);
  rig.Commit();
  EXPECT_TRUE(rig.Consume(kP, ev).records.empty());
  rig.Commit();
  rig.Turn();
  EXPECT_TRUE(rig.Consume(kP, ev).records.empty()) << "after the workflow finished too";
  EXPECT_EQ(rig.handler().runs().size(), 1u);
  EXPECT_EQ(rig.committed().Results(v1::Result::SUCCEEDED).size(), 1u);
}

TEST(WorkflowRuntime, SameDedupKeyIsSkippedNamingTheOwner) {
  RuntimeRig rig;
  rig.handler().On("first", [](StepContext&) { return StepOutcome::Wait("second", 5000); });
  rig.Own(kP);
  const v1::Event ev = EcsCommand("req-8", "web");
  rig.Consume(kP, ev);
  rig.Commit();
  v1::Event twin = ev;
  twin.set_id("eventbridge-envelope-2");  // another carrier of the same request
  Batch b = rig.Consume(kP, twin);
  auto skipped = b.Results(v1::Result::SKIPPED);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0].workflow_id(), IdOf(ev));
  EXPECT_THAT(skipped[0].reason(), HasSubstr("workflow " + IdOf(ev) + " owns ecs:req-8"));
  EXPECT_EQ(b.Checkpoints().size(), 0u);
  EXPECT_EQ(rig.runtime().live_workflows(), 1u);
}

TEST(WorkflowRuntime, InstallRebuildsWorkflowsTimersLocksAndDedupFromRecords) {
  RuntimeRig rig;
  rig.handler().mutating = {"first", "second"};
  rig.handler().On("first", [](StepContext&) { return StepOutcome::Wait("second", 5000); });
  rig.Own(kP);
  const v1::Event a = EcsCommand("req-ia", "shared");
  const v1::Event gone = EcsCommand("req-ig", "other");
  rig.Consume(kP, a);
  rig.Consume(kP, gone);
  rig.Commit();
  rig.Turn();  // a holds asg:shared and waits 5 s
  const int64_t due = rig.clock().NowMs() + 5000;
  // A finished workflow removed by tombstones (as expiry writes them) must not come back.
  auto records = rig.state(kP);
  records.emplace_back("wf:" + IdOf(gone), "");
  records.emplace_back("dedup:ecs:req-ig", "");
  rig.set_state(kP, records);

  // A new owner: drop everything and restore from the records.
  rig.runtime().Drop(kP);
  EXPECT_FALSE(rig.runtime().Owns(kP));
  rig.Restore(kP);
  EXPECT_TRUE(rig.runtime().Owns(kP));
  EXPECT_EQ(rig.runtime().live_workflows(), 1u);

  // Event-id dedup survived: the same event produces nothing.
  EXPECT_TRUE(rig.Consume(kP, a).records.empty());
  // Dedup-key records survived: another carrier of the request is SKIPPED naming the owner.
  v1::Event twin = a;
  twin.set_id("other-carrier");
  auto skipped = rig.Consume(kP, twin).Results(v1::Result::SKIPPED);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0].workflow_id(), IdOf(a));
  // The lock survived: a new workflow on the same resource waits for the restored holder.
  const v1::Event c = EcsCommand("req-ic", "shared");
  rig.Consume(kP, c);
  rig.Commit();
  auto notes = rig.Turn().Results(v1::Result::IN_PROGRESS);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_THAT(notes[0].reason(), HasSubstr("held by " + IdOf(a)));
  // The timer survived: nothing runs before it is due, the step runs once it is.
  const size_t before = RunsOf(rig.handler(), "second");
  rig.clock().Advance(due - rig.clock().NowMs() - 1);
  rig.Turn();
  EXPECT_EQ(RunsOf(rig.handler(), "second"), before);
  rig.clock().Advance(1);
  rig.Turn();
  EXPECT_EQ(RunsOf(rig.handler(), "second"), before + 1);
  // The tombstoned workflow did not come back: its request is new again (under another event id:
  // ids expire by time, see EventIdsExpireByTime...).
  v1::Event gone_again = gone;
  gone_again.set_id("req-ig-again");
  Batch again = rig.Consume(kP, gone_again);
  EXPECT_EQ(again.Results(v1::Result::IN_PROGRESS).size(), 1u);
}

// Dry run belongs to the workflow: decided at admission, kept in its checkpoint, and the same after
// a restart under the other setting, either way.
TEST(WorkflowRuntime, DryRunIsTheWorkflowsOwnAcrossARestartWithTheOtherSetting) {
  for (const bool admitted_dry : {true, false}) {
    SCOPED_TRACE(admitted_dry ? "admitted dry" : "admitted for real");
    RuntimeOptions first = RuntimeRig::DefaultOptions();
    first.dry_run = admitted_dry;
    RuntimeRig before(first);
    before.handler().On("first", [](StepContext&) { return StepOutcome::Wait("second", 1000); });
    before.Own(kP);
    const v1::Event ev = EcsCommand(admitted_dry ? "req-dry" : "req-real", "web");
    Batch admitted = before.Consume(kP, ev);
    ASSERT_EQ(admitted.Checkpoints().size(), 1u);
    ASSERT_TRUE(admitted.Checkpoints()[0].has_dry_run());
    EXPECT_EQ(admitted.Checkpoints()[0].dry_run(), admitted_dry);
    before.Commit();
    before.Turn();  // "first" runs and waits

    RuntimeOptions second = RuntimeRig::DefaultOptions();
    second.dry_run = !admitted_dry;
    RuntimeRig after(second);
    after.set_state(kP, before.state(kP));
    after.Restore(kP);
    after.clock().Advance(before.clock().NowMs() - after.clock().NowMs() + 1000);
    after.Turn();
    auto runs = after.handler().runs();
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].step, "second");
    EXPECT_EQ(runs[0].dry_run, admitted_dry);
  }
}

TEST(WorkflowRuntime, ARequestsOwnDryRunMakesItsWorkflowDry) {
  RuntimeRig rig;  // the worker runs for real
  rig.Own(kP);
  v1::Event ev = EcsCommand("req-asks-dry", "web");
  ev.mutable_ecs_command()->set_dry_run(true);
  rig.Consume(kP, ev);
  rig.Commit();
  rig.Turn();
  auto runs = rig.handler().runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_TRUE(runs[0].dry_run);
}

// DESIGN.md: an event older (time) than the last one applied to the same resource is SKIPPED as
// stale, and the mark survives a restore.
TEST(WorkflowRuntime, AnEventOlderThanTheLastAppliedToItsResourceIsSkippedStale) {
  RuntimeRig rig(RuntimeRig::DefaultOptions(), v1::Event::kAlarm);
  rig.Own(kP);
  Batch first = rig.Consume(kP, AlarmAt("a-2", "2026-12-06T10:00:02Z", "ALARM"));
  ASSERT_EQ(first.Results(v1::Result::IN_PROGRESS).size(), 1u);
  rig.Commit();
  rig.Turn();

  // Delivered late: the state change before the one already applied.
  auto stale = rig.Consume(kP, AlarmAt("a-1", "2026-12-06T10:00:01Z", "OK")).Results();
  ASSERT_EQ(stale.size(), 1u);
  EXPECT_EQ(stale[0].status(), v1::Result::SKIPPED);
  EXPECT_THAT(stale[0].reason(), HasSubstr("stale"));
  EXPECT_THAT(stale[0].reason(),
              HasSubstr("alarm:arn:aws:cloudwatch:us-east-1:111122223333:alarm:web-5xx"));
  // The same instant is not older; a later one is applied and moves the mark.
  Batch same = rig.Consume(kP, AlarmAt("a-2b", "2026-12-06T10:00:02Z", "OK"));
  EXPECT_EQ(same.Results(v1::Result::IN_PROGRESS).size(), 1u);
  Batch later = rig.Consume(kP, AlarmAt("a-3", "2026-12-06T10:00:03Z", "ALARM"));
  EXPECT_EQ(later.Results(v1::Result::IN_PROGRESS).size(), 1u);
  rig.Commit();
  rig.Turn();

  // A new owner restores the mark from fleet.state.
  rig.runtime().Drop(kP);
  rig.Restore(kP);
  const v1::Event late = AlarmAt("a-2c", "2026-12-06T10:00:02Z", "INSUFFICIENT_DATA");
  auto after = rig.Consume(kP, late).Results();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].status(), v1::Result::SKIPPED);
  EXPECT_THAT(after[0].reason(), HasSubstr("stale"));
  // An alarm's time is its state change time, to the millisecond: an EventBridge envelope's
  // `time` in whole seconds does not make a later change look older.
  v1::Event via_sns = AlarmAt("a-4", "2026-12-06T10:00:04.500Z", "OK");
  EXPECT_EQ(rig.Consume(kP, via_sns).Results(v1::Result::IN_PROGRESS).size(), 1u);
  v1::Event via_eventbridge = AlarmAt("a-5", "2026-12-06T10:00:04Z", "ALARM");
  via_eventbridge.mutable_alarm()->set_state_time("2026-12-06T10:00:04.700Z");
  EXPECT_EQ(rig.Consume(kP, via_eventbridge).Results(v1::Result::IN_PROGRESS).size(), 1u);
  // Another resource has a mark of its own.
  v1::Event other = AlarmAt("b-1", "2026-12-06T09:00:00Z", "ALARM");
  other.mutable_alarm()->set_alarm_arn("arn:aws:cloudwatch:us-east-1:111122223333:alarm:db-cpu");
  EXPECT_EQ(rig.Consume(kP, other).Results(v1::Result::IN_PROGRESS).size(), 1u);
}

TEST(WorkflowRuntime, AbortDropsTouchedPartitionsAndDiscardsStaleCompletions) {
  RuntimeRig rig;
  auto gate = std::make_shared<Gate>();
  std::atomic<int> gated{0};
  rig.handler().On("first", [gate, &gated](StepContext&) {
    if (gated++ == 0) gate->Wait();
    return StepOutcome::Next("second");
  });
  rig.Own(kP);
  rig.Own(kP + 1);
  const v1::Event ev = EcsCommand("req-9", "web");
  rig.Consume(kP, ev);
  rig.Commit();
  rig.PumpOnce();  // "first" starts and blocks
  gate->WaitEntered();

  // Another event of the same partition lands in the batch, then the batch aborts.
  rig.Consume(kP, EcsCommand("req-10", "web2"));
  auto dropped = rig.Abort();
  EXPECT_EQ(dropped, (std::vector<int32_t>{kP}));
  EXPECT_FALSE(rig.runtime().Owns(kP));
  EXPECT_TRUE(rig.runtime().Owns(kP + 1)) << "an untouched partition is kept";

  rig.Restore(kP);  // what the worker does next
  EXPECT_EQ(rig.runtime().live_workflows(), 1u) << "req-10 never committed";
  gate->Release();
  rig.Settle();
  // The blocked step's completion belonged to the dropped state: discarded, no checkpoint.
  // The restored workflow runs "first" again (same attempt, so the same idempotency token).
  rig.Commit();
  rig.Turn();
  auto runs = rig.handler().runs();
  std::vector<StepRun> firsts;
  for (const auto& r : runs) {
    if (r.step == "first") firsts.push_back(r);
  }
  ASSERT_EQ(firsts.size(), 2u);
  EXPECT_EQ(firsts[0].token, firsts[1].token);
  EXPECT_EQ(rig.committed().Checkpoints().size(), 3u)  // creation, after first, final
      << "the stale completion must not write a checkpoint";
  EXPECT_EQ(rig.committed().Results(v1::Result::SUCCEEDED).size(), 1u);
}

TEST(WorkflowRuntime, FinishedWorkflowsAndDedupRecordsExpireWithTombstones) {
  RuntimeOptions o = RuntimeRig::DefaultOptions();
  o.dedup_retention_ms = 3600000;
  RuntimeRig rig(o);
  rig.Own(kP);
  const v1::Event ev = EcsCommand("req-13", "web");
  const int64_t seen_at = rig.clock().NowMs();
  rig.Consume(kP, ev);
  rig.Commit();
  rig.Turn();
  ASSERT_EQ(rig.committed().Results(v1::Result::SUCCEEDED).size(), 1u);
  rig.clock().Advance(3600000 - 1000);
  EXPECT_TRUE(rig.Turn().Tombstones().empty()) << "within retention";
  rig.clock().Advance(120000);
  auto tombstones = rig.Turn().Tombstones();
  std::sort(tombstones.begin(), tombstones.end());
  EXPECT_EQ(tombstones,
            (std::vector<std::string>{"dedup:ecs:req-13", SeenEventsRecord(seen_at, "req-13"),
                                      "wf:" + IdOf(ev)}));
  // A restore from the compacted log sees none of it: the request id is free again.
  rig.runtime().Drop(kP);
  rig.Restore(kP);
  EXPECT_EQ(rig.Consume(kP, ev).Results(v1::Result::IN_PROGRESS).size(), 1u);
}

// The SeenEvents records of fleet.state partition p: key -> ids, in offset order.
std::vector<std::pair<std::string, std::vector<std::string>>> SeenRecords(RuntimeRig& rig,
                                                                          int32_t p) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (const auto& [key, value] : rig.state(p)) {
    if (key.rfind("seen:", 0) != 0 || value.empty()) continue;
    v1::StateRecord sr;
    EXPECT_TRUE(sr.ParseFromString(value)) << key;
    EXPECT_EQ(sr.record_case(), v1::StateRecord::kSeen) << key;
    out.emplace_back(
        key, std::vector<std::string>(sr.seen().event_ids().begin(), sr.seen().event_ids().end()));
  }
  return out;
}

TEST(WorkflowRuntime, EventIdsAreWrittenOnceARecordPerPartitionAndBatch) {
  RuntimeRig rig;
  constexpr int32_t kQ = kP + 1;
  rig.Own(kP);
  rig.Own(kQ);
  const int64_t t0 = rig.clock().NowMs();
  for (const char* w : {"a", "b", "c"}) {
    rig.Consume(kP, ApprovalFor(std::string("111122223333/us-east-1/") + w));
  }
  rig.Consume(kQ, ApprovalFor("111122223333/us-east-1/d"));
  rig.clock().Advance(40);
  rig.Consume(kQ, ApprovalFor("111122223333/us-east-1/e"));
  rig.Commit();

  const std::string a = ApprovalFor("111122223333/us-east-1/a").id();
  const std::string d = ApprovalFor("111122223333/us-east-1/d").id();
  auto p = SeenRecords(rig, kP);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].first, SeenEventsRecord(t0, a)) << "named by the newest time and first id";
  EXPECT_EQ(p[0].second, (std::vector<std::string>{a, ApprovalFor("111122223333/us-east-1/b").id(),
                                                   ApprovalFor("111122223333/us-east-1/c").id()}));
  auto q = SeenRecords(rig, kQ);
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].first, SeenEventsRecord(t0 + 40, d));
  EXPECT_EQ(q[0].second.size(), 2u);

  // A batch without work items writes none.
  rig.Turn();
  EXPECT_EQ(SeenRecords(rig, kP).size(), 1u);
  EXPECT_EQ(SeenRecords(rig, kQ).size(), 1u);

  // Redeliveries get nothing, before and after a restore from the records.
  EXPECT_TRUE(rig.Consume(kP, ApprovalFor("111122223333/us-east-1/b")).records.empty());
  rig.runtime().Drop(kQ);
  rig.Restore(kQ);
  EXPECT_TRUE(rig.Consume(kQ, ApprovalFor("111122223333/us-east-1/e")).records.empty());
  EXPECT_EQ(rig.Consume(kQ, ApprovalFor("111122223333/us-east-1/f")).Results().size(), 1u);
}

TEST(WorkflowRuntime, AnAbortedBatchWritesNoEventIdsAndForgetsThem) {
  RuntimeRig rig;
  rig.Own(kP);
  const v1::Event ev = ApprovalFor("111122223333/us-east-1/lost");
  rig.Consume(kP, ev);
  EXPECT_EQ(rig.Abort(), (std::vector<int32_t>{kP}));
  rig.Restore(kP);
  rig.Commit();
  EXPECT_TRUE(SeenRecords(rig, kP).empty());
  // Read again after the abort, the event gets its outcome.
  EXPECT_EQ(rig.Consume(kP, ev).Results(v1::Result::REJECTED).size(), 1u);
  rig.Commit();
  ASSERT_EQ(SeenRecords(rig, kP).size(), 1u);
  EXPECT_EQ(SeenRecords(rig, kP)[0].second, std::vector<std::string>{ev.id()});
}

TEST(WorkflowRuntime, ALargeBatchsEventIdsAreSplitOverRecordsUnderTheSizeLimit) {
  RuntimeRig rig;
  rig.Own(kP);
  std::vector<std::string> ids;
  for (int i = 0; i < 3000; ++i) {
    v1::Event ev = ApprovalFor(fmt::format("111122223333/us-east-1/{:0>120}", i));
    ids.push_back(ev.id());
    rig.Consume(kP, ev);
  }
  rig.Commit();
  auto records = SeenRecords(rig, kP);
  ASSERT_GE(records.size(), 2u) << "3000 ids of ~150 bytes";
  std::vector<std::string> all;
  for (const auto& [key, part] : records) {
    ASSERT_FALSE(part.empty());
    EXPECT_EQ(key.substr(key.find('/') + 1), part.front()) << "named by its first id";
    size_t bytes = 0;
    for (const auto& id : part) bytes += id.size();
    EXPECT_LE(bytes, 300u * 1024) << key;
    all.insert(all.end(), part.begin(), part.end());
  }
  EXPECT_EQ(all, ids) << "every id once, in order";
  std::set<std::string> keys;
  for (const auto& r : records) keys.insert(r.first);
  EXPECT_EQ(keys.size(), records.size()) << "distinct keys: compaction keeps each";
}

TEST(WorkflowRuntime, EventIdsExpireByTimeWhateverTheirRecordAndAnIdSeenAgainIsKept) {
  RuntimeOptions o = RuntimeRig::DefaultOptions();
  o.dedup_retention_ms = 3600000;
  RuntimeRig rig(o);
  rig.Own(kP);
  // A record of the per-id form written before SeenEvents, restored and expired like the others.
  v1::StateRecord legacy;
  legacy.mutable_dedup()->set_event_id("old-id");
  legacy.mutable_dedup()->set_at_ms(rig.clock().NowMs());
  rig.set_state(kP, {{EventIdRecord("old-id"), legacy.SerializeAsString()}});
  rig.Restore(kP);
  const v1::Event x = ApprovalFor("111122223333/us-east-1/x");
  rig.Consume(kP, x);
  rig.Commit();
  v1::Event old = ApprovalFor("111122223333/us-east-1/old");
  old.set_id("old-id");
  EXPECT_TRUE(rig.Consume(kP, old).records.empty()) << "the per-id record is still read";
  const std::string first_key = SeenRecords(rig, kP).at(0).first;

  rig.clock().Advance(3600000 + 61000);
  auto tombstones = rig.Turn().Tombstones();
  std::sort(tombstones.begin(), tombstones.end());
  EXPECT_EQ(tombstones, (std::vector<std::string>{EventIdRecord("old-id"), first_key}));
  // Past the retention the id is free again, and a new record holds it.
  EXPECT_EQ(rig.Consume(kP, x).Results(v1::Result::REJECTED).size(), 1u);
  rig.Commit();

  // A restore of the log before compaction (old record, its tombstone, the new record) keeps the
  // id: the new record's time, not the old record's tombstone, decides.
  rig.runtime().Drop(kP);
  rig.Restore(kP);
  EXPECT_TRUE(rig.Consume(kP, x).records.empty());
  // And a restore of an expired record that has no tombstone yet forgets its ids.
  auto only_old = rig.state(kP);
  std::erase_if(only_old,
                [&](const auto& kv) { return kv.first != first_key || kv.second.empty(); });
  ASSERT_EQ(only_old.size(), 1u);
  rig.set_state(kP, only_old);
  rig.runtime().Drop(kP);
  rig.Restore(kP);
  EXPECT_EQ(rig.Consume(kP, x).Results(v1::Result::REJECTED).size(), 1u);
  rig.Commit();
  rig.clock().Advance(61000);
  auto late = rig.Turn().Tombstones();
  EXPECT_EQ(late, std::vector<std::string>{first_key}) << "the expired record is tombstoned";
}

}  // namespace
}  // namespace fleetkeeper::handlers::testing
