// Normalization of EventBridge deliveries (AWS documentation samples, CloudTrail, native requests
// through PutEvents), from third-party AWS samples (../shared/testdata) and the hand-made fixtures
// in tests/fixtures/events (see README.md there).
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
using testing::Shared;

// --- EventBridge: AWS documentation samples -------------------------------------------------

TEST(NormalizeEventBridge, ParameterStoreCreateFromSsmGuide) {
  const Normalized n =
      Decode(Shared("events/awsdocs-aws-systems-manager-user-guide/"
                    "parameter-store-change-create.json"));
  EXPECT_EVENT(n);
  EXPECT_TRUE(n.reason.empty());
  EXPECT_EQ(n.event.id(), "6a7e4feb-b491-4cf7-a9f1-bf3703497718");
  EXPECT_EQ(n.event.source_format(), "eventbridge");
  EXPECT_EQ(CellOf(n.event), "123456789012/us-east-1");
  EXPECT_EQ(n.event.time(), "2017-05-22T16:43:48.000Z");
  EXPECT_EQ(n.event.dedup_key(), "param:foo");
  EXPECT_EQ(n.event.origin(), "aws.ssm / Parameter Store Change");
  EXPECT_EQ(n.event.body_case(), v1::Event::kParameterChange);
  EXPECT_EQ(n.event.parameter_change().name(), "foo");
  EXPECT_EQ(n.event.parameter_change().operation(), "Create");
  EXPECT_EQ(n.event.parameter_change().type(), "String");
  EXPECT_EQ(n.event.parameter_change().description(), "Sample Parameter");
  EXPECT_FALSE(n.event.parameter_change().has_value());
  EXPECT_EQ(n.event.source().topic(), "fleet.events");
  EXPECT_EQ(n.event.source().partition(), 3);
  EXPECT_EQ(n.event.source().offset(), 42);
}

TEST(NormalizeEventBridge, SingleMetricAlarmFromCloudWatchGuide) {
  const Normalized n =
      Decode(Shared("events/awsdocs-amazon-cloudwatch-user-guide/"
                    "cloudwatch-alarm-state-change-single-metric.json"));
  EXPECT_EVENT(n);
  EXPECT_EQ(n.event.id(), "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92");
  EXPECT_EQ(CellOf(n.event), "123456789012/us-east-1");
  EXPECT_EQ(n.event.body_case(), v1::Event::kAlarm);
  const v1::AlarmStateChange& alarm = n.event.alarm();
  EXPECT_EQ(alarm.alarm_name(), "ServerCpuTooHigh");
  EXPECT_EQ(alarm.alarm_arn(), "arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh");
  EXPECT_EQ(alarm.state(), "ALARM");
  EXPECT_EQ(alarm.previous_state(), "OK");
  EXPECT_EQ(alarm.state_time(), "2019-10-02T17:04:40.989+0000");
  EXPECT_NE(alarm.reason().find("Threshold Crossed"), std::string::npos);
  EXPECT_EQ(alarm.alarm_kind(), "single_metric");
  EXPECT_EQ(alarm.namespace_(), "AWS/EC2");
  EXPECT_EQ(alarm.metric_name(), "CPUUtilization");
  ASSERT_EQ(alarm.dimensions().size(), 1u);
  EXPECT_EQ(alarm.dimensions().at("InstanceId"), "i-12345678901234567");
  EXPECT_EQ(n.event.dedup_key(),
            "alarm:arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh:ALARM:"
            "2019-10-02T17:04:40.989Z");
}

TEST(NormalizeEventBridge, CommandInvocationFromSsmGuide) {
  const Normalized n =
      Decode(Shared("events/awsdocs-aws-systems-manager-user-guide/"
                    "ec2-command-invocation-status-change-notification.json"));
  EXPECT_EVENT(n);
  EXPECT_EQ(n.event.body_case(), v1::Event::kCommandProgress);
  EXPECT_EQ(n.event.id(), "4780e1b8-f56b-4de5-95f2-95db273d1602");
  EXPECT_EQ(n.event.dedup_key(), n.event.id());
  EXPECT_EQ(CellOf(n.event), "123456789012/us-east-1");
  EXPECT_EQ(n.event.command_progress().command_id(), "e8d3c0e4-71f7-4491-898f-c9b35bee5f3b");
  EXPECT_EQ(n.event.command_progress().instance_id(), "i-9bb89e2b");
  EXPECT_EQ(n.event.command_progress().document_name(), "AWS-RunPowerShellScript");
  EXPECT_EQ(n.event.command_progress().status(), "Success");
  EXPECT_TRUE(n.event.command_progress().invocation());
}

