// Normalization of every supported input form, from third-party AWS samples
// (../shared/testdata) and the hand-made fixtures in tests/fixtures/events (see README.md there).
#include "consumers/normalizer.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace fleetkeeper::consumers {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::string Shared(const std::string& relative) {
  return ReadFile(std::string(FK_SHARED_TESTDATA) + "/" + relative);
}

std::string Fixture(const std::string& relative) {
  return ReadFile(std::string(FK_TEST_FIXTURES) + "/events/" + relative);
}

NormalizeOptions Options() {
  NormalizeOptions options;
  options.default_account = "999988887777";
  options.default_region = "ap-southeast-2";
  return options;
}

Normalized Decode(const std::string& payload, std::vector<RecordHeader> headers = {},
                  const NormalizeOptions& options = Options()) {
  InputRecord record;
  record.payload = payload;
  record.headers = std::move(headers);
  record.topic = "fleet.events";
  record.partition = 3;
  record.offset = 42;
  return Normalize(record, options);
}

// An event with its reason in the failure message, so a wrong disposition says why.
#define EXPECT_EVENT(result) \
  EXPECT_EQ((result).disposition, Disposition::kEvent) << "reason: " << (result).reason
#define EXPECT_SKIPPED(result) \
  EXPECT_EQ((result).disposition, Disposition::kSkipped) << "reason: " << (result).reason
#define EXPECT_UNREADABLE(result) \
  EXPECT_EQ((result).disposition, Disposition::kUnreadable) << "reason: " << (result).reason

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
  EXPECT_EQ(EventKind(n.event), "parameter_change");
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
  EXPECT_EQ(EventKind(n.event), "alarm");
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
  EXPECT_EQ(EventKind(n.event), "command_progress");
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
  EXPECT_EQ(EventKind(n.event), "instance_state");
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
  EXPECT_EQ(EventKind(n.event), "");
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
    EXPECT_EQ(EventKind(n.event), "refresh_progress");
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
    EXPECT_EQ(EventKind(n.event), "");
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
  EXPECT_EQ(EventKind(n.event), "");
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
  EXPECT_EQ(EventKind(n.event), "patch_request");
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

// --- SNS --------------------------------------------------------------------------------------

TEST(NormalizeSns, LambdaFormAlarmFromAwsLambdaGo) {
  const Normalized n =
      Decode(Shared("events/aws-lambda-go/cloudwatch-alarm-sns-payload-single-metric.json"));
  EXPECT_EVENT(n);
  EXPECT_EQ(n.event.source_format(), "sns");
  EXPECT_EQ(n.event.id(), "95df01b4-ee98-5cb9-9903-4c221d41eb5e");
  // The sample's ARN has the placeholder "REGION" where a real one names the region; the cell
  // still comes from it, not from the display name in "Region".
  EXPECT_EQ(CellOf(n.event), "123456789012/REGION");
  EXPECT_EQ(n.event.time(), "2015-06-03T17:43:27.123Z");
  const v1::AlarmStateChange& alarm = n.event.alarm();
  EXPECT_EQ(alarm.alarm_name(), "EXAMPLE");
  EXPECT_EQ(alarm.state(), "ALARM");
  EXPECT_EQ(alarm.previous_state(), "INSUFFICIENT_DATA");
  EXPECT_EQ(alarm.state_time(), "2015-06-03T17:43:27.123+0000");
  EXPECT_EQ(alarm.namespace_(), "AWS/EC2");
  EXPECT_EQ(alarm.metric_name(), "NetworkOut");
  EXPECT_EQ(alarm.alarm_kind(), "single_metric");
  ASSERT_EQ(alarm.dimensions().size(), 1u);
  EXPECT_EQ(alarm.dimensions().at("InstanceId"), "TestInstance");
  EXPECT_EQ(n.event.dedup_key(),
            "alarm:arn:aws:cloudwatch:REGION:ACCOUNT_NUMBER:alarm:EXAMPLE:ALARM:"
            "2015-06-03T17:43:27.123Z");
}

