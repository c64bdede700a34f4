#include "handlers/ecs/config.h"

#include "handlers/ecs/schedules.h"

namespace fleetkeeper::handlers::ecs {
namespace {

google::protobuf::Duration DurationOfMs(int64_t ms) {
  google::protobuf::Duration d;
  d.set_seconds(ms / 1000);
  d.set_nanos(static_cast<int32_t>((ms % 1000) * 1'000'000));
  return d;
}

}  // namespace

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
  ValidateSchedules(worker, check);
}

}  // namespace fleetkeeper::handlers::ecs
