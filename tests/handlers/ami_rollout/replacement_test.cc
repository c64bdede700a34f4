// Standalone instances in an AMI rollout: relaunch and replace-root-volume, their rollbacks, the
// limits, and recovery after a crash. The fake follows the EC2 API reference:
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RunInstances.html (ClientToken),
// https://docs.aws.amazon.com/AWSEC2/latest/devguide/ensuring-idempotency.html,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AttachVolume.html,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AssociateAddress.html,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateReplaceRootVolumeTask.html.
#include <gtest/gtest.h>

#include "tests/handlers/ami_rollout/rollout_fixture.h"

namespace fleetkeeper::handlers::ami_rollout::testing {
namespace {

using ::testing::HasSubstr;

// One standalone web server: two data volumes, an Elastic IP, a target group.
class ReplacementTest : public RolloutTest {
 protected:
  void SetUp() override {
    FakeInstance& f = fleet.AddInstance(
        kOldAmi,
        {{kParameterTag, kParameter}, {"Name", "web-1"}, {"aws:cloudformation:stack-name", "s"}});
    old_id = f.instance.id;
    data = fleet.AddVolume(old_id, "/dev/sdf", 100);
    logs = fleet.AddVolume(old_id, "/dev/sdg", 50);
    eip = fleet.AddEip(old_id);
    tg = fleet.AddTargetGroup("web", {old_id});
  }

  const v1::Action* Outcome() const { return ActionFor("instance:" + old_id, "relaunch"); }

  // The old instance serves again, with everything it had.
  void ExpectRolledBack() {
    ASSERT_NE(Outcome(), nullptr) << Describe();
    EXPECT_EQ(Outcome()->status(), "rolled-back") << Describe();
    EXPECT_EQ(fleet.StateOf(old_id), "running");
    EXPECT_EQ(fleet.AttachedTo(data), old_id);
    EXPECT_EQ(fleet.DeviceOf(data), "/dev/sdf");
    EXPECT_EQ(fleet.AttachedTo(logs), old_id);
    EXPECT_EQ(fleet.DeviceOf(logs), "/dev/sdg");
    EXPECT_EQ(fleet.EipInstance(eip), old_id);
    EXPECT_TRUE(fleet.target_groups.at(tg).targets.count(old_id));
    auto replacement = fleet.ReplacementOf(old_id);
    if (replacement) {
      EXPECT_EQ(fleet.StateOf(*replacement), "terminated");
      EXPECT_FALSE(fleet.target_groups.at(tg).targets.count(*replacement));
    }
  }

