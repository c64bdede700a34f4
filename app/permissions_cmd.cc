#include "app/permissions_cmd.h"

#include <cstdio>

#include "app/aws_wiring.h"
#include "app/control.h"

namespace fleetkeeper::app {

std::vector<handlers::DeclaredActions> DeclaredPermissions(const v1::WorkerConfig& config) {
  std::vector<handlers::DeclaredActions> out = {{"worker", WorkerActions(config)}};
  for (auto& handler : handlers::HandlerPermissions(config)) out.push_back(std::move(handler));
  return out;
}

nlohmann::ordered_json PermissionsJson(const std::vector<handlers::DeclaredActions>& declared) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& d : declared) out[d.owner] = d.actions;
  return out;
}

std::string PermissionsText(const std::vector<handlers::DeclaredActions>& declared) {
  std::string out;
  for (const auto& d : declared) {
    out += d.owner + (d.actions.empty() ? " (none)\n" : "\n");
    for (const auto& action : d.actions) out += "  " + action + "\n";
  }
  return out;
}

int Permissions(const CommonOptions& options, bool json) {
  v1::WorkerConfig config;
  if (!LoadCommandConfig(options, "permissions", &config)) return 2;
  const auto declared = DeclaredPermissions(config);
  if (json) {
    std::printf("%s\n", PermissionsJson(declared).dump().c_str());
  } else {
    std::fputs(PermissionsText(declared).c_str(), stdout);
  }
  return 0;
}

}  // namespace fleetkeeper::app
