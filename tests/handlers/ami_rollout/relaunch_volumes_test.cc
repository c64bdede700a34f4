// The data volumes of a relaunch: the forward detach and attach go out without a look first
// (relaunch.cc), and the volumes are read only when EC2 refuses one. Repeated after a crash, EC2
// refuses them (the volume is detached already, or attached to the new instance already), and the
// read shows the repeat is done, not failed. The fake refuses as the EC2 API reference says:
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DetachVolume.html,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AttachVolume.html.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/handlers/ami_rollout/rollout_fixture.h"

namespace fleetkeeper::handlers::ami_rollout::testing {
namespace {

int Count(const std::vector<std::string>& calls, const std::string& op) {
  return static_cast<int>(std::count(calls.begin(), calls.end(), op));
}

// One standalone instance with two data volumes.
class RelaunchVolumesTest : public RolloutTest {
 protected:
  void SetUp() override {
    old_id = fleet.AddInstance(kOldAmi, {{kParameterTag, kParameter}}).instance.id;
    data = fleet.AddVolume(old_id, "/dev/sdf", 100);
    logs = fleet.AddVolume(old_id, "/dev/sdg", 50);
  }

  void ExpectMovedOnce() {
    ASSERT_EQ(outcomes.back().status, v1::Result::SUCCEEDED) << Describe();
    EXPECT_EQ(fleet.CountReplacementsOf(old_id), 1);
    auto replacement = fleet.ReplacementOf(old_id);
    ASSERT_TRUE(replacement);
    EXPECT_EQ(fleet.AttachedTo(data), *replacement);
    EXPECT_EQ(fleet.DeviceOf(data), "/dev/sdf");
    EXPECT_EQ(fleet.AttachedTo(logs), *replacement);
    EXPECT_EQ(fleet.DeviceOf(logs), "/dev/sdg");
  }

  std::string old_id, data, logs;
};

TEST_F(RelaunchVolumesTest, TheForwardPathReadsNoVolumeAfterTheCapture) {
  StepOutcome last = Run();
  ASSERT_EQ(last.status, v1::Result::SUCCEEDED) << last.reason << "\n" << Describe();
  // The plan's capture and the capture at the instance's turn (one by filter each); the detach,
  // the attach and the wait for the attachments read none (the wait reads the new instance).
  EXPECT_EQ(Count(fleet.calls, "DescribeVolumes"), 2);
  EXPECT_EQ(Count(fleet.mutations, "DetachVolume"), 2);
  EXPECT_EQ(Count(fleet.mutations, "AttachVolume"), 2);
}

TEST_F(RelaunchVolumesTest, ADetachRepeatedAfterACrashIsRefusedAndFoundDone) {
  ASSERT_TRUE(
      RunUntilThenLoseTheCheckpoint([&] { return Count(fleet.mutations, "DetachVolume") == 2; }));
  const int volume_reads = Count(fleet.calls, "DescribeVolumes");

  outcomes = handlers::testing::RunToEnd(Handler(), wf, cell.clients, clock);

  ExpectMovedOnce();
  EXPECT_EQ(Count(fleet.mutations, "DetachVolume"), 4) << "the restarted step sent both again";
  EXPECT_GT(Count(fleet.calls, "DescribeVolumes"), volume_reads) << "and read them when refused";
}

TEST_F(RelaunchVolumesTest, AnAttachRepeatedAfterACrashIsRefusedAndFoundDone) {
  ASSERT_TRUE(
      RunUntilThenLoseTheCheckpoint([&] { return Count(fleet.mutations, "AttachVolume") == 2; }));

  outcomes = handlers::testing::RunToEnd(Handler(), wf, cell.clients, clock);

  ExpectMovedOnce();
  EXPECT_EQ(Count(fleet.mutations, "AttachVolume"), 4) << "both repeats sent, both refused";
}

}  // namespace
}  // namespace fleetkeeper::handlers::ami_rollout::testing
