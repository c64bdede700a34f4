#include "handlers/ecs/config.h"

#include "common/duration.h"
#include "handlers/ecs/schedules.h"

namespace fleetkeeper::handlers::ecs {

void ApplyDefaults(v1::EcsConfig& config) {
  if (!config.has_verify_timeout()) {
    *config.mutable_verify_timeout() = DurationOfMs(kDefaultVerifyTimeoutMs);
  }
  if (!config.has_poll_interval()) {
    *config.mutable_poll_interval() = DurationOfMs(kDefaultPollIntervalMs);
  }
}

void Validate(const v1::WorkerConfig& worker, ConfigChecker& check) {
  const v1::EcsConfig& config = worker.handlers().ecs();
  const std::string path = "handlers.ecs";
  if (config.has_verify_timeout()) {
    check.Positive(ChildPath(path, "verify_timeout"), config.verify_timeout());
  }
  if (config.has_poll_interval()) {
    check.Positive(ChildPath(path, "poll_interval"), config.poll_interval());
  }
  if (!config.notify_topic_arn().empty() && !IsSnsTopicArn(config.notify_topic_arn())) {
    check.Fail(ChildPath(path, "notify_topic_arn"),
               "\"" + config.notify_topic_arn() + "\" is not an SNS topic ARN");
  }
  ValidateSchedules(worker, check);
}

}  // namespace fleetkeeper::handlers::ecs
