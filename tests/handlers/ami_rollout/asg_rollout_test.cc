// Auto Scaling groups in an AMI rollout: which groups are targets, the rules that reject or adjust
// a group, and the instance refresh that is started and followed. Behaviour of the fake follows
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_StartInstanceRefresh.html,
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-refresh-rollback.html and
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateLaunchTemplateVersion.html.
#include <gtest/gtest.h>

#include "tests/handlers/ami_rollout/rollout_fixture.h"

namespace fleetkeeper::handlers::ami_rollout::testing {
namespace {

using ::testing::_;
using ::testing::HasSubstr;

class AsgRolloutTest : public RolloutTest {
 protected:
  // The refresh request fleetkeeper made for `asg`; fails the test when there is none.
  const aws::StartInstanceRefreshRequest* RefreshOf(const std::string& asg) {
    for (const auto& [id, req] : fleet.refresh_requests) {
      if (req.asg_name == asg) return &req;
    }
    ADD_FAILURE() << "no instance refresh started for " << asg << "\n" << Describe();
    return nullptr;
  }
  bool Refreshed(const std::string& asg) {
    for (const auto& [id, req] : fleet.refresh_requests) {
      if (req.asg_name == asg) return true;
    }
    return false;
  }
  int64_t LatestVersion(const std::string& template_id) {
    return static_cast<int64_t>(fleet.templates.at(template_id).versions.size());
  }
};

TEST_F(AsgRolloutTest, RefreshesGroupsBoundByResolveSsmTagAndConfigButNotExcludedOnes) {
  const std::string ssm_lt = fleet.AddTemplate("web", std::string("resolve:ssm:") + kParameter);
  fleet.AddGroup("web-asg", ssm_lt, "1", kOldAmi);
  const std::string plain_lt = fleet.AddTemplate("api", kOldAmi);
  fleet.AddGroup("api-asg", plain_lt, "1", kOldAmi).tags[kParameterTag] = kParameter;
  const std::string bound_lt = fleet.AddTemplate("batch", kOldAmi);
  fleet.AddGroup("batch-asg", bound_lt, "1", kOldAmi);
  auto* binding = ami().add_bindings();
  binding->set_parameter(kParameter);
  binding->add_asgs("batch-asg");
  // Excluded three ways; each has its own numbered template so no sharing rule applies.
  fleet.AddGroup("env-excluded", fleet.AddTemplate("a", std::string("resolve:ssm:") + kParameter),
                 "1", kOldAmi);
  ami().add_excluded_asgs("env-excluded");
  fleet.AddGroup("tag-excluded", fleet.AddTemplate("b", kOldAmi), "1", kOldAmi).tags = {
      {kParameterTag, kParameter}, {kExcludeTag, "true"}};
  // Bound to another parameter: never touched, never listed.
  fleet.AddGroup("other", fleet.AddTemplate("c", "resolve:ssm:/ami/windows"), "1", kOldAmi);

  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::SUCCEEDED) << last.reason << "\n" << Describe();
  EXPECT_THAT(last.reason, HasSubstr("param:/ami/linux/test:7"));
  for (const std::string asg : {"web-asg", "api-asg", "batch-asg"}) {
    const auto* req = RefreshOf(asg);
    ASSERT_NE(req, nullptr);
    ASSERT_TRUE(req->desired_configuration && req->desired_configuration->launch_template);
    const auto& spec = *req->desired_configuration->launch_template;
    // The new version copies version 1 and only swaps the image.
    const auto& version = fleet.templates.at(spec.id).versions.at(std::stoll(spec.version) - 1);
    EXPECT_EQ(version.image_id, kNewAmi) << asg;
    EXPECT_EQ(version.instance_type, "t3.micro") << asg;
    EXPECT_EQ(spec.version, "2") << asg;
    const auto* action = ActionFor("asg:" + asg, "instance-refresh");
    ASSERT_NE(action, nullptr) << asg;
    EXPECT_EQ(action->status(), "succeeded");
    const auto* created = ActionFor("asg:" + asg, "create-launch-template-version");
    ASSERT_NE(created, nullptr) << asg;
    EXPECT_THAT(created->aws_request_id(), ::testing::StartsWith("req-")) << asg;
    const auto* started = ActionFor("asg:" + asg, "start-instance-refresh");
    ASSERT_NE(started, nullptr) << asg;
    EXPECT_THAT(started->aws_request_id(), ::testing::StartsWith("req-")) << asg;
  }
  EXPECT_FALSE(Refreshed("env-excluded"));
  EXPECT_FALSE(Refreshed("tag-excluded"));
  EXPECT_FALSE(Refreshed("other"));
  EXPECT_EQ(LatestVersion("lt-a"), 1);
  ASSERT_NE(ActionFor("asg:env-excluded", "skip"), nullptr);
  EXPECT_THAT(ActionFor("asg:env-excluded", "skip")->detail(), HasSubstr("EXCLUDED_ASGS"));
  ASSERT_NE(ActionFor("asg:tag-excluded", "skip"), nullptr);
  EXPECT_THAT(ActionFor("asg:tag-excluded", "skip")->detail(), HasSubstr("fleetkeeper:exclude"));
  EXPECT_EQ(ActionFor("asg:other", "skip"), nullptr);
}

TEST_F(AsgRolloutTest, AsgConfigurationsOverRefreshDefaultsKeyByKey) {
  fleet.AddGroup("web-asg", fleet.AddTemplate("web", kOldAmi), "1", kOldAmi).tags[kParameterTag] =
      kParameter;
  auto* defaults = ami().mutable_refresh_defaults();
  defaults->set_min_healthy_percentage(90);
  defaults->set_instance_warmup(300);
  defaults->add_checkpoint_percentages(20);
  defaults->add_checkpoint_percentages(100);
  v1::RefreshPreferences over;
  over.set_min_healthy_percentage(50);
  over.add_checkpoint_percentages(50);
  over.add_alarms("web-5xx");  // the Lambda's shorthand
  (*ami().mutable_asg_configurations())["web-asg"] = over;

  Run();

  const auto* req = RefreshOf("web-asg");
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(req->preferences.min_healthy_percentage, 50);
  EXPECT_EQ(req->preferences.instance_warmup, 300);
  EXPECT_EQ(req->preferences.checkpoint_percentages, std::vector<int>{50});
  EXPECT_EQ(req->preferences.alarms, std::vector<std::string>{"web-5xx"});
  EXPECT_EQ(req->preferences.skip_matching, true);  // "otherwise refresh with SkipMatching"
}

TEST_F(AsgRolloutTest, SharedTemplateAtLatestWithANonTargetIsRejectedAndUntouched) {
  const std::string lt = fleet.AddTemplate("shared", kOldAmi);
  fleet.AddGroup("target", lt, "$Latest", kOldAmi).tags[kParameterTag] = kParameter;
  fleet.AddGroup("bystander", lt, "$Latest", kOldAmi);

  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::REJECTED) << Describe();
  const auto* action = ActionFor("asg:target", "instance-refresh");
  ASSERT_NE(action, nullptr);
  EXPECT_EQ(action->status(), "rejected");
  EXPECT_THAT(action->detail(), HasSubstr("bystander"));
  EXPECT_THAT(action->detail(), HasSubstr("leak"));
  EXPECT_EQ(LatestVersion(lt), 1);  // no version was created
  EXPECT_EQ(fleet.MutatingCalls(), 0);
}

