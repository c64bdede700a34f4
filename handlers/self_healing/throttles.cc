#include "handlers/self_healing/throttles.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/clock.h"
#include "common/metrics.h"

namespace fleetkeeper::handlers::self_healing {

namespace {

std::string Seconds(int64_t ms) {
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{:.3f}s", static_cast<double>(ms) / 1000.0);
}

}  // namespace

std::string ThrottleKey(const std::string& rule, const std::string& resource) {
  return "self_healing/throttle/" + rule + "/" + resource;
}

int32_t CellThrottles::breaker_max_actions() const {
  const auto& b = config_.circuit_breaker();
  return b.has_max_actions() ? b.max_actions() : kDefaultBreakerMaxActions;
}

int64_t CellThrottles::breaker_window_ms() const {
  const auto& b = config_.circuit_breaker();
  return b.has_within() ? DurationMs(b.within()) : kDefaultBreakerWindowMs;
}

v1::HealingThrottleRecord CellThrottles::LoadThrottle(const std::string& key) const {
  v1::HealingThrottleRecord rec;
  // A value of another type under this key (not ours) reads as no record.
  if (const auto* any = store_.Get(key); any != nullptr && !any->UnpackTo(&rec)) rec.Clear();
  return rec;
}

v1::HealingBreakerRecord CellThrottles::LoadBreaker(int64_t now_ms) const {
  v1::HealingBreakerRecord rec;
  if (const auto* any = store_.Get(kBreakerKey); any != nullptr) (void)any->UnpackTo(&rec);
  const int64_t from = now_ms - breaker_window_ms();
  auto* times = rec.mutable_action_times_ms();
  times->erase(std::remove_if(times->begin(), times->end(), [&](int64_t t) { return t <= from; }),
               times->end());
  return rec;
}

ThrottleVerdict CellThrottles::CheckRule(const v1::HealingRule& rule, const std::string& resource,
                                         int64_t now_ms) {
  const std::string key = ThrottleKey(rule.name(), resource);
  v1::HealingThrottleRecord rec = LoadThrottle(key);
  const int64_t last = rec.last_action_ms();
  if (last > 0 && rule.has_cooldown()) {
    const int64_t until = last + DurationMs(rule.cooldown());
    if (now_ms < until) {
      return {ThrottleVerdict::Kind::kRejected,
              fmt::format("cooldown: rule {} acted on {} at {} (workflow {}); no action before {} "
                          "(cooldown {})",
                          rule.name(), resource, FormatRfc3339(last), rec.last_workflow_id(),
                          FormatRfc3339(until), Seconds(DurationMs(rule.cooldown())))};
    }
  }
  if (last > 0 && rule.has_once_within()) {
    const int64_t until = last + DurationMs(rule.once_within());
    if (now_ms < until) {
      return {ThrottleVerdict::Kind::kSkipped,
              fmt::format("once_within: rule {} already acted on {} at {} (workflow {}); at most "
                          "once within {}",
                          rule.name(), resource, FormatRfc3339(last), rec.last_workflow_id(),
                          Seconds(DurationMs(rule.once_within())))};
    }
  }
  if (rule.has_threshold() && rule.threshold().count() > 1) {
    const int64_t window = DurationMs(rule.threshold().within());
    auto* times = rec.mutable_event_times_ms();
    times->erase(std::remove_if(times->begin(), times->end(),
                                [&](int64_t t) { return t <= now_ms - window; }),
                 times->end());
    times->Add(now_ms);
    store_.Put(key, rec);
    if (times->size() < rule.threshold().count()) {
      return {ThrottleVerdict::Kind::kSkipped,
              fmt::format("threshold: {} of {} matching events on {} within {}", times->size(),
                          rule.threshold().count(), resource, Seconds(window))};
    }
  }
  return {ThrottleVerdict::Kind::kAct, ""};
}

ThrottleVerdict CellThrottles::CheckBreaker(int admitting, int64_t now_ms) const {
  const v1::HealingBreakerRecord rec = LoadBreaker(now_ms);
  const int used = rec.action_times_ms_size() + admitting;
  if (used >= breaker_max_actions()) {
    const int64_t oldest = rec.action_times_ms_size() > 0 ? rec.action_times_ms(0) : now_ms;
    return {ThrottleVerdict::Kind::kRejected,
            fmt::format("circuit breaker open: {} self-healing actions in this cell within {} "
                        "(max_actions {}); it closes at {}",
                        used, Seconds(breaker_window_ms()), breaker_max_actions(),
                        FormatRfc3339(oldest + breaker_window_ms()))};
  }
  return {ThrottleVerdict::Kind::kAct, ""};
}

void CellThrottles::ReportBreaker(const std::string& cell, int64_t now_ms) const {
  const v1::HealingBreakerRecord rec = LoadBreaker(now_ms);
  const int used = rec.action_times_ms_size();
  const bool open = used >= breaker_max_actions();
  const int64_t oldest = used > 0 ? rec.action_times_ms(0) : now_ms;
  metrics::SetCircuitBreaker(cell, open, used, open ? oldest + breaker_window_ms() : 0);
}

void CellThrottles::RecordAction(const v1::HealingRule& rule, const std::string& resource,
                                 const std::string& workflow_id, int64_t now_ms) {
  const std::string key = ThrottleKey(rule.name(), resource);
  v1::HealingThrottleRecord rec = LoadThrottle(key);
  rec.set_last_action_ms(now_ms);
  rec.set_last_workflow_id(workflow_id);
  rec.clear_event_times_ms();
  store_.Put(key, rec);

  v1::HealingBreakerRecord breaker = LoadBreaker(now_ms);
  breaker.add_action_times_ms(now_ms);
  store_.Put(kBreakerKey, breaker);
}

}  // namespace fleetkeeper::handlers::self_healing
