// Rule matching for self-healing: which configured rule an alarm event triggers, and what the rule
// acts on.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/glob.h"
#include "fleetkeeper/v1/event.pb.h"
#include "fleetkeeper/v1/self_healing.pb.h"
#include "fleetkeeper/v1/self_healing_state.pb.h"

namespace fleetkeeper::handlers::self_healing {

using fleetkeeper::GlobMatch;  // common/glob.h

// Whether `rule.match` accepts the alarm: name glob, state (default ALARM), namespace, metric and
// every listed dimension (value globs). Alarms without a single metric (metric math, anomaly
// detection, composite) never match a rule that names a namespace, metric or dimension.
bool RuleMatches(const v1::HealingRule& rule, const v1::AlarmStateChange& alarm);

// The rules the alarm triggers, in order: the first match, and the ones after it while a matched
// rule says `continue: true`.
std::vector<const v1::HealingRule*> MatchingRules(const v1::SelfHealingConfig& config,
                                                  const v1::AlarmStateChange& alarm);

// What `rule` acts on for this alarm, from the alarm's dimensions (AutoScalingGroupName,
// InstanceId, ClusterName/ServiceName, DeploymentId) and the rule's own action fields, with the
// rule copied in so that the workflow does not depend on the config of a later restart. An alarm
// that lacks what the action needs is an error naming the dimension.
Result<v1::HealingActionState> ResolveTarget(const v1::HealingRule& rule,
                                             const v1::AlarmStateChange& alarm);

// The `excluded_resources` entry (a glob) that covers the action's resource, its group, instance
// or service, or "" when none does.
std::string ExcludedBy(const v1::SelfHealingConfig& config, const v1::HealingActionState& action);
// The `excluded_resources` entry that covers any of `names`, or "".
std::string ExcludedByAny(const v1::SelfHealingConfig& config,
                          const std::vector<std::string>& names);

// Resources an action changes, as lock names: "asg:<name>", "instance:<id>",
// "ecs:<cluster>/<service>", "deployment:<id>", "alarm:<name>".
std::vector<std::string> LockNamesOf(const v1::HealingActionState& action);

}  // namespace fleetkeeper::handlers::self_healing
