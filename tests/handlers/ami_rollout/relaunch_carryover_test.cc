// What relaunch carries over besides volumes, Elastic IP and target groups: secondary network
// interfaces (moved at their device index while both instances are stopped), the CPU credit
// option, SourceDestCheck, termination protection; and the request id of every call in the
// result. The fake follows the EC2 API reference:
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AttachNetworkInterface.html,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DetachNetworkInterface.html,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyNetworkInterfaceAttribute.html,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GetLaunchTemplateData.html,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstanceCreditSpecifications.html,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyInstanceAttribute.html,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AssignPrivateIpAddresses.html,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_UnassignPrivateIpAddresses.html.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/handlers/ami_rollout/rollout_fixture.h"

namespace fleetkeeper::handlers::ami_rollout::testing {
namespace {

using ::testing::HasSubstr;

// A burstable router: a data volume, a secondary interface at device 1 that goes with the
// instance's termination, two secondary private addresses on its primary interface, an Elastic IP
// and a target group.
class CarryOverTest : public RolloutTest {
 protected:
  void SetUp() override {
    FakeInstance& f = fleet.AddInstance(kOldAmi, {{kParameterTag, kParameter}, {"Name", "nat-1"}});
    f.instance.instance_type = "t3.small";
    f.cpu_credits = "standard";  // not T3's launch default
    old_id = f.instance.id;
    for (const auto& ip : ips)
      f.instance.network_interfaces.front().private_ips.push_back({ip, false});
    data = fleet.AddVolume(old_id, "/dev/sdf", 100);
    eni = fleet.AddInterface(old_id, 1, /*delete_on_termination=*/true);
    eip = fleet.AddEip(old_id);
    tg = fleet.AddTargetGroup("nat", {old_id});
  }

  const v1::Action* Outcome() const { return ActionFor("instance:" + old_id, "relaunch"); }
  std::string New() const { return fleet.ReplacementOf(old_id).value_or("<none>"); }

  // Position of the n-th (0-based) mutating call `op`, or -1.
  int Nth(const std::string& op, int n) const {
    for (size_t i = 0; i < fleet.mutations.size(); ++i) {
      if (fleet.mutations[i] == op && n-- == 0) return static_cast<int>(i);
    }
    return -1;
  }

