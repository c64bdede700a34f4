#include "awsclient/region.h"

#include <cstdlib>

#include "awsclient/credentials.h"
#include "awsclient/http.h"

namespace fleetkeeper::aws {

Result<RegionSource> ResolveRegion() {
  for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') return RegionSource{v, name};
  }
  auto config = LoadSharedConfig();
  if (!config.ok()) return config.error();
  if (const Profile* profile = config->Selected(); profile != nullptr) {
    std::string region = profile->Get("region");
    if (!region.empty()) return RegionSource{region, "profile " + profile->name};
  }
  const char* disabled = std::getenv("AWS_EC2_METADATA_DISABLED");
  if (disabled == nullptr || (std::string(disabled) != "true" && std::string(disabled) != "1")) {
    HttpOptions options;
    options.connect_timeout_ms = 1000;
    options.request_timeout_ms = 3000;
    HttpClient http(options);
    auto region = ImdsGet(http, "/latest/meta-data/placement/region");
    if (region.ok() && !region->empty()) return RegionSource{*region, "imds"};
  }
  return Error(ErrorCode::kNotFound,
               "no AWS region: set AWS_REGION or aws.region, or a region in the profile");
}

}  // namespace fleetkeeper::aws
