// The handler registry: which handler serves which event kind. Adding a handler is its folder plus
// one line in registry.cc.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "handlers/handler.h"

namespace fleetkeeper::handlers {

struct HandlerEntry {
  std::string name;                 // config key under `handlers:`
  std::vector<std::string> kinds;   // event kinds (EventKind names) it admits
  // Builds the handler from the worker config; null when the handler is not built in this version.
  std::unique_ptr<Handler> (*make)(const v1::WorkerConfig& config);
};

// Every handler fleetkeeper knows of, built or not.
const std::vector<HandlerEntry>& HandlerCatalog();

// Whether `handlers.<name>.enabled` is true (handlers are enabled by default).
bool HandlerEnabled(const v1::WorkerConfig& config, const std::string& name);

}  // namespace fleetkeeper::handlers
