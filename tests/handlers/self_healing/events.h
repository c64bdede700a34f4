// Alarm events and configs for the self-healing tests. The alarm fields are those of the
// "CloudWatch Alarm State Change" EventBridge event
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html)
// after normalization.
#pragma once

#include <google/protobuf/util/time_util.h>

#include <map>
#include <string>

#include "fleetkeeper/v1/config.pb.h"
#include "fleetkeeper/v1/event.pb.h"

namespace fleetkeeper::handlers::self_healing::testing {

inline constexpr const char* kAccount = "111122223333";
inline constexpr const char* kRegion = "us-east-1";

inline v1::Event AlarmEvent(const std::string& name, const std::string& state,
                            const std::map<std::string, std::string>& dimensions,
                            const std::string& state_time = "2024-05-01T10:00:00.000+0000",
                            const std::string& metric = "CPUUtilization") {
  v1::Event e;
  e.set_id("evt-" + name + "-" + state_time);
  e.set_source_format("eventbridge");
  e.set_account(kAccount);
  e.set_region(kRegion);
  e.set_time("2024-05-01T10:00:00Z");
  e.set_origin("aws.cloudwatch / CloudWatch Alarm State Change");
  auto* a = e.mutable_alarm();
  a->set_alarm_name(name);
  a->set_alarm_arn(std::string("arn:aws:cloudwatch:us-east-1:111122223333:alarm:") + name);
  a->set_state(state);
  a->set_previous_state(state == "ALARM" ? "OK" : "ALARM");
  a->set_state_time(state_time);
  a->set_reason("Threshold Crossed");
  a->set_alarm_kind("single_metric");
  if (!metric.empty()) {
    a->set_namespace_("AWS/EC2");
    a->set_metric_name(metric);
  }
  for (const auto& [k, v] : dimensions) (*a->mutable_dimensions())[k] = v;
  e.set_dedup_key(a->alarm_arn() + "|" + state + "|" + state_time);
  return e;
}

inline google::protobuf::Duration Secs(int64_t s) {
  return google::protobuf::util::TimeUtil::SecondsToDuration(s);
}

// A rule as the config loader leaves it (defaults filled in).
inline v1::HealingRule* AddRule(v1::WorkerConfig& config, const std::string& name,
                                const std::string& alarm_glob, const std::string& type) {
  auto* heal = config.mutable_handlers()->mutable_self_healing();
  auto* r = heal->add_rules();
  r->set_name(name);
  r->mutable_match()->set_alarm_name(alarm_glob);
  r->mutable_match()->set_state("ALARM");
  r->mutable_action()->set_type(type);
  r->set_repeat_while_alarm(false);
  r->set_continue_(false);
  *r->mutable_verify_timeout() = Secs(600);
  return r;
}

inline v1::WorkerConfig BaseConfig() {
  v1::WorkerConfig c;
  auto* heal = c.mutable_handlers()->mutable_self_healing();
  heal->set_enabled(true);
  heal->set_exempt_from_freeze(false);
  heal->mutable_circuit_breaker()->set_max_actions(20);
  *heal->mutable_circuit_breaker()->mutable_within() = Secs(600);
  heal->mutable_metrics()->set_namespace_("FleetKeeper/SelfHealing");
  return c;
}

}  // namespace fleetkeeper::handlers::self_healing::testing
