// Normalization of SNS deliveries (the Lambda record form and the HTTP form), from third-party AWS
// samples (../shared/testdata) and the hand-made fixtures in tests/fixtures/events.
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

}  // namespace
}  // namespace fleetkeeper::consumers
