// The self-healing steps that act on deployments, ecs_force_deploy and stop_deployment
// (CodeDeploy), against the stateful fake fleet.
#include <gtest/gtest.h>

#include "fleetkeeper/v1/self_healing_state.pb.h"
#include "handlers/self_healing/handler.h"
#include "handlers/self_healing/steps.h"
#include "tests/handlers/self_healing/steps_fixture.h"

namespace fleetkeeper::handlers::self_healing {
namespace {

using handlers::testing::FakeStepContext;
using testing::AddRule;
using testing::AlarmEvent;
using testing::ApiAlarm;
using testing::StepsTest;

// ---- ecs_force_deploy, stop_deployment -----------------------------------------------------

aws::EcsService Service(const std::string& name) {
  aws::EcsService s;
  s.name = name;
  s.desired_count = 2;
  s.running_count = 2;
  aws::EcsDeployment d;
  d.id = "ecs-svc/old";
  d.status = "PRIMARY";
  d.desired_count = 2;
  d.running_count = 2;
  d.rollout_state = "COMPLETED";
  s.deployments.push_back(d);
  return s;
}

// An ecs_force_deploy rule for the 5xx alarm of service "api", whose new deployment stays
// IN_PROGRESS until the test lets it complete.
class EcsForceDeployTest : public StepsTest {
 protected:
  void SetUp() override {
    AddRule(config_, "ecs", "*5xx*", "ecs_force_deploy");
    fleet_.services["api"] = Service("api");
    fleet_.ecs_completes = false;
  }
};

TEST_F(EcsForceDeployTest, WaitsForTheNewDeploymentToComplete) {
  auto wf = Admit(ApiAlarm());
  RunUntil(wf, "ecs.verify");
  {
    SelfHealingHandler handler(config_);
    FakeStepContext ctx(&wf, &cell_.clients, &clock_);
    EXPECT_EQ(handler.RunStep("ecs.verify", ctx).kind, StepOutcome::Kind::kWait)
        << "IN_PROGRESS is not done";
  }
  fleet_.ecs_completes = true;
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED) << Final(out).reason;
  EXPECT_NE(Final(out).reason.find("ecs-svc/1 rolloutState COMPLETED"), std::string::npos)
      << Final(out).reason;
  EXPECT_EQ(fleet_.Calls("UpdateService"), 1);
}

TEST_F(EcsForceDeployTest, IsNotRepeatedWhenResumed) {
  auto wf = Admit(ApiAlarm());
  RunUntil(wf, "ecs.force");
  const auto checkpoint = wf;
  SelfHealingHandler handler(config_);
  FakeStepContext ctx(&wf, &cell_.clients, &clock_);
  handler.RunStep("ecs.force", ctx);
  v1::WorkflowCheckpoint resumed = checkpoint;
  fleet_.ecs_completes = true;
  auto out = Run(resumed);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED);
  EXPECT_EQ(fleet_.Calls("UpdateService"), 1);
}

TEST_F(EcsForceDeployTest, AFailedRolloutFails) {
  auto wf = Admit(ApiAlarm());
  RunUntil(wf, "ecs.verify");
  auto& dep = fleet_.services["api"].deployments.front();
  dep.rollout_state = "FAILED";
  dep.rollout_state_reason = "ECS deployment circuit breaker: tasks failed to start.";
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::FAILED);
  EXPECT_NE(Final(out).reason.find("tasks failed to start"), std::string::npos);
}

TEST_F(StepsTest, StopDeploymentStopsWithRollbackAndVerifies) {
  AddRule(config_, "deploy", "*Errors*", "stop_deployment");
  aws::DeploymentInfo d;
  d.deployment_id = "d-ABC";
  d.status = "InProgress";
  fleet_.deployments["d-ABC"] = d;
  EXPECT_CALL(*cell_.codedeploy,
              StopDeployment(::testing::Field(&aws::StopDeploymentRequest::auto_rollback_enabled,
                                              std::optional<bool>(true))));
  auto wf = Admit(AlarmEvent("shop-Errors", "ALARM", {{"DeploymentId", "d-ABC"}}));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED) << Final(out).reason;
  EXPECT_EQ(fleet_.deployments["d-ABC"].status, "Stopped");
  EXPECT_NE(Final(out).reason.find("rolled back by d-ROLLBACK"), std::string::npos);
}

// CodeDeploy's alarms carry no DeploymentId: the deployment is the active one of the groups whose
// alarm configuration lists the alarm (shapes as in
// https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_DeploymentGroupInfo.html).
class StopDeploymentTest : public StepsTest {
 protected:
  void SetUp() override {
    Group("shop", "prod", {"shop-Errors"});
    Group("shop", "canary", {});
    Group("billing", "main", {"billing-Errors"});
    Deployment("d-OLD", "shop", "prod", "Succeeded");
    Deployment("d-PROD", "shop", "prod", "InProgress");
    Deployment("d-CANARY", "shop", "canary", "Queued");
    Deployment("d-BILL", "billing", "main", "InProgress");
  }
  void Group(const std::string& app, const std::string& name, std::vector<std::string> alarms) {
    aws::DeploymentGroupInfo g;
    g.application_name = app;
    g.deployment_group_name = name;
    g.alarms_enabled = false;
    g.alarm_names = std::move(alarms);
    fleet_.deployment_groups[app].push_back(g);
  }
  void Deployment(const std::string& id, const std::string& app, const std::string& group,
                  const std::string& status) {
    aws::DeploymentInfo d;
    d.deployment_id = id;
    d.application_name = app;
    d.deployment_group_name = group;
    d.status = status;
    fleet_.deployments[id] = d;
  }
  std::string Status(const std::string& id) { return fleet_.deployments[id].status; }
};