  std::string old_id, data, logs, eip, tg;
};

TEST_F(ReplacementTest, RelaunchMovesEverythingToAnEquivalentInstanceOnTheNewAmi) {
  StepOutcome last = Run();

  ASSERT_EQ(last.status, v1::Result::SUCCEEDED) << last.reason << "\n" << Describe();
  auto replacement = fleet.ReplacementOf(old_id);
  ASSERT_TRUE(replacement);
  const aws::Instance& fresh = fleet.Get(*replacement);
  const aws::Instance& old = fleet.Get(old_id);
  EXPECT_EQ(fresh.image_id, kNewAmi);
  EXPECT_EQ(fresh.state.name, "running");
  EXPECT_EQ(fresh.instance_type, old.instance_type);
  EXPECT_EQ(fresh.subnet_id, old.subnet_id);
  EXPECT_EQ(fresh.key_name, old.key_name);
  EXPECT_EQ(fresh.iam_instance_profile_arn, old.iam_instance_profile_arn);
  ASSERT_EQ(fresh.security_groups.size(), 1u);
  EXPECT_EQ(fresh.security_groups[0].id, "sg-app");
  EXPECT_EQ(fresh.placement.availability_zone, "us-east-1a");
  EXPECT_EQ(fresh.metadata_options->http_tokens, "required");
  EXPECT_EQ(fresh.metadata_options->http_put_response_hop_limit, 2);
  EXPECT_EQ(fleet.instances.at(*replacement).user_data, "IyEvYmluL3NoCmVjaG8gaGk=");
  EXPECT_EQ(fresh.tags.at("Name"), "web-1");
  EXPECT_EQ(fresh.tags.at(kParameterTag), kParameter);  // stays bound for the next rollout
  EXPECT_FALSE(fresh.tags.count("aws:cloudformation:stack-name"));
  // Volumes at the same devices, the Elastic IP, the target group.
  EXPECT_EQ(fleet.AttachedTo(data), *replacement);
  EXPECT_EQ(fleet.DeviceOf(data), "/dev/sdf");
  EXPECT_EQ(fleet.AttachedTo(logs), *replacement);
  EXPECT_EQ(fleet.DeviceOf(logs), "/dev/sdg");
  EXPECT_EQ(fleet.EipInstance(eip), *replacement);
  EXPECT_EQ(fleet.target_groups.at(tg).targets.at(*replacement), "healthy");
  EXPECT_FALSE(fleet.target_groups.at(tg).targets.count(old_id));
  EXPECT_EQ(fleet.StateOf(old_id), "terminated");
  // Not attach_live: the new instance was stopped for the attachment and started again.
  int starts = 0;
  for (const auto& m : fleet.mutations) starts += m == "StartInstances";
  EXPECT_EQ(starts, 1);
  ASSERT_NE(Outcome(), nullptr);
  EXPECT_EQ(Outcome()->status(), "succeeded");
  EXPECT_THAT(Outcome()->detail(), HasSubstr(*replacement));
  EXPECT_THAT(Outcome()->detail(), HasSubstr("param:/ami/linux/test:7"));
}

TEST_F(ReplacementTest, AttachLiveAttachesToTheRunningInstance) {
  ami().mutable_replacement()->set_attach_live(true);
  StepOutcome last = Run();
  ASSERT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();
  for (const auto& m : fleet.mutations) EXPECT_NE(m, "StartInstances");
  EXPECT_EQ(fleet.AttachedTo(data), *fleet.ReplacementOf(old_id));
}

// A failure injected at each mutating step rolls the instance back.
class RelaunchFailureTest : public ReplacementTest,
                            public ::testing::WithParamInterface<const char*> {};

TEST_P(RelaunchFailureTest, RollsBackToTheOldInstance) {
  const std::string op = GetParam();
  // StartInstances fails once: the new instance's start. The old one's restart must work.
  fleet.FailOn(op, FakeAccount::AwsError("InsufficientInstanceCapacity", op + " failed"));

  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::FAILED) << Describe();
  ExpectRolledBack();
  EXPECT_THAT(Outcome()->detail(), HasSubstr(op + " failed"));
}

INSTANTIATE_TEST_SUITE_P(EveryStep, RelaunchFailureTest,
                         ::testing::Values("DeregisterTargets", "StopInstances", "DetachVolume",
                                           "RunInstances", "AttachVolume", "StartInstances",
                                           "AssociateAddress", "RegisterTargets"));

TEST_F(ReplacementTest, UnhealthyReplacementTimesOutAndRollsBack) {
  fleet.new_instance_health = "unhealthy";
  ami().mutable_replacement()->mutable_step_timeout()->set_seconds(60);

  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::FAILED);
  ExpectRolledBack();
  EXPECT_THAT(Outcome()->detail(), HasSubstr("timed out"));
  EXPECT_THAT(Outcome()->detail(), HasSubstr("unhealthy"));
}

