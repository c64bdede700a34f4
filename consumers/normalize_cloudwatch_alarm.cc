#include "consumers/normalize_cloudwatch_alarm.h"

#include <optional>
#include <string_view>

namespace fleetkeeper::consumers {
namespace {

// The metric expression CloudWatch writes for an anomaly-detection alarm's band.
constexpr std::string_view kAnomalyBandFunction = "ANOMALY_DETECTION_BAND";

constexpr const char* kSingleMetric = "single_metric";
constexpr const char* kMetricMath = "metric_math";
constexpr const char* kAnomalyDetection = "anomaly_detection";
constexpr const char* kComposite = "composite";

struct ArnParts {
  std::string service;
  std::string region;
  std::string account;
};

// arn:<partition>:<service>:<region>:<account>:<resource>; the resource may itself contain ':'.
std::optional<ArnParts> SplitArn(std::string_view arn) {
  std::string_view fields[5];
  for (auto& field : fields) {
    const size_t colon = arn.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    field = arn.substr(0, colon);
    arn.remove_prefix(colon + 1);
  }
  if (fields[0] != "arn" || fields[1].empty() || arn.empty()) return std::nullopt;
  return ArnParts{std::string(fields[2]), std::string(fields[3]), std::string(fields[4])};
}

// Classifies an alarm from its metric queries: several queries or an expression mean no single
// metric; ANOMALY_DETECTION_BAND in an expression means an anomaly-detection alarm.
const char* KindFromExpressions(bool any_expression, bool anomaly_band, size_t metric_queries) {
  if (anomaly_band) return kAnomalyDetection;
  if (any_expression || metric_queries > 1) return kMetricMath;
  if (metric_queries == 1) return kSingleMetric;
  return "";
}

void DecodeSnsDimensions(JsonObjectReader& trigger, v1::AlarmStateChange* alarm) {
  const std::vector<JsonValue> dimensions = trigger.OptionalArray("Dimensions");
  for (size_t i = 0; i < dimensions.size(); ++i) {
    JsonObjectReader dimension(dimensions[i],
                               JoinPath(trigger.path(), "Dimensions[" + std::to_string(i) + "]"),
                               trigger.problems());
    // CloudWatch has written both spellings over the years.
    const char* name_key = dimension.Has("name") ? "name" : "Name";
    const char* value_key = dimension.Has("value") ? "value" : "Value";
    std::string name = dimension.String(name_key);
    std::string value = dimension.String(value_key);
    if (dimension.problems().any()) return;
    (*alarm->mutable_dimensions())[name] = std::move(value);
  }
}

}  // namespace

std::string AlarmDedupKey(const v1::AlarmStateChange& alarm, const std::string& canonical_time) {
  const std::string& identity = alarm.alarm_arn().empty() ? alarm.alarm_name() : alarm.alarm_arn();
  constexpr std::string_view kPrefix = "alarm:";
  std::string key;
  key.reserve(kPrefix.size() + identity.size() + 1 + alarm.state().size() + 1 +
              canonical_time.size());
  key.append(kPrefix)
      .append(identity)
      .append(":")
      .append(alarm.state())
      .append(":")
      .append(canonical_time);
  return key;
}

void DecodeEventBridgeAlarm(JsonObjectReader& detail, const std::vector<std::string>& resources,
                            const std::string& envelope_time, v1::Event* event) {
  v1::AlarmStateChange* alarm = event->mutable_alarm();
  alarm->set_alarm_name(detail.String("alarmName"));
  if (!resources.empty()) alarm->set_alarm_arn(resources.front());

  JsonObjectReader state = detail.Object("state");
  alarm->set_state(state.String("value"));
  alarm->set_reason(state.OptionalString("reason").value_or(""));
  std::optional<std::string> canonical_timestamp;  // absent: the envelope time stands in
  if (std::optional<std::string> timestamp = state.OptionalString("timestamp")) {
    alarm->set_state_time(std::move(*timestamp));
    canonical_timestamp = RequiredTime(state, "timestamp");
  } else {
    alarm->set_state_time(envelope_time);
  }
  if (std::optional<JsonObjectReader> previous = detail.OptionalObject("previousState")) {
    alarm->set_previous_state(previous->OptionalString("value").value_or(""));
  }

  if (std::optional<JsonObjectReader> configuration = detail.OptionalObject("configuration")) {
    if (std::optional<std::string> rule = configuration->OptionalString("alarmRule")) {
      alarm->set_alarm_kind(kComposite);
      alarm->set_alarm_rule(std::move(*rule));
    } else {
      const std::vector<JsonValue> metrics = configuration->OptionalArray("metrics");
      bool any_expression = false;
      bool anomaly_band = false;
      std::optional<JsonObjectReader> single_metric;
      for (size_t i = 0; i < metrics.size(); ++i) {
        std::string query_path =
            JoinPath(configuration->path(), "metrics[" + std::to_string(i) + "]");
        JsonObjectReader query(metrics[i], std::move(query_path), detail.problems());
        if (std::optional<std::string_view> expression = query.OptionalStringView("expression")) {
          any_expression = true;
          if (expression->find(kAnomalyBandFunction) != std::string_view::npos) anomaly_band = true;
        }
        if (std::optional<JsonObjectReader> stat = query.OptionalObject("metricStat")) {
          single_metric = stat->Object("metric");
        }
      }
      alarm->set_alarm_kind(KindFromExpressions(any_expression, anomaly_band, metrics.size()));
      if (alarm->alarm_kind() == kSingleMetric && single_metric) {
        alarm->set_namespace_(single_metric->String("namespace"));
        alarm->set_metric_name(single_metric->String("name"));
        for (auto& [name, value] : single_metric->OptionalStringMap("dimensions")) {
          (*alarm->mutable_dimensions())[name] = std::move(value);
        }
      }
    }
  }
  event->set_dedup_key(
      AlarmDedupKey(*alarm, canonical_timestamp ? *canonical_timestamp : envelope_time));
}

bool IsSnsAlarmNotification(const JsonValue& message) {
  return message.is_object() && message.contains("AlarmName") && message.contains("NewStateValue");
}

void DecodeSnsAlarmNotification(JsonObjectReader& message, v1::Event* event) {
  v1::AlarmStateChange* alarm = event->mutable_alarm();
  alarm->set_alarm_name(message.String("AlarmName"));
  // Older notifications have no AlarmArn; their region is then the topic's (set by the caller),
  // since CloudWatch alarm actions publish only to topics in the alarm's own region.
  alarm->set_alarm_arn(message.OptionalString("AlarmArn").value_or(""));
  event->set_account(message.String("AWSAccountId"));
  alarm->set_state(message.String("NewStateValue"));
  alarm->set_previous_state(message.OptionalString("OldStateValue").value_or(""));
  alarm->set_reason(message.OptionalString("NewStateReason").value_or(""));
  alarm->set_state_time(message.OptionalString("StateChangeTime").value_or(""));
  event->set_time(RequiredTime(message, "StateChangeTime"));
  message.OptionalStringView("Region");  // a display name: type-checked, never used for routing

  if (!alarm->alarm_arn().empty()) {
    std::optional<ArnParts> arn = SplitArn(alarm->alarm_arn());
    if (!arn || arn->service != "cloudwatch" || arn->region.empty()) {
      message.problems().Note(JoinPath(message.path(), "AlarmArn") +
                              ": expected arn:<partition>:cloudwatch:<region>:<account>:alarm:"
                              "<name>, got " +
                              Quoted(alarm->alarm_arn()));
    } else {
      event->set_region(arn->region);
    }
  } else if (event->region().empty()) {
    message.problems().Note(JoinPath(message.path(), "AlarmArn") +
                            ": missing, and the TopicArn names no region");
  }

  if (std::optional<std::string> rule = message.OptionalString("AlarmRule")) {
    alarm->set_alarm_kind(kComposite);
    alarm->set_alarm_rule(std::move(*rule));
  } else if (std::optional<JsonObjectReader> trigger = message.OptionalObject("Trigger")) {
    const std::vector<JsonValue> metrics = trigger->OptionalArray("Metrics");
    if (!metrics.empty()) {
      bool anomaly_band = false;
      for (size_t i = 0; i < metrics.size(); ++i) {
        JsonObjectReader query(metrics[i],
                               JoinPath(trigger->path(), "Metrics[" + std::to_string(i) + "]"),
                               message.problems());
        const std::optional<std::string_view> expression = query.OptionalStringView("Expression");
        if (expression && expression->find(kAnomalyBandFunction) != std::string_view::npos) {
          anomaly_band = true;
        }
      }
      // A Metrics list is how SNS describes a query alarm, even with a single metric in it.
      alarm->set_alarm_kind(anomaly_band ? kAnomalyDetection : kMetricMath);
    } else {
      alarm->set_alarm_kind(kSingleMetric);
      alarm->set_namespace_(trigger->String("Namespace"));
      alarm->set_metric_name(trigger->String("MetricName"));
      DecodeSnsDimensions(*trigger, alarm);
    }
  }
  if (!message.problems().any()) event->set_dedup_key(AlarmDedupKey(*alarm, event->time()));
}

}  // namespace fleetkeeper::consumers