TEST_F(AsgRolloutTest, SharedTemplateWithAnExcludedGroupIsRejectedToo) {
  const std::string lt = fleet.AddTemplate("shared", std::string("resolve:ssm:") + kParameter);
  fleet.AddGroup("target", lt, "$Default", kOldAmi);
  fleet.AddGroup("excluded", lt, "$Default", kOldAmi);
  ami().add_excluded_asgs("excluded");

  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::REJECTED);
  ASSERT_NE(ActionFor("asg:target", "instance-refresh"), nullptr);
  EXPECT_THAT(ActionFor("asg:target", "instance-refresh")->detail(), HasSubstr("excluded"));
  EXPECT_EQ(fleet.MutatingCalls(), 0);
}

TEST_F(AsgRolloutTest, SharedTemplateBetweenTwoTargetsIsFine) {
  const std::string lt = fleet.AddTemplate("shared", std::string("resolve:ssm:") + kParameter);
  fleet.AddGroup("blue", lt, "$Latest", kOldAmi);
  fleet.AddGroup("green", lt, "$Latest", kOldAmi);

  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();
  EXPECT_TRUE(Refreshed("blue"));
  EXPECT_TRUE(Refreshed("green"));
}

TEST_F(AsgRolloutTest, LaunchConfigurationGroupIsRejected) {
  aws::AutoScalingGroup g;
  g.name = "legacy";
  g.launch_configuration_name = "legacy-lc";
  g.tags[kParameterTag] = kParameter;
  fleet.groups["legacy"] = g;

  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::REJECTED);
  ASSERT_NE(ActionFor("asg:legacy", "instance-refresh"), nullptr);
  EXPECT_THAT(ActionFor("asg:legacy", "instance-refresh")->detail(),
              HasSubstr("launch configuration legacy-lc"));
  EXPECT_EQ(fleet.MutatingCalls(), 0);
}