TEST_F(ReplacementTest, ReplacementThatDiesAtLaunchRollsBack) {
  // The new instance goes straight to terminated (e.g. a broken AMI).
  ON_CALL(*cell.ec2, RunInstances(::testing::_))
      .WillByDefault(::testing::Invoke(
          [this](const aws::RunInstancesRequest& r) -> Result<aws::RunInstancesResponse> {
            FakeInstance& f = fleet.AddInstance(r.image_id, {{"fleetkeeper:replaces", old_id}});
            f.instance.client_token = r.client_token;
            f.instance.state = {48, "terminated"};
            f.instance.state_reason_code = "Server.InternalError";
            aws::RunInstancesResponse out;
            out.instances.push_back(f.instance);
            return out;
          }));

  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::FAILED);
  ExpectRolledBack();
  EXPECT_THAT(Outcome()->detail(), HasSubstr("Server.InternalError"));
}

TEST_F(ReplacementTest, CrashAfterRunInstancesFindsTheInstanceByClientToken) {
  // Drive step by step until RunInstances has been called, then lose that step's checkpoint.
  ASSERT_TRUE(RunUntilThenLoseTheCheckpoint([&] { return fleet.CountReplacementsOf(old_id) > 0; }));
  ASSERT_EQ(fleet.CountReplacementsOf(old_id), 1);
  // The endpoint no longer deduplicates by token (moto does not): recovery must come from the
  // client-token filter, before any second call.
  ON_CALL(*cell.ec2, RunInstances(::testing::_))
      .WillByDefault(::testing::Invoke(
          [this](const aws::RunInstancesRequest& r) -> Result<aws::RunInstancesResponse> {
            FakeInstance& f = fleet.AddInstance(r.image_id, {{"fleetkeeper:replaces", old_id}});
            aws::RunInstancesResponse out;
            out.instances.push_back(f.instance);
            return out;
          }));

  outcomes = handlers::testing::RunToEnd(Handler(), wf, cell.clients, clock);

  EXPECT_EQ(outcomes.back().status, v1::Result::SUCCEEDED) << Describe();
  EXPECT_EQ(fleet.CountReplacementsOf(old_id), 1);
  EXPECT_EQ(fleet.AttachedTo(data), *fleet.ReplacementOf(old_id));
}

TEST_F(ReplacementTest, EveryStepCanRunTwice) {
  // Re-running each step once more with the state it started from (a crash before the
  // checkpoint) must not duplicate anything.
  StepOutcome last = RunEachStepTwice();
  EXPECT_EQ(last.status, v1::Result::SUCCEEDED) << last.reason << "\n" << Describe();
  EXPECT_EQ(fleet.CountReplacementsOf(old_id), 1);
  EXPECT_EQ(fleet.AttachedTo(data), *fleet.ReplacementOf(old_id));
  EXPECT_EQ(fleet.AttachedTo(logs), *fleet.ReplacementOf(old_id));
  EXPECT_EQ(fleet.StateOf(old_id), "terminated");
}

TEST_F(ReplacementTest, KeepOldForLeavesTheOldInstanceStoppedThenTerminatesIt) {
  ami().mutable_replacement()->mutable_keep_old_for()->set_seconds(3600);
  wf = Admit();
  // Step until the workflow goes to sleep for the hour.
  StepOutcome o;
  for (int i = 0; i < 200; ++i) {
    handlers::testing::FakeStepContext ctx(&wf, &cell.clients, &clock);
    o = Handler().RunStep(wf.step(), ctx);
    ASSERT_NE(o.kind, StepOutcome::Kind::kFinish) << o.reason;
    if (o.kind == StepOutcome::Kind::kWait && o.wait_ms >= 3000 * 1000) break;
    if (o.kind == StepOutcome::Kind::kWait) clock.Advance(o.wait_ms);
    wf.set_step(o.next_step);
  }
  // Replaced, old kept stopped and tagged; nothing else to poll for meanwhile.
  ASSERT_TRUE(fleet.ReplacementOf(old_id));
  EXPECT_EQ(fleet.StateOf(old_id), "stopped");
  EXPECT_TRUE(fleet.Get(old_id).tags.count("fleetkeeper:retire-after"));
  EXPECT_EQ(fleet.EipInstance(eip), *fleet.ReplacementOf(old_id));
  EXPECT_LE(o.wait_ms, 3600 * 1000);
  clock.Advance(o.wait_ms);

  outcomes = handlers::testing::RunToEnd(Handler(), wf, cell.clients, clock);
  EXPECT_EQ(outcomes.back().status, v1::Result::SUCCEEDED);
  EXPECT_EQ(fleet.StateOf(old_id), "terminated");
}

