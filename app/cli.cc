#include "app/cli.h"

#include <CLI/CLI.hpp>

#include "app/command_line.h"
#include "app/commands.h"
#include "app/control.h"
#include "app/doctor.h"
#include "app/permissions_cmd.h"
#include "app/workflows_cmd.h"
#include "app/ingest_cmd.h"

namespace fleetkeeper::app {

int RunCli(int argc, char** argv, const RunHooks& hooks) {
  CLI::App cli{"fleetkeeper: keeps an AWS EC2/ECS fleet current and healthy, driven by Kafka"};
  cli.require_subcommand(1);
  cli.set_version_flag("--version", &VersionText,
                       "Print the version, commit and librdkafka version");
  CommonOptions common;

  auto* run = cli.add_subcommand("run", "Run the worker (the embedded broker when none is set)");
  run->add_option("--config", common.config_path, "YAML configuration file");

  std::vector<std::string> replay_paths;
  std::string replay_topic, replay_bootstrap;
  auto* replay = cli.add_subcommand("replay", "Produce recorded events (JSON files or JSON lines)");
  replay
      ->add_option("paths", replay_paths,
                   "FILE or DIR (.json = one record, .jsonl = a record a line)")
      ->required();
  replay->add_option("--topic", replay_topic, "Topic (default: the first input topic)");
  replay->add_option("--bootstrap", replay_bootstrap, "Broker address (default: the config's)");
  replay->add_option("--config", common.config_path, "YAML configuration file");

  std::string inspect_path;
  auto* inspect = cli.add_subcommand("inspect", "Decode and normalize one event offline");
  inspect->add_option("path", inspect_path, "FILE, or - for standard input")->required();
  inspect->add_option("--config", common.config_path, "YAML configuration file");

  std::string validate_path;
  auto* validate = cli.add_subcommand("validate-config", "Check a configuration file");
  validate->add_option("path", validate_path, "FILE")->required();

  auto* doctor =
      cli.add_subcommand("doctor", "Pre-flight: config, Kafka, AWS credentials, permissions");
  doctor->add_option("--config", common.config_path, "YAML configuration file");

  bool permissions_json = false;
  auto* permissions =
      cli.add_subcommand("permissions", "The AWS actions the worker and each enabled handler call");
  permissions->add_option("--config", common.config_path, "YAML configuration file");
  permissions->add_flag("--json", permissions_json, "JSON output: {owner: [actions]}");

  std::string freeze_reason;
  auto* freeze = cli.add_subcommand("freeze", "Stop every worker starting mutating steps");
  freeze->add_option("--reason", freeze_reason, "Why (shown to everyone)")->required();
  freeze->add_option("--config", common.config_path, "YAML configuration file");
  auto* unfreeze = cli.add_subcommand("unfreeze", "Let workers start mutating steps again");
  unfreeze->add_option("--reason", freeze_reason, "Why (optional)");
  unfreeze->add_option("--config", common.config_path, "YAML configuration file");

  std::string ingest_listen = "127.0.0.1:8080";
  std::vector<std::string> ingest_topics;
  IngestOptions ingest_options;
  auto* ingest = cli.add_subcommand("ingest", "HTTP endpoint for EventBridge and SNS deliveries");
  ingest->add_option("--config", common.config_path, "YAML configuration file");
  ingest->add_option("--listen", ingest_listen,
                     "HOST:PORT or [V6]:PORT to listen on (default 127.0.0.1:8080)");
  ingest->add_option("--secret-header", ingest_options.secret_header,
                     "EventBridge: header that must carry FLEETKEEPER_INGEST_SECRET");
  ingest->add_option("--sns-topic", ingest_topics, "SNS: accept only this topic ARN (repeatable)");
  ingest->add_option("--sns-cert-dir", ingest_options.sns_certificate_dir,
                     "SNS: signing certificates by file name, consulted before fetching");

  std::string workflows_action, workflow_id, cancel_reason;
  bool workflows_json = false;
  auto* workflows = cli.add_subcommand("workflows",
                                       "Durable workflows in fleet.state: list, show "
                                       "ID, cancel ID");
  workflows->add_option("action", workflows_action, "list | show | cancel")
      ->required()
      ->check(CLI::IsMember({"list", "show", "cancel"}));
  workflows->add_option("id", workflow_id, "Workflow id (show, cancel)");
  workflows->add_option("--reason", cancel_reason, "Why (cancel)");
  workflows->add_flag("--json", workflows_json, "JSON output");
  workflows->add_option("--config", common.config_path, "YAML configuration file");

  if (auto exit_code = ParseCommandLine(cli, argc, argv)) return *exit_code;
  if (run->parsed()) return RunWorker(common, hooks);
  if (replay->parsed()) return Replay(common, replay_paths, replay_topic, replay_bootstrap);
  if (inspect->parsed()) return Inspect(common, inspect_path);
  if (validate->parsed()) return ValidateConfig(validate_path);
  if (doctor->parsed()) return Doctor(common);
  if (permissions->parsed()) return Permissions(common, permissions_json);
  if (freeze->parsed()) return Freeze(common, freeze_reason);
  if (unfreeze->parsed()) return Unfreeze(common, freeze_reason);
  if (ingest->parsed()) {
    ingest_options.sns_topic_arns.insert(ingest_topics.begin(), ingest_topics.end());
    return Ingest(common, ingest_listen, ingest_options);
  }
  if (workflows->parsed()) {
    return Workflows(common, workflows_action, workflow_id, cancel_reason, workflows_json);
  }
  return kExitUsage;
}

}  // namespace fleetkeeper::app
