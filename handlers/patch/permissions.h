// The AWS actions the patch handler calls (handler folder contract: `fleetkeeper permissions`,
// `doctor`, and the end-to-end test that fails on any undeclared call).
#pragma once

#include <string>
#include <vector>

#include "fleetkeeper/v1/config.pb.h"

namespace fleetkeeper::handlers::patch {

std::vector<std::string> Permissions(const v1::WorkerConfig& config);

}  // namespace fleetkeeper::handlers::patch