TEST_F(ReplacementTest, TerminationProtectedOldInstanceIsKeptStoppedAndSaidSo) {
  fleet.instances.at(old_id).disable_api_termination = true;
  StepOutcome last = Run();
  EXPECT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();
  EXPECT_EQ(fleet.StateOf(old_id), "stopped");
  EXPECT_THAT(Outcome()->detail(), HasSubstr("termination protection"));
}

TEST_F(ReplacementTest, StopProtectionIsLiftedToStopTheOldInstanceAndCarriedToTheNewOne) {
  fleet.instances.at(old_id).disable_api_stop = true;
  StepOutcome last = Run();

  ASSERT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();
  const std::string fresh = fleet.ReplacementOf(old_id).value_or("<none>");
  EXPECT_TRUE(fleet.instances.at(fresh).disable_api_stop);
  EXPECT_EQ(fleet.StateOf(old_id), "terminated");
  // Lifted before the first stop, which would fail otherwise; set on the new instance only once
  // healthy (it is stopped for its attachments before that).
  const auto& m = fleet.mutations;
  auto first = [&](const std::string& op) { return std::find(m.begin(), m.end(), op) - m.begin(); };
  EXPECT_LT(first("ModifyInstanceAttribute"), first("StopInstances"));
}

TEST_F(ReplacementTest, ARollbackGivesTheOldInstanceItsStopProtectionBack) {
  fleet.instances.at(old_id).disable_api_stop = true;
  fleet.new_instance_health = "unhealthy";
  ami().mutable_replacement()->mutable_step_timeout()->set_seconds(60);
  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::FAILED) << Describe();
  EXPECT_EQ(Outcome()->status(), "rolled-back") << Describe();
  EXPECT_EQ(fleet.StateOf(old_id), "running");
  EXPECT_TRUE(fleet.instances.at(old_id).disable_api_stop);
  const std::string fresh = fleet.ReplacementOf(old_id).value_or("<none>");
  EXPECT_EQ(fleet.StateOf(fresh), "terminated");
}

TEST_F(ReplacementTest, DryRunOfAStopProtectedInstanceListsTheProtectionChanges) {
  fleet.instances.at(old_id).disable_api_stop = true;
  StepOutcome last = Run(/*dry_run=*/true);
  EXPECT_EQ(last.status, v1::Result::DRY_RUN);
  EXPECT_EQ(fleet.MutatingCalls(), 0);
  EXPECT_THAT(Outcome()->detail(), HasSubstr("DisableApiStop off (old); stop-instances"));
  EXPECT_THAT(Outcome()->detail(), HasSubstr("DisableApiStop on (new)"));
}

TEST_F(ReplacementTest, ExclusionsAndOtherParametersAreLeftAlone) {
  const std::string by_config =
      fleet.AddInstance(kOldAmi, {{kParameterTag, kParameter}}).instance.id;
  ami().add_excluded_instances(by_config);
  const std::string by_tag =
      fleet.AddInstance(kOldAmi, {{kParameterTag, kParameter}, {kExcludeTag, "True"}}).instance.id;
  const std::string other =
      fleet.AddInstance(kOldAmi, {{kParameterTag, "/ami/windows"}}).instance.id;
  const std::string bound = fleet.AddInstance(kOldAmi).instance.id;
  auto* b = ami().add_bindings();
  b->set_parameter(kParameter);
  b->add_instances(bound);

  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();
  EXPECT_FALSE(fleet.ReplacementOf(by_config));
  EXPECT_FALSE(fleet.ReplacementOf(by_tag));
  EXPECT_FALSE(fleet.ReplacementOf(other));
  EXPECT_TRUE(fleet.ReplacementOf(bound));
  EXPECT_TRUE(fleet.ReplacementOf(old_id));
  EXPECT_THAT(ActionFor("instance:" + by_config, "skip")->detail(),
              HasSubstr("EXCLUDED_INSTANCES"));
  EXPECT_THAT(ActionFor("instance:" + by_tag, "skip")->detail(), HasSubstr("tag"));
  EXPECT_EQ(ActionFor("instance:" + other, "skip"), nullptr);
}

