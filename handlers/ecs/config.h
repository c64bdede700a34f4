// handlers.ecs: its documented defaults and its checks (the factory's ApplyDefaults and Validate).
#pragma once

#include <cstdint>

#include "common/config_check.h"
#include "fleetkeeper/v1/config.pb.h"

namespace fleetkeeper::handlers::ecs {

inline constexpr int64_t kDefaultVerifyTimeoutMs = 10 * 60 * 1000;
inline constexpr int64_t kDefaultPollIntervalMs = 10 * 1000;

// Fills verify_timeout (10m) and poll_interval (10s); keeps what the user set.
void ApplyDefaults(v1::EcsConfig& config);

// Every error names its path under `handlers.ecs` (schedules: schedules.h).
void Validate(const v1::WorkerConfig& config, ConfigChecker& check);

}  // namespace fleetkeeper::handlers::ecs