TEST_F(AsgRolloutTest, MixedInstancesGroupGetsMixedInstancesPolicyAtTheNewVersion) {
  const std::string lt = fleet.AddTemplate("mixed", kOldAmi);
  auto& g = fleet.AddGroup("mixed-asg", lt, "1", kOldAmi);
  g.tags[kParameterTag] = kParameter;
  aws::MixedInstancesPolicy policy;
  policy.launch_template = *g.launch_template;
  policy.overrides = {{"m5.large", "1", std::nullopt}, {"m6i.large", "1", std::nullopt}};
  policy.instances_distribution = aws::InstancesDistribution{};
  policy.instances_distribution->on_demand_base_capacity = 1;
  g.mixed_instances_policy = policy;
  g.launch_template.reset();

  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();
  const auto* req = RefreshOf("mixed-asg");
  ASSERT_NE(req, nullptr);
  ASSERT_TRUE(req->desired_configuration);
  EXPECT_FALSE(req->desired_configuration->launch_template);
  ASSERT_TRUE(req->desired_configuration->mixed_instances_policy);
  const auto& p = *req->desired_configuration->mixed_instances_policy;
  EXPECT_EQ(p.launch_template.version, "2");
  EXPECT_EQ(p.overrides.size(), 2u);  // kept whole
  EXPECT_EQ(p.instances_distribution->on_demand_base_capacity, 1);
}

TEST_F(AsgRolloutTest, AlreadyCurrentGroupIsLeftAlone) {
  const std::string lt = fleet.AddTemplate("web", std::string("resolve:ssm:") + kParameter);
  fleet.AddGroup("web-asg", lt, "1", kNewAmi);

  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::SUCCEEDED);
  ASSERT_NE(ActionFor("asg:web-asg", "instance-refresh"), nullptr);
  EXPECT_EQ(ActionFor("asg:web-asg", "instance-refresh")->status(), "current");
  EXPECT_EQ(fleet.MutatingCalls(), 0);
}

TEST_F(AsgRolloutTest, TemplateOnTheAmiButAnInstanceBehindIsRefreshedWithSkipMatching) {
  const std::string lt = fleet.AddTemplate("web", kNewAmi);
  auto& g = fleet.AddGroup("web-asg", lt, "1", kNewAmi);
  g.tags[kParameterTag] = kParameter;
  fleet.instances.at(g.instances.front().instance_id).instance.image_id = kOldAmi;

  Run();

  const auto* req = RefreshOf("web-asg");
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(req->preferences.skip_matching, true);
}

