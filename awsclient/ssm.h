// AWS Systems Manager, the operations fleetkeeper's handlers make. Handlers depend on the abstract
// Ssm interface; MakeSsmClient() is the JSON 1.1 wire implementation (ssm_json.cc). Times are
// epoch milliseconds (0 = absent).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "awsclient/transport.h"
#include "common/error.h"

namespace fleetkeeper::aws {

using Filters = std::map<std::string, std::vector<std::string>>;

struct GetParameterRequest {
  std::string name;  // a name, or name:version / name:label
  bool with_decryption = false;
};

struct Parameter {
  std::string name;
  std::string type;  // String | StringList | SecureString
  std::string value;
  int64_t version = 0;
  std::string arn;
  std::string data_type;  // text | aws:ec2:image
  int64_t last_modified_ms = 0;
};

struct CommandTarget {
  std::string key;  // tag:<name> | resource-groups:Name | InstanceIds
  std::vector<std::string> values;
};

struct SendCommandRequest {
  std::string document_name;  // e.g. AWS-RunPatchBaseline
  std::string document_version;
  std::vector<std::string> instance_ids;  // either instance_ids or targets
  std::vector<CommandTarget> targets;
  std::map<std::string, std::vector<std::string>> parameters;
  std::optional<int> timeout_seconds;  // delivery timeout
  std::string max_concurrency;         // "10" or "10%"
  std::string max_errors;
  std::string comment;
};

struct Command {
  std::string command_id;
  std::string document_name;
  std::string status;
  std::vector<std::string> instance_ids;
  int64_t requested_ms = 0;
  std::string comment;  // the SendCommand's Comment
};

// ListCommands: the commands themselves (one per SendCommand, whatever its instances), newest
// first. https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_ListCommands.html
struct ListCommandsRequest {
  std::string command_id;
  std::string instance_id;
  std::optional<int> max_results;  // 1..50
  std::string next_token;
  // CommandFilter key -> value, as for ListCommandInvocations (DocumentName, InvokedAfter, ...).
  std::map<std::string, std::string> filters;
};

struct ListCommandsResponse {
  std::vector<Command> commands;
  std::string next_token;
};

struct GetCommandInvocationRequest {
  std::string command_id;
  std::string instance_id;
  std::string plugin_name;  // optional
};

struct CommandInvocationDetail {
  std::string command_id;
  std::string instance_id;
  // Pending | InProgress | Delayed | Success | Cancelled | TimedOut | Failed | Cancelling
  std::string status;
  std::string status_details;
  int64_t response_code = 0;
  std::string standard_output;
  std::string standard_error;
  std::string execution_start;  // as SSM writes it
  std::string execution_end;
};

struct ListCommandInvocationsRequest {
  std::string command_id;
  std::string instance_id;
  bool details = false;
  std::optional<int> max_results;  // 1..50
  std::string next_token;
  // CommandFilter key -> value: InvokedAfter and InvokedBefore ("2026-07-07T00:00:00Z"), Status,
  // DocumentName (e.g. every AWS-RunPatchBaseline invocation since a time, whatever its command).
  std::map<std::string, std::string> filters;
};

struct CommandPluginResult {
  std::string name;
  std::string status;
  int64_t response_code = 0;
  std::string output;
};

struct CommandInvocation {
  std::string command_id;
  std::string instance_id;
  std::string status;
  std::string status_details;
  std::string document_name;
  std::string comment;  // the SendCommand's Comment
  int64_t requested_ms = 0;
  std::vector<CommandPluginResult> plugins;  // with details = true
};

struct ListCommandInvocationsResponse {
  std::vector<CommandInvocation> invocations;
  std::string next_token;
};

struct DescribeInstanceInformationRequest {
  Filters filters;  // Key -> Values, e.g. {"InstanceIds", {...}}, {"PingStatus", {"Online"}}
  std::optional<int> max_results;
  std::string next_token;
};

struct InstanceInformation {
  std::string instance_id;
  std::string ping_status;  // Online | ConnectionLost | Inactive
  int64_t last_ping_ms = 0;
  std::string agent_version;
  std::optional<bool> is_latest_version;
  std::string platform_type;
  std::string platform_name;
  std::string resource_type;
  std::string computer_name;
  std::string ip_address;
};

struct DescribeInstanceInformationResponse {
  std::vector<InstanceInformation> instances;
  std::string next_token;
};

struct DescribeInstancePatchStatesRequest {
  std::vector<std::string> instance_ids;
  std::optional<int> max_results;
  std::string next_token;
};

struct InstancePatchState {
  std::string instance_id;
  std::string patch_group;
  std::string baseline_id;
  std::string operation;  // Scan | Install
  int64_t operation_start_ms = 0;
  int64_t operation_end_ms = 0;
  std::string reboot_option;
  int64_t installed = 0;
  int64_t installed_other = 0;
  int64_t installed_pending_reboot = 0;
  int64_t installed_rejected = 0;
  int64_t missing = 0;
  int64_t failed = 0;
  int64_t not_applicable = 0;
  int64_t critical_non_compliant = 0;
  int64_t security_non_compliant = 0;
};

struct DescribeInstancePatchStatesResponse {
  std::vector<InstancePatchState> states;
  std::string next_token;
};

// Thread-safe.
class Ssm {
 public:
  virtual ~Ssm() = default;
  virtual Result<Parameter> GetParameter(const GetParameterRequest& r) = 0;
  virtual Result<Command> SendCommand(const SendCommandRequest& r) = 0;
  virtual Result<CommandInvocationDetail> GetCommandInvocation(
      const GetCommandInvocationRequest& r) = 0;
  virtual Result<ListCommandInvocationsResponse> ListCommandInvocations(
      const ListCommandInvocationsRequest& r) = 0;
  virtual Result<ListCommandsResponse> ListCommands(const ListCommandsRequest& r) = 0;
  virtual Result<DescribeInstanceInformationResponse> DescribeInstanceInformation(
      const DescribeInstanceInformationRequest& r) = 0;
  virtual Result<DescribeInstancePatchStatesResponse> DescribeInstancePatchStates(
      const DescribeInstancePatchStatesRequest& r) = 0;
};

std::unique_ptr<Ssm> MakeSsmClient(std::shared_ptr<Transport> transport);

// An InvokedAfter/InvokedBefore filter value: UTC to the second below `epoch_ms`
// ("2026-07-07T00:00:00Z", API_CommandFilter).
std::string CommandFilterTime(int64_t epoch_ms);

// Response parsers, exposed for the recorded-response tests.
Result<Parameter> ParseGetParameter(const std::string& body);
Result<Command> ParseSendCommand(const std::string& body);
Result<DescribeInstanceInformationResponse> ParseDescribeInstanceInformation(
    const std::string& body);

}  // namespace fleetkeeper::aws
