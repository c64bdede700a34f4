// Normalization of native requests (JSON with a type header, JSON wrapped by kind, protobuf), and
// the event kind and cell names. The AWS forms are in normalize_eventbridge_test.cc and
// normalize_sns_test.cc.
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <string>

#include "consumers/normalizer.h"
#include "tests/consumers/normalizer_fixture.h"

namespace fleetkeeper::consumers {
namespace {

using testing::Decode;
using testing::Fixture;

// --- Native -----------------------------------------------------------------------------------

const std::vector<RecordHeader> kPatchJsonHeaders = {{"fk-type", "fleetkeeper.v1.PatchRequest"}};

void ExpectPatchRequest(const Normalized& n) {
  EXPECT_EVENT(n);
  EXPECT_EQ(n.event.body_case(), v1::Event::kPatchRequest);
  EXPECT_EQ(n.event.id(), "patch-2024-05-14-db");
  EXPECT_EQ(n.event.dedup_key(), "patch:patch-2024-05-14-db");
  EXPECT_EQ(n.event.source_format(), "native");
  EXPECT_EQ(n.event.origin(), "fleetkeeper.v1.PatchRequest");
  EXPECT_EQ(CellOf(n.event), "444455556666/eu-west-1");
  const v1::PatchRequest& request = n.event.patch_request();
  EXPECT_EQ(request.requested_by(), "alice");
  ASSERT_EQ(request.targets_size(), 1);
  EXPECT_EQ(request.targets(0).instance_ids_size(), 2);
  EXPECT_EQ(request.health_check().expect_status(), 200);
  EXPECT_EQ(request.maintenance_window().days_size(), 2);
  EXPECT_EQ(n.event.source().offset(), 42);
}

TEST(NormalizeNative, JsonWithTypeHeader) {
  ExpectPatchRequest(Decode(Fixture("native/patch-request.json"), kPatchJsonHeaders));
}

TEST(NormalizeNative, JsonWrappedByKind) {
  const Normalized wrapped = Decode(Fixture("native/patch-request-wrapped.json"));
  ExpectPatchRequest(wrapped);
  const Normalized with_header = Decode(Fixture("native/patch-request.json"), kPatchJsonHeaders);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(wrapped.event, with_header.event));
}

TEST(NormalizeNative, ProtobufBinary) {
  v1::PatchRequest request;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(Fixture("native/patch-request.json"), &request)
          .ok());
  const std::string bytes = request.SerializeAsString();
  const Normalized n = Decode(bytes, {{"content-type", "application/x-protobuf"},
                                      {"fk-type", "fleetkeeper.v1.PatchRequest"}});
  ExpectPatchRequest(n);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(n.event.patch_request(), request));
}

TEST(NormalizeNative, EcsCommandTakesConfiguredDefaults) {
  const Normalized n = Decode(Fixture("native/ecs-command-wrapped.json"));
  EXPECT_EVENT(n);
  EXPECT_EQ(n.event.body_case(), v1::Event::kEcsCommand);
  EXPECT_EQ(n.event.id(), "ecs-restart-0001");
  EXPECT_EQ(n.event.dedup_key(), "ecs:ecs-restart-0001");
  EXPECT_EQ(CellOf(n.event), "999988887777/ap-southeast-2");
  EXPECT_EQ(n.event.ecs_command().account(), "999988887777");
  EXPECT_TRUE(n.event.ecs_command().has_desired_count());
  EXPECT_EQ(n.event.ecs_command().desired_count(), 0);
  EXPECT_EQ(n.event.ecs_command().services_size(), 2);
}

TEST(NormalizeNative, EcsCommandWithoutAnyAccountIsUnreadable) {
  const Normalized n = Decode(Fixture("native/ecs-command-wrapped.json"), {}, NormalizeOptions{});
  EXPECT_UNREADABLE(n);
  EXPECT_EQ(n.reason, "ecs_command: missing account, and no default account is configured");
}

