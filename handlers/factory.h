// What a handler folder gives the rest of fleetkeeper. Everything the worker, `validate-config`,
// `doctor` and `permissions` need to know about a handler comes from its factory, so adding a
// handler is its folder, its config message in proto/, and one line in handlers/registry.cc.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/config_check.h"
#include "handlers/handler.h"

namespace fleetkeeper::handlers {

class HandlerFactory {
 public:
  virtual ~HandlerFactory() = default;

  // The config key under `handlers:` and the `handler` of its results.
  virtual std::string_view name() const = 0;
  // The event kinds it admits, each served by one handler only.
  virtual std::vector<EventKind> kinds() const = 0;
  // `handlers.<name>.enabled`; handlers are enabled by default.
  virtual bool Enabled(const v1::WorkerConfig& config) const = 0;
  // Fills the documented defaults of its section. Idempotent; keeps every key the user set.
  virtual void ApplyDefaults(v1::WorkerConfig& config) const = 0;
  // Checks its section after defaults, every error naming its path (`handlers.<name>.…`). Runs
  // for a disabled handler too: a config that is wrong is wrong before someone enables it.
  virtual void Validate(const v1::WorkerConfig& config, ConfigChecker& check) const = 0;
  // The AWS actions it may call with this config, as IAM names them ("ec2:RunInstances"), sorted
  // and unique: what `doctor` simulates and `fleetkeeper permissions` prints.
  virtual std::vector<std::string> Permissions(const v1::WorkerConfig& config) const = 0;
  // The handler for a valid config.
  virtual std::unique_ptr<Handler> Make(const v1::WorkerConfig& config) const = 0;
};

}  // namespace fleetkeeper::handlers
