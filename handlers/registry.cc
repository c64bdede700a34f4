#include "handlers/registry.h"

#include "handlers/ami_rollout/handler.h"
#include "handlers/ami_rollout/permissions.h"
#include "handlers/self_healing/handler.h"
#include "handlers/self_healing/permissions.h"

namespace fleetkeeper::handlers {

const std::vector<HandlerEntry>& HandlerCatalog() {
  static const std::vector<HandlerEntry> catalog = {
      {"ami_rollout", {v1::Event::kParameterChange}, &ami_rollout::MakeHandler,
       &ami_rollout::Permissions},
      {"self_healing", {v1::Event::kAlarm}, &self_healing::MakeHandler, &self_healing::Permissions},
      {"patch", {v1::Event::kPatchRequest}, nullptr, nullptr},
      {"ecs", {v1::Event::kEcsCommand}, nullptr, nullptr},
  };
  return catalog;
}

bool HandlerEnabled(const v1::WorkerConfig& config, const std::string& name) {
  const auto& h = config.handlers();
  if (name == "ami_rollout") {
    return !h.has_ami_rollout() || !h.ami_rollout().has_enabled() || h.ami_rollout().enabled();
  }
  if (name == "self_healing") {
    return !h.has_self_healing() || !h.self_healing().has_enabled() ||
           h.self_healing().enabled();
  }
  return true;
}

std::vector<DeclaredActions> HandlerPermissions(const v1::WorkerConfig& config) {
  std::vector<DeclaredActions> out;
  for (const auto& entry : HandlerCatalog()) {
    if (entry.make == nullptr || entry.permissions == nullptr) continue;
    if (!HandlerEnabled(config, entry.name)) continue;
    out.push_back({entry.name, entry.permissions(config)});
  }
  return out;
}

}  // namespace fleetkeeper::handlers
