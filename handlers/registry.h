// The handler registry: every handler fleetkeeper knows of, as its factory (handlers/factory.h).
// Adding a handler is its folder plus one line in registry.cc.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "handlers/factory.h"

namespace fleetkeeper::handlers {

// Every handler, in a fixed order (the order of `permissions` and of the start-up
// line).
const std::vector<const HandlerFactory*>& HandlerCatalog();

// The factory registered under `name`, or null.
const HandlerFactory* FactoryNamed(std::string_view name);

// The AWS actions one part of fleetkeeper may call.
struct DeclaredActions {
  std::string owner;                 // a handler's name, or "worker" for the process's own calls
  std::vector<std::string> actions;  // sorted, unique; empty when it calls nothing
};

// Per enabled handler, in catalog order, its declared actions for `config`.
std::vector<DeclaredActions> HandlerPermissions(const v1::WorkerConfig& config);

}  // namespace fleetkeeper::handlers
