// What an EcsCommand may say: every field checked against its action, each refusal naming the
// field; the handler's config defaults and checks; and admission (authorization, the workflow).
#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/config_check.h"
#include "fleetkeeper/v1/ecs_state.pb.h"
#include "handlers/ecs/config.h"
#include "handlers/ecs/handler.h"
#include "handlers/ecs/intake.h"

namespace fleetkeeper::handlers::ecs {
namespace {

v1::EcsConfig Defaults() {
  v1::EcsConfig c;
  ApplyDefaults(c);
  return c;
}

v1::EcsCommand Scale(std::vector<std::string> services, int count) {
  v1::EcsCommand c;
  c.set_request_id("r1");
  c.set_action("scale");
  c.set_cluster("dev");
  for (auto& s : services) c.add_services(s);
  c.set_desired_count(count);
  return c;
}

// The error ReadCommand gives, or "" when the command is valid.
std::string Problem(const v1::EcsCommand& c) {
  auto s = ReadCommand(c, Defaults());
  return s.ok() ? "" : s.error().message;
}

TEST(EcsIntakeTest, RefusalsNameTheField) {
  v1::EcsCommand c = Scale({"api"}, 1);
  c.set_action("reboot");
  EXPECT_EQ(Problem(c).rfind("action: unknown action \"reboot\"", 0), 0u) << Problem(c);
  c.clear_action();
  EXPECT_EQ(Problem(c).rfind("action: missing", 0), 0u) << Problem(c);

  c = Scale({"api"}, 1);
  c.clear_cluster();
  EXPECT_EQ(Problem(c).rfind("cluster: missing", 0), 0u) << Problem(c);

  EXPECT_EQ(Problem(Scale({"api"}, -1)), "desired_count: must not be negative, got -1");
  c = Scale({"api"}, 1);
  c.clear_desired_count();
  EXPECT_EQ(Problem(c).rfind("desired_count: missing", 0), 0u);
  EXPECT_EQ(Problem(Scale({}, 1)).rfind("services: missing", 0), 0u);
  EXPECT_EQ(Problem(Scale({"api", "api"}, 1)), "services[1]: \"api\" is named twice");
  EXPECT_EQ(Problem(Scale({"api", ""}, 1)), "services[1]: must not be empty");
  EXPECT_EQ(Problem(Scale({"api", "*"}, 1)),
            "services[1]: \"*\" selects every service and stands alone");

  c = Scale({"api"}, 1);
  c.set_verify_timeout("soon");
  EXPECT_EQ(Problem(c), "verify_timeout: \"soon\" is not a duration (e.g. 90s, 5m, 1h)");
  c.set_verify_timeout("0s");
  EXPECT_EQ(Problem(c), "verify_timeout: must be more than 0");

  c = Scale({"api"}, 1);
  c.set_action("restart");
  EXPECT_EQ(Problem(c), "desired_count: only for action scale");

  v1::EcsCommand stop;
  stop.set_action("stop_tasks");
  stop.set_cluster("dev");
  EXPECT_EQ(Problem(stop).rfind("tasks: stop_tasks names either tasks or services", 0), 0u);
  stop.add_services("api");
  stop.set_max_concurrency(0);
  EXPECT_EQ(Problem(stop), "max_concurrency: must be at least 1, got 0");
  stop.clear_services();
  stop.add_tasks("t1");
  stop.set_max_concurrency(1);
  EXPECT_EQ(Problem(stop), "max_concurrency: only for stop_tasks of whole services");

  v1::EcsCommand drain;
  drain.set_action("drain");
  drain.set_cluster("dev");
  EXPECT_EQ(Problem(drain).rfind("container_instances: missing", 0), 0u);
  drain.add_services("api");
  EXPECT_EQ(Problem(drain), "services: not used by drain");

  v1::EcsCommand list;
  list.set_action("list_clusters");
  list.set_cluster("dev");
  EXPECT_EQ(Problem(list), "cluster: not used by list_clusters");
}

TEST(EcsIntakeTest, StateCarriesTargetsAndTimeouts) {
  v1::EcsCommand c = Scale({"api", "web"}, 0);
  c.set_verify_timeout("90s");
  auto s = ReadCommand(c, Defaults());
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->action(), "scale");
  EXPECT_EQ(s->cluster(), "dev");
  ASSERT_EQ(s->services_size(), 2);
  EXPECT_EQ(s->services(1).name(), "web");
  EXPECT_EQ(s->desired_count(), 0);
  EXPECT_EQ(s->verify_timeout_ms(), 90'000);
  EXPECT_EQ(s->poll_ms(), kDefaultPollIntervalMs);

  c.clear_verify_timeout();
  s = ReadCommand(c, Defaults());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->verify_timeout_ms(), kDefaultVerifyTimeoutMs);
}

TEST(EcsIntakeTest, SummaryTopicFromTheCommandOrTheConfig) {
  const std::string mine = "arn:aws:sns:us-east-1:111122223333:mine";
  const std::string team = "arn:aws:sns:us-east-1:111122223333:team";
  v1::EcsConfig config = Defaults();
  v1::EcsCommand c = Scale({"api"}, 0);
  auto s = ReadCommand(c, config);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->notify_topic_arn(), "");
  config.set_notify_topic_arn(team);
  EXPECT_EQ(ReadCommand(c, config)->notify_topic_arn(), team);
  c.set_notify_topic_arn(mine);
  EXPECT_EQ(ReadCommand(c, config)->notify_topic_arn(), mine);

