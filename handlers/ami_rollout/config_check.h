// Defaults and checks of `handlers.ami_rollout` (docs/configuration.md), for the factory's
// ApplyDefaults and Validate; every error names its key path.
#pragma once

#include <string>

#include "common/config_check.h"
#include "fleetkeeper/v1/config.pb.h"

namespace fleetkeeper::handlers::ami_rollout {

// Folds the `alarms` shorthand, then fills every unset key that has a documented default.
void ApplyDefaults(v1::AmiRolloutConfig& config);

void Validate(const v1::AmiRolloutConfig& config, const std::string& path, ConfigChecker& check);

// One set of instance refresh preferences at `path` (a file's refresh_defaults or
// asg_configurations entry, or an ASG_CONFIGURATIONS entry). Paths use the AWS spelling (the
// json_name), as the documentation and ASG_CONFIGURATIONS do.
void ValidateRefreshPreferences(const v1::RefreshPreferences& prefs, const std::string& path,
                                ConfigChecker& check);

}  // namespace fleetkeeper::handlers::ami_rollout
