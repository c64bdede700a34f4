#include "handlers/self_healing/rules.h"

#include <gtest/gtest.h>

namespace fleetkeeper::handlers::self_healing {
namespace {

TEST(Glob, MatchesLikeAShell) {
  EXPECT_TRUE(GlobMatch("*HighCPU*", "web-HighCPU-alarm"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("a?c", "abc"));
  EXPECT_FALSE(GlobMatch("a?c", "ac"));
  EXPECT_FALSE(GlobMatch("*HighCPU", "HighCPU-x"));
  EXPECT_TRUE(GlobMatch("a*b*c", "axxbyyc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "axxbyy"));
}

v1::AlarmStateChange Alarm(const std::string& name, const std::string& state) {
  v1::AlarmStateChange a;
  a.set_alarm_name(name);
  a.set_state(state);
  a.set_namespace_("AWS/EC2");
  a.set_metric_name("CPUUtilization");
  (*a.mutable_dimensions())["AutoScalingGroupName"] = "web-asg";
  return a;
}

TEST(Rules, FirstMatchWinsUnlessContinue) {
  v1::SelfHealingConfig cfg;
  auto* r1 = cfg.add_rules();
  r1->set_name("cpu");
  r1->mutable_match()->set_alarm_name("*HighCPU*");
  (*r1->mutable_match()->mutable_dimensions())["AutoScalingGroupName"] = "web-*";
  auto* r2 = cfg.add_rules();
  r2->set_name("any");
  r2->mutable_match()->set_alarm_name("*");
  EXPECT_EQ(MatchingRules(cfg, Alarm("HighCPU", "ALARM")).size(), 1u);
  r1->set_continue_(true);
  EXPECT_EQ(MatchingRules(cfg, Alarm("HighCPU", "ALARM")).size(), 2u);
  // The default state is ALARM: an OK transition matches neither rule.
  EXPECT_TRUE(MatchingRules(cfg, Alarm("HighCPU", "OK")).empty());
}

TEST(Rules, CompositeAlarmNeverMatchesAMetricRule) {
  v1::HealingRule rule;
  rule.mutable_match()->set_namespace_("AWS/EC2");
  v1::AlarmStateChange composite;
  composite.set_alarm_name("service-down");
  composite.set_state("ALARM");
  composite.set_alarm_kind("composite");
  EXPECT_FALSE(RuleMatches(rule, composite));
  rule.mutable_match()->clear_namespace_();
  rule.mutable_match()->set_alarm_name("service-*");
  EXPECT_TRUE(RuleMatches(rule, composite));
}

}  // namespace
}  // namespace fleetkeeper::handlers::self_healing
