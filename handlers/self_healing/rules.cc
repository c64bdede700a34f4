#include "handlers/self_healing/rules.h"

namespace fleetkeeper::handlers::self_healing {

bool GlobMatch(std::string_view pattern, std::string_view text) {
  // Iterative matcher with single-star backtracking: linear in practice, no recursion.
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool RuleMatches(const v1::HealingRule& rule, const v1::AlarmStateChange& alarm) {
  const auto& m = rule.match();
  const std::string& want_state = m.state().empty() ? std::string("ALARM") : m.state();
  if (alarm.state() != want_state) return false;
  if (!m.alarm_name().empty() && !GlobMatch(m.alarm_name(), alarm.alarm_name())) return false;
  if (!m.namespace_().empty() && !GlobMatch(m.namespace_(), alarm.namespace_())) return false;
  if (!m.metric_name().empty() && !GlobMatch(m.metric_name(), alarm.metric_name())) return false;
  for (const auto& [name, pattern] : m.dimensions()) {
    auto it = alarm.dimensions().find(name);
    if (it == alarm.dimensions().end() || !GlobMatch(pattern, it->second)) return false;
  }
  return true;
}

std::vector<const v1::HealingRule*> MatchingRules(const v1::SelfHealingConfig& config,
                                                  const v1::AlarmStateChange& alarm) {
  std::vector<const v1::HealingRule*> out;
  for (const auto& rule : config.rules()) {
    if (!RuleMatches(rule, alarm)) continue;
    out.push_back(&rule);
    if (!rule.continue_()) break;
  }
  return out;
}

}  // namespace fleetkeeper::handlers::self_healing
