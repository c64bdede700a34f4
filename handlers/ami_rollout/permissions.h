// The AWS actions the AMI rollout may call, as IAM names them ("ec2:RunInstances"): what `doctor`
// simulates and `fleetkeeper permissions` prints. Kept next to the code that makes the calls; a
// call added to the rollout belongs here too (tests/integration/test_permissions.py fails on any
// action the worker sent that a handler did not declare).
#pragma once

#include <string>
#include <vector>

#include "fleetkeeper/v1/config.pb.h"

namespace fleetkeeper::handlers::ami_rollout {

// Sorted, unique. Both replacement strategies are always declared: an instance's
// fleetkeeper:replacement-strategy tag overrides replacement.strategy. The settings that add
// actions: pin_before_refresh (UpdateAutoScalingGroup), refresh_in_progress: cancel-and-restart
// (CancelInstanceRefresh) and metrics_namespace (PutMetricData).
std::vector<std::string> Permissions(const v1::WorkerConfig& config);

}  // namespace fleetkeeper::handlers::ami_rollout