TEST(NormalizeNative, MissingRequestId) {
  const Normalized n = Decode(Fixture("native/patch-request-without-request-id.json"));
  EXPECT_UNREADABLE(n);
  EXPECT_EQ(n.reason, "missing request_id");
}

TEST(NormalizeNative, ApprovalByWorkflowIdTakesItsCell) {
  const Normalized n = Decode(Fixture("native/approval-by-workflow.json"));
  EXPECT_EVENT(n);
  EXPECT_EQ(n.event.body_case(), v1::Event::kApproval);
  EXPECT_EQ(CellOf(n.event), "444455556666/eu-west-1");
  EXPECT_EQ(n.event.id(), "approval:444455556666/eu-west-1/patch-3f2a9c1d:carol:approved");
  EXPECT_EQ(n.event.dedup_key(), n.event.id());
  EXPECT_EQ(n.event.approval().account(), "444455556666");
}

TEST(NormalizeNative, RejectionByRequestIdWithCell) {
  const Normalized n = Decode(Fixture("native/approval-by-request.json"));
  EXPECT_EVENT(n);
  EXPECT_EQ(CellOf(n.event), "444455556666/eu-west-1");
  EXPECT_EQ(n.event.id(), "approval:patch-2024-05-14-db:carol:rejected");
  EXPECT_FALSE(n.event.approval().approved());
}

TEST(NormalizeNative, ApprovalByRequestIdWithoutCellCannotBeRouted) {
  // The configured defaults would only be a guess at where the approved request runs.
  const Normalized n = Decode(Fixture("native/approval-unroutable.json"));
  EXPECT_UNREADABLE(n);
  EXPECT_EQ(n.reason,
            "approval: cannot be routed: request_id \"patch-2024-05-14-db\" needs the request's "
            "account and region (or give workflow_id)");
}

TEST(NormalizeNative, CancelByWorkflowAndByRequest) {
  const Normalized by_workflow = Decode(Fixture("native/cancel-by-workflow.json"));
  EXPECT_EVENT(by_workflow);
  EXPECT_EQ(by_workflow.event.body_case(), v1::Event::kCancel);
  EXPECT_EQ(CellOf(by_workflow.event), "444455556666/eu-west-1");
  EXPECT_EQ(by_workflow.event.id(), "cancel:444455556666/eu-west-1/patch-3f2a9c1d");

  const Normalized by_request = Decode(Fixture("native/cancel-by-request.json"));
  EXPECT_EVENT(by_request);
  EXPECT_EQ(CellOf(by_request.event), "111122223333/us-east-1");
  EXPECT_EQ(by_request.event.id(), "cancel:ecs-restart-0001");
  // A cancel's id never collides with the id of the request it cancels.
  EXPECT_NE(by_request.event.id(), Decode(Fixture("native/ecs-command-wrapped.json")).event.id());
}

TEST(NormalizeNative, CancelWithNeitherWorkflowNorRequestCannotBeRouted) {
  const Normalized n = Decode(Fixture("native/cancel-unroutable.json"));
  EXPECT_UNREADABLE(n);
  EXPECT_EQ(n.reason,
            "cancel: cannot be routed: needs workflow_id, or request_id with account and region");
}

TEST(NormalizeNative, CancelWithMalformedOrContradictedWorkflowId) {
  Normalized n = Decode(R"({"cancel": {"workflow_id": "patch-3f2a9c1d"}})");
  EXPECT_UNREADABLE(n);
  EXPECT_EQ(n.reason,
            "cancel.workflow_id: expected <account>/<region>/<kind>-<hash>, got "
            "\"patch-3f2a9c1d\"");
  n = Decode(R"({"cancel": {"workflow_id": "444455556666/eu-west-1/patch-1", "account": "1"}})");
  EXPECT_UNREADABLE(n);
  EXPECT_EQ(n.reason.rfind("cancel.account: \"1\" is not the account of workflow_id", 0), 0u)
      << n.reason;
}