TEST_F(ReplacementTest, MaxConcurrencyAndMaxUnavailableBoundInstancesOutOfService) {
  // Three more in the same target group, one elsewhere.
  std::vector<std::string> ids = {old_id};
  for (int i = 0; i < 3; ++i) {
    std::string id = fleet.AddInstance(kOldAmi, {{kParameterTag, kParameter}}).instance.id;
    fleet.target_groups.at(tg).targets[id] = "healthy";
    fleet.target_groups.at(tg).ports[id] = 80;
    ids.push_back(id);
  }
  ids.push_back(fleet.AddInstance(kOldAmi, {{kParameterTag, kParameter}}).instance.id);
  ami().mutable_replacement()->set_max_concurrency(2);
  ami().mutable_replacement()->set_max_unavailable(1);

  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();
  for (const auto& id : ids) EXPECT_TRUE(fleet.ReplacementOf(id)) << id;
  // One target-group member and the outsider may be down together, never two members.
  EXPECT_EQ(fleet.max_out_of_service, 2);
}

// The budget counts what the load balancer sees: a target out of service for another reason (a
// self-healing replacement, a failure nobody acts on) takes from max_unavailable too.
class BudgetTest : public ReplacementTest {
 protected:
  void SetUp() override {
    ReplacementTest::SetUp();
    outsider = fleet.AddInstance(kOldAmi, {{"Name", "web-2"}}).instance.id;  // not bound
    auto& group = fleet.target_groups.at(tg);
    group.targets[outsider] = "unhealthy";
    group.reasons[outsider] = "Target.FailedHealthChecks";
    group.ports[outsider] = 80;
    ami().mutable_replacement()->set_max_unavailable(1);
    ami().mutable_replacement()->mutable_step_timeout()->set_seconds(600);
  }
  std::string outsider;
};

TEST_F(BudgetTest, AnotherTargetOutOfServiceHoldsTheReplacementUntilItRecovers) {
  fleet.target_groups.at(tg).recover_after_reads[outsider] = 4;
  StepOutcome last = Run();

  ASSERT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();
  EXPECT_TRUE(fleet.ReplacementOf(old_id));
  EXPECT_EQ(fleet.target_groups.at(tg).mutations_at_recovery, 0) << "nothing changed before";
  bool said = false;
  for (const auto& o : outcomes) {
    said = said || (o.reason.find("waits: target group " + tg) != std::string::npos &&
                    o.reason.find(outsider + " unhealthy") != std::string::npos);
  }
  EXPECT_TRUE(said) << "no progress said what the replacement waits for";
}

TEST_F(BudgetTest, ATargetThatNeverRecoversFailsTheReplacementUntouchedAfterStepTimeout) {
  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::FAILED) << Describe();
  ASSERT_NE(Outcome(), nullptr) << Describe();
  EXPECT_EQ(Outcome()->status(), "failed");
  EXPECT_THAT(Outcome()->detail(), HasSubstr("blast-radius budget"));
  EXPECT_THAT(Outcome()->detail(), HasSubstr(outsider + " unhealthy"));
  EXPECT_EQ(fleet.MutatingCalls(), 0);
  EXPECT_EQ(fleet.StateOf(old_id), "running");
}

