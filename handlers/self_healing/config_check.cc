#include "handlers/self_healing/config_check.h"

#include <map>

#include "handlers/handler.h"

namespace fleetkeeper::handlers::self_healing {
namespace {

void ValidateRule(const v1::HealingRule& rule, const std::string& rp,
                  const v1::SelfHealingConfig& s, ConfigChecker& check) {
  const auto& m = rule.match();
  check.OneOfValues(ChildPath(ChildPath(rp, "match"), "state"), m.state(),
                    {"OK", "ALARM", "INSUFFICIENT_DATA"});
  if (m.alarm_name().empty() && m.namespace_().empty() && m.metric_name().empty() &&
      m.dimensions().empty()) {
    check.Warn(ChildPath(rp, "match"), "matches every alarm in state " + m.state());
  }
  const auto& a = rule.action();
  const std::string ap = ChildPath(rp, "action");
  const std::string type_path = ChildPath(ap, "type");
  if (a.type().empty()) {
    check.Fail(type_path,
               "required: one of scale_out | replace_instance | reboot_instance | "
               "ecs_force_deploy | stop_deployment | notify");
  } else {
    check.OneOfValues(type_path, a.type(),
                      {"scale_out", "replace_instance", "reboot_instance", "ecs_force_deploy",
                       "stop_deployment", "notify"});
  }
  if (a.type() == "scale_out") {
    if (a.has_by() == a.has_to()) {
      check.Fail(ap, "scale_out needs exactly one of by (add N) or to (at least N)");
    }
    if (a.has_by()) check.AtLeast(ChildPath(ap, "by"), a.by(), 1);
    if (a.has_to()) check.AtLeast(ChildPath(ap, "to"), a.to(), 1);
  } else {
    if (a.has_by()) check.Fail(ChildPath(ap, "by"), "only for type scale_out");
    if (a.has_to()) check.Fail(ChildPath(ap, "to"), "only for type scale_out");
  }
  if (a.type() != "ecs_force_deploy") {
    if (!a.cluster().empty()) {
      check.Fail(ChildPath(ap, "cluster"), "only for type ecs_force_deploy");
    }
    if (!a.service().empty()) {
      check.Fail(ChildPath(ap, "service"), "only for type ecs_force_deploy");
    }
  }
  if (a.type() != "stop_deployment") {
    if (!a.application().empty()) {
      check.Fail(ChildPath(ap, "application"), "only for type stop_deployment");
    }
    if (!a.deployment_group().empty()) {
      check.Fail(ChildPath(ap, "deployment_group"), "only for type stop_deployment");
    }
  } else if (!a.deployment_group().empty() && a.application().empty()) {
    check.Fail(ChildPath(ap, "application"), "required with deployment_group");
  }
  if (a.type() == "notify" && s.notify_topic_arn().empty()) {
    check.Fail(type_path, "notify needs handlers.self_healing.notify_topic_arn");
  }
  if (rule.has_threshold()) {
    const std::string tp = ChildPath(rp, "threshold");
    if (!rule.threshold().has_count()) {
      check.Fail(ChildPath(tp, "count"), "required: how many events within the window");
    } else {
      check.AtLeast(ChildPath(tp, "count"), rule.threshold().count(), 1);
    }
    if (!rule.threshold().has_within()) {
      check.Fail(ChildPath(tp, "within"), "required: the window the events must fall in");
    } else {
      check.Positive(ChildPath(tp, "within"), rule.threshold().within());
    }
  }
  check.Positive(ChildPath(rp, "verify_timeout"), rule.verify_timeout());
}

}  // namespace

void ApplyDefaults(v1::SelfHealingConfig& heal) {
  if (!heal.has_enabled()) heal.set_enabled(true);
  if (!heal.has_exempt_from_freeze()) heal.set_exempt_from_freeze(false);
  auto* breaker = heal.mutable_circuit_breaker();
  if (!breaker->has_max_actions()) breaker->set_max_actions(kDefaultBreakerMaxActions);
  if (!breaker->has_within()) *breaker->mutable_within() = DurationOfMs(kDefaultBreakerWindowMs);
  if (heal.metrics().namespace_().empty()) {
    heal.mutable_metrics()->set_namespace_(std::string(kDefaultMetricsNamespace));
  }
  for (auto& rule : *heal.mutable_rules()) {
    if (rule.match().state().empty()) rule.mutable_match()->set_state("ALARM");
    if (!rule.has_repeat_while_alarm()) rule.set_repeat_while_alarm(false);
    if (!rule.has_continue_()) rule.set_continue_(false);
    if (!rule.has_verify_timeout()) {
      *rule.mutable_verify_timeout() = DurationOfMs(kDefaultVerifyTimeoutMs);
    }
  }
}

void Validate(const v1::SelfHealingConfig& s, const std::string& p, ConfigChecker& check) {
  std::map<std::string, size_t> names;
  for (int i = 0; i < s.rules_size(); ++i) {
    const auto index = static_cast<size_t>(i);
    const std::string rp = IndexPath(ChildPath(p, "rules"), index);
    const auto& rule = s.rules(i);
    if (IsBlank(rule.name())) {
      check.Fail(ChildPath(rp, "name"), "required: results and throttles are keyed by rule name");
    } else if (auto [it, inserted] = names.emplace(rule.name(), index); !inserted) {
      check.Fail(ChildPath(rp, "name"), Quoted(rule.name()) + " is already the name of " +
                                            IndexPath(ChildPath(p, "rules"), it->second));
    }
    ValidateRule(rule, rp, s, check);
  }
  const std::string bp = ChildPath(p, "circuit_breaker");
  check.AtLeast(ChildPath(bp, "max_actions"), s.circuit_breaker().max_actions(), 1);
  check.Positive(ChildPath(bp, "within"), s.circuit_breaker().within());
  check.MetricsNamespace(ChildPath(ChildPath(p, "metrics"), "namespace"), s.metrics().namespace_());
  if (!s.notify_topic_arn().empty() && !IsSnsTopicArn(s.notify_topic_arn())) {
    check.Fail(ChildPath(p, "notify_topic_arn"),
               "expected an SNS topic ARN such as arn:aws:sns:us-east-1:111122223333:alerts, "
               "got " +
                   Quoted(s.notify_topic_arn()));
  }
  check.NonEmptyNames(ChildPath(p, "excluded_resources"), s.excluded_resources());
}

}  // namespace fleetkeeper::handlers::self_healing