  const std::vector<std::string> ips = {"10.0.9.1", "10.0.9.2"};
  std::string old_id, data, eni, eip, tg;
};

TEST_F(CarryOverTest, SecondaryInterfaceMovesToTheNewInstanceAtItsDeviceIndex) {
  StepOutcome last = Run();

  ASSERT_EQ(last.status, v1::Result::SUCCEEDED) << last.reason << "\n" << Describe();
  EXPECT_EQ(fleet.InterfacePlace(eni), New() + "@1");
  EXPECT_TRUE(fleet.interfaces.at(eni).attachment->delete_on_termination);
  EXPECT_EQ(fleet.StateOf(old_id), "terminated");
  EXPECT_EQ(fleet.AttachedTo(data), New());
  // Detached from the stopped old instance; attached to the new one while it was stopped, before
  // the start that brings it up with the interface.
  EXPECT_GT(Nth("DetachNetworkInterface", 0), Nth("StopInstances", 0));
  EXPECT_GT(Nth("AttachNetworkInterface", 0), Nth("StopInstances", 1));
  EXPECT_LT(Nth("AttachNetworkInterface", 0), Nth("StartInstances", 0));
  EXPECT_EQ(Nth("AttachNetworkInterface", 1), -1);
  EXPECT_THAT(Outcome()->detail(), HasSubstr(eni + " at device 1 moved"));
}

TEST_F(CarryOverTest, SecondaryPrivateIpsMoveToTheNewPrimaryInterfaceBeforeItStarts) {
  StepOutcome last = Run();

  ASSERT_EQ(last.status, v1::Result::SUCCEEDED) << last.reason << "\n" << Describe();
  EXPECT_EQ(fleet.SecondaryIpsOf(New()), ips);
  EXPECT_TRUE(fleet.SecondaryIpsOf(old_id).empty());
  // Released by the stopped old instance, then assigned to the new one while it is stopped, so
  // that it boots with them.
  EXPECT_LT(Nth("UnassignPrivateIpAddresses", 0), Nth("AssignPrivateIpAddresses", 0));
  EXPECT_GT(Nth("AssignPrivateIpAddresses", 0), Nth("StopInstances", 1));
  EXPECT_LT(Nth("AssignPrivateIpAddresses", 0), Nth("StartInstances", 0));
  EXPECT_EQ(Nth("AssignPrivateIpAddresses", 1), -1);
  EXPECT_THAT(Outcome()->detail(), HasSubstr("secondary private IPs 10.0.9.1,10.0.9.2 moved"));
}

TEST_F(CarryOverTest, AnElasticIpOnASecondaryAddressStaysOnThatAddress) {
  fleet.addresses.clear();
  eip = fleet.AddEip(old_id, ips[1]);
  StepOutcome last = Run();

  ASSERT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();
  EXPECT_EQ(fleet.EipPlace(eip), New() + " at " + ips[1]);
}

TEST_F(CarryOverTest, ARollbackPutsTheAddressesBackBeforeTheirElasticIp) {
  fleet.addresses.clear();
  eip = fleet.AddEip(old_id, ips[1]);
  fleet.FailOn("RegisterTargets", FakeAccount::AwsError("InvalidTarget", "RegisterTargets failed"));
  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::FAILED) << Describe();
  EXPECT_EQ(Outcome()->status(), "rolled-back") << Describe();
  EXPECT_EQ(fleet.SecondaryIpsOf(old_id), ips);
  EXPECT_EQ(fleet.EipPlace(eip), old_id + " at " + ips[1]);
}

TEST_F(CarryOverTest, TwoElasticIpsAreRejectedUntouched) {
  fleet.AddEip(old_id, ips[0]);
  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::REJECTED) << Describe();
  EXPECT_THAT(Outcome()->detail(), HasSubstr("2 Elastic IPs"));
  EXPECT_EQ(fleet.MutatingCalls(), 0);
}

TEST_F(CarryOverTest, AddressesAloneStillStopTheNewInstanceForTheMove) {
  fleet.volumes.erase(data);
  fleet.interfaces.erase(eni);
  StepOutcome last = Run();

  ASSERT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();
  EXPECT_EQ(fleet.SecondaryIpsOf(New()), ips);
  EXPECT_GE(Nth("StopInstances", 1), 0) << "the new instance was not stopped";
  EXPECT_LT(Nth("AssignPrivateIpAddresses", 0), Nth("StartInstances", 0));
}

TEST_F(CarryOverTest, WithAttachLiveTheAddressesMoveToTheRunningInstance) {
  ami().mutable_replacement()->set_attach_live(true);
  StepOutcome last = Run();

  ASSERT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();
  EXPECT_EQ(fleet.SecondaryIpsOf(New()), ips);
  EXPECT_EQ(Nth("StopInstances", 1), -1) << "attach_live stops no new instance";
}

TEST_F(CarryOverTest, AnInterfaceAloneIsStillAttachedWhileTheNewInstanceIsStopped) {
  fleet.volumes.erase(data);
  StepOutcome last = Run();

  ASSERT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();
  EXPECT_EQ(fleet.InterfacePlace(eni), New() + "@1");
  EXPECT_LT(Nth("AttachNetworkInterface", 0), Nth("StartInstances", 0));
}

