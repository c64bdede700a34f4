// The handler registry: which handler serves which event kind, and which AWS actions it may call.
// Adding a handler is its folder plus one line in registry.cc.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "handlers/handler.h"

namespace fleetkeeper::handlers {

struct HandlerEntry {
  std::string name;                // config key under `handlers:`
  std::vector<EventKind> kinds;    // the event kinds it admits
  // Builds the handler from the worker config; null when the handler is not built in this version.
  std::unique_ptr<Handler> (*make)(const v1::WorkerConfig& config);
  // The AWS actions (IAM names, "ec2:RunInstances") the handler may call with this config, sorted
  // and unique; declared in the handler's folder (permissions.h). Null when it is not built.
  std::vector<std::string> (*permissions)(const v1::WorkerConfig& config);
};

// Every handler fleetkeeper knows of, built or not.
const std::vector<HandlerEntry>& HandlerCatalog();

// Whether `handlers.<name>.enabled` is true (handlers are enabled by default).
bool HandlerEnabled(const v1::WorkerConfig& config, const std::string& name);

// The AWS actions one part of fleetkeeper may call.
struct DeclaredActions {
  std::string owner;                 // a handler's name, or "worker" for the process's own calls
  std::vector<std::string> actions;  // sorted, unique; empty when it calls nothing
};

// Per enabled, built handler, in catalog order, its declared actions for `config`.
std::vector<DeclaredActions> HandlerPermissions(const v1::WorkerConfig& config);

}  // namespace fleetkeeper::handlers