TEST_F(AsgRolloutTest, AutoRollbackOnLatestIsTurnedOffAndSaidSoWithoutPinning) {
  const std::string lt = fleet.AddTemplate("web", std::string("resolve:ssm:") + kParameter);
  fleet.AddGroup("web-asg", lt, "$Latest", kOldAmi);
  ami().mutable_refresh_defaults()->set_auto_rollback(true);

  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::SUCCEEDED);
  const auto* req = RefreshOf("web-asg");
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(req->preferences.auto_rollback, false);
  EXPECT_TRUE(fleet.group_updates.empty());
  EXPECT_THAT(ActionFor("asg:web-asg", "instance-refresh")->detail(),
              HasSubstr("AutoRollback off"));
}

TEST_F(AsgRolloutTest, PinBeforeRefreshPinsTheRunningImageThenRefreshesWithAutoRollback) {
  const std::string lt = fleet.AddTemplate("web", std::string("resolve:ssm:") + kParameter);
  fleet.AddGroup("web-asg", lt, "$Default", kOldAmi);
  ami().mutable_refresh_defaults()->set_auto_rollback(true);
  ami().set_pin_before_refresh(true);

  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();
  ASSERT_EQ(fleet.group_updates.size(), 1u);
  const auto& pin = *fleet.group_updates.front().launch_template;
  EXPECT_EQ(pin.version, "2");
  EXPECT_EQ(fleet.templates.at(lt).versions.at(1).image_id, kOldAmi);  // the pin: running AMI
  EXPECT_EQ(fleet.templates.at(lt).versions.at(2).image_id, kNewAmi);
  const auto* req = RefreshOf("web-asg");
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(req->preferences.auto_rollback, true);
  EXPECT_EQ(req->desired_configuration->launch_template->version, "3");
  // Pin, then version, then refresh: the group was never refreshed while on an alias.
  std::vector<std::string> order;
  for (const auto& m : fleet.mutations) {
    if (m != "CreateLaunchTemplateVersion" || order.empty() || order.back() != m)
      order.push_back(m);
  }
  EXPECT_EQ(order,
            (std::vector<std::string>{"CreateLaunchTemplateVersion", "UpdateAutoScalingGroup",
                                      "CreateLaunchTemplateVersion", "StartInstanceRefresh"}));
}

TEST_F(AsgRolloutTest, RefreshThatRollsBackIsReportedAsRolledBack) {
  fleet.AddGroup("web-asg", fleet.AddTemplate("web", kOldAmi), "1", kOldAmi).tags[kParameterTag] =
      kParameter;
  fleet.refresh_outcome = "RollbackSuccessful";
  fleet.refresh_looks = 3;

  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::FAILED);
  ASSERT_NE(ActionFor("asg:web-asg", "instance-refresh"), nullptr);
  EXPECT_EQ(ActionFor("asg:web-asg", "instance-refresh")->status(), "rolled-back");
  // It was followed through its progress: IN_PROGRESS notes with percentages were published.
  bool progress = false;
  for (const auto& o : outcomes)
    progress = progress || o.reason.find("% complete") != std::string::npos;
  EXPECT_TRUE(progress);
}

class RefreshInProgressTest : public AsgRolloutTest {
 protected:
  void SetUp() override {
    lt = fleet.AddTemplate("web", kOldAmi);
    fleet.AddGroup("web-asg", lt, "1", kOldAmi).tags[kParameterTag] = kParameter;
    aws::InstanceRefresh foreign;
    foreign.id = "refresh-someone-else";
    foreign.asg_name = "web-asg";
    foreign.status = "InProgress";
    foreign.percentage_complete = 0;
    foreign.desired_configuration = aws::RefreshDesiredConfiguration{};
    foreign.desired_configuration->launch_template = aws::LaunchTemplateSpec{lt, "web", "1"};
    fleet.refreshes["web-asg"].push_back(foreign);
    fleet.refresh_looks = 4;
  }
  std::string lt;
};

