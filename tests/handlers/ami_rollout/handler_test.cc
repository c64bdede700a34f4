// Admission, the parameter and AMI checks, the name+version rule, locks, config merging, metrics.
#include <gtest/gtest.h>

#include "awsclient/aws_error.h"
#include "handlers/ami_rollout/asg_rollout.h"
#include "tests/handlers/ami_rollout/rollout_fixture.h"

namespace fleetkeeper::handlers::ami_rollout::testing {
namespace {

using ::testing::HasSubstr;

class HandlerTest : public RolloutTest {};

TEST_F(HandlerTest, DeleteIsSkippedWithoutAWorkflow) {
  AdmissionContext ctx{worker, clock};
  Admission a = Handler().Admit(ParameterEvent("evt-del", "Delete"), ctx);
  EXPECT_EQ(a.kind, Admission::Kind::kFinal);
  EXPECT_EQ(a.status, v1::Result::SKIPPED);
  EXPECT_THAT(a.reason, HasSubstr("deleted"));
}

TEST_F(HandlerTest, BothEventsOfOnePutMeetTheSameWorkflow) {
  // Parameter Store Change and the CloudTrail PutParameter call of the same put.
  AdmissionContext ctx{worker, clock};
  v1::Event change = ParameterEvent("evt-change", "Update");
  v1::Event cloudtrail = ParameterEvent("evt-cloudtrail", "PutParameter");
  Admission a = Handler().Admit(change, ctx);
  Admission b = Handler().Admit(cloudtrail, ctx);
  ASSERT_EQ(a.kind, Admission::Kind::kWorkflow);
  ASSERT_EQ(b.kind, Admission::Kind::kWorkflow);
  EXPECT_EQ(a.workflow.workflow_id(), b.workflow.workflow_id());
  EXPECT_THAT(a.workflow.workflow_id(), HasSubstr("111122223333/us-east-1/ami-rollout-"));
  EXPECT_EQ(a.workflow.step(), kStepReadParameter);
  EXPECT_EQ(a.workflow.handler(), "ami_rollout");
}

TEST_F(HandlerTest, ParameterThatIsNotAnAvailableAmiIsRejectedWithNothingTouched) {
  fleet.AddGroup("web-asg", fleet.AddTemplate("web", kOldAmi), "1", kOldAmi).tags[kParameterTag] =
      kParameter;
  fleet.AddInstance(kOldAmi, {{kParameterTag, kParameter}});

  fleet.images[kNewAmi].state = "pending";
  StepOutcome pending = Run();
  EXPECT_EQ(pending.status, v1::Result::REJECTED);
  EXPECT_THAT(pending.reason, HasSubstr("is pending, not available"));

  fleet.images.erase(kNewAmi);
  StepOutcome missing = Run();
  EXPECT_EQ(missing.status, v1::Result::REJECTED);
  EXPECT_THAT(missing.reason, HasSubstr(kNewAmi));

  fleet.AddParameter(kParameter, "not-an-ami", 8);
  StepOutcome garbage = Run();
  EXPECT_EQ(garbage.status, v1::Result::REJECTED);
  EXPECT_THAT(garbage.reason, HasSubstr("not an AMI id"));

  fleet.parameters.clear();
  StepOutcome gone = Run();
  EXPECT_EQ(gone.status, v1::Result::REJECTED);
  EXPECT_THAT(gone.reason, HasSubstr("not found"));

  EXPECT_EQ(fleet.MutatingCalls(), 0);
}

// An answer as the transport parses it from the wire, for `call` ("ec2 DescribeImages").
Error Refusal(aws::Protocol protocol, int status, const std::string& code,
              const std::string& call) {
  const std::string body =
      protocol == aws::Protocol::kJson11
          ? "{\"__type\":\"" + code + "\",\"message\":\"refused\"}"
          : "<Response><Errors><Error><Code>" + code +
                "</Code><Message>refused</Message></Error></Errors><RequestID>req-1</RequestID>"
                "</Response>";
  return aws::ParseAwsError(protocol, status, {}, body, call);
}

TEST_F(HandlerTest, AwsRefusingTheWorkerFailsTheRolloutNamingTheCallNeverRejects) {
  fleet.AddInstance(kOldAmi, {{kParameterTag, kParameter}});
  const std::vector<std::pair<int, std::string>> refusals = {
      {403, "UnauthorizedOperation"}, {403, "AccessDenied"},
      {401, "AuthFailure"},           {400, "ExpiredToken"},
      {403, "InvalidClientTokenId"},  {400, "UnrecognizedClientException"},
      {403, "SignatureDoesNotMatch"},
  };
  for (const auto& [status, code] : refusals) {
    fleet.FailOn("DescribeImages",
                 Refusal(aws::Protocol::kEc2Query, status, code, "ec2 DescribeImages"));
    StepOutcome images = Run();
    EXPECT_EQ(images.status, v1::Result::FAILED) << code << ": " << images.reason;
    EXPECT_THAT(images.reason, HasSubstr("ec2 DescribeImages: " + code));

    fleet.FailOn("GetParameter", Refusal(aws::Protocol::kJson11, status, code, "ssm GetParameter"));
    StepOutcome parameter = Run();
    EXPECT_EQ(parameter.status, v1::Result::FAILED) << code << ": " << parameter.reason;
    EXPECT_THAT(parameter.reason, HasSubstr("ssm GetParameter: " + code));
  }
  // What AWS says about the AMI itself still rejects the event.
  fleet.FailOn("DescribeImages", Refusal(aws::Protocol::kEc2Query, 400, "InvalidAMIID.Malformed",
                                         "ec2 DescribeImages"));
  StepOutcome malformed = Run();
  EXPECT_EQ(malformed.status, v1::Result::REJECTED) << malformed.reason;
  EXPECT_THAT(malformed.reason, HasSubstr("InvalidAMIID.Malformed"));
  EXPECT_EQ(fleet.MutatingCalls(), 0);
}

TEST_F(HandlerTest, NoCredentialsFailsTheRolloutNamingTheCallNotAMissingParameter) {
  const StepOutcome last = RunWith(*handlers::testing::UnreachableCell(/*credentials=*/false));
  EXPECT_EQ(last.status, v1::Result::FAILED) << last.reason;
  EXPECT_THAT(last.reason, HasSubstr("ssm GetParameter: credentials: no AWS credentials found"));
  EXPECT_THAT(last.reason, ::testing::Not(HasSubstr("not found: nothing done")));
}

TEST_F(HandlerTest, AnUnreachableEndpointFailsTheRolloutNamingTheCallAfterRetries) {
  const StepOutcome last = RunWith(*handlers::testing::UnreachableCell(/*credentials=*/true));
  EXPECT_EQ(last.status, v1::Result::FAILED) << last.reason;
  EXPECT_THAT(last.reason, HasSubstr("ssm GetParameter: POST http://127.0.0.1:1/"));
  EXPECT_GT(outcomes.size(), 1u) << "a refused connection is retried before the workflow fails";
}

TEST_F(HandlerTest, NothingBoundIsSkipped) {
  StepOutcome last = Run();
  EXPECT_EQ(last.status, v1::Result::SKIPPED);
  EXPECT_THAT(last.reason, HasSubstr("no Auto Scaling group or instance is bound"));
}

TEST_F(HandlerTest, ANewerVersionDuringTheRolloutIsRolledOutToo) {
  const std::string third = "ami-00000000000third0";
  fleet.AddImage(third);
  const std::string id = fleet.AddInstance(kOldAmi, {{kParameterTag, kParameter}}).instance.id;
  // The parameter moves on while the first replacement runs.
  bool moved = false;
  ON_CALL(*cell.ec2, AttachVolume(::testing::_))
      .WillByDefault(::testing::Return(FakeAccount::AwsError("Unused", "")));
  ON_CALL(*cell.ec2, StopInstances(::testing::_))
      .WillByDefault(::testing::Invoke(
          [&](const aws::StopInstancesRequest& r) -> Result<aws::InstanceStateChanges> {
            if (!moved) fleet.AddParameter(kParameter, third, 8);
            moved = true;
            for (const auto& i : r.instance_ids) {
              fleet.instances.at(i).instance.state = {80, "stopped"};
            }
            return aws::InstanceStateChanges{};
          }));

  StepOutcome last = Run();

  EXPECT_EQ(last.status, v1::Result::SUCCEEDED) << Describe();
  EXPECT_THAT(last.reason, HasSubstr("param:/ami/linux/test:8"));
  EXPECT_THAT(last.reason, HasSubstr("after param:/ami/linux/test:7"));
  auto first = fleet.ReplacementOf(id);
  ASSERT_TRUE(first);
  auto second = fleet.ReplacementOf(*first);
  ASSERT_TRUE(second);
  EXPECT_EQ(fleet.Get(*second).image_id, third);
}

TEST_F(HandlerTest, LockedResourcesNameGroupsInstancesAndTargetGroups) {
  v1::AmiRolloutState s;
  auto* a = s.add_asgs();
  a->set_name("web-asg");
  a->set_phase("follow-refresh");
  auto* done = s.add_asgs();
  done->set_name("finished");
  done->set_phase(kPhaseDone);
  auto* r = s.add_instances();
  r->set_instance_id("i-0aaa");
  r->set_new_instance_id("i-0bbb");
  r->set_phase("attach-volumes");
  r->mutable_capture()->add_target_groups()->set_arn("arn:tg/web");
  v1::WorkflowCheckpoint checkpoint;
  checkpoint.mutable_state()->PackFrom(s);

  auto locks = Handler().LockedResources(checkpoint);

  EXPECT_THAT(locks, ::testing::UnorderedElementsAre("asg:web-asg", "instance:i-0aaa",
                                                     "instance:i-0bbb", "tg:arn:tg/web"));
  EXPECT_TRUE(Handler().StepMutates(kStepRollOut));
  EXPECT_FALSE(Handler().StepMutates(kStepReadParameter));
  EXPECT_FALSE(Handler().StepMutates(kStepPlanTargets));
}

TEST_F(HandlerTest, UnknownStepFailsTheWorkflowInsteadOfCrashing) {
  wf = Admit();
  handlers::testing::FakeStepContext ctx(&wf, &cell.clients, &clock);
  StepOutcome o = Handler().RunStep("a-step-from-the-future", ctx);
  EXPECT_EQ(o.kind, StepOutcome::Kind::kFinish);
  EXPECT_EQ(o.status, v1::Result::FAILED);
  EXPECT_THAT(o.reason, HasSubstr("unknown step"));
}

TEST_F(HandlerTest, MetricsGoToTheConfiguredNamespace) {
  ami().set_metrics_namespace("FleetKeeper/AmiRollout");
  fleet.AddInstance(kOldAmi, {{kParameterTag, kParameter}});
  Run();
  ASSERT_EQ(fleet.metrics.size(), 1u);
  EXPECT_EQ(fleet.metrics[0].metric_namespace, "FleetKeeper/AmiRollout");
  double succeeded = -1;
  for (const auto& m : fleet.metrics[0].metrics) {
    if (m.metric_name == "TargetsSucceeded") succeeded = m.value;
    EXPECT_EQ(m.dimensions.at(0).value, kParameter);
  }
  EXPECT_EQ(succeeded, 1);
}

TEST(RolloutConfigTest, MergesAsgConfigurationsOverDefaultsKeyByKey) {
  v1::WorkerConfig worker;
  auto* ami = worker.mutable_handlers()->mutable_ami_rollout();
  ami->mutable_refresh_defaults()->set_min_healthy_percentage(90);
  ami->mutable_refresh_defaults()->set_auto_rollback(true);
  ami->mutable_refresh_defaults()->add_checkpoint_percentages(10);
  ami->mutable_refresh_defaults()->add_checkpoint_percentages(100);
  ami->mutable_refresh_defaults()->mutable_alarm_specification()->add_alarms("base");
  v1::RefreshPreferences web;
  web.set_auto_rollback(false);  // a zero value that must still override
  web.add_checkpoint_percentages(50);
  (*ami->mutable_asg_configurations())["web"] = web;

  RolloutConfig config = RolloutConfig::From(worker);
  v1::RefreshPreferences merged = config.EffectivePreferences("web");
  EXPECT_EQ(merged.min_healthy_percentage(), 90);
  EXPECT_TRUE(merged.has_auto_rollback());
  EXPECT_FALSE(merged.auto_rollback());
  ASSERT_EQ(merged.checkpoint_percentages_size(), 1);
  EXPECT_EQ(merged.checkpoint_percentages(0), 50);
  EXPECT_EQ(merged.alarm_specification().alarms(0), "base");
  EXPECT_TRUE(config.EffectivePreferences("other").auto_rollback());
}

TEST(RolloutConfigTest, DefaultsForAHandBuiltConfig) {
  RolloutConfig config = RolloutConfig::From(v1::WorkerConfig());
  EXPECT_EQ(config.strategy, ReplacementStrategy::kRelaunch);
  EXPECT_EQ(config.max_concurrency, 2);
  EXPECT_EQ(config.max_unavailable, 1);
  EXPECT_EQ(config.refresh_in_progress, RefreshInProgressPolicy::kWait);
  EXPECT_EQ(config.step_timeout_ms, 15 * 60 * 1000);
  EXPECT_FALSE(config.pin_before_refresh);
  EXPECT_FALSE(config.attach_live);
}

TEST(RefreshStatusTest, ActiveStatusesAreTheRunningOnes) {
  for (const char* s : {"Pending", "InProgress", "Cancelling", "RollbackInProgress", "Baking"}) {
    EXPECT_TRUE(RefreshActive(s)) << s;
  }
  for (const char* s :
       {"Successful", "Failed", "Cancelled", "RollbackSuccessful", "RollbackFailed"}) {
    EXPECT_FALSE(RefreshActive(s)) << s;
  }
}

}  // namespace
}  // namespace fleetkeeper::handlers::ami_rollout::testing