TEST_F(CarryOverTest, CreditOptionSourceDestCheckAndProtectionsAreCarriedOver) {
  FakeInstance& old = fleet.instances.at(old_id);
  old.instance.network_interfaces.front().source_dest_check = false;
  old.disable_api_termination = true;
  old.shutdown_behavior = "terminate";

  StepOutcome last = Run();

  ASSERT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();
  const FakeInstance& fresh = fleet.instances.at(New());
  EXPECT_EQ(fleet.CreditsOf(New()), "standard");
  EXPECT_EQ(fresh.instance.instance_type, "t3.small");
  EXPECT_FALSE(fresh.instance.network_interfaces.front().source_dest_check);
  EXPECT_TRUE(fresh.disable_api_termination);
  EXPECT_EQ(fresh.shutdown_behavior, "terminate");
  EXPECT_EQ(fleet.StateOf(old_id), "stopped");  // its own protection keeps it
  EXPECT_THAT(Outcome()->detail(), HasSubstr("CPU credits standard"));
}

TEST_F(CarryOverTest, AProtectedInstanceWhoseReplacementFailsLeavesNoReplacementBehind) {
  // Termination protection reaches the new instance only once it is healthy, so the rollback can
  // still terminate it.
  fleet.instances.at(old_id).disable_api_termination = true;
  fleet.new_instance_health = "unhealthy";
  ami().mutable_replacement()->mutable_step_timeout()->set_seconds(60);

  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::FAILED) << Describe();
  EXPECT_EQ(Outcome()->status(), "rolled-back") << Describe();
  EXPECT_EQ(fleet.StateOf(New()), "terminated");
  EXPECT_FALSE(fleet.instances.at(New()).disable_api_termination);
  EXPECT_EQ(fleet.InterfacePlace(eni), old_id + "@1");
}

// A failure injected at each step around the interface's move puts everything back on the old
// instance, the interface at its device index with its DeleteOnTermination.
class CarryOverFailureTest : public CarryOverTest,
                             public ::testing::WithParamInterface<const char*> {};

TEST_P(CarryOverFailureTest, RollsTheInterfaceBackToTheOldInstance) {
  const std::string op = GetParam();
  fleet.FailOn(op, FakeAccount::AwsError("InvalidParameterValue", op + " failed"));

  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::FAILED) << Describe();
  ASSERT_NE(Outcome(), nullptr) << Describe();
  EXPECT_EQ(Outcome()->status(), "rolled-back") << Describe();
  EXPECT_THAT(Outcome()->detail(), HasSubstr(op + " failed"));
  EXPECT_EQ(fleet.StateOf(old_id), "running");
  EXPECT_EQ(fleet.InterfacePlace(eni), old_id + "@1");
  EXPECT_TRUE(fleet.interfaces.at(eni).attachment->delete_on_termination);
  EXPECT_EQ(fleet.SecondaryIpsOf(old_id), ips);
  EXPECT_EQ(fleet.AttachedTo(data), old_id);
  EXPECT_EQ(fleet.EipInstance(eip), old_id);
  EXPECT_TRUE(fleet.target_groups.at(tg).targets.count(old_id));
  if (fleet.ReplacementOf(old_id)) {
    EXPECT_EQ(fleet.StateOf(New()), "terminated");
  }
}

INSTANTIATE_TEST_SUITE_P(AroundTheMove, CarryOverFailureTest,
                         ::testing::Values("DetachNetworkInterface", "AttachNetworkInterface",
                                           "UnassignPrivateIpAddresses", "AssignPrivateIpAddresses",
                                           "StartInstances", "AssociateAddress",
                                           "RegisterTargets"));

TEST_F(CarryOverTest, EveryCallThatChangedSomethingHasItsRequestIdInTheResult) {
  StepOutcome last = Run();
  ASSERT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();

  // Every EC2 and ELBv2 call that changed something.
  const std::set<std::string> ec2 = {"deregister-targets",
                                     "register-targets",
                                     "stop-instances",
                                     "detach-volume",
                                     "detach-network-interface",
                                     "run-instances",
                                     "attach-volume",
                                     "attach-network-interface",
                                     "start-instances",
                                     "associate-address",
                                     "modify-network-interface-attribute",
                                     "terminate-instances",
                                     "unassign-private-ip-addresses",
                                     "assign-private-ip-addresses"};
  std::set<std::string> seen;
  for (const auto& a : wf.actions()) {
    if (!ec2.count(a.action())) continue;
    seen.insert(a.action());
    EXPECT_EQ(a.status(), "succeeded") << a.action();
    EXPECT_THAT(a.aws_request_id(), ::testing::StartsWith("req-")) << a.action();
  }
  EXPECT_EQ(seen, ec2);
  for (const auto& a : wf.actions()) {
    if (a.status() == "succeeded" && a.action() != "relaunch") {
      EXPECT_FALSE(a.aws_request_id().empty()) << a.action() << " has no request id";
    }
  }
}

