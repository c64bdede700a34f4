#include "handlers/self_healing/healing_step.h"

namespace fleetkeeper::handlers::self_healing {

// ---------------------------------------------------------------------------------------------
// notify

StepOutcome HealingStep::NotifyPublish() {
  const std::string& topic = config_.notify_topic_arn();
  if (topic.empty()) return Failed("notify needs handlers.self_healing.notify_topic_arn");
  const v1::Event& trigger = ctx_.workflow().trigger();
  aws::PublishRequest r;
  r.topic_arn = topic;
  r.subject =
      fmt::format("fleetkeeper: alarm {} is {}", state_.alarm_name(), trigger.alarm().state())
          .substr(0, 100);
  r.message = fmt::format("Alarm {} ({}) changed to {} at {}: {}\nRule: {}\nWorkflow: {}",
                          state_.alarm_name(), state_.alarm_arn(), trigger.alarm().state(),
                          trigger.alarm().state_time(), trigger.alarm().reason(), action_.rule(),
                          ctx_.workflow().workflow_id());
  if (dry_run()) return DryRun("publish to " + topic + ": " + r.subject);
  auto res = ctx_.aws().sns->Publish(r);
  if (!res.ok()) return AwsError(step::kNotifyPublish, "Publish", res.error());
  return Done("succeeded", "notified " + topic,
              {MakeAction(Res(), "Publish", "ok", "SNS message " + res->message_id)});
}

}  // namespace fleetkeeper::handlers::self_healing
