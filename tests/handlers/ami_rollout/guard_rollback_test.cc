// The rollback of an AMI rollout on a guard alarm (docs/safety.md, "Rollback on a guard alarm"):
// the runtime sets the workflow's guard_rollback when the alarm goes to ALARM; here it is set
// mid-rollout, as the runtime would between two steps. The fake follows the EC2 API reference
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RunInstances.html,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateReplaceRootVolumeTask.html).
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "tests/handlers/ami_rollout/rollout_fixture.h"

namespace fleetkeeper::handlers::ami_rollout::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kWhy[] =
    "rolled back on guard alarm web-5xx (in ALARM since 2026-12-07T01:50:03.120Z, guarding tg:x)";

// Three standalone web servers in one target group, each with a data volume, replaced one at a
// time.
class GuardRollbackTest : public RolloutTest {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) {
      const std::string id =
          fleet.AddInstance(kOldAmi, {{kParameterTag, kParameter}, {"Name", "web"}}).instance.id;
      ids.push_back(id);
      volumes.push_back(fleet.AddVolume(id, "/dev/sdf", 10));
    }
    tg = fleet.AddTargetGroup("web", ids);
    ami().mutable_replacement()->set_max_concurrency(1);
    ami().mutable_replacement()->set_max_unavailable(1);
  }

  const v1::InstanceRollout* Rollout(const std::string& id) const {
    static v1::AmiRolloutState state;
    state = State();
    for (const auto& r : state.instances()) {
      if (r.instance_id() == id || r.reverses() == id) return &r;
    }
    return nullptr;
  }

  // Runs the workflow step by step until `when()`, then sets the guard rollback as the runtime
  // does, and runs it to its end. With `twice`, each step after the alarm runs twice from the
  // checkpoint it started with (a kill -9 after its calls, before its checkpoint).
  StepOutcome RunWithAlarmWhen(const std::function<bool()>& when, bool twice = false) {
    bool alarmed = false;
    StepOutcome o = RunStepwise([&] {
      if (!alarmed && wf.step() == kStepRollOut && when()) {
        wf.set_guard_rollback(kWhy);
        alarmed = true;
      }
      return alarmed && twice;
    });
    EXPECT_TRUE(alarmed) << "the alarm never went off";
    return o;
  }

  // The result's outcome of the first instance: rolled back, naming the alarm.
  const v1::Action* ExpectRolledBack(const std::string& strategy) {
    const v1::Action* a = ActionFor("instance:" + ids[0], strategy);
    EXPECT_NE(a, nullptr) << Describe();
    if (a == nullptr) return nullptr;
    EXPECT_EQ(a->status(), "rolled-back") << a->detail();
    EXPECT_THAT(a->detail(), HasSubstr("web-5xx"));
    return a;
  }

  bool Replaced(const std::string& id) const {
    const v1::InstanceRollout* r = Rollout(id);
    return r != nullptr && r->phase() == kPhaseDone && r->outcome() == kSucceeded;
  }

  // Never stopped, deregistered or replaced: on the old image, in service, with its volume.
  void ExpectUntouched(size_t k) {
    const std::string& id = ids[k];
    EXPECT_EQ(fleet.StateOf(id), "running") << id;
    EXPECT_EQ(fleet.Get(id).image_id, kOldAmi) << id;
    EXPECT_FALSE(fleet.ReplacementOf(id)) << id;
    EXPECT_EQ(fleet.AttachedTo(volumes[k]), id);
    EXPECT_EQ(fleet.target_groups.at(tg).targets.at(id), "healthy") << id;
    const v1::Action* a = ActionFor("instance:" + id, "relaunch");
    if (a == nullptr) a = ActionFor("instance:" + id, "replace-root-volume");
    ASSERT_NE(a, nullptr) << Describe();
    EXPECT_EQ(a->status(), "skipped") << a->detail();
    EXPECT_THAT(a->detail(), HasSubstr("web-5xx"));
  }

  std::vector<std::string> ids, volumes;
  std::string tg;
};

