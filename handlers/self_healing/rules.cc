#include "handlers/self_healing/rules.h"

#include <fmt/format.h>

#include <algorithm>

namespace fleetkeeper::handlers::self_healing {

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

namespace {

std::string Dimension(const v1::AlarmStateChange& alarm, const std::string& name) {
  auto it = alarm.dimensions().find(name);
  return it == alarm.dimensions().end() ? std::string() : it->second;
}

Error MissingDimension(const v1::HealingRule& rule, const v1::AlarmStateChange& alarm,
                       std::string_view what) {
  return InvalidInput(fmt::format("rule {}: alarm {} has no {}, which {} needs", rule.name(),
                                  alarm.alarm_name(), what, rule.action().type()));
}

}  // namespace

Result<v1::HealingActionState> ResolveTarget(const v1::HealingRule& rule,
                                             const v1::AlarmStateChange& alarm) {
  v1::HealingActionState a;
  a.set_rule(rule.name());
  a.set_type(rule.action().type());
  *a.mutable_rule_config() = rule;
  a.set_status("pending");
  a.set_asg_name(Dimension(alarm, "AutoScalingGroupName"));
  a.set_instance_id(Dimension(alarm, "InstanceId"));
  const std::string& type = rule.action().type();
  if (type == "scale_out") {
    if (a.asg_name().empty()) {
      return MissingDimension(rule, alarm, "AutoScalingGroupName dimension");
    }
    a.set_resource("asg:" + a.asg_name());
  } else if (type == "replace_instance") {
    if (!a.instance_id().empty()) {
      a.set_resource("instance:" + a.instance_id());
    } else if (!a.asg_name().empty()) {
      a.set_resource("asg:" + a.asg_name());
    } else {
      return MissingDimension(rule, alarm, "InstanceId or AutoScalingGroupName dimension");
    }
  } else if (type == "reboot_instance") {
    if (a.instance_id().empty()) return MissingDimension(rule, alarm, "InstanceId dimension");
    a.set_resource("instance:" + a.instance_id());
  } else if (type == "ecs_force_deploy") {
    a.set_ecs_cluster(!rule.action().cluster().empty() ? rule.action().cluster()
                                                       : Dimension(alarm, "ClusterName"));
    a.set_ecs_service(!rule.action().service().empty() ? rule.action().service()
                                                       : Dimension(alarm, "ServiceName"));
    if (a.ecs_cluster().empty()) {
      return MissingDimension(rule, alarm, "ClusterName dimension (or action.cluster)");
    }
    if (a.ecs_service().empty()) {
      return MissingDimension(rule, alarm, "ServiceName dimension (or action.service)");
    }
    a.set_resource("ecs:" + a.ecs_cluster() + "/" + a.ecs_service());
  } else if (type == "stop_deployment") {
    // CodeDeploy's own alarms carry no DeploymentId: without one (or the rule's application),
    // the step finds the deployment groups whose alarm configuration lists this alarm.
    a.set_deployment_id(Dimension(alarm, "DeploymentId"));
    const auto& act = rule.action();
    if (!a.deployment_id().empty()) {
      a.set_resource("deployment:" + a.deployment_id());
    } else if (!act.application().empty()) {
      a.set_resource("deployment-group:" + act.application() +
                     (act.deployment_group().empty() ? "" : "/" + act.deployment_group()));
    } else {
      a.set_resource("alarm:" + alarm.alarm_name());
    }
  } else if (type == "notify") {
    a.set_resource("alarm:" + alarm.alarm_name());
  } else {
    return InvalidInput(fmt::format("rule {}: unknown action type \"{}\"", rule.name(), type));
  }
  return a;
}

std::string ExcludedBy(const v1::SelfHealingConfig& config, const v1::HealingActionState& action) {
  std::vector<std::string> names = {action.resource()};
  if (!action.asg_name().empty()) names.push_back(action.asg_name());
  if (!action.instance_id().empty()) names.push_back(action.instance_id());
  if (!action.ecs_service().empty()) {
    names.push_back(action.ecs_service());
    names.push_back(action.ecs_cluster() + "/" + action.ecs_service());
  }
  if (!action.deployment_id().empty()) names.push_back(action.deployment_id());
  for (const auto& id : action.deployment_ids()) names.push_back(id);
  return ExcludedByAny(config, names);
}

std::string ExcludedByAny(const v1::SelfHealingConfig& config,
                          const std::vector<std::string>& names) {
  for (const auto& pattern : config.excluded_resources()) {
    for (const auto& name : names) {
      if (GlobMatch(pattern, name)) return pattern;
    }
  }
  return "";
}

std::vector<std::string> LockNamesOf(const v1::HealingActionState& action) {
  std::vector<std::string> out = {action.resource()};
  if (!action.asg_name().empty()) out.push_back("asg:" + action.asg_name());
  if (!action.instance_id().empty()) out.push_back("instance:" + action.instance_id());
  if (!action.new_instance_id().empty()) out.push_back("instance:" + action.new_instance_id());
  if (!action.ecs_service().empty()) {
    out.push_back("ecs:" + action.ecs_cluster() + "/" + action.ecs_service());
  }
  if (!action.deployment_id().empty()) out.push_back("deployment:" + action.deployment_id());
  for (const auto& id : action.deployment_ids()) out.push_back("deployment:" + id);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace fleetkeeper::handlers::self_healing
