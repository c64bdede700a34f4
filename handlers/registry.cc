#include "handlers/registry.h"

#include "handlers/ami_rollout/handler.h"
#include "handlers/ecs/handler.h"
#include "handlers/self_healing/handler.h"

namespace fleetkeeper::handlers {
namespace {

// A handler named by DESIGN.md that this version does not build: its events are REJECTED
// "not implemented", and it has no config section, no defaults and no actions.
class NotBuilt final : public HandlerFactory {
 public:
  NotBuilt(std::string_view name, EventKind kind) : name_(name), kind_(kind) {}
  std::string_view name() const override { return name_; }
  std::vector<EventKind> kinds() const override { return {kind_}; }
  bool Enabled(const v1::WorkerConfig&) const override { return true; }
  void ApplyDefaults(v1::WorkerConfig&) const override {}
  void Validate(const v1::WorkerConfig&, ConfigChecker&) const override {}
  std::vector<std::string> Permissions(const v1::WorkerConfig&) const override { return {}; }
  bool built() const override { return false; }
  std::unique_ptr<Handler> Make(const v1::WorkerConfig&) const override { return nullptr; }

 private:
  std::string_view name_;
  EventKind kind_;
};

}  // namespace

const std::vector<const HandlerFactory*>& HandlerCatalog() {
  static const NotBuilt patch("patch", v1::Event::kPatchRequest);
  static const std::vector<const HandlerFactory*> catalog = {
      &ami_rollout::Factory(),
      &self_healing::Factory(),
      &patch,
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
    if (!factory->built() || !factory->Enabled(config)) continue;
    out.push_back({std::string(factory->name()), factory->Permissions(config)});
  }
  return out;
}

}  // namespace fleetkeeper::handlers
