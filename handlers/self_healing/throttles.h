// The rulebook's throttles (DESIGN.md "Alarm -> self-healing"), decided at admission on the poll
// thread and kept in the cell's durable store, so that a restart or a new owner of the cell
// forgets none of them:
//   cooldown     after an action on (rule, resource), further matches are REJECTED for this long;
//   once_within  at most one action on (rule, resource) per window: later matches are SKIPPED
//                (the fact is already being acted on);
//   threshold    act on the N-th matching event within the window (earlier ones are SKIPPED);
//   breaker      at most max_actions admitted actions per cell within its window (REJECTED).
// Windows are measured on the worker's clock at admission.
#pragma once

#include <google/protobuf/duration.pb.h>

#include <cstdint>
#include <string>

#include "handlers/handler.h"
#include "handlers/self_healing/config_check.h"
#include "fleetkeeper/v1/self_healing.pb.h"
#include "fleetkeeper/v1/self_healing_state.pb.h"

namespace fleetkeeper::handlers::self_healing {

// Cell store keys.
std::string ThrottleKey(const std::string& rule, const std::string& resource);
inline constexpr const char* kBreakerKey = "self_healing/breaker";

struct ThrottleVerdict {
  enum class Kind { kAct, kSkipped, kRejected };
  Kind kind = Kind::kAct;
  std::string reason;  // starts with the throttle's name: "cooldown: ...", "threshold: ..."
  bool act() const { return kind == Kind::kAct; }
};

// The throttles of one cell over its store. Poll thread only; not thread-safe.
class CellThrottles {
 public:
  CellThrottles(CellStore& store, const v1::SelfHealingConfig& config)
      : store_(store), config_(config) {}

  // cooldown, once_within and threshold of `rule` on `resource` at `now_ms`. An event that no
  // cooldown or once_within window holds back is counted toward the threshold (written to the
  // store), whether or not it reaches it.
  ThrottleVerdict CheckRule(const v1::HealingRule& rule, const std::string& resource,
                            int64_t now_ms);

  // Whether one more action fits in the breaker, with `admitting` actions of the same event
  // already accepted but not yet recorded.
  ThrottleVerdict CheckBreaker(int admitting, int64_t now_ms) const;

  // An admitted action: starts the rule's cooldown and once_within windows on the resource,
  // resets its threshold count and takes one breaker slot.
  void RecordAction(const v1::HealingRule& rule, const std::string& resource,
                    const std::string& workflow_id, int64_t now_ms);

  // Publishes the breaker's state in `cell` (common/metrics.h SetCircuitBreaker) as of `now_ms`.
  void ReportBreaker(const std::string& cell, int64_t now_ms) const;

  int32_t breaker_max_actions() const;
  int64_t breaker_window_ms() const;

 private:
  v1::HealingThrottleRecord LoadThrottle(const std::string& key) const;
  v1::HealingBreakerRecord LoadBreaker(int64_t now_ms) const;

  CellStore& store_;
  const v1::SelfHealingConfig& config_;
};

}  // namespace fleetkeeper::handlers::self_healing