TEST_F(BudgetTest, ABoundTargetOutOfServiceIsReplacedFirstNotHeldBackByItself) {
  // A second bound member, failing its checks: it holds the healthy one back (two would be out),
  // but not itself, since replacing it takes nothing more out of service.
  fleet.target_groups.at(tg).targets.erase(outsider);
  const std::string failing = fleet.AddInstance(kOldAmi, {{kParameterTag, kParameter}}).instance.id;
  fleet.target_groups.at(tg).targets[failing] = "unhealthy";
  fleet.target_groups.at(tg).ports[failing] = 80;
  StepOutcome last = Run();

  ASSERT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();
  EXPECT_TRUE(fleet.ReplacementOf(old_id));
  EXPECT_TRUE(fleet.ReplacementOf(failing));
}

TEST_F(BudgetTest, ABudgetOfTwoLetsOneReplacementGoBesideIt) {
  ami().mutable_replacement()->set_max_unavailable(2);
  StepOutcome last = Run();
  EXPECT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();
  EXPECT_TRUE(fleet.ReplacementOf(old_id));
}

TEST_F(BudgetTest, TargetsOfAGroupNoLoadBalancerUsesDoNotCount) {
  fleet.target_groups.at(tg).targets[outsider] = "unused";
  fleet.target_groups.at(tg).reasons[outsider] = "Target.NotInUse";
  StepOutcome last = Run();
  EXPECT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();
}

TEST_F(BudgetTest, AStoppedTargetCounts) {
  fleet.target_groups.at(tg).targets[outsider] = "unused";
  fleet.target_groups.at(tg).reasons[outsider] = "Target.InvalidState";
  fleet.target_groups.at(tg).recover_after_reads[outsider] = 3;
  StepOutcome last = Run();
  EXPECT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();
  EXPECT_EQ(fleet.target_groups.at(tg).mutations_at_recovery, 0);
}

TEST_F(ReplacementTest, DryRunListsTheWholePlanAndCallsNothingThatMutates) {
  StepOutcome last = Run(/*dry_run=*/true);
  EXPECT_EQ(last.status, v1::Result::DRY_RUN);
  EXPECT_EQ(fleet.MutatingCalls(), 0);
  const auto* plan = Outcome();
  ASSERT_NE(plan, nullptr);
  EXPECT_EQ(plan->status(), "dry-run");
  EXPECT_THAT(plan->detail(), HasSubstr(data + " at /dev/sdf"));
  EXPECT_THAT(plan->detail(), HasSubstr("associate-address"));
  EXPECT_THAT(plan->detail(), HasSubstr("run-instances " + std::string(kNewAmi)));
}

class ReplaceRootVolumeTest : public ReplacementTest {
 protected:
  void SetUp() override {
    ReplacementTest::SetUp();
    ami().mutable_replacement()->set_strategy("replace-root-volume");
  }
  const v1::Action* RootOutcome() const {
    return ActionFor("instance:" + old_id, "replace-root-volume");
  }
};

TEST_F(ReplacementTest, AnInstancesStrategyTagChoosesForIt) {
  const std::string tagged = fleet
                                 .AddInstance(kOldAmi, {{kParameterTag, kParameter},
                                                        {kStrategyTag, "replace-root-volume"}})
                                 .instance.id;
  StepOutcome last = Run();

  ASSERT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();
  EXPECT_TRUE(fleet.ReplacementOf(old_id)) << "the config's relaunch for the untagged one";
  EXPECT_FALSE(fleet.ReplacementOf(tagged));
  EXPECT_EQ(fleet.Get(tagged).image_id, kNewAmi) << "its root volume was replaced";
  ASSERT_NE(ActionFor("instance:" + tagged, "replace-root-volume"), nullptr) << Describe();
}

