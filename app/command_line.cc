#include "app/command_line.h"

#include <fmt/format.h>

#include "app/build_info.h"
#include "consumers/record_sender.h"

namespace fleetkeeper::app {

std::optional<int> ParseCommandLine(CLI::App& cli, int argc, const char* const* argv,
                                    std::ostream& out, std::ostream& err) {
  try {
    cli.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    // With a subcommand required, CLI11 answers a misspelt one (or an unknown option before it)
    // with "A subcommand is required": name what it did not understand instead.
    if (e.get_name() == "RequiredError" && cli.get_subcommands().empty() &&
        !cli.remaining().empty()) {
      const std::string word = cli.remaining().front();
      if (word.rfind('-', 0) == 0) {
        err << "unknown option: " << word << "\n";
      } else {
        std::string names;
        for (const CLI::App* sub : cli.get_subcommands([](CLI::App*) { return true; })) {
          names += (names.empty() ? "" : ", ") + sub->get_name();
        }
        err << "unknown subcommand: " << word << " (one of: " << names << ")\n";
      }
      err << "Run with --help for more information.\n";
      return kExitUsage;
    }
    const int code = cli.exit(e, out, err);
    return code == static_cast<int>(CLI::ExitCodes::Success) ? 0 : kExitUsage;
  }
}

std::string VersionText() {
  return fmt::format("fleetkeeper {}\ncommit {}\nlibrdkafka {}", kBuildVersion, kBuildCommit,
                     consumers::LibrdkafkaVersion());
}

}  // namespace fleetkeeper::app
