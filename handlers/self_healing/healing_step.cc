#include "handlers/self_healing/healing_step.h"

#include <map>

#include "handlers/capacity.h"
#include "handlers/group_guards.h"

namespace fleetkeeper::handlers::self_healing {

// ---------------------------------------------------------------------------------------------
// after each action

StepOutcome HealingStep::Conclude(std::vector<v1::Action> actions) {
  const bool counted = action_.status() == "succeeded" || action_.status() == "failed";
  if (counted && !dry_run()) {
    const std::string metric =
        action_.status() == "succeeded" ? "RecoveryActions" : "RecoveryFailures";
    aws::PutMetricDataRequest put;
    put.metric_namespace = config_.metrics().namespace_().empty()
                               ? std::string(kDefaultMetricsNamespace)
                               : config_.metrics().namespace_();
    aws::MetricDatum datum;
    datum.metric_name = metric;
    datum.value = 1;
    datum.unit = "Count";
    const std::map<std::string, std::string> vars = {{"{rule}", action_.rule()},
                                                     {"{action}", action_.type()},
                                                     {"{resource}", action_.resource()},
                                                     {"{alarm}", state_.alarm_name()}};
    for (const auto& [name, value] : config_.metrics().dimensions()) {
      auto it = vars.find(value);
      datum.dimensions.push_back({name, it != vars.end() ? it->second : value});
    }
    put.metrics.push_back(std::move(datum));
    // Metrics and notifications report on the action; their failure does not undo it.
    if (auto st = ctx_.aws().cloudwatch->PutMetricData(put); !st.ok()) {
      actions.push_back(MakeAction("cloudwatch:" + put.metric_namespace, "PutMetricData", "failed",
                                   metric + ": " + st.error().ToString(), st.error().request_id));
    } else {
      actions.push_back(
          MakeAction("cloudwatch:" + put.metric_namespace, "PutMetricData", "ok", metric + " +1"));
    }
    if (!config_.notify_topic_arn().empty() && action_.type() != "notify") {
      aws::PublishRequest r;
      r.topic_arn = config_.notify_topic_arn();
      r.subject = fmt::format("fleetkeeper self-healing {}: {} on {}", action_.status(),
                              action_.type(), action_.resource())
                      .substr(0, 100);
      r.message = fmt::format("Alarm {}: rule {} {} {} on {}.\n{}\nWorkflow: {}",
                              state_.alarm_name(), action_.rule(), action_.status(), action_.type(),
                              action_.resource(), action_.detail(), ctx_.workflow().workflow_id());
      auto res = ctx_.aws().sns->Publish(r);
      actions.push_back(
          res.ok() ? MakeAction(r.topic_arn, "Publish", "ok", "SNS message " + res->message_id)
                   : MakeAction(r.topic_arn, "Publish", "failed", res.error().ToString(),
                                res.error().request_id));
    }
  }
  if (action_.status() == "succeeded" && !dry_run() && rule_.repeat_while_alarm()) {
    // Whether a repeat may act is the cell's circuit breaker's call, made when the re-read finds
    // the alarm still in ALARM (SelfHealingHandler::OnStepOutcome).
    const int64_t wait = std::max<int64_t>(
        rule_.has_cooldown() ? DurationMs(rule_.cooldown()) : kDefaultRepeatIntervalMs, 1000);
    StepOutcome o = WaitFor(step::kRepeatCheck, wait, actions);
    o.reason = fmt::format("re-reading alarm {} in {} s (repeat_while_alarm)", state_.alarm_name(),
                           wait / 1000);
    return o;
  }
  return AfterActions(std::move(actions));
}

StepOutcome HealingStep::RepeatCheck() {
  aws::DescribeAlarmsRequest r;
  r.alarm_names = {state_.alarm_name()};
  r.alarm_types = {"MetricAlarm", "CompositeAlarm"};
  auto res = ctx_.aws().cloudwatch->DescribeAlarms(r);
  if (!res.ok()) return AwsError(step::kRepeatCheck, "DescribeAlarms", res.error());
  std::string now_state;
  for (const auto& a : res->metric_alarms) {
    if (a.name == state_.alarm_name()) now_state = a.state_value;
  }
  for (const auto& a : res->composite_alarms) {
    if (a.name == state_.alarm_name()) now_state = a.state_value;
  }
  std::vector<v1::Action> actions = {
      MakeAction("alarm:" + state_.alarm_name(), "DescribeAlarms", "ok",
                 now_state.empty() ? std::string("alarm no longer exists") : "state " + now_state)};
  if (now_state != "ALARM") return AfterActions(std::move(actions));
  // Still in ALARM: act again, as the rule was admitted, in a new round.
  v1::HealingActionState again;
  for (const auto& a : state_.admitted()) {
    if (a.rule() == action_.rule()) again = a;
  }
  if (again.rule().empty()) again = action_;
  again.set_round(action_.round() + 1);
  again.set_status("pending");
  state_.add_repeat_times_ms(now_);
  *state_.add_actions() = again;
  state_.set_current(state_.actions_size() - 1);
  StepOutcome o = StepOutcome::Next(FirstStepOf(again.type()));
  o.actions = std::move(actions);
  o.reason = fmt::format("alarm {} still in ALARM: {} again (round {})", state_.alarm_name(),
                         again.type(), again.round() + 1);
  o.publish_progress = true;
  return o;
}

StepOutcome HealingStep::AfterActions(std::vector<v1::Action> actions) {
  return NextActionOrFinish(state_, std::move(actions));
}

// A step of the current action over the HealingWorkflowState packed in the context: unpacked for

void HealingStep::RecordGroupTags(const std::string& lock, const aws::Tags& tags) {
  RecordTaggedGuards(ctx_, group_tag_keys_, lock, tags);
}

std::optional<StepOutcome> HealingStep::RecordInstanceGroupTags(
    const std::string& step, const std::vector<std::string>& target_groups) {
  auto* recorded = ctx_.mutable_tagged_guards();
  if (group_tag_keys_.empty() || recorded == nullptr) return std::nullopt;
  const int before = recorded->size();
  if (const std::string lock = "asg:" + action_.asg_name();
      !action_.asg_name().empty() && !TaggedGuardsKnown(ctx_, lock)) {
    auto g = Group(action_.asg_name());
    if (!g.ok()) return AwsError(step, "DescribeAutoScalingGroups", g.error());
    RecordGroupTags(lock, g->tags);
  }
  if (Status s = RecordTargetGroupGuards(ctx_, group_tag_keys_, target_groups); !s.ok()) {
    return AwsError(step, "DescribeTags", s.error());
  }
  if (recorded->size() == before) return std::nullopt;
  StepOutcome o = Next(step);
  o.reason = fmt::format("{} {}: read the tags of {} group(s) of {}", action_.type(), Res(),
                         recorded->size() - before, action_.instance_id());
  return o;
}

std::optional<StepOutcome> HealingStep::TakeOutOfService(const std::string& step) {
  CapacityLedger* ledger = ctx_.capacity();
  const std::string id = action_.instance_id();
  const bool reads_tags = !group_tag_keys_.empty() && ctx_.mutable_tagged_guards() != nullptr;
  const bool reserves = ledger != nullptr && !ledger->Holds(id);
  if (id.empty() || (!reserves && !reads_tags)) return std::nullopt;
  auto groups = TargetGroupsOf(*ctx_.aws().elbv2, id);
  if (!groups.ok()) return AwsError(step, "DescribeTargetHealth", groups.error());
  // Before anything is reserved or taken down: a guard or window by tag decides with them.
  if (auto tags = RecordInstanceGroupTags(step, *groups)) return *tags;
  if (!reserves) return std::nullopt;
  // Self-healing has no budget of its own: the safety section's applies, plus its margin.
  auto claim = ClaimInstance(ctx_.aws(), id, *groups, action_.asg_name(), "");
  if (!claim.ok()) return AwsError(step, "describe the groups of " + id, claim.error());
  if (claim->groups().empty()) return std::nullopt;  // in no group: no budget to take from
  claim->set_self_healing(true);
  claim->set_hold_steps(true);
  claim->set_wait_until_ms(now_ + VerifyTimeoutMs());
  CapacityDecision d = ledger->Reserve(*claim);
  if (!d.granted) {
    if (now_ - d.waiting_since_ms >= VerifyTimeoutMs()) {
      return Failed(
          fmt::format("{} not taken out of service: waited {} s for the blast-radius "
                      "budget: {}",
                      id, VerifyTimeoutMs() / 1000, d.reason));
    }
    StepOutcome o = WaitFor(step, PollMs());
    o.reason = fmt::format("{} {}: waiting for capacity: {}", action_.type(), Res(), d.reason);
    o.publish_progress = d.waiting_since_ms >= now_;  // once, when the wait begins
    return o;
  }
  // Checkpointed before the call that takes the instance down, so a restart finds it reserved.
  std::vector<v1::Action> actions;
  if (d.over_budget) {
    actions.push_back(MakeAction("instance:" + id, "reserve-capacity", "over-budget", d.reason));
  }
  StepOutcome o = Next(step, std::move(actions));
  if (d.over_budget) {
    o.reason = fmt::format("{} {}: over the blast-radius budget under the self-healing margin: {}",
                           action_.type(), Res(), d.reason);
    o.publish_progress = true;
  }
  return o;
}

}  // namespace fleetkeeper::handlers::self_healing
