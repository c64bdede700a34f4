// Defaults and checks of `handlers.self_healing` (docs/configuration.md), for the factory's
// ApplyDefaults and Validate; every error names its key path.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/config_check.h"
#include "fleetkeeper/v1/config.pb.h"

namespace fleetkeeper::handlers::self_healing {

// Defaults filled in by ApplyDefaults, and what the handler falls back to for a hand-built config.
inline constexpr int32_t kDefaultBreakerMaxActions = 20;
inline constexpr int64_t kDefaultBreakerWindowMs = 600 * 1000;
inline constexpr int64_t kDefaultVerifyTimeoutMs = 10 * 60 * 1000;
inline constexpr std::string_view kDefaultMetricsNamespace = "FleetKeeper/SelfHealing";

// Fills every unset key that has a documented default, rules included.
void ApplyDefaults(v1::SelfHealingConfig& config);

void Validate(const v1::SelfHealingConfig& config, const std::string& path, ConfigChecker& check);

}  // namespace fleetkeeper::handlers::self_healing
