// The command line's exit codes and messages: usage errors exit 2 with a message on stderr,
// whatever CLI11's own code for the error is; --help and --version exit 0.
#include "app/command_line.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <sstream>
#include <string>
#include <vector>

#include "app/build_info.h"

namespace fleetkeeper::app {
namespace {

// A command tree shaped like fleetkeeper's: one required subcommand with a required positional,
// an option with a checked value and an integer option.
class CommandLineTest : public ::testing::Test {
 protected:
  CommandLineTest() {
    cli_.require_subcommand(1);
    cli_.set_version_flag("--version", &VersionText);
    auto* cmd = cli_.add_subcommand("workflows", "workflows");
    cmd->add_option("action", action_, "action")->required()->check(CLI::IsMember({"list"}));
    cmd->add_option("--limit", limit_, "limit");
  }

  std::optional<int> Parse(std::vector<std::string> args) {
    args.insert(args.begin(), "fleetkeeper");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    return ParseCommandLine(cli_, static_cast<int>(argv.size()), argv.data(), out_, err_);
  }

  CLI::App cli_{"test"};
  std::string action_;
  int limit_ = 0;
  std::ostringstream out_, err_;
};

TEST_F(CommandLineTest, AValidCommandLineRuns) {
  EXPECT_EQ(Parse({"workflows", "list", "--limit", "3"}), std::nullopt);
  EXPECT_EQ(action_, "list");
  EXPECT_EQ(limit_, 3);
}

TEST_F(CommandLineTest, UnknownOptionExits2WithAMessage) {
  EXPECT_EQ(Parse({"workflows", "list", "--bogus"}), kExitUsage);
  EXPECT_NE(err_.str().find("--bogus"), std::string::npos) << err_.str();
  EXPECT_EQ(out_.str(), "");
}

TEST_F(CommandLineTest, MissingArgumentExits2WithAMessage) {
  EXPECT_EQ(Parse({"workflows"}), kExitUsage);
  EXPECT_NE(err_.str().find("action is required"), std::string::npos) << err_.str();
}

TEST_F(CommandLineTest, BadValuesExit2WithAMessage) {
  EXPECT_EQ(Parse({"workflows", "remove"}), kExitUsage);
  EXPECT_NE(err_.str().find("remove"), std::string::npos) << err_.str();
  err_.str("");
  EXPECT_EQ(Parse({"workflows", "list", "--limit", "many"}), kExitUsage);
  EXPECT_NE(err_.str().find("many"), std::string::npos) << err_.str();
}

TEST_F(CommandLineTest, UnknownOrMissingSubcommandExits2WithAMessage) {
  EXPECT_EQ(Parse({"frobnicate"}), kExitUsage);
  EXPECT_EQ(err_.str(),
            "unknown subcommand: frobnicate (one of: workflows)\n"
            "Run with --help for more information.\n");
  err_.str("");
  EXPECT_EQ(Parse({"--bogus", "workflows", "list"}), kExitUsage);
  EXPECT_NE(err_.str().find("--bogus"), std::string::npos) << err_.str();
  err_.str("");
  EXPECT_EQ(Parse({}), kExitUsage);
  EXPECT_NE(err_.str().find("subcommand"), std::string::npos) << err_.str();
}

TEST_F(CommandLineTest, HelpAndVersionExit0OnStdout) {
  EXPECT_EQ(Parse({"--help"}), 0);
  EXPECT_NE(out_.str().find("workflows"), std::string::npos) << out_.str();
  out_.str("");
  EXPECT_EQ(Parse({"--version"}), 0);
  EXPECT_EQ(out_.str(), VersionText() + "\n");
  EXPECT_EQ(err_.str(), "");
}

TEST(VersionTextTest, NamesVersionCommitAndLibrdkafka) {
  std::istringstream text(VersionText());
  std::string version, commit, librdkafka, rest;
  std::getline(text, version);
  std::getline(text, commit);
  std::getline(text, librdkafka);
  std::getline(text, rest);
  EXPECT_EQ(version, std::string("fleetkeeper ") + kBuildVersion);
  EXPECT_GT(version.size(), std::string("fleetkeeper ").size());
  // A short commit hash of the source tree, or "unknown" outside a git checkout.
  EXPECT_TRUE(commit == "commit unknown" ||
              (commit.size() >= 11 && commit.rfind("commit ", 0) == 0 &&
               commit.find_first_not_of("0123456789abcdef", 7) == std::string::npos))
      << commit;
  EXPECT_EQ(librdkafka, std::string("librdkafka ") + rd_kafka_version_str());
  EXPECT_EQ(rest, "");
}

}  // namespace
}  // namespace fleetkeeper::app