TEST(NormalizeNative, HeaderProblemsAreNamed) {
  Normalized n = Decode(
      "\x0a\x03"
      "abc",
      {{"content-type", "application/x-protobuf"}});
  EXPECT_UNREADABLE(n);
  EXPECT_EQ(n.reason, "fk-type header: missing; a protobuf payload needs it to name the message");

  n = Decode("{}", {{"fk-type", "fleetkeeper.v1.Nope"}});
  EXPECT_UNREADABLE(n);
  EXPECT_EQ(n.reason.rfind("fk-type header: unknown message type \"fleetkeeper.v1.Nope\"", 0), 0u);

  n = Decode("\xff\xff\xff\xff", {{"Content-Type", "application/x-protobuf; proto=x"},
                                  {"FK-Type", "fleetkeeper.v1.Cancel"}});
  EXPECT_UNREADABLE(n);
  EXPECT_EQ(n.reason, "payload: not a valid protobuf fleetkeeper.v1.Cancel");
}

TEST(NormalizeNative, JsonFieldProblemsAreNamed) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({"patch_request": {"request_id": "r1", "max_concurency": "5"}})",
       "patch_request.max_concurency: unknown field of fleetkeeper.v1.PatchRequest"},
      {R"({"patch_request": {"request_id": "r1", "backup_ami": "yes"}})",
       "patch_request.backup_ami: expected boolean, got string"},
      {R"({"patch_request": {"request_id": "r1", "targets": {}}})",
       "patch_request.targets: expected array, got object"},
      {R"({"patch_request": {"request_id": "r1", "targets": [{"instance_ids": ["i-1", 2]}]}})",
       "patch_request.targets[0].instance_ids[1]: expected string, got number"},
      {R"({"patch_request": {"request_id": "r1", "targets": [{"tags": {"Role": true}}]}})",
       "patch_request.targets[0].tags.Role: expected string, got boolean"},
      {R"({"ecs_command": {"request_id": "r1", "desired_count": 3000000000}})",
       "ecs_command.desired_count: expected a 32-bit integer, got 3000000000"},
      {R"({"ecs_command": {"request_id": "r1", "desired_count": 1.5}})",
       "ecs_command.desired_count: expected a 32-bit integer, got 1.5"},
      {R"({"approval": "yes"})", "approval: expected object, got string"},
  };
  for (const auto& [payload, reason] : cases) {
    const Normalized n = Decode(payload);
    EXPECT_UNREADABLE(n);
    EXPECT_EQ(n.reason, reason) << payload;
    EXPECT_EQ(n.event.body_case(), v1::Event::BODY_NOT_SET) << payload;
  }
  // With the fk-type header the payload is the message itself.
  const Normalized n = Decode(R"({"request_id": 7})", kPatchJsonHeaders);
  EXPECT_UNREADABLE(n);
  EXPECT_EQ(n.reason, "request_id: expected string, got number");
}

TEST(NormalizeNative, JsonAcceptsLowerCamelNamesAndNulls) {
  const Normalized n = Decode(
      R"({"ecsCommand": {"requestId": "r9", "desiredCount": "2", "cluster": null,
          "account": "111122223333", "region": "us-east-1"}})");
  EXPECT_EVENT(n);
  EXPECT_EQ(n.event.ecs_command().request_id(), "r9");
  EXPECT_EQ(n.event.ecs_command().desired_count(), 2);
  EXPECT_EQ(n.event.ecs_command().cluster(), "");
}

// --- CellOf ----------------------------------------------------------------------------------

TEST(CellOf, IsAccountSlashRegion) {
  v1::Event event;
  event.set_account("111122223333");
  event.set_region("eu-west-1");
  EXPECT_EQ(CellOf(event), "111122223333/eu-west-1");
}

}  // namespace
}  // namespace fleetkeeper::consumers