TEST(NormalizeEventBridge, InstanceStateFromEc2GuideHasNoVersionField) {
  const Normalized n = Decode(Shared(
      "events/awsdocs-amazon-ec2-user-guide/ec2-instance-state-change-notification-pending.json"));
  EXPECT_EVENT(n);
  EXPECT_EQ(n.event.body_case(), v1::Event::kInstanceState);
  EXPECT_EQ(n.event.id(), "7bf73129-1428-4cd3-a780-95db273d1602");
  EXPECT_EQ(n.event.dedup_key(), n.event.id());
  EXPECT_EQ(n.event.instance_state().instance_id(), "i-abcd1111");
  EXPECT_EQ(n.event.instance_state().state(), "pending");
  EXPECT_EQ(n.event.time(), "2021-11-11T21:29:54.000Z");
}

// Powertools' sample spells the documented "instance-id" as "instance_id".
TEST(NormalizeEventBridge, InstanceStateWithMisspeltInstanceIdIsUnreadable) {
  const Normalized n = Decode(Shared("events/powertools-lambda-python/eventBridgeEvent.json"));
  EXPECT_UNREADABLE(n);
  EXPECT_EQ(n.reason, "detail.instance-id: missing");
  EXPECT_EQ(n.event.id(), "6a7e8feb-b491-4cf7-a9f1-bf3703467718");
  EXPECT_EQ(n.event.body_case(), v1::Event::BODY_NOT_SET);
}

// The Auto Scaling guide publishes its samples with a "yyyy-mm-ddThh:mm:ssZ" placeholder time.
TEST(NormalizeEventBridge, RefreshSamplesWithPlaceholderTimeAreUnreadable) {
  const Normalized n =
      Decode(Shared("events/awsdocs-amazon-ec2-auto-scaling-user-guide/"
                    "ec2-auto-scaling-instance-refresh-started.json"));
  EXPECT_UNREADABLE(n);
  EXPECT_EQ(n.reason, "time: expected an RFC 3339 timestamp, got \"yyyy-mm-ddThh:mm:ssZ\"");
}

std::string WithTime(std::string payload, const std::string& time) {
  const std::string placeholder = "yyyy-mm-ddThh:mm:ssZ";
  payload.replace(payload.find(placeholder), placeholder.size(), time);
  return payload;
}

TEST(NormalizeEventBridge, RefreshStartedAndSucceededFromAutoScalingGuide) {
  for (const std::string status : {"Started", "Succeeded"}) {
    const std::string file =
        "events/awsdocs-amazon-ec2-auto-scaling-user-guide/"
        "ec2-auto-scaling-instance-refresh-" +
        std::string(status == "Started" ? "started" : "succeeded") + ".json";
    const Normalized n = Decode(WithTime(Shared(file), "2024-05-14T11:00:00Z"));
    EXPECT_EVENT(n);
    EXPECT_EQ(n.event.body_case(), v1::Event::kRefreshProgress);
    EXPECT_EQ(CellOf(n.event), "123456789012/us-west-2");
    EXPECT_EQ(n.event.dedup_key(), n.event.id());
    EXPECT_EQ(n.event.refresh_progress().auto_scaling_group_name(), "my-auto-scaling-group");
    EXPECT_EQ(n.event.refresh_progress().instance_refresh_id(),
              "c613620e-07e2-4ed2-a9e2-ef8258911ade");
    EXPECT_EQ(n.event.refresh_progress().status(), status);
    EXPECT_EQ(n.event.refresh_progress().detail_type(),
              "EC2 Auto Scaling Instance Refresh " + status);
  }
}

TEST(NormalizeEventBridge, UnsupportedServiceEventsAreSkippedNamingThem) {
  struct Case {
    std::string file;
    std::string reason;
    std::string cell;
  };
  const Case cases[] = {
      {"events/awsdocs-aws-step-functions-developer-guide/"
       "aws-api-call-via-cloudtrail-s3-PutObject.json",
       "unsupported event: source aws.s3, detail-type AWS API Call via CloudTrail, eventName "
       "PutObject",
       "123456789012/us-east-2"},
      {"events/aws-lambda-go/codedeploy-deployment-event.json",
       "unsupported event: source aws.codedeploy, detail-type CodeDeploy Deployment State-change "
       "Notification",
       "123456789012/us-east-1"},
      {"events/aws-lambda-go/autoscaling-event-launch-successful.json",
       "unsupported event: source aws.autoscaling, detail-type EC2 Instance Launch Successful",
       "123456789012/us-west-2"},
  };
  for (const Case& c : cases) {
    const Normalized n = Decode(Shared(c.file));
    EXPECT_SKIPPED(n);
    EXPECT_EQ(n.reason, c.reason) << c.file;
    EXPECT_EQ(CellOf(n.event), c.cell) << c.file;
    EXPECT_FALSE(n.event.id().empty()) << c.file;
    EXPECT_EQ(n.event.source_format(), "eventbridge");
    EXPECT_EQ(n.event.body_case(), v1::Event::BODY_NOT_SET);
    EXPECT_TRUE(n.event.dedup_key().empty());
    EXPECT_EQ(n.event.source().offset(), 42);
  }
}