TEST_F(RefreshInProgressTest, WaitLetsTheOtherRefreshFinishThenStartsOurs) {
  ami().set_refresh_in_progress("wait");
  StepOutcome last = Run();
  EXPECT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();
  EXPECT_EQ(fleet.refreshes["web-asg"].back().status, "Successful");  // theirs ran to its end
  ASSERT_NE(RefreshOf("web-asg"), nullptr);
  for (const auto& m : fleet.mutations) EXPECT_NE(m, "CancelInstanceRefresh");
}

TEST_F(RefreshInProgressTest, CancelAndRestartCancelsTheOtherRefresh) {
  ami().set_refresh_in_progress("cancel-and-restart");
  StepOutcome last = Run();
  EXPECT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();
  EXPECT_EQ(fleet.refreshes["web-asg"].back().status, "Cancelled");
  ASSERT_NE(RefreshOf("web-asg"), nullptr);
  EXPECT_NE(ActionFor("asg:web-asg", "cancel-instance-refresh"), nullptr);
}

TEST_F(RefreshInProgressTest, RejectLeavesTheGroupAlone) {
  ami().set_refresh_in_progress("reject");
  StepOutcome last = Run();
  EXPECT_EQ(last.status, v1::Result::REJECTED);
  EXPECT_THAT(ActionFor("asg:web-asg", "instance-refresh")->detail(),
              HasSubstr("refresh-someone-else"));
  EXPECT_TRUE(fleet.refresh_requests.empty());
}

TEST_F(RefreshInProgressTest, ARefreshToOurVersionIsResumedNotRestarted) {
  // A crash right after StartInstanceRefresh: the refresh runs, the checkpoint never said so.
  fleet.refreshes["web-asg"].clear();
  wf = Admit();
  ManualClock& c = clock;
  // Run up to the refresh start, then forget the checkpoint of the step that started it.
  for (int i = 0; i < 50; ++i) {
    v1::WorkflowCheckpoint before = wf;
    handlers::testing::FakeStepContext step(&wf, &cell.clients, &c);
    StepOutcome o = Handler().RunStep(wf.step(), step);
    if (!fleet.refresh_requests.empty()) {
      wf = before;  // the crash: this step's checkpoint is lost
      break;
    }
    ASSERT_NE(o.kind, StepOutcome::Kind::kFinish) << o.reason;
    wf.set_step(o.next_step);
  }
  ASSERT_EQ(fleet.refresh_requests.size(), 1u);
  outcomes = handlers::testing::RunToEnd(Handler(), wf, cell.clients, clock);
  EXPECT_EQ(outcomes.back().status, v1::Result::SUCCEEDED) << Describe();
  EXPECT_EQ(fleet.refresh_requests.size(), 1u);  // not started twice
  EXPECT_EQ(LatestVersion(lt), 2);               // and one version only
}

TEST_F(AsgRolloutTest, DryRunPlansEveryGroupAndChangesNothing) {
  fleet.AddGroup("web-asg", fleet.AddTemplate("web", std::string("resolve:ssm:") + kParameter), "1",
                 kOldAmi);
  const std::string lt = fleet.AddTemplate("shared", kOldAmi);
  fleet.AddGroup("target", lt, "$Latest", kOldAmi).tags[kParameterTag] = kParameter;
  fleet.AddGroup("bystander", lt, "$Latest", kOldAmi);

  StepOutcome last = Run(/*dry_run=*/true);

  EXPECT_EQ(last.status, v1::Result::DRY_RUN);
  EXPECT_EQ(fleet.MutatingCalls(), 0);
  const auto* planned = ActionFor("asg:web-asg", "instance-refresh");
  ASSERT_NE(planned, nullptr);
  EXPECT_EQ(planned->status(), "dry-run");
  EXPECT_THAT(planned->detail(), HasSubstr("start-instance-refresh"));
  EXPECT_EQ(ActionFor("asg:target", "instance-refresh")->status(), "rejected");
}

