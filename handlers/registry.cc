#include "handlers/registry.h"

#include "handlers/ami_rollout/handler.h"
#include "handlers/ecs/handler.h"
#include "handlers/safety_config.h"
#include "handlers/patch/handler.h"
#include "handlers/self_healing/handler.h"

namespace fleetkeeper::handlers {
const std::vector<const HandlerFactory*>& HandlerCatalog() {
  static const std::vector<const HandlerFactory*> catalog = {
      &ami_rollout::Factory(),
      &self_healing::Factory(),
      &patch::Factory(),
      &ecs::Factory(),
  };
  return catalog;
}

const HandlerFactory* FactoryNamed(std::string_view name) {
  for (const HandlerFactory* factory : HandlerCatalog()) {
    if (factory->name() == name) return factory;
  }
  return nullptr;
}

std::vector<DeclaredActions> HandlerPermissions(const v1::WorkerConfig& config) {
  std::vector<DeclaredActions> out;
  for (const HandlerFactory* factory : HandlerCatalog()) {
    if (!factory->Enabled(config)) continue;
    out.push_back({std::string(factory->name()), factory->Permissions(config)});
  }
  if (auto guards = AlarmGuardPermissions(config); !guards.empty()) {
    out.push_back({"safety", std::move(guards)});
  }
  return out;
}

}  // namespace fleetkeeper::handlers
