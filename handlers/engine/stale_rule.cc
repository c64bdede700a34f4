#include "handlers/engine/stale_rule.h"

#include <fmt/format.h>
#include <google/protobuf/wrappers.pb.h>

#include <string_view>

#include "common/clock.h"

namespace fleetkeeper::handlers {

namespace {
constexpr std::string_view kAppliedPrefix = "applied/";
// Cell store key of the time of the last event applied to a resource (the stale rule).
std::string AppliedKey(const std::string& resource) {
  return std::string(kAppliedPrefix) + resource;
}

// The resource whose state an event reports, for the stale rule (DESIGN.md, Handlers: an event
// older than the last one applied to the same resource is SKIPPED). Requests and signals name
// no such state: empty.
std::string StaleResource(const v1::Event& event) {
  switch (event.body_case()) {
    case v1::Event::kParameterChange:
      return "parameter:" + event.parameter_change().name();
    case v1::Event::kAlarm:
      return "alarm:" + (event.alarm().alarm_arn().empty() ? event.alarm().alarm_name()
                                                           : event.alarm().alarm_arn());
    default:
      return "";
  }
}

// The time the stale rule compares: when the fact happened. An alarm's is its state change time
// (both bridges carry it, to the millisecond; an EventBridge envelope's `time` has whole seconds
// only), any other event's is its `time`. -1 when unreadable.
int64_t StaleTimeMs(const v1::Event& event) {
  if (event.has_alarm() && !event.alarm().state_time().empty()) {
    const int64_t at = ParseRfc3339Ms(event.alarm().state_time());
    if (at >= 0) return at;
  }
  return ParseRfc3339Ms(event.time());
}

int64_t AppliedAtMs(const CellStore& store, const std::string& resource) {
  const google::protobuf::Any* any = store.Get(AppliedKey(resource));
  google::protobuf::Int64Value at;
  if (any == nullptr || !any->UnpackTo(&at)) return -1;
  return at.value();
}
}  // namespace

bool IsAppliedMark(const std::string& cell_key) { return cell_key.rfind(kAppliedPrefix, 0) == 0; }

std::string StaleReason(size_t marks, const CellStore& store, const v1::Event& event) {
  if (marks == 0) return "";
  const std::string resource = StaleResource(event);
  if (resource.empty()) return "";
  const int64_t at = StaleTimeMs(event);
  if (at < 0) return "";
  const int64_t applied = AppliedAtMs(store, resource);
  if (at >= applied) return "";
  return fmt::format("stale: {} is from {}, older than the last event applied to {} ({})",
                     event.id(), FormatRfc3339(at), resource, FormatRfc3339(applied));
}

void MarkApplied(CellStore& store, const v1::Event& event) {
  const std::string resource = StaleResource(event);
  if (resource.empty()) return;
  const int64_t at = StaleTimeMs(event);
  if (at < 0 || at <= AppliedAtMs(store, resource)) return;
  google::protobuf::Int64Value mark;
  mark.set_value(at);
  store.Put(AppliedKey(resource), mark);
}

}  // namespace fleetkeeper::handlers