TEST_F(CarryOverTest, EveryStepCanRunTwice) {
  // Each step run once more from the state it started with (a kill -9 before its checkpoint):
  // no interface is detached or attached twice, none is lost.
  StepOutcome last = RunEachStepTwice();
  EXPECT_EQ(last.status, v1::Result::SUCCEEDED) << last.reason << "\n" << Describe();
  EXPECT_EQ(fleet.CountReplacementsOf(old_id), 1);
  EXPECT_EQ(fleet.InterfacePlace(eni), New() + "@1");
  EXPECT_EQ(fleet.SecondaryIpsOf(New()), ips);
  EXPECT_EQ(fleet.AttachedTo(data), New());
}

TEST_F(CarryOverTest, AnAttachRepeatedAfterACrashOnALaggingReadDoesNotFailTheReplacement) {
  // Step until the interface has been attached to the new instance, then lose that checkpoint.
  ASSERT_TRUE(RunUntilThenLoseTheCheckpoint([&] { return Nth("AttachNetworkInterface", 0) >= 0; }));
  // The restarted step reads the interface as it was before the attach: its attach is refused
  // (the interface is in use) and a fresh read shows it attached where it should be.
  fleet.lagging_interface_reads = 1;

  outcomes = handlers::testing::RunToEnd(Handler(), wf, cell.clients, clock);

  EXPECT_EQ(outcomes.back().status, v1::Result::SUCCEEDED) << Describe();
  EXPECT_GE(Nth("AttachNetworkInterface", 1), 0) << "the restarted step did try again";
  EXPECT_EQ(fleet.InterfacePlace(eni), New() + "@1");
  EXPECT_EQ(fleet.CountReplacementsOf(old_id), 1);
}

TEST_F(CarryOverTest, DryRunListsTheMoveAndTheSettingsAndCallsNothingThatMutates) {
  fleet.instances.at(old_id).instance.network_interfaces.front().source_dest_check = false;
  StepOutcome last = Run(/*dry_run=*/true);

  EXPECT_EQ(last.status, v1::Result::DRY_RUN);
  EXPECT_EQ(fleet.MutatingCalls(), 0);
  const v1::Action* plan = Outcome();
  ASSERT_NE(plan, nullptr);
  EXPECT_THAT(plan->detail(), HasSubstr("detach-network-interface " + eni + " at device 1"));
  EXPECT_THAT(plan->detail(), HasSubstr("CPU credits standard"));
  EXPECT_THAT(plan->detail(), HasSubstr("SourceDestCheck off"));
  EXPECT_THAT(plan->detail(), HasSubstr("stop the new instance, attach-volume " + data +
                                        " at /dev/sdf, attach-network-interface " + eni +
                                        " at device 1, move secondary private IPs "
                                        "10.0.9.1,10.0.9.2"));
  EXPECT_THAT(plan->detail(), HasSubstr("assign-private-ip-addresses), start it"));
  EXPECT_THAT(plan->detail(), HasSubstr("DeleteOnTermination on " + eni));
}

TEST_F(CarryOverTest, AnInterfaceManagedByAnAwsServiceIsRejectedUntouched) {
  fleet.interfaces.at(eni).requester_managed = true;
  StepOutcome last = Run();
  EXPECT_EQ(last.status, v1::Result::REJECTED) << Describe();
  EXPECT_THAT(Outcome()->detail(), HasSubstr("managed by an AWS service"));
  EXPECT_EQ(fleet.MutatingCalls(), 0);
}

}  // namespace
}  // namespace fleetkeeper::handlers::ami_rollout::testing