TEST_F(ReplacementTest, AnUnknownStrategyTagIsRejectedNamingIt) {
  fleet.instances.at(old_id).instance.tags[kStrategyTag] = "rebuild";
  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::REJECTED) << Describe();
  const v1::Action* a = ActionFor("instance:" + old_id, "relaunch");
  ASSERT_NE(a, nullptr) << Describe();
  EXPECT_THAT(a->detail(), HasSubstr("fleetkeeper:replacement-strategy=\"rebuild\""));
  EXPECT_EQ(fleet.MutatingCalls(), 0);
}

TEST_F(ReplaceRootVolumeTest, AStopProtectedInstanceIsRejectedUntouched) {
  fleet.instances.at(old_id).disable_api_stop = true;
  StepOutcome last = Run();
  EXPECT_EQ(last.status, v1::Result::REJECTED) << Describe();
  ASSERT_NE(RootOutcome(), nullptr) << Describe();
  EXPECT_THAT(RootOutcome()->detail(), HasSubstr("strategy relaunch lifts the protection"));
  EXPECT_EQ(fleet.MutatingCalls(), 0);
}

TEST_F(ReplaceRootVolumeTest, KeepsTheInstanceAndItsVolumes) {
  StepOutcome last = Run();
  ASSERT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();
  ASSERT_EQ(fleet.tasks.size(), 1u);
  EXPECT_EQ(fleet.tasks[0].image_id, kNewAmi);
  EXPECT_EQ(fleet.Get(old_id).image_id, kNewAmi);
  EXPECT_FALSE(fleet.ReplacementOf(old_id));
  EXPECT_EQ(fleet.AttachedTo(data), old_id);
  EXPECT_EQ(fleet.EipInstance(eip), old_id);
  EXPECT_EQ(fleet.target_groups.at(tg).targets.at(old_id), "healthy");
  EXPECT_EQ(RootOutcome()->status(), "succeeded");
}

TEST_F(ReplaceRootVolumeTest, FailedHealthCheckRollsBackWithASecondTaskToTheOldImage) {
  ON_CALL(*cell.elbv2, RegisterTargets(::testing::_))
      .WillByDefault(
          ::testing::Invoke([this](const aws::TargetsRequest& r) -> Result<aws::RequestReceipt> {
            // Unhealthy on the new image, healthy again on the old one.
            const bool new_image = fleet.Get(old_id).image_id == kNewAmi;
            fleet.target_groups.at(r.target_group_arn).targets[old_id] =
                new_image ? "unhealthy" : "healthy";
            return aws::RequestReceipt{"req-rrv"};
          }));
  ami().mutable_replacement()->mutable_step_timeout()->set_seconds(60);

  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::FAILED) << Describe();
  ASSERT_EQ(fleet.tasks.size(), 2u);
  EXPECT_EQ(fleet.tasks[1].image_id, kOldAmi);
  EXPECT_EQ(fleet.Get(old_id).image_id, kOldAmi);
  EXPECT_EQ(RootOutcome()->status(), "rolled-back");
  EXPECT_EQ(fleet.target_groups.at(tg).targets.at(old_id), "healthy");
}

TEST_F(ReplaceRootVolumeTest, FailedTaskNeedsNoSecondTask) {
  fleet.rrv_outcome = "failed";
  StepOutcome last = Run();
  EXPECT_EQ(last.status, v1::Result::FAILED);
  EXPECT_EQ(fleet.tasks.size(), 1u);
  EXPECT_EQ(RootOutcome()->status(), "rolled-back");
  EXPECT_TRUE(fleet.target_groups.at(tg).targets.count(old_id));
}

// Ten replacements started together move in step: each tick reads their instances, volumes and
// status checks in one call per kind, and their stops, starts and terminations go out as one call
// per kind, instead of one call per instance and phase.
class CohortTest : public RolloutTest {};

