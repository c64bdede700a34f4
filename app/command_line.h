// The command line's conventions, shared by every subcommand: --help and --version print to
// stdout and exit 0; a usage error (unknown option or subcommand, missing or bad argument) prints
// one message and a hint on stderr and exits kExitUsage, never CLI11's own codes (105-109).
#pragma once

#include <CLI/CLI.hpp>

#include <iostream>
#include <optional>
#include <string>

namespace fleetkeeper::app {

inline constexpr int kExitUsage = 2;

// Parses argv into `cli`. nullopt: run the selected subcommand; otherwise the exit code, after
// the help, the version or the usage error has been printed.
std::optional<int> ParseCommandLine(CLI::App& cli, int argc, const char* const* argv,
                                    std::ostream& out = std::cout, std::ostream& err = std::cerr);

// What `fleetkeeper --version` prints: the version, the commit it was built from, the librdkafka
// it runs with (the library loaded, which may differ from the headers it was built against).
std::string VersionText();

}  // namespace fleetkeeper::app
