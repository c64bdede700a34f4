// The command line: parses it and hands over to the subcommand. `main` (app/main.cc) calls it with
// no hooks; the test executable (tests/testing) with the hooks its environment asks for.
#pragma once

#include "app/run_cmd.h"

namespace fleetkeeper::app {

// Returns the process's exit code.
int RunCli(int argc, char** argv, const RunHooks& hooks);

}  // namespace fleetkeeper::app