TEST_F(AsgRolloutTest, StartRefreshFailureFailsThatGroupOnly) {
  fleet.AddGroup("a", fleet.AddTemplate("a", kOldAmi), "1", kOldAmi).tags[kParameterTag] =
      kParameter;
  fleet.AddGroup("b", fleet.AddTemplate("b", kOldAmi), "1", kOldAmi).tags[kParameterTag] =
      kParameter;
  fleet.FailOn("StartInstanceRefresh", FakeAccount::AwsError("ValidationError", "bad preference"));

  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::PARTIAL) << Describe();
  int failed = 0;
  for (const std::string asg : {"a", "b"}) {
    failed += ActionFor("asg:" + asg, "instance-refresh")->status() == "failed";
  }
  EXPECT_EQ(failed, 1);
  const auto* call = ActionFor("asg:a", "start-instance-refresh");
  if (call == nullptr || call->status() != "failed")
    call = ActionFor("asg:b", "start-instance-refresh");
  ASSERT_NE(call, nullptr);
  EXPECT_EQ(call->aws_request_id(), "req-ValidationError");
}

TEST_F(AsgRolloutTest, ThrottledCallsAreRetriedNotFailed) {
  fleet.AddGroup("web-asg", fleet.AddTemplate("web", kOldAmi), "1", kOldAmi).tags[kParameterTag] =
      kParameter;
  Error throttled(ErrorCode::kThrottled, "Rate exceeded", true);
  fleet.FailOn("CreateLaunchTemplateVersion", throttled, 2);
  fleet.FailOn("StartInstanceRefresh", throttled, 2);

  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();
}

// A guard alarm with on_guard_alarm rollback while the group's refresh runs: Auto Scaling rolls
// it back (RollbackInstanceRefresh), or, when it refuses, the refresh is cancelled and the result
// says the replaced instances keep the new image.
class AsgGuardRollbackTest : public AsgRolloutTest {
 protected:
  StepOutcome RunWithAlarmDuringTheRefresh() {
    fleet.AddGroup("web-asg", fleet.AddTemplate("web", kOldAmi), "1", kOldAmi).tags[kParameterTag] =
        kParameter;
    fleet.refresh_looks = 10;
    return RunStepwise([&] {
      if (wf.guard_rollback().empty() && Refreshed("web-asg")) {
        wf.set_guard_rollback("rolled back on guard alarm web-5xx (in ALARM since T)");
      }
      return false;
    });
  }
};

TEST_F(AsgGuardRollbackTest, ARefreshUnderWayIsRolledBackByAutoScaling) {
  StepOutcome last = RunWithAlarmDuringTheRefresh();
  EXPECT_EQ(last.status, v1::Result::FAILED) << Describe();
  EXPECT_THAT(last.reason, HasSubstr("guard alarm web-5xx"));
  EXPECT_NE(ActionFor("asg:web-asg", "rollback-instance-refresh"), nullptr) << Describe();
  const v1::Action* a = ActionFor("asg:web-asg", "instance-refresh");
  ASSERT_NE(a, nullptr) << Describe();
  EXPECT_EQ(a->status(), "rolled-back") << a->detail();
  EXPECT_THAT(a->detail(), HasSubstr("rolled back by Auto Scaling"));
}

TEST_F(AsgGuardRollbackTest, ARefusedRollbackCancelsTheRefreshAndSaysSo) {
  fleet.refuse_rollback = "ValidationError";
  StepOutcome last = RunWithAlarmDuringTheRefresh();
  EXPECT_EQ(last.status, v1::Result::FAILED) << Describe();
  EXPECT_NE(ActionFor("asg:web-asg", "cancel-instance-refresh"), nullptr) << Describe();
  const v1::Action* a = ActionFor("asg:web-asg", "instance-refresh");
  ASSERT_NE(a, nullptr) << Describe();
  EXPECT_EQ(a->status(), "failed") << a->detail();
  EXPECT_THAT(a->detail(), HasSubstr("keep " + std::string(kNewAmi)));
}

}  // namespace
}  // namespace fleetkeeper::handlers::ami_rollout::testing