TEST(NormalizeEventBridge, AlarmLambdaActionPayloadIsNotAnAcceptedInput) {
  const Normalized n =
      Decode(Shared("events/powertools-lambda-python/cloudWatchAlarmEventSingleMetric.json"));
  EXPECT_UNREADABLE(n);
  EXPECT_NE(n.reason.find("alarmData"), std::string::npos) << n.reason;
}

// --- EventBridge: hand-made fixtures ----------------------------------------------------------

TEST(NormalizeEventBridge, CloudTrailPutParameterCarriesTheValue) {
  const Normalized n = Decode(Fixture("eventbridge/ssm-cloudtrail-putparameter.json"));
  EXPECT_EVENT(n);
  EXPECT_EQ(n.event.id(), "3e2f1a0b-5c6d-4e7f-8a9b-0c1d2e3f4a01");
  EXPECT_EQ(CellOf(n.event), "111122223333/eu-west-1");
  EXPECT_EQ(n.event.dedup_key(), "param:/ami/linux/test");
  const v1::ParameterChange& change = n.event.parameter_change();
  EXPECT_EQ(change.name(), "/ami/linux/test");
  EXPECT_EQ(change.operation(), "PutParameter");
  EXPECT_EQ(change.type(), "String");
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change.value(), "ami-0123456789abcdef0");
}

TEST(NormalizeEventBridge, CloudTrailPutParameterOfSecureStringHasNoValue) {
  const Normalized n = Decode(Fixture("eventbridge/ssm-cloudtrail-putparameter-securestring.json"));
  EXPECT_EVENT(n);
  EXPECT_EQ(n.event.parameter_change().name(), "/app/db/password");
  EXPECT_EQ(n.event.parameter_change().type(), "SecureString");
  EXPECT_FALSE(n.event.parameter_change().has_value());
}

TEST(NormalizeEventBridge, CloudTrailPutParameterWithErrorCodeIsSkipped) {
  const Normalized n = Decode(Fixture("eventbridge/ssm-cloudtrail-putparameter-error.json"));
  EXPECT_SKIPPED(n);
  EXPECT_NE(n.reason.find("errorCode ParameterAlreadyExists"), std::string::npos) << n.reason;
  EXPECT_EQ(n.event.id(), "3e2f1a0b-5c6d-4e7f-8a9b-0c1d2e3f4a03");
  EXPECT_EQ(CellOf(n.event), "111122223333/eu-west-1");
  EXPECT_EQ(n.event.body_case(), v1::Event::BODY_NOT_SET);
}

TEST(NormalizeEventBridge, CloudTrailOfOtherSsmCallsIsSkippedNamingTheCall) {
  const Normalized n = Decode(Fixture("eventbridge/ssm-cloudtrail-deleteparameter.json"));
  EXPECT_SKIPPED(n);
  EXPECT_EQ(n.reason,
            "unsupported event: source aws.ssm, detail-type AWS API Call via CloudTrail, "
            "eventName DeleteParameter");
}

TEST(NormalizeEventBridge, ParameterStoreUpdateAndDeleteAreParameterChanges) {
  for (const std::string operation : {"Update", "Delete"}) {
    const std::string file = operation == "Update" ? "update" : "delete";
    const Normalized n =
        Decode(Fixture("eventbridge/ssm-parameter-store-change-" + file + ".json"));
    EXPECT_EVENT(n);
    EXPECT_EQ(n.event.parameter_change().operation(), operation);
    EXPECT_EQ(n.event.parameter_change().name(), "/ami/linux/test");
    EXPECT_EQ(n.event.dedup_key(), "param:/ami/linux/test");
    EXPECT_EQ(CellOf(n.event), "111122223333/us-east-1");
  }
}

TEST(NormalizeEventBridge, CommandStatusChangeIsNotAnInvocation) {
  const Normalized n = Decode(Fixture("eventbridge/ssm-command-status-change.json"));
  EXPECT_EVENT(n);
  EXPECT_EQ(n.event.command_progress().command_id(), "e8d3c0e4-71f7-4491-898f-c9b35bee5f01");
  EXPECT_EQ(n.event.command_progress().document_name(), "AWS-RunPatchBaseline");
  EXPECT_EQ(n.event.command_progress().status(), "Success");
  EXPECT_FALSE(n.event.command_progress().invocation());
  EXPECT_TRUE(n.event.command_progress().instance_id().empty());
}

