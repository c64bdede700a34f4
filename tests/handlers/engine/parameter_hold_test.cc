// A parameter change for a parameter under rollout: its dedup key is the parameter's name and the
// event carries no version, so the runtime holds it as a signal of the rollout that owns the key,
// and a finishing step that only read does not finish on a read older than the event.
#include <gtest/gtest.h>

#include <atomic>

#include "handlers/engine/runtime.h"
#include "tests/handlers/engine/runtime_fixture.h"

namespace fleetkeeper::handlers::testing {
namespace {

using ::testing::HasSubstr;

constexpr int32_t kP = 2;

// A Parameter Store change of `name` (the normalizer's form: consumers/normalize_eventbridge.cc).
v1::Event Put(const std::string& id, const std::string& name = "/ami/linux/web") {
  v1::Event e;
  e.set_id(id);
  e.set_dedup_key("param:" + name);
  e.set_account("111122223333");
  e.set_region("us-east-1");
  e.mutable_parameter_change()->set_name(name);
  e.mutable_parameter_change()->set_operation("Update");
  return e;
}

class ParameterHold : public ::testing::Test {
 protected:
  ParameterHold() : rig(RuntimeRig::DefaultOptions(), v1::Event::kParameterChange) {
    rig.handler().On("first", [](StepContext&) { return StepOutcome::Next("check"); });
    rig.Own(kP);
  }

  // The rollout admitted and its first step applied and committed: "check" is due.
  std::string Start() {
    const v1::Event put = Put("evt-put-1");
    Batch admitted = rig.Consume(kP, put);
    EXPECT_EQ(admitted.Results(v1::Result::IN_PROGRESS).size(), 1u);
    rig.Commit();
    rig.Turn();  // runs "first"
    return IdOf(put);
  }

  RuntimeRig rig;
};

TEST_F(ParameterHold, AChangeArrivingWhileTheLastReadRunsMakesItReadAgain) {
  Gate gate;
  std::atomic<int> reads{0};
  rig.handler().On("check", [&](StepContext& c) {
    if (++reads == 1) gate.Wait();
    return StepOutcome::Finish(v1::Result::SUCCEEDED,
                               "read with " + std::to_string(c.signals().size()) + " signal(s)");
  });
  const std::string id = Start();
  rig.PumpOnce();  // "check" starts and blocks
  gate.WaitEntered();

  Batch dup = rig.Consume(kP, Put("evt-put-2"));
  auto skipped = dup.Results(v1::Result::SKIPPED);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_THAT(skipped[0].reason(), HasSubstr("duplicate: workflow " + id));
  EXPECT_THAT(skipped[0].reason(), HasSubstr("reads the parameter again before it finishes"));
  auto held = dup.Checkpoints();
  ASSERT_EQ(held.size(), 1u) << "the held event is checkpointed with the SKIPPED result";
  EXPECT_EQ(held[0].pending_signals_size(), 1);

  gate.Release();
  Batch first_read = rig.Settle();
  EXPECT_TRUE(first_read.Results(v1::Result::SUCCEEDED).empty())
      << "finished on a read that began before the newer put's event";
  rig.Commit();
  Batch second_read = rig.Turn();

  ASSERT_EQ(RunsOf(rig.handler(), "check"), 2u);
  EXPECT_EQ(rig.handler().runs().back().signals, 1u);
  auto done = second_read.Results(v1::Result::SUCCEEDED);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_THAT(done[0].reason(), HasSubstr("read with 1 signal(s)"));
  EXPECT_EQ(done[0].correlation_id(), "evt-put-1");
}

TEST_F(ParameterHold, AChangeBeforeTheLastReadIsSeenByItAndNothingRunsTwice) {
  rig.handler().On("check", [](StepContext& c) {
    return StepOutcome::Finish(v1::Result::SUCCEEDED,
                               "read with " + std::to_string(c.signals().size()) + " signal(s)");
  });
  Start();
  // Both events of one put, and a redelivery: one signal is enough for a read after them.
  for (const char* id : {"evt-put-2", "evt-put-3", "evt-put-4"}) {
    ASSERT_EQ(rig.Consume(kP, Put(id)).Results(v1::Result::SKIPPED).size(), 1u);
  }
  rig.Commit();
  Batch b = rig.Turn();
  EXPECT_EQ(RunsOf(rig.handler(), "check"), 1u);
  EXPECT_EQ(rig.handler().runs().back().signals, 1u);
  ASSERT_EQ(b.Results(v1::Result::SUCCEEDED).size(), 1u);
}

TEST_F(ParameterHold, TheHeldChangeSurvivesARestore) {
  std::atomic<int> reads{0};
  rig.handler().On("check", [&](StepContext& c) {
    ++reads;
    return StepOutcome::Finish(v1::Result::SUCCEEDED,
                               "read with " + std::to_string(c.signals().size()) + " signal(s)");
  });
  Start();
  rig.Consume(kP, Put("evt-put-2"));
  rig.Commit();
  rig.Restore(kP);  // a rebalance: the partition is rebuilt from fleet.state alone
  Batch b = rig.Turn();
  EXPECT_EQ(reads.load(), 1);
  EXPECT_EQ(rig.handler().runs().back().signals, 1u);
  EXPECT_EQ(b.Results(v1::Result::SUCCEEDED).size(), 1u);
}

TEST_F(ParameterHold, AStepThatChangedAwsFinishesAndOtherKeysAreNotHeld) {
  Gate gate;
  rig.handler().mutating = {"check"};
  rig.handler().On("check", [&](StepContext&) {
    gate.Wait();
    return StepOutcome::Finish(v1::Result::FAILED, "replaced one instance, then failed");
  });
  const std::string id = Start();
  rig.PumpOnce();
  gate.WaitEntered();
  rig.Consume(kP, Put("evt-put-2"));
  // Another parameter is a workflow of its own, not a signal of this one.
  Batch other = rig.Consume(kP, Put("evt-other", "/ami/linux/db"));
  EXPECT_EQ(other.Results(v1::Result::IN_PROGRESS).size(), 1u);
  gate.Release();
  Batch b = rig.Settle();
  auto failed = b.Results(v1::Result::FAILED);
  ASSERT_EQ(failed.size(), 1u) << "a step that changed AWS reports what it did";
  EXPECT_EQ(failed[0].workflow_id(), id);
  EXPECT_EQ(RunsOf(rig.handler(), "check"), 1u);
}

}  // namespace
}  // namespace fleetkeeper::handlers::testing
