// The `fleetkeeper` subcommands. main.cc parses the command line and calls these; each returns the
// process exit code.
#pragma once

#include <string>
#include <vector>

#include "app/run_cmd.h"

namespace fleetkeeper::app {

struct CommonOptions {
  std::string config_path;  // empty: defaults + environment
};

// `fleetkeeper run`; `hooks`: the test executable's (app/run_cmd.h), none in production.
int RunWorker(const CommonOptions& options, const RunHooks& hooks);
int Replay(const CommonOptions& options, const std::vector<std::string>& paths,
           const std::string& topic, const std::string& bootstrap);
int Inspect(const CommonOptions& options, const std::string& path);
int ValidateConfig(const std::string& path);

}  // namespace fleetkeeper::app