TEST_F(CohortTest, ReplacementsStartedTogetherShareTheirCalls) {
  constexpr int kInstances = 10;
  std::map<std::string, std::vector<std::string>> volumes;
  for (int i = 0; i < kInstances; ++i) {
    std::string id = fleet.AddInstance(kOldAmi, {{kParameterTag, kParameter}}).instance.id;
    volumes[id] = {fleet.AddVolume(id, "/dev/sdf", 10), fleet.AddVolume(id, "/dev/sdg", 20)};
  }
  ami().mutable_replacement()->set_max_concurrency(kInstances);
  // Reads cost about one call per phase that reads, whatever the number of instances (one per
  // instance and phase would be 80 DescribeInstances and 40 DescribeVolumes here): instances are
  // read by the plan, at the start, for the client tokens and in the five waits for a state, the
  // attachments' included (one extra look each at most); volumes by the plan and at the start
  // only: the detach and the attach read them only when EC2 refuses, and the detach is not waited
  // for (the attach would wait instead).
  EXPECT_CALL(*cell.ec2, DescribeInstances(::testing::_))
      .Times(::testing::Between(1, 14))
      .WillRepeatedly(::testing::DoDefault());
  EXPECT_CALL(*cell.ec2, DescribeVolumes(::testing::_))
      .Times(::testing::Between(1, 2))
      .WillRepeatedly(::testing::DoDefault());

  StepOutcome last = Run();

  ASSERT_EQ(last.status, v1::Result::SUCCEEDED) << last.reason << "\n" << Describe();
  for (const auto& [old_id, vols] : volumes) {
    auto replacement = fleet.ReplacementOf(old_id);
    ASSERT_TRUE(replacement) << old_id;
    EXPECT_EQ(fleet.Get(*replacement).image_id, kNewAmi);
    EXPECT_EQ(fleet.AttachedTo(vols[0]), *replacement);
    EXPECT_EQ(fleet.AttachedTo(vols[1]), *replacement);
    EXPECT_EQ(fleet.StateOf(old_id), "terminated");
  }
  std::map<std::string, int> calls;
  for (const auto& m : fleet.mutations) ++calls[m];
  // One StopInstances for the old instances, one for the new ones; one start, one terminate.
  EXPECT_EQ(calls["StopInstances"], 2);
  EXPECT_EQ(calls["StartInstances"], 1);
  EXPECT_EQ(calls["TerminateInstances"], 1);
  EXPECT_EQ(calls["RunInstances"], kInstances);  // one launch each, no batch form with tokens
}

TEST_F(CohortTest, AStateChangeRefusedForOneInstanceFailsThatReplacementOnly) {
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(fleet.AddInstance(kOldAmi, {{kParameterTag, kParameter}}).instance.id);
    fleet.AddVolume(ids.back(), "/dev/sdf", 10);
  }
  ami().mutable_replacement()->set_max_concurrency(4);
  // The joint StopInstances is refused, and so is the first instance's own one: EC2 fails a call
  // for all its instances when one of them is in the wrong state.
  fleet.FailOn("StopInstances",
               FakeAccount::AwsError("IncorrectInstanceState",
                                     "The instance is not in a state "
                                     "from which it can be stopped."),
               2);

  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::PARTIAL) << last.reason << "\n" << Describe();
  int succeeded = 0, failed = 0;
  for (const auto& id : ids) {
    const v1::Action* a = ActionFor("instance:" + id, "relaunch");
    ASSERT_NE(a, nullptr) << id << "\n" << Describe();
    if (a->status() == "succeeded") {
      ++succeeded;
      EXPECT_EQ(fleet.Get(*fleet.ReplacementOf(id)).image_id, kNewAmi);
    } else {
      ++failed;
      EXPECT_THAT(a->detail(), HasSubstr("IncorrectInstanceState"));
      EXPECT_EQ(fleet.StateOf(id), "running");  // never stopped, nothing to undo
    }
  }
  EXPECT_EQ(succeeded, 3);
  EXPECT_EQ(failed, 1);
}

}  // namespace
}  // namespace fleetkeeper::handlers::ami_rollout::testing
