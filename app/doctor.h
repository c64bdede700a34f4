// `fleetkeeper doctor [--config FILE]`: the pre-flight an SRE runs before `run` (DESIGN.md
// "Commands"). One line per check; the exit code is non-zero when any check failed.
//
// Checks, in order: the configuration; Kafka reachable and every topic present (or created, when
// topics.create is true, exactly as `run` would) and correctly configured; AWS credentials and
// their source (never the secret); the caller identity; each aws.accounts role assumed; and, per
// enabled handler and principal, iam:SimulatePrincipalPolicy over the AWS actions the handler
// declares (app/permissions_cmd.h: what `fleetkeeper permissions` prints), and, for the caller
// identity alone, the process's own actions (sts:AssumeRole on the configured roles). A simulation
// the caller may not run is a warning that says so, not a failure: it proves nothing about the
// handlers' own permissions.
#pragma once

#include <string>
#include <vector>

#include "app/commands.h"
#include "awsclient/clients.h"
#include "awsclient/credentials.h"
#include "fleetkeeper/v1/config.pb.h"

namespace fleetkeeper::app {

enum class CheckOutcome { kOk, kWarn, kFail, kSkip };

struct DoctorCheck {
  CheckOutcome outcome = CheckOutcome::kOk;
  std::string name;    // "config", "kafka", "topics", "credentials", "permissions ami_rollout"
  std::string detail;  // one line
};

// "ok    name: detail", "FAIL  name: detail", ... (a fixed-width status column).
std::string FormatCheck(const DoctorCheck& check);
bool AnyFailed(const std::vector<DoctorCheck>& checks);

// The ARN SimulatePrincipalPolicy takes for a caller: an assumed-role session
// (arn:aws:sts::1:assumed-role/Name/session) is simulated as its role (arn:aws:iam::1:role/Name);
// users and roles are taken as they are. The session ARN carries no role path, so a role with a
// path is named without it (the simulation then fails with NoSuchEntity, reported as a warning).
std::string PolicySourceArn(const std::string& caller_arn);

// Kafka reachability and topics (consumers::EnsureTopics, creating missing topics only when
// topics.create is true). Without bootstrap.servers: one ok line saying `run` would use the
// embedded in-memory broker.
std::vector<DoctorCheck> KafkaChecks(const v1::WorkerConfig& config, int timeout_ms);

// Credentials, caller identity, configured roles and handler permissions, through `clients` (the
// cells come from app/aws_wiring.h's rules).
std::vector<DoctorCheck> AwsChecks(const v1::WorkerConfig& config,
                                   aws::CredentialsProvider& credentials,
                                   aws::ClientProvider& clients);

// The command: prints each check as it completes, then a summary; 0 when nothing failed, 1 when a
// check failed, 2 when the configuration is invalid (nothing else is checked).
int Doctor(const CommonOptions& options);

}  // namespace fleetkeeper::app
