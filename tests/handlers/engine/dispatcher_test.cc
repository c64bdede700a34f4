#include "handlers/engine/dispatcher.h"

#include <gtest/gtest.h>

#include "tests/testing/step_harness.h"

namespace fleetkeeper::handlers {
namespace {

v1::Event EventOf(const std::string& kind) {
  v1::Event e;
  e.set_id("e-1");
  e.set_account("111122223333");
  e.set_region("us-east-1");
  if (kind == "approval") e.mutable_approval()->set_workflow_id("111122223333/us-east-1/patch-1");
  if (kind == "cancel") e.mutable_cancel()->set_workflow_id("111122223333/us-east-1/patch-1");
  if (kind == "command_progress") e.mutable_command_progress()->set_command_id("c-1");
  if (kind == "patch_request") e.mutable_patch_request()->set_request_id("r-1");
  if (kind == "ecs_command") e.mutable_ecs_command();
  if (kind == "parameter_delete") {
    e.mutable_parameter_change()->set_name("/ami/x");
    e.mutable_parameter_change()->set_operation("Delete");
  }
  return e;
}

TEST(Dispatcher, SignalsWithoutWorkflowAreSkippedOrRejected) {
  v1::WorkerConfig config;
  ManualClock clock;
  Dispatcher d(config, clock);
  EXPECT_EQ(d.Route(EventOf("command_progress"), false).status, v1::Result::SKIPPED);
  EXPECT_EQ(d.Route(EventOf("command_progress"), false).reason, "no matching workflow");
  auto approval = d.Route(EventOf("approval"), false);
  EXPECT_EQ(approval.status, v1::Result::REJECTED);
  EXPECT_NE(approval.reason.find("111122223333/us-east-1/patch-1"), std::string::npos);
  EXPECT_EQ(d.Route(EventOf("cancel"), false).status, v1::Result::REJECTED);
}

TEST(Dispatcher, DisabledHandlerRejectsNamingTheKind) {
  v1::WorkerConfig config;
  config.mutable_handlers()->mutable_self_healing()->set_enabled(false);
  ManualClock clock;
  Dispatcher d(config, clock);
  v1::Event e;
  e.set_id("a");
  e.mutable_alarm()->set_alarm_name("x");
  auto r = d.Route(e, false);
  EXPECT_EQ(r.status, v1::Result::REJECTED);
  EXPECT_NE(r.reason.find("alarm"), std::string::npos);
  EXPECT_NE(r.reason.find("disabled"), std::string::npos);
}

TEST(Dispatcher, AnEventWithoutABodyIsRejected) {
  v1::WorkerConfig config;
  ManualClock clock;
  Dispatcher d(config, clock);
  v1::Event nothing;
  nothing.set_id("empty");
  EXPECT_EQ(d.Route(nothing, false).reason, "no handler for unknown events");
}

TEST(EventKind, NamesAreTheBodyFieldsNames) {
  EXPECT_EQ(EventKindName(v1::Event::kParameterChange), "parameter_change");
  EXPECT_EQ(EventKindName(v1::Event::kAlarm), "alarm");
  EXPECT_EQ(EventKindName(v1::Event::kPatchRequest), "patch_request");
  EXPECT_EQ(EventKindName(v1::Event::kEcsCommand), "ecs_command");
  EXPECT_EQ(EventKindName(v1::Event::kApproval), "approval");
  EXPECT_EQ(EventKindName(v1::Event::kCancel), "cancel");
  EXPECT_EQ(EventKindName(v1::Event::kCommandProgress), "command_progress");
  EXPECT_EQ(EventKindName(v1::Event::kRefreshProgress), "refresh_progress");
  EXPECT_EQ(EventKindName(v1::Event::kInstanceState), "instance_state");
  EXPECT_EQ(EventKindName(v1::Event::BODY_NOT_SET), "unknown");
  EXPECT_TRUE(IsProgressSignal(v1::Event::kRefreshProgress));
  EXPECT_FALSE(IsProgressSignal(v1::Event::kApproval));
}

TEST(Dispatcher, DeletedParameterIsSkipped) {
  v1::WorkerConfig config;
  ManualClock clock;
  Dispatcher d(config, clock);
  auto r = d.Route(EventOf("parameter_delete"), false);
  EXPECT_EQ(r.status, v1::Result::SKIPPED);
  EXPECT_NE(r.reason.find("/ami/x"), std::string::npos);
}

}  // namespace
}  // namespace fleetkeeper::handlers
