// The lifecycle steps, run the way the runtime runs them (RunToEnd over a checkpoint, a manual
// clock) against the stateful FakeEcs: what ECS looks like afterwards, which calls were made,
// what the result says, and that re-runs, dry runs and timeouts behave.
#include <gtest/gtest.h>

#include <algorithm>

#include "common/clock.h"
#include "fleetkeeper/v1/ecs_state.pb.h"
#include "handlers/ecs/handler.h"
#include "handlers/ecs/intake.h"
#include "handlers/ecs/scaling.h"
#include "tests/handlers/ecs/fake_aas.h"
#include "tests/handlers/ecs/fake_ecs.h"
#include "tests/handlers/ecs/steps_fixture.h"
#include "tests/testing/step_harness.h"

namespace fleetkeeper::handlers::ecs {
namespace {

using handlers::testing::FakeStepContext;
using handlers::testing::RunToEnd;
using testing::EcsStepsTest;
using testing::FakeEcs;

TEST_F(EcsStepsTest, ScaleToZeroTagsFirstThenRestoreBringsTheCountsBack) {
  auto scale = Command("scale", {"api", "web"});
  scale.set_desired_count(0);
  StepOutcome o = Run(scale);
  ASSERT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  EXPECT_EQ(
      ecs_->Mutations(),
      (std::vector<std::string>{
          "TagResource fleetkeeper:previous-desired-count=2", "UpdateService api desired=0",
          "TagResource fleetkeeper:previous-desired-count=3", "UpdateService web desired=0"}));
  EXPECT_EQ(ecs_->services["dev"]["web"].running_count, 0);
  EXPECT_EQ(ecs_->services["dev"]["web"].tags.at(kPreviousCountTag), "3");
  const v1::Action* verify = Find(o, "ecs:dev/web", "verify");
  ASSERT_NE(verify, nullptr);
  EXPECT_EQ(verify->detail().rfind("desired 3 -> 0, running 3 -> 0; deployment ecs-svc/", 0), 0u)
      << verify->detail();

  ecs_->calls.clear();
  o = Run(Command("restore", {"api", "web"}));
  ASSERT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  EXPECT_EQ(
      ecs_->Mutations(),
      (std::vector<std::string>{
          "UpdateService api desired=2", "UntagResource fleetkeeper:previous-desired-count",
          "UpdateService web desired=3", "UntagResource fleetkeeper:previous-desired-count"}));
  EXPECT_EQ(ecs_->services["dev"]["api"].running_count, 2);
  EXPECT_TRUE(ecs_->services["dev"]["api"].tags.empty());
}

TEST_F(EcsStepsTest, ActRunAgainAfterACrashDoesNotScaleTwice) {
  auto scale = Command("scale", {"api"});
  scale.set_desired_count(5);
  const v1::WorkflowCheckpoint before_act = AtAct(scale);
  v1::WorkflowCheckpoint wf = before_act;
  ASSERT_EQ(RunStep("act", &wf).next_step, "verify");
  // The worker died before the checkpoint: the next owner runs act again from before_act.
  v1::WorkflowCheckpoint again = before_act;
  StepOutcome o = RunStep("act", &again);
  EXPECT_EQ(o.next_step, "verify");
  EXPECT_EQ(ecs_->Mutations(), (std::vector<std::string>{"UpdateService api desired=5"}));
  ASSERT_EQ(o.actions.size(), 1u);
  EXPECT_EQ(o.actions[0].status(), "skipped");
}

TEST_F(EcsStepsTest, VerifyTimesOutNamingWhatDidNotConverge) {
  ecs_->stuck = {"web"};
  auto scale = Command("scale", {"api", "web"});
  scale.set_desired_count(1);
  StepOutcome o = Run(scale);
  EXPECT_EQ(o.status, v1::Result::PARTIAL) << o.reason;
  EXPECT_NE(o.reason.find("web (not converged within 30 s: desired 1, running 3 (target 1))"),
            std::string::npos)
      << o.reason;
  EXPECT_NE(o.reason.find("verified: api"), std::string::npos) << o.reason;
  // Polled on the timer grid until the deadline, never past it by more than one poll.
  EXPECT_LE(clock_.NowMs() - ManualClock().NowMs(), 30'000 + 2'000 + 2'000);
}

TEST_F(EcsStepsTest, RestartWaitsForTheNewDeploymentAndReportsAFailedRollout) {
  const std::string before = ecs_->services["dev"]["api"].deployments[0].id;
  StepOutcome o = Run(Command("restart", {"api"}));
  ASSERT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  const auto& after = ecs_->services["dev"]["api"].deployments;
  ASSERT_EQ(after.size(), 1u);
  EXPECT_NE(after[0].id, before);
  EXPECT_NE(o.reason.find(after[0].id + " PRIMARY COMPLETED (was " + before + ")"),
            std::string::npos)
      << o.reason;

  ecs_->rollout_failure = "ECS deployment circuit breaker: tasks failed to start.";
  o = Run(Command("restart", {"web"}));
  EXPECT_EQ(o.status, v1::Result::FAILED) << o.reason;
  EXPECT_NE(o.reason.find("failed: ECS deployment circuit breaker: tasks failed to start."),
            std::string::npos)
      << o.reason;
}

TEST_F(EcsStepsTest, DryRunListsTheCallsAndMakesNone) {
  auto scale = Command("scale", {"api"});
  scale.set_desired_count(0);
  StepOutcome o = Run(scale, true);
  EXPECT_EQ(o.status, v1::Result::DRY_RUN) << o.reason;
  EXPECT_TRUE(ecs_->Mutations().empty());
  ASSERT_EQ(last_.actions_size(), 2);
  EXPECT_EQ(last_.actions(0).action(), "TagResource");
  EXPECT_EQ(last_.actions(1).detail(),
            "would call UpdateService: desiredCount 2 -> 0 (desired 2, running 2)");
}

TEST_F(EcsStepsTest, MissingClusterOrServiceIsRejectedWithNothingTouched) {
  auto scale = Command("scale", {"api", "ghost"});
  scale.set_desired_count(0);
  StepOutcome o = Run(scale);
  EXPECT_EQ(o.status, v1::Result::REJECTED);
  EXPECT_EQ(o.reason, "service ghost not found in cluster dev; nothing was changed");
  scale.set_cluster("nowhere");
  o = Run(scale);
  EXPECT_EQ(o.status, v1::Result::REJECTED);
  EXPECT_EQ(o.reason.rfind("cluster nowhere not found", 0), 0u) << o.reason;
  o = Run(Command("restore", {"api"}));
  EXPECT_EQ(o.status, v1::Result::REJECTED);
  EXPECT_NE(o.reason.find("nothing to restore: service api"), std::string::npos) << o.reason;
  EXPECT_TRUE(ecs_->Mutations().empty());
}

TEST_F(EcsStepsTest, EveryServiceCountsAgainstMaxTargetsBeforeAnyIsRead) {
  for (int i = 0; i < 4; ++i) ecs_->AddService("dev", "extra" + std::to_string(i), 1);
  config_.mutable_commands()->set_max_targets(5);
  auto scale = Command("scale", {"*"});
  scale.set_desired_count(0);
  StepOutcome o = Run(scale);
  EXPECT_EQ(o.status, v1::Result::REJECTED);
  EXPECT_EQ(o.reason, "6 targets exceed commands.max_targets (5); nothing was changed");
  EXPECT_TRUE(ecs_->Mutations().empty());
}

TEST_F(EcsStepsTest, ListServicesReadsEveryPage) {
  for (int i = 0; i < 23; ++i) ecs_->AddService("dev", "svc" + std::to_string(i), 0);
  StepOutcome o = Run(Command("list_services"));
  ASSERT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  EXPECT_EQ(o.reason, "25 services in cluster dev");
  EXPECT_EQ(last_.actions_size(), 25);
  EXPECT_EQ(std::count(ecs_->calls.begin(), ecs_->calls.end(), "ListServices dev"), 13);
  const v1::Action* web = Find(o, FakeEcs::ServiceArn("dev", "web"), "service");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->detail().rfind("web: desired 3, running 3, pending 0", 0), 0u) << web->detail();
  EXPECT_TRUE(ecs_->Mutations().empty());
}

TEST_F(EcsStepsTest, StopTasksOfAServiceOneRoundAtATime) {
  auto stop = Command("stop_tasks", {"web"});
  stop.set_max_concurrency(1);
  const auto original = ecs_->TasksOf("web");
  StepOutcome o = Run(stop);
  ASSERT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  // Each StopTask only after the service ran its desired count again (a DescribeServices read
  // in between).
  std::vector<std::string> stops;
  for (size_t i = 0; i < ecs_->calls.size(); ++i) {
    if (ecs_->calls[i].rfind("StopTask", 0) == 0) stops.push_back(ecs_->calls[i].substr(9));
  }
  EXPECT_EQ(stops, original);
  for (const auto& t : original) EXPECT_EQ(ecs_->tasks[t].last_status, "STOPPED");
  EXPECT_EQ(ecs_->TasksOf("web").size(), 3u);
}

TEST_F(EcsStepsTest, DrainReportsStuckInstances) {
  const std::string ci = ecs_->AddInstance("dev", 2);
  ecs_->converge = false;
  v1::EcsCommand drain = Command("drain");
  drain.add_container_instances(ci);
  StepOutcome o = Run(drain);
  EXPECT_EQ(o.status, v1::Result::FAILED) << o.reason;
  EXPECT_NE(o.reason.find("stuck with 2 running tasks"), std::string::npos) << o.reason;
  EXPECT_EQ(ecs_->instances[ci].status, "DRAINING");

  ecs_->converge = true;
  drain.set_request_id("req-drain-2");
  drain.set_container_instances(0, ecs_->AddInstance("dev", 2));
  o = Run(drain);
  EXPECT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  EXPECT_NE(o.reason.find("2 tasks moved"), std::string::npos) << o.reason;
}

TEST_F(EcsStepsTest, UnknownStepFailsTheWorkflow) {
  auto wf = Admit(Command("list_clusters"));
  StepOutcome o = RunStep("rebalance", &wf);
  EXPECT_EQ(o.status, v1::Result::FAILED);
  EXPECT_NE(o.reason.find("unknown step \"rebalance\""), std::string::npos) << o.reason;
}

// A service under Application Auto Scaling: its scaling is suspended (marker tag first) before
// the count drops, and a restore resumes it after the count is back; a service without a scalable
// target is scaled as before.
TEST_F(EcsStepsTest, ScaleToZeroSuspendsScalingAndRestoreResumesIt) {
  aas_->Add("dev", "api", 1, 4);
  auto scale = Command("scale", {"api", "web"});
  scale.set_desired_count(0);
  StepOutcome o = Run(scale);
  ASSERT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  EXPECT_EQ(ecs_->Mutations(),
            (std::vector<std::string>{
                "TagResource fleetkeeper:previous-desired-count=2",
                "TagResource fleetkeeper:scaling-suspended=in,out,scheduled",
                "RegisterScalableTarget service/dev/api suspended=in,out,scheduled",
                "UpdateService api desired=0", "TagResource fleetkeeper:previous-desired-count=3",
                "UpdateService web desired=0"}));
  EXPECT_TRUE(aas_->targets["service/dev/api"].suspended.All());
  const v1::Action* suspended = Find(o, "ecs:dev/api", "RegisterScalableTarget");
  ASSERT_NE(suspended, nullptr);
  EXPECT_NE(suspended->detail().find("(was min 1, max 4, scaling active)"), std::string::npos)
      << suspended->detail();

  ecs_->calls.clear();
  o = Run(Command("restore", {"api", "web"}));
  ASSERT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  EXPECT_EQ(
      ecs_->Mutations(),
      (std::vector<std::string>{
          "UpdateService api desired=2", "RegisterScalableTarget service/dev/api suspended=none",
          "UntagResource fleetkeeper:scaling-suspended",
          "UntagResource fleetkeeper:previous-desired-count", "UpdateService web desired=3",
          "UntagResource fleetkeeper:previous-desired-count"}));
  EXPECT_FALSE(aas_->targets["service/dev/api"].suspended.Any());
  EXPECT_TRUE(ecs_->services["dev"]["api"].tags.empty());
  EXPECT_EQ(ecs_->services["dev"]["api"].running_count, 2);
}

// What someone else suspended stays suspended: the marker names only the flags fleetkeeper turned
// on, and a target suspended entirely before is left alone, with no marker.
TEST_F(EcsStepsTest, RestoreResumesOnlyWhatFleetkeeperSuspended) {
  aas_->Add("dev", "api", 0, 4).suspended.scheduled_scaling = true;
  aas_->Add("dev", "web", 0, 6).suspended = aws::SuspendedState{true, true, true};
  auto scale = Command("scale", {"api", "web"});
  scale.set_desired_count(0);
  ASSERT_EQ(Run(scale).status, v1::Result::SUCCEEDED);
  EXPECT_EQ(ecs_->services["dev"]["api"].tags.at(kScalingSuspendedTag), "in,out");
  EXPECT_EQ(ecs_->services["dev"]["web"].tags.count(kScalingSuspendedTag), 0u);
  const v1::Action* skipped = Find(StepOutcome{}, "ecs:dev/web", "RegisterScalableTarget");
  ASSERT_NE(skipped, nullptr);
  EXPECT_EQ(skipped->status(), "skipped");
  EXPECT_NE(skipped->detail().find("not by fleetkeeper"), std::string::npos);

  ecs_->calls.clear();
  ASSERT_EQ(Run(Command("restore", {"api", "web"})).status, v1::Result::SUCCEEDED);
  const aws::SuspendedState api = aas_->targets["service/dev/api"].suspended;
  EXPECT_FALSE(api.dynamic_scaling_in);
  EXPECT_FALSE(api.dynamic_scaling_out);
  EXPECT_TRUE(api.scheduled_scaling);
  EXPECT_TRUE(aas_->targets["service/dev/web"].suspended.All());
  for (const auto& call : ecs_->Mutations()) {
    EXPECT_EQ(call.find("RegisterScalableTarget service/dev/web"), std::string::npos) << call;
  }
}

// A crash after the suspension and before UpdateService: act runs again and scales once.
TEST_F(EcsStepsTest, SuspendingRunAgainAfterACrashScalesOnce) {
  aas_->Add("dev", "api", 1, 4);
  auto scale = Command("scale", {"api"});
  scale.set_desired_count(0);
  const v1::WorkflowCheckpoint before_act = AtAct(scale);
  // The first run's calls up to the suspension, as a worker that died before UpdateService left
  // them.
  ecs_->services["dev"]["api"].tags[kPreviousCountTag] = "2";
  ecs_->services["dev"]["api"].tags[kScalingSuspendedTag] = "in,out,scheduled";
  aas_->targets["service/dev/api"].suspended = aws::SuspendedState{true, true, true};
  v1::WorkflowCheckpoint again = before_act;
  EXPECT_EQ(RunStep("act", &again).next_step, "verify");
  EXPECT_EQ(ecs_->Mutations(), (std::vector<std::string>{"UpdateService api desired=0"}));
  EXPECT_EQ(ecs_->services["dev"]["api"].tags.at(kScalingSuspendedTag), "in,out,scheduled");
}

TEST_F(EcsStepsTest, ScalingAboveTheScalableTargetsMaxSaysSo) {
  aas_->Add("dev", "api", 1, 4);
  auto scale = Command("scale", {"api", "web"});
  scale.set_desired_count(6);
  StepOutcome o = Run(scale);
  ASSERT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  EXPECT_NE(o.reason.find("api (desired 2 -> 6, running 2 -> 6; deployment"), std::string::npos)
      << o.reason;
  EXPECT_NE(o.reason.find("above the scalable target's max 4"), std::string::npos) << o.reason;
  // web has no scalable target: nothing said.
  const v1::Action* web = Find(o, "ecs:dev/web", "UpdateService");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->detail(), "desiredCount 3 -> 6");
  const v1::Action* api = Find(o, "ecs:dev/api", "UpdateService");
  ASSERT_NE(api, nullptr);
  EXPECT_NE(api->detail().find("above the scalable target's max 4"), std::string::npos);
}

TEST_F(EcsStepsTest, DryRunOfAScalableServiceListsTheSuspension) {
  aas_->Add("dev", "api", 1, 4);
  auto scale = Command("scale", {"api"});
  scale.set_desired_count(0);
  StepOutcome o = Run(scale, true);
  EXPECT_EQ(o.status, v1::Result::DRY_RUN) << o.reason;
  EXPECT_TRUE(ecs_->Mutations().empty());
  ASSERT_EQ(last_.actions_size(), 3);
  EXPECT_EQ(last_.actions(1).detail(),
            "would call RegisterScalableTarget: suspend dynamic and scheduled scaling while at "
            "zero (now min 1, max 4, scaling active)");
}

TEST(EcsScaling, MarkerNamesTheFlagsTurnedOnAndResumedClearsOnlyThose) {
  EXPECT_EQ(FlagsToSuspend({}), "in,out,scheduled");
  EXPECT_EQ(FlagsToSuspend({false, false, true}), "in,out");
  EXPECT_EQ(FlagsToSuspend({true, true, true}), "");
  aws::SuspendedState all{true, true, true};
  aws::SuspendedState r = Resumed(all, "in,out");
  EXPECT_FALSE(r.dynamic_scaling_in);
  EXPECT_FALSE(r.dynamic_scaling_out);
  EXPECT_TRUE(r.scheduled_scaling);
  EXPECT_FALSE(Resumed(all, "in,out,scheduled").Any());
  EXPECT_TRUE(Resumed(all, "").All());
  EXPECT_TRUE(Resumed(all, "bogus").All());  // an edited tag resumes nothing it does not name
}

TEST(EcsScaling, ScalableTargetsAreReadFromEveryPageOfEveryCall) {
  std::vector<std::string> log;
  testing::FakeApplicationAutoScaling aas(&log);
  aas.page_size = 3;
  // More services than one call takes (aws::kMaxScalableTargetIds), every one but the last with a
  // scalable target.
  std::vector<std::string> services;
  for (size_t n = 0; n < aws::kMaxScalableTargetIds + 5; ++n) {
    services.push_back("svc-" + std::to_string(n));
    if (n + 1 < aws::kMaxScalableTargetIds + 5) aas.Add("dev", services.back(), 1, 4);
  }
  auto read = ReadScalableTargets(aas, "arn:aws:ecs:us-east-1:111122223333:cluster/dev", services);
  ASSERT_TRUE(read.ok()) << read.error().ToString();
  EXPECT_EQ(read->size(), services.size() - 1);
  EXPECT_EQ(read->count("svc-0"), 1u);
  EXPECT_EQ(read->count("svc-" + std::to_string(aws::kMaxScalableTargetIds + 3)), 1u);
  EXPECT_EQ(read->count(services.back()), 0u) << "a service without a target is absent";
  EXPECT_EQ(read->at("svc-7").resource_id, aws::EcsServiceResourceId("dev", "svc-7"));
  // 50 ids in 17 pages of 3, then 4 targets of the last 5 ids in 2 pages.
  EXPECT_EQ(aas.describes, 19);
}

// A finished mutating command puts its metrics (Targets, Failures, WorkflowFailures by Action and
// Cluster); a failed put is in the result and changes nothing else; a dry run puts none.
TEST_F(EcsStepsTest, AFinishedCommandPutsItsMetrics) {
  aws::PutMetricDataRequest put;
  EXPECT_CALL(*cw_, PutMetricData(::testing::_))
      .WillOnce(::testing::DoAll(::testing::SaveArg<0>(&put), ::testing::Return(Ok{})))
      .WillOnce(::testing::Return(Error(ErrorCode::kUnauthorized, "AccessDenied")));
  ecs_->stuck = {"web"};
  auto scale = Command("scale", {"api", "web"});
  scale.set_desired_count(1);
  StepOutcome o = Run(scale);
  ASSERT_EQ(o.status, v1::Result::PARTIAL) << o.reason;
  EXPECT_EQ(put.metric_namespace, "FleetKeeper/ECS");
  ASSERT_EQ(put.metrics.size(), 3u);
  EXPECT_EQ(put.metrics[0].metric_name, "Targets");
  EXPECT_EQ(put.metrics[0].value, 2.0);
  EXPECT_EQ(put.metrics[1].metric_name, "Failures");
  EXPECT_EQ(put.metrics[1].value, 1.0);
  EXPECT_EQ(put.metrics[2].metric_name, "WorkflowFailures");
  EXPECT_EQ(put.metrics[2].value, 0.0);
  ASSERT_EQ(put.metrics[0].dimensions.size(), 2u);
  EXPECT_EQ(put.metrics[0].dimensions[0].value, "scale");
  EXPECT_EQ(put.metrics[0].dimensions[1].value, "dev");
  const v1::Action* metrics = Find(o, "metrics:FleetKeeper/ECS", "put-metric-data");
  ASSERT_NE(metrics, nullptr);
  EXPECT_EQ(metrics->status(), "succeeded");

  ecs_->stuck.clear();
  o = Run(Command("restart", {"api"}));
  ASSERT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  metrics = Find(o, "metrics:FleetKeeper/ECS", "put-metric-data");
  ASSERT_NE(metrics, nullptr);
  EXPECT_EQ(metrics->status(), "failed");
  EXPECT_NE(metrics->detail().find("AccessDenied"), std::string::npos);

  auto dry = Command("scale", {"api"});
  dry.set_desired_count(0);
  EXPECT_EQ(Run(dry, true).status, v1::Result::DRY_RUN);  // no third put (WillOnce twice)
}

}  // namespace
}  // namespace fleetkeeper::handlers::ecs
