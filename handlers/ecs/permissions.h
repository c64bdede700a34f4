// The AWS actions the ECS handler calls (steps.cc, discover.cc, reads.cc), as IAM names them.
#pragma once

#include <string>
#include <vector>

#include "fleetkeeper/v1/config.pb.h"

namespace fleetkeeper::handlers::ecs {

// Sorted and unique. Commands name their actions at run time, so an enabled handler declares
// every call any action makes.
std::vector<std::string> Permissions(const v1::WorkerConfig& config);

}  // namespace fleetkeeper::handlers::ecs