TEST(NormalizeEventBridge, RefreshOutcomesKeepTheirStatus) {
  const std::pair<std::string, std::string> cases[] = {
      {"failed", "Failed"},
      {"cancelled", "Cancelled"},
      {"checkpoint-reached", "Checkpoint Reached"},
      {"rollback-succeeded", "Rollback Succeeded"},
  };
  for (const auto& [file, status] : cases) {
    const Normalized n =
        Decode(Fixture("eventbridge/autoscaling-instance-refresh-" + file + ".json"));
    EXPECT_EVENT(n);
    EXPECT_EQ(n.event.refresh_progress().status(), status);
    EXPECT_EQ(n.event.refresh_progress().auto_scaling_group_name(), "web-asg");
    EXPECT_FALSE(n.event.refresh_progress().instance_refresh_id().empty());
    EXPECT_EQ(n.event.dedup_key(), n.event.id());
    EXPECT_EQ(CellOf(n.event), "111122223333/eu-west-1");
  }
}

TEST(NormalizeEventBridge, MetricMathAlarmHasNoSingleMetric) {
  const Normalized n = Decode(Fixture("eventbridge/cloudwatch-alarm-metric-math.json"));
  EXPECT_EVENT(n);
  EXPECT_EQ(n.event.alarm().alarm_kind(), "metric_math");
  EXPECT_EQ(n.event.alarm().namespace_(), "");
  EXPECT_EQ(n.event.alarm().metric_name(), "");
  EXPECT_TRUE(n.event.alarm().dimensions().empty());
  EXPECT_EQ(n.event.alarm().state(), "ALARM");
  EXPECT_EQ(n.event.alarm().previous_state(), "OK");
}

TEST(NormalizeEventBridge, AnomalyDetectionAlarmIsRecognised) {
  const Normalized n = Decode(Fixture("eventbridge/cloudwatch-alarm-anomaly-detection.json"));
  EXPECT_EVENT(n);
  EXPECT_EQ(n.event.alarm().alarm_kind(), "anomaly_detection");
  EXPECT_EQ(n.event.alarm().namespace_(), "");
  EXPECT_EQ(n.event.alarm().metric_name(), "");
  EXPECT_EQ(n.event.alarm().alarm_name(), "web-cpu-anomaly");
}

TEST(NormalizeEventBridge, CompositeAlarmCarriesItsRule) {
  const Normalized n = Decode(Fixture("eventbridge/cloudwatch-alarm-composite.json"));
  EXPECT_EVENT(n);
  EXPECT_EQ(n.event.alarm().alarm_kind(), "composite");
  EXPECT_EQ(n.event.alarm().alarm_rule(), "ALARM(web-5xx-ratio) OR ALARM(web-cpu-anomaly)");
  EXPECT_EQ(n.event.alarm().namespace_(), "");
  EXPECT_EQ(n.event.dedup_key(),
            "alarm:arn:aws:cloudwatch:eu-west-1:111122223333:alarm:web-unhealthy:ALARM:"
            "2024-05-14T13:30:00.789Z");
}

TEST(NormalizeEventBridge, NativeRequestThroughPutEvents) {
  const Normalized n = Decode(Fixture("eventbridge/fleetkeeper-patch-request.json"));
  EXPECT_EVENT(n);
  EXPECT_EQ(n.event.body_case(), v1::Event::kPatchRequest);
  EXPECT_EQ(n.event.id(), "5b0f8e2c-3d4a-4b6c-9e7f-1a2b3c4d5e6f");
  EXPECT_EQ(n.event.dedup_key(), "patch:patch-2024-05-14-web");
  EXPECT_EQ(n.event.source_format(), "eventbridge");
  EXPECT_EQ(n.event.time(), "2024-05-14T14:00:00.000Z");
  EXPECT_EQ(n.event.origin(), "com.example.release-tool / Fleetkeeper Patch Request");
  // The request names no account or region of its own: the configured defaults apply.
  EXPECT_EQ(CellOf(n.event), "999988887777/ap-southeast-2");
  EXPECT_EQ(n.event.patch_request().account(), "999988887777");
  EXPECT_EQ(n.event.patch_request().max_concurrency(), "10%");
  ASSERT_EQ(n.event.patch_request().targets_size(), 1);
  EXPECT_EQ(n.event.patch_request().targets(0).tags().at("Role"), "web");
  EXPECT_TRUE(n.event.patch_request().backup_ami());
}

TEST(NormalizeEventBridge, NativeRequestWithoutDefaultsTakesTheEnvelopeCell) {
  const Normalized n =
      Decode(Fixture("eventbridge/fleetkeeper-patch-request.json"), {}, NormalizeOptions{});
  EXPECT_EVENT(n);
  EXPECT_EQ(CellOf(n.event), "111122223333/eu-west-1");
}

}  // namespace
}  // namespace fleetkeeper::consumers