  c.set_notify_topic_arn("team-topic");
  EXPECT_EQ(Problem(c), "notify_topic_arn: \"team-topic\" is not an SNS topic ARN");
  v1::EcsCommand list;
  list.set_action("list_services");
  list.set_cluster("dev");
  list.set_notify_topic_arn(mine);
  EXPECT_EQ(Problem(list), "notify_topic_arn: list actions send no summary");
  // A list action sends no summary, whatever the config says.
  list.clear_notify_topic_arn();
  EXPECT_EQ(ReadCommand(list, config)->notify_topic_arn(), "");
}

TEST(EcsConfigTest, DefaultsAndChecks) {
  v1::WorkerConfig w;
  v1::EcsConfig& c = *w.mutable_handlers()->mutable_ecs();
  ApplyDefaults(c);
  EXPECT_EQ(c.verify_timeout().seconds(), 600);
  EXPECT_EQ(c.poll_interval().seconds(), 10);
  c.mutable_verify_timeout()->set_seconds(30);
  ApplyDefaults(c);
  EXPECT_EQ(c.verify_timeout().seconds(), 30);

  std::vector<ConfigError> errors;
  std::vector<std::string> warnings;
  ConfigChecker check(errors, warnings);
  Validate(w, check);
  EXPECT_TRUE(errors.empty());

  c.mutable_poll_interval()->set_seconds(0);
  Validate(w, check);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "handlers.ecs.poll_interval");

  c.mutable_poll_interval()->set_seconds(10);
  c.set_notify_topic_arn("arn:aws:sqs:us-east-1:111122223333:q");
  errors.clear();
  Validate(w, check);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "handlers.ecs.notify_topic_arn");
}

TEST(EcsFactoryTest, DeclaresEveryCallAndFillsItsSection) {
  v1::WorkerConfig config;
  const HandlerFactory& f = Factory();
  EXPECT_EQ(f.name(), "ecs");
  EXPECT_TRUE(f.Enabled(config));
  f.ApplyDefaults(config);
  EXPECT_EQ(config.handlers().ecs().verify_timeout().seconds(), 600);
  const auto actions = f.Permissions(config);
  EXPECT_TRUE(std::is_sorted(actions.begin(), actions.end()));
  for (const char* a : {"ecs:UpdateService", "ecs:TagResource", "ecs:UntagResource", "ecs:StopTask",
                        "ecs:UpdateContainerInstancesState"}) {
    EXPECT_NE(std::find(actions.begin(), actions.end(), a), actions.end()) << a;
  }
  config.mutable_handlers()->mutable_ecs()->set_enabled(false);
  EXPECT_FALSE(f.Enabled(config));
}

class EcsAdmissionTest : public ::testing::Test {
 protected:
  Admission Admit(const v1::EcsCommand& c, const std::string& account = "111122223333") {
    v1::Event e;
    e.set_id(c.request_id());
    e.set_dedup_key(c.request_id());
    e.set_account(account);
    e.set_region("us-east-1");
    *e.mutable_ecs_command() = c;
    Factory().ApplyDefaults(config_);
    EcsHandler handler(config_);
    AdmissionContext ctx{config_, clock_, false, nullptr};
    return handler.Admit(e, ctx);
  }
  v1::WorkerConfig config_;
  ManualClock clock_;
};

TEST_F(EcsAdmissionTest, AuthorizedCommandBecomesAWorkflowThatLocksItsServices) {
  config_.mutable_commands()->add_allowed_accounts("111122223333");
  Admission a = Admit(Scale({"api", "web"}, 0));
  ASSERT_EQ(a.kind, Admission::Kind::kWorkflow) << a.reason;
  EXPECT_EQ(a.workflow.step(), "discover");
  EXPECT_EQ(a.workflow.handler(), "ecs");
  EcsHandler handler(config_);
  EXPECT_EQ(handler.LockedResources(a.workflow),
            (std::vector<std::string>{"ecs:dev/api", "ecs:dev/web"}));
  EXPECT_FALSE(handler.StepMutates("discover"));
  EXPECT_TRUE(handler.StepMutates("act"));
  EXPECT_FALSE(handler.StepMutates("verify"));
}

TEST_F(EcsAdmissionTest, RefusedAccountRoleTargetsAndFields) {
  config_.mutable_commands()->add_allowed_accounts("111122223333");
  config_.mutable_commands()->add_allowed_roles("arn:aws:iam::111122223333:role/ops-*");
  config_.mutable_commands()->set_max_targets(1);
  Admission a = Admit(Scale({"api"}, 0), "999988887777");
  EXPECT_EQ(a.status, v1::Result::REJECTED);
  EXPECT_EQ(a.reason, "account 999988887777 is not in commands.allowed_accounts");

  v1::EcsCommand c = Scale({"api"}, 0);
  c.set_role_arn("arn:aws:iam::111122223333:role/admin");
  a = Admit(c);
  EXPECT_EQ(a.status, v1::Result::REJECTED);
  EXPECT_NE(a.reason.find("commands.allowed_roles"), std::string::npos) << a.reason;

  a = Admit(Scale({"api", "web"}, 0));
  EXPECT_EQ(a.status, v1::Result::REJECTED);
  EXPECT_NE(a.reason.find("commands.max_targets (1)"), std::string::npos) << a.reason;

  a = Admit(Scale({"api"}, -3));
  EXPECT_EQ(a.kind, Admission::Kind::kFinal);
  EXPECT_EQ(a.status, v1::Result::REJECTED);
  EXPECT_EQ(a.reason, "desired_count: must not be negative, got -3");
}

}  // namespace
}  // namespace fleetkeeper::handlers::ecs
