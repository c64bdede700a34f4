// Rule matching for self-healing: which configured rule an alarm event triggers.
#pragma once

#include <string_view>
#include <vector>

#include "fleetkeeper/v1/event.pb.h"
#include "fleetkeeper/v1/self_healing.pb.h"

namespace fleetkeeper::handlers::self_healing {

// Shell-style glob: '*' any run, '?' one character. Case-sensitive, as alarm names are.
bool GlobMatch(std::string_view pattern, std::string_view text);

// Whether `rule.match` accepts the alarm: name glob, state (default ALARM), namespace, metric and
// every listed dimension (value globs). Alarms without a single metric (metric math, anomaly
// detection, composite) never match a rule that names a namespace, metric or dimension.
bool RuleMatches(const v1::HealingRule& rule, const v1::AlarmStateChange& alarm);

// The rules the alarm triggers, in order: the first match, and the ones after it while a matched
// rule says `continue: true`.
std::vector<const v1::HealingRule*> MatchingRules(const v1::SelfHealingConfig& config,
                                                  const v1::AlarmStateChange& alarm);

}  // namespace fleetkeeper::handlers::self_healing
