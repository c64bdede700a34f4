// Internal to the normalizer: CloudWatch alarm state changes in their two delivered shapes, the
// EventBridge "CloudWatch Alarm State Change" detail and the SNS alarm notification (the JSON in an
// SNS Message).
#pragma once

#include <string>
#include <vector>

#include "consumers/normalize_json.h"
#include "fleetkeeper/v1/event.pb.h"

namespace fleetkeeper::consumers {

// Decodes an EventBridge alarm `detail` into event->alarm and sets dedup_key. `resources` are the
// envelope's (resources[0] is the alarm ARN); `envelope_time` stands in for a missing
// state.timestamp. Problems go to detail's FieldProblems.
void DecodeEventBridgeAlarm(JsonObjectReader& detail, const std::vector<std::string>& resources,
                            const std::string& envelope_time, v1::Event* event);

// Decodes an SNS alarm notification (`message` is the parsed SNS Message) into event->alarm and
// sets account (AWSAccountId), region (from AlarmArn: the notification's Region is a display name
// such as "US East (N. Virginia)"), time (StateChangeTime) and dedup_key. Without an AlarmArn the
// region already in `event` (the SNS topic's) stays.
void DecodeSnsAlarmNotification(JsonObjectReader& message, v1::Event* event);

// True when an SNS Message object looks like a CloudWatch alarm notification.
bool IsSnsAlarmNotification(const JsonValue& message);

// "alarm:<arn, else name>:<state>:<canonical state time>".
std::string AlarmDedupKey(const v1::AlarmStateChange& alarm, const std::string& canonical_time);

}  // namespace fleetkeeper::consumers