TEST_F(GuardRollbackTest, AReplacedInstanceIsRelaunchedOnItsOldImageAndTheOthersAreLeftAlone) {
  bool guarded = false;  // an alarm on the replaced instance alone rolls the rollout back
  StepOutcome last = RunWithAlarmWhen([&] {
    if (!Replaced(ids[0])) return false;
    const auto locked = Handler().LockedResources(wf);
    const auto watched = Handler().GuardedResources(wf);
    const std::string fresh = "instance:" + Rollout(ids[0])->new_instance_id();
    guarded = std::count(locked.begin(), locked.end(), fresh) == 0 &&
              std::count(watched.begin(), watched.end(), fresh) == 1;
    return true;
  });
  EXPECT_TRUE(guarded);

  EXPECT_EQ(last.status, v1::Result::FAILED) << Describe();
  EXPECT_THAT(last.reason, HasSubstr("guard alarm web-5xx"));
  // The first instance was replaced, and its replacement replaced again, from the old image,
  // with the data volume carried over twice.
  auto first = fleet.ReplacementOf(ids[0]);
  ASSERT_TRUE(first);
  EXPECT_EQ(fleet.StateOf(*first), "terminated");
  auto back = fleet.ReplacementOf(*first);
  ASSERT_TRUE(back) << Describe();
  EXPECT_EQ(fleet.Get(*back).image_id, kOldAmi);
  EXPECT_EQ(fleet.StateOf(*back), "running");
  EXPECT_EQ(fleet.AttachedTo(volumes[0]), *back);
  EXPECT_EQ(fleet.target_groups.at(tg).targets.at(*back), "healthy");
  const v1::Action* a = ExpectRolledBack("relaunch");
  ASSERT_NE(a, nullptr);
  EXPECT_THAT(a->detail(), HasSubstr(kOldAmi));
  EXPECT_THAT(a->detail(), HasSubstr(*back));
  ExpectUntouched(1);
  ExpectUntouched(2);
}

TEST_F(GuardRollbackTest, AReplacementUnderWayTakesTheRollbackPathToTheOldInstance) {
  // The new instance runs and waits to be healthy when the alarm goes off.
  StepOutcome last = RunWithAlarmWhen([&] {
    const v1::InstanceRollout* r = Rollout(ids[0]);
    return r != nullptr && !r->new_instance_id().empty() && r->phase() != kPhaseDone;
  });

  EXPECT_EQ(last.status, v1::Result::FAILED) << Describe();
  auto fresh = fleet.ReplacementOf(ids[0]);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fleet.StateOf(*fresh), "terminated");
  EXPECT_EQ(fleet.StateOf(ids[0]), "running");
  EXPECT_EQ(fleet.Get(ids[0]).image_id, kOldAmi);
  EXPECT_EQ(fleet.AttachedTo(volumes[0]), ids[0]);
  EXPECT_TRUE(fleet.target_groups.at(tg).targets.count(ids[0]));
  ExpectRolledBack("relaunch");
  ExpectUntouched(1);
  ExpectUntouched(2);
}

TEST_F(GuardRollbackTest, AReplacedRootVolumeIsReplacedAgainWithTheOldImage) {
  ami().mutable_replacement()->set_strategy("replace-root-volume");
  StepOutcome last = RunWithAlarmWhen([&] { return Replaced(ids[0]); });

  EXPECT_EQ(last.status, v1::Result::FAILED) << Describe();
  ASSERT_EQ(fleet.tasks.size(), 2u) << Describe();
  EXPECT_EQ(fleet.tasks[0].image_id, kNewAmi);
  EXPECT_EQ(fleet.tasks[1].image_id, kOldAmi);
  EXPECT_EQ(fleet.Get(ids[0]).image_id, kOldAmi);
  EXPECT_FALSE(fleet.ReplacementOf(ids[0]));
  EXPECT_EQ(fleet.target_groups.at(tg).targets.at(ids[0]), "healthy");
  ExpectRolledBack("replace-root-volume");
  ExpectUntouched(1);
  ExpectUntouched(2);
}

TEST_F(GuardRollbackTest, TheDecisionsAreCheckpointedAndARerunOfEveryStepChangesNothingMore) {
  // Each step after the alarm runs twice: still one reversal, the others untouched.
  StepOutcome o = RunWithAlarmWhen([&] { return Replaced(ids[0]); }, true);
  EXPECT_EQ(o.status, v1::Result::FAILED) << Describe();
  auto first = fleet.ReplacementOf(ids[0]);
  ASSERT_TRUE(first);
  EXPECT_EQ(fleet.CountReplacementsOf(*first), 1);
  EXPECT_EQ(fleet.Get(*fleet.ReplacementOf(*first)).image_id, kOldAmi);
  ExpectUntouched(1);
  ExpectUntouched(2);
}

}  // namespace
}  // namespace fleetkeeper::handlers::ami_rollout::testing