TEST_F(StopDeploymentTest, FindsTheGroupThatListsTheAlarmAndStopsItsActiveDeployment) {
  AddRule(config_, "deploy", "*Errors*", "stop_deployment");
  EXPECT_CALL(*cell_.codedeploy,
              StopDeployment(::testing::Field(&aws::StopDeploymentRequest::auto_rollback_enabled,
                                              std::optional<bool>(true))));
  auto wf = Admit(AlarmEvent("shop-Errors", "ALARM", {}));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED) << Final(out).reason;
  EXPECT_EQ(Status("d-PROD"), "Stopped");
  EXPECT_EQ(Status("d-CANARY"), "Queued");  // its group does not list the alarm
  EXPECT_EQ(Status("d-BILL"), "InProgress");
  EXPECT_NE(Final(out).reason.find("deployment d-PROD Stopped, rolled back by d-ROLLBACK"),
            std::string::npos)
      << Final(out).reason;
  const v1::Action* found = FindAction(wf, "ListDeployments", "ok");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->detail(), "active in shop/prod: d-PROD");
}

TEST_F(StopDeploymentTest, TheRulesDeploymentGroupNeedsNoLookup) {
  auto* r = AddRule(config_, "deploy", "*Errors*", "stop_deployment");
  r->mutable_action()->set_application("shop");
  r->mutable_action()->set_deployment_group("canary");
  auto wf = Admit(AlarmEvent("shop-Errors", "ALARM", {}));
  auto dry = wf;
  auto preview = Run(dry, /*dry_run=*/true);
  EXPECT_EQ(Final(preview).status, v1::Result::DRY_RUN);
  EXPECT_NE(Final(preview).reason.find("would stop d-CANARY (shop/canary, Queued) with automatic "
                                       "rollback"),
            std::string::npos)
      << Final(preview).reason;
  EXPECT_EQ(Status("d-CANARY"), "Queued");
  EXPECT_EQ(fleet_.Calls("StopDeployment"), 0);

  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED) << Final(out).reason;
  EXPECT_EQ(Status("d-CANARY"), "Stopped");
  EXPECT_EQ(Status("d-PROD"), "InProgress");
  EXPECT_EQ(fleet_.Calls("ListApplications"), 0);
  EXPECT_EQ(fleet_.Calls("BatchGetDeploymentGroups"), 0);
}

TEST_F(StopDeploymentTest, AnApplicationWhoseGroupsListNoAlarmMeansAllOfItsGroups) {
  AddRule(config_, "deploy", "*Latency*", "stop_deployment")
      ->mutable_action()
      ->set_application("shop");
  auto wf = Admit(AlarmEvent("shop-Latency", "ALARM", {}));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED) << Final(out).reason;
  EXPECT_EQ(Status("d-PROD"), "Stopped");
  EXPECT_EQ(Status("d-CANARY"), "Stopped");
  EXPECT_EQ(Status("d-BILL"), "InProgress");
}

TEST_F(StopDeploymentTest, NoGroupListingTheAlarmFailsNamingItAndNoActiveDeploymentIsNothingToDo) {
  AddRule(config_, "deploy", "*Errors*", "stop_deployment");
  auto wf = Admit(AlarmEvent("search-Errors", "ALARM", {}));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::FAILED);
  EXPECT_NE(Final(out).reason.find("no CodeDeploy deployment group in this account and region "
                                   "lists alarm search-Errors"),
            std::string::npos)
      << Final(out).reason;

  fleet_.deployments["d-BILL"].status = "Succeeded";
  auto idle = Admit(AlarmEvent("billing-Errors", "ALARM", {}));
  auto done = Run(idle);
  EXPECT_EQ(Final(done).status, v1::Result::SUCCEEDED) << Final(done).reason;
  EXPECT_NE(Final(done).reason.find("no active deployment in billing/main: nothing to stop"),
            std::string::npos)
      << Final(done).reason;
  EXPECT_EQ(fleet_.Calls("StopDeployment"), 0);
}

TEST_F(StopDeploymentTest, ExcludedDeploymentGroupsAreLeftRunning) {
  config_.mutable_handlers()->mutable_self_healing()->add_excluded_resources("shop/prod");
  AddRule(config_, "deploy", "*Errors*", "stop_deployment");
  auto wf = Admit(AlarmEvent("shop-Errors", "ALARM", {}));
  auto out = Run(wf);
  EXPECT_EQ(Status("d-PROD"), "InProgress");
  const v1::Action* skipped = FindAction(wf, "StopDeployment", "skipped");
  ASSERT_NE(skipped, nullptr);
  EXPECT_NE(skipped->detail().find("excluded_resources entry \"shop/prod\""), std::string::npos);
}

}  // namespace
}  // namespace fleetkeeper::handlers::self_healing
