// The region as the AWS CLI finds it: AWS_REGION, AWS_DEFAULT_REGION, the selected profile's
// region, then the instance's region from IMDSv2.
#pragma once

#include <string>

#include "common/error.h"

namespace fleetkeeper::aws {

struct RegionSource {
  std::string region;
  std::string source;  // "AWS_REGION", "AWS_DEFAULT_REGION", "profile <name>", "imds"
};

// kNotFound when no source has one (off EC2 with nothing configured).
Result<RegionSource> ResolveRegion();

}  // namespace fleetkeeper::aws