TEST(NormalizeSns, MessagesThatAreNotJsonAreUnreadable) {
  const std::string lambda_files[] = {"events/aws-lambda-go/sns-event.json",
                                      "events/powertools-lambda-python/snsEvent.json"};
  for (const std::string& file : lambda_files) {
    const Normalized n = Decode(Shared(file));
    EXPECT_UNREADABLE(n);
    EXPECT_EQ(n.reason.rfind("Records[0].Sns.Message: invalid JSON", 0), 0u) << n.reason;
    EXPECT_EQ(n.event.id(), "95df01b4-ee98-5cb9-9903-4c221d41eb5e");
  }
  const std::string http_files[] = {
      "sns/notification.body.json",
      "sns/aws-php-sns-message-validator/notification-sigv1-no-subject.json",
      "sns/aws-php-sns-message-validator/notification-sigv2-with-subject.json",
      "sns/aws-sdk-java-v2/sns-message-manager/test-notification-with-subject.json",
      "sns/aws-sdk-java-v2/sns/sample-message.json",
  };
  for (const std::string& file : http_files) {
    const Normalized n = Decode(Shared(file));
    EXPECT_UNREADABLE(n);
    EXPECT_EQ(n.reason.rfind("Message: invalid JSON", 0), 0u) << file << ": " << n.reason;
    EXPECT_EQ(n.event.source_format(), "sns");
    EXPECT_FALSE(n.event.id().empty());
  }
}

TEST(NormalizeSns, SubscriptionConfirmationsAreSkipped) {
  const std::string files[] = {
      "sns/subscription-confirmation.body.json",
      "sns/unsubscribe-confirmation.body.json",
      "sns/aws-sdk-java-v2/sns-message-manager/test-subscription-confirmation.json",
      "sns/aws-sdk-java-v2/sns-message-manager/test-unsubscribe-confirmation.json",
  };
  for (const std::string& file : files) {
    const Normalized n = Decode(Shared(file));
    EXPECT_SKIPPED(n);
    EXPECT_NE(n.reason.find("Confirmation for topic arn:aws:sns:us-west-2:"), std::string::npos)
        << n.reason;
    EXPECT_EQ(n.event.region(), "us-west-2");
    EXPECT_FALSE(n.event.account().empty());
    EXPECT_FALSE(n.event.id().empty());
  }
  const Normalized n = Decode(Shared("sns/subscription-confirmation.body.json"));
  EXPECT_EQ(n.event.id(), "165545c9-2a5c-472c-8df2-7ff2be2b3b1b");
  EXPECT_EQ(CellOf(n.event), "123456789012/us-west-2");
}

TEST(NormalizeSns, WrappedEventBridgeKeepsOuterIdAndInnerDedupKey) {
  const Normalized n = Decode(Fixture("sns/http-eventbridge-parameter-change.json"));
  EXPECT_EVENT(n);
  EXPECT_EQ(n.event.source_format(), "sns");
  EXPECT_EQ(n.event.id(), "0b9c5f1e-8a7d-5e6f-9a0b-1c2d3e4f5a01");
  EXPECT_EQ(n.event.dedup_key(), "6a7e4feb-b491-4cf7-a9f1-bf3703497799");
  EXPECT_EQ(CellOf(n.event), "111122223333/us-east-1");
  EXPECT_EQ(n.event.time(), "2024-05-14T15:00:00.000Z");
  EXPECT_EQ(n.event.parameter_change().name(), "/ami/linux/test");
  EXPECT_EQ(n.event.parameter_change().operation(), "Update");
}

TEST(NormalizeSns, HttpAlarmRoutesByAlarmArnNotDisplayRegion) {
  const Normalized n = Decode(Fixture("sns/http-alarm-single-metric.json"));
  EXPECT_EVENT(n);
  EXPECT_EQ(n.event.id(), "5f1c2b3a-4d5e-5f6a-8b9c-0d1e2f3a4b01");
  EXPECT_EQ(CellOf(n.event), "111122223333/us-east-1");
  EXPECT_EQ(n.event.time(), "2024-05-14T16:10:42.236Z");
  EXPECT_EQ(n.event.alarm().alarm_kind(), "single_metric");
  EXPECT_EQ(n.event.alarm().namespace_(), "AWS/EC2");
  EXPECT_EQ(n.event.alarm().metric_name(), "CPUUtilization");
  ASSERT_EQ(n.event.alarm().dimensions().size(), 1u);
  EXPECT_EQ(n.event.alarm().dimensions().at("AutoScalingGroupName"), "web-asg");
  EXPECT_EQ(n.event.dedup_key(),
            "alarm:arn:aws:cloudwatch:us-east-1:111122223333:alarm:web-high-cpu:ALARM:"
            "2024-05-14T16:10:42.236Z");
}

TEST(NormalizeSns, LambdaFormMetricMathAlarm) {
  const Normalized n = Decode(Fixture("sns/lambda-alarm-metric-math.json"));
  EXPECT_EVENT(n);
  EXPECT_EQ(CellOf(n.event), "111122223333/eu-west-1");
  EXPECT_EQ(n.event.alarm().alarm_kind(), "metric_math");
  EXPECT_EQ(n.event.alarm().namespace_(), "");
  EXPECT_EQ(n.event.alarm().metric_name(), "");
}

TEST(NormalizeSns, AnomalyDetectionAlarm) {
  const Normalized n = Decode(Fixture("sns/http-alarm-anomaly-detection.json"));
  EXPECT_EVENT(n);
  EXPECT_EQ(n.event.alarm().alarm_kind(), "anomaly_detection");
  EXPECT_EQ(n.event.alarm().namespace_(), "");
}

TEST(NormalizeSns, SameTransitionByEventBridgeAndSnsHasOneDedupKey) {
  const Normalized by_eventbridge =
      Decode(Fixture("eventbridge/cloudwatch-alarm-metric-math.json"));
  const Normalized by_sns = Decode(Fixture("sns/lambda-alarm-metric-math.json"));
  EXPECT_EVENT(by_eventbridge);
  EXPECT_EVENT(by_sns);
  EXPECT_NE(by_eventbridge.event.id(), by_sns.event.id());
  EXPECT_EQ(by_eventbridge.event.dedup_key(), by_sns.event.dedup_key());
}

TEST(NormalizeSns, AlarmWithoutArnTakesTheTopicRegion) {
  const Normalized n = Decode(Fixture("sns/http-alarm-without-arn.json"));
  EXPECT_EVENT(n);
  EXPECT_EQ(CellOf(n.event), "111122223333/eu-west-1");
  EXPECT_EQ(n.event.alarm().state(), "OK");
  EXPECT_TRUE(n.event.alarm().dimensions().empty());
  EXPECT_EQ(n.event.dedup_key(), "alarm:queue-depth:OK:2017-01-12T16:30:42.236Z");
}

TEST(NormalizeSns, SeveralLambdaRecordsGoToTheDlqWhole) {
  const Normalized n = Decode(Fixture("sns/lambda-two-records.json"));
  EXPECT_UNREADABLE(n);
  EXPECT_EQ(n.reason, "Records: expected exactly 1 SNS record, got 2");
}

// --- Native -----------------------------------------------------------------------------------

const std::vector<RecordHeader> kPatchJsonHeaders = {{"fk-type", "fleetkeeper.v1.PatchRequest"}};

void ExpectPatchRequest(const Normalized& n) {
  EXPECT_EVENT(n);
  EXPECT_EQ(EventKind(n.event), "patch_request");
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
  EXPECT_EQ(EventKind(n.event), "ecs_command");
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
  EXPECT_EQ(EventKind(n.event), "approval");
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
  EXPECT_EQ(EventKind(by_workflow.event), "cancel");
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
    EXPECT_EQ(EventKind(n.event), "") << payload;
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

// --- EventKind and CellOf ---------------------------------------------------------------------

TEST(EventKind, NamesTheBodyField) {
  v1::Event event;
  EXPECT_EQ(EventKind(event), "");
  event.mutable_parameter_change();
  EXPECT_EQ(EventKind(event), "parameter_change");
  event.mutable_alarm();
  EXPECT_EQ(EventKind(event), "alarm");
  event.mutable_patch_request();
  EXPECT_EQ(EventKind(event), "patch_request");
  event.mutable_ecs_command();
  EXPECT_EQ(EventKind(event), "ecs_command");
  event.mutable_approval();
  EXPECT_EQ(EventKind(event), "approval");
  event.mutable_cancel();
  EXPECT_EQ(EventKind(event), "cancel");
  event.mutable_command_progress();
  EXPECT_EQ(EventKind(event), "command_progress");
  event.mutable_refresh_progress();
  EXPECT_EQ(EventKind(event), "refresh_progress");
  event.mutable_instance_state();
  EXPECT_EQ(EventKind(event), "instance_state");
  event.clear_body();
  EXPECT_EQ(EventKind(event), "");
}

TEST(CellOf, IsAccountSlashRegion) {
  v1::Event event;
  event.set_account("111122223333");
  event.set_region("eu-west-1");
  EXPECT_EQ(CellOf(event), "111122223333/eu-west-1");
}

}  // namespace
}  // namespace fleetkeeper::consumers
