// SSM over JSON 1.1 (target prefix AmazonSSM).
#include <utility>

#include <nlohmann/json.hpp>

#include "awsclient/json_protocol.h"
#include "awsclient/ssm.h"
#include "common/clock.h"

namespace fleetkeeper::aws {
namespace {

using nlohmann::json;

constexpr const char* kService = "ssm";

template <typename T, typename Read>
Result<T> Call(Transport& t, const char* operation, const json& request, Read&& read) {
  return CallJsonAndRead<T>(t, kService, kSsmTargetPrefix, operation, request,
                            std::forward<Read>(read));
}

auto ReadParameter = [](JsonReader& r, const json& body) {
  Parameter p;
  r.Require(body, "Parameter");
  const json* n = r.Object(body, "Parameter");
  if (!n) return p;
  r.Require(*n, "Value");
  p.name = r.Str(*n, "Name");
  p.type = r.Str(*n, "Type");
  p.value = r.Str(*n, "Value");
  p.version = r.Int(*n, "Version");
  p.arn = r.Str(*n, "ARN");
  p.data_type = r.Str(*n, "DataType");
  p.last_modified_ms = r.EpochMs(*n, "LastModifiedDate");
  return p;
};

Command ReadCommandObject(JsonReader& r, const json& n) {
  Command c;
  r.Require(n, "CommandId");
  c.command_id = r.Str(n, "CommandId");
  c.document_name = r.Str(n, "DocumentName");
  c.status = r.Str(n, "Status");
  c.instance_ids = r.Strings(n, "InstanceIds");
  c.requested_ms = r.EpochMs(n, "RequestedDateTime");
  c.comment = r.Str(n, "Comment");
  return c;
}

auto ReadCommand = [](JsonReader& r, const json& body) {
  r.Require(body, "Command");
  const json* n = r.Object(body, "Command");
  return n ? ReadCommandObject(r, *n) : Command{};
};

// The body members a command listing shares (ListCommands, ListCommandInvocations).
json CommandListBody(const std::string& command_id, const std::string& instance_id,
                     const std::map<std::string, std::string>& filters,
                     const std::optional<int>& max_results, const std::string& next_token) {
  json body = json::object();
  if (!command_id.empty()) body["CommandId"] = command_id;
  if (!instance_id.empty()) body["InstanceId"] = instance_id;
  if (!filters.empty()) {
    json list = json::array();
    for (const auto& [key, value] : filters) list.push_back({{"key", key}, {"value", value}});
    body["Filters"] = std::move(list);
  }
  if (max_results) body["MaxResults"] = *max_results;
  if (!next_token.empty()) body["NextToken"] = next_token;
  return body;
}

auto ReadInstanceInformation = [](JsonReader& r, const json& body) {
  DescribeInstanceInformationResponse out;
  for (const json* n : r.Objects(body, "InstanceInformationList")) {
    InstanceInformation i;
    i.instance_id = r.Str(*n, "InstanceId");
    i.ping_status = r.Str(*n, "PingStatus");
    i.last_ping_ms = r.EpochMs(*n, "LastPingDateTime");
    i.agent_version = r.Str(*n, "AgentVersion");
    i.is_latest_version = r.OptBool(*n, "IsLatestVersion");
    i.platform_type = r.Str(*n, "PlatformType");
    i.platform_name = r.Str(*n, "PlatformName");
    i.resource_type = r.Str(*n, "ResourceType");
    i.computer_name = r.Str(*n, "ComputerName");
    i.ip_address = r.Str(*n, "IPAddress");
    out.instances.push_back(std::move(i));
  }
  out.next_token = r.Str(body, "NextToken");
  return out;
};

class SsmJsonClient final : public Ssm {
 public:
  explicit SsmJsonClient(std::shared_ptr<Transport> t) : t_(std::move(t)) {}

  Result<Parameter> GetParameter(const GetParameterRequest& r) override {
    json body = {{"Name", r.name}, {"WithDecryption", r.with_decryption}};
    return Call<Parameter>(*t_, "GetParameter", body, ReadParameter);
  }

  Result<Command> SendCommand(const SendCommandRequest& r) override {
    json body = {{"DocumentName", r.document_name}};
    if (!r.document_version.empty()) body["DocumentVersion"] = r.document_version;
    if (!r.instance_ids.empty()) body["InstanceIds"] = r.instance_ids;
    if (!r.targets.empty()) {
      json targets = json::array();
      for (const CommandTarget& t : r.targets) {
        targets.push_back({{"Key", t.key}, {"Values", t.values}});
      }
      body["Targets"] = std::move(targets);
    }
    if (!r.parameters.empty()) body["Parameters"] = r.parameters;
    if (r.timeout_seconds) body["TimeoutSeconds"] = *r.timeout_seconds;
    if (!r.max_concurrency.empty()) body["MaxConcurrency"] = r.max_concurrency;
    if (!r.max_errors.empty()) body["MaxErrors"] = r.max_errors;
    if (!r.comment.empty()) body["Comment"] = r.comment;
    return Call<Command>(*t_, "SendCommand", body, ReadCommand);
  }

  Result<CommandInvocationDetail> GetCommandInvocation(
      const GetCommandInvocationRequest& r) override {
    json body = {{"CommandId", r.command_id}, {"InstanceId", r.instance_id}};
    if (!r.plugin_name.empty()) body["PluginName"] = r.plugin_name;
    return Call<CommandInvocationDetail>(*t_, "GetCommandInvocation", body,
                                         [](JsonReader& x, const json& b) {
                                           CommandInvocationDetail d;
                                           x.Require(b, "Status");
                                           d.command_id = x.Str(b, "CommandId");
                                           d.instance_id = x.Str(b, "InstanceId");
                                           d.status = x.Str(b, "Status");
                                           d.status_details = x.Str(b, "StatusDetails");
                                           d.response_code = x.Int(b, "ResponseCode");
                                           d.standard_output = x.Str(b, "StandardOutputContent");
                                           d.standard_error = x.Str(b, "StandardErrorContent");
                                           d.execution_start = x.Str(b, "ExecutionStartDateTime");
                                           d.execution_end = x.Str(b, "ExecutionEndDateTime");
                                           return d;
                                         });
  }

  Result<ListCommandInvocationsResponse> ListCommandInvocations(
      const ListCommandInvocationsRequest& r) override {
    json body =
        CommandListBody(r.command_id, r.instance_id, r.filters, r.max_results, r.next_token);
    if (r.details) body["Details"] = true;
    return Call<ListCommandInvocationsResponse>(
        *t_, "ListCommandInvocations", body, [](JsonReader& x, const json& b) {
          ListCommandInvocationsResponse out;
          for (const json* n : x.Objects(b, "CommandInvocations")) {
            CommandInvocation i;
            i.command_id = x.Str(*n, "CommandId");
            i.instance_id = x.Str(*n, "InstanceId");
            i.status = x.Str(*n, "Status");
            i.status_details = x.Str(*n, "StatusDetails");
            i.document_name = x.Str(*n, "DocumentName");
            i.comment = x.Str(*n, "Comment");
            i.requested_ms = x.EpochMs(*n, "RequestedDateTime");
            for (const json* p : x.Objects(*n, "CommandPlugins")) {
              i.plugins.push_back({x.Str(*p, "Name"), x.Str(*p, "Status"),
                                   x.Int(*p, "ResponseCode"), x.Str(*p, "Output")});
            }
            out.invocations.push_back(std::move(i));
          }
          out.next_token = x.Str(b, "NextToken");
          return out;
        });
  }

  Result<ListCommandsResponse> ListCommands(const ListCommandsRequest& r) override {
    return Call<ListCommandsResponse>(
        *t_, "ListCommands",
        CommandListBody(r.command_id, r.instance_id, r.filters, r.max_results, r.next_token),
        [](JsonReader& x, const json& b) {
          ListCommandsResponse out;
          for (const json* n : x.Objects(b, "Commands")) {
            out.commands.push_back(ReadCommandObject(x, *n));
          }
          out.next_token = x.Str(b, "NextToken");
          return out;
        });
  }

  Result<DescribeInstanceInformationResponse> DescribeInstanceInformation(
      const DescribeInstanceInformationRequest& r) override {
    json body = json::object();
    if (!r.filters.empty()) {
      json filters = json::array();
      for (const auto& [key, values] : r.filters) {
        filters.push_back({{"Key", key}, {"Values", values}});
      }
      body["Filters"] = std::move(filters);
    }
    if (r.max_results) body["MaxResults"] = *r.max_results;
    if (!r.next_token.empty()) body["NextToken"] = r.next_token;
    return Call<DescribeInstanceInformationResponse>(*t_, "DescribeInstanceInformation", body,
                                                     ReadInstanceInformation);
  }

  Result<DescribeInstancePatchStatesResponse> DescribeInstancePatchStates(
      const DescribeInstancePatchStatesRequest& r) override {
    json body = {{"InstanceIds", r.instance_ids}};
    if (r.max_results) body["MaxResults"] = *r.max_results;
    if (!r.next_token.empty()) body["NextToken"] = r.next_token;
    return Call<DescribeInstancePatchStatesResponse>(
        *t_, "DescribeInstancePatchStates", body, [](JsonReader& x, const json& b) {
          DescribeInstancePatchStatesResponse out;
          for (const json* n : x.Objects(b, "InstancePatchStates")) {
            InstancePatchState s;
            s.instance_id = x.Str(*n, "InstanceId");
            s.patch_group = x.Str(*n, "PatchGroup");
            s.baseline_id = x.Str(*n, "BaselineId");
            s.operation = x.Str(*n, "Operation");
            s.operation_start_ms = x.EpochMs(*n, "OperationStartTime");
            s.operation_end_ms = x.EpochMs(*n, "OperationEndTime");
            s.reboot_option = x.Str(*n, "RebootOption");
            s.installed = x.Int(*n, "InstalledCount");
            s.installed_other = x.Int(*n, "InstalledOtherCount");
            s.installed_pending_reboot = x.Int(*n, "InstalledPendingRebootCount");
            s.installed_rejected = x.Int(*n, "InstalledRejectedCount");
            s.missing = x.Int(*n, "MissingCount");
            s.failed = x.Int(*n, "FailedCount");
            s.not_applicable = x.Int(*n, "NotApplicableCount");
            s.critical_non_compliant = x.Int(*n, "CriticalNonCompliantCount");
            s.security_non_compliant = x.Int(*n, "SecurityNonCompliantCount");
            out.states.push_back(std::move(s));
          }
          out.next_token = x.Str(b, "NextToken");
          return out;
        });
  }

 private:
  std::shared_ptr<Transport> t_;
};

}  // namespace

std::unique_ptr<Ssm> MakeSsmClient(std::shared_ptr<Transport> transport) {
  return std::make_unique<SsmJsonClient>(std::move(transport));
}

std::string CommandFilterTime(int64_t epoch_ms) {
  const int64_t seconds = epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000;
  return FormatRfc3339(seconds * 1000).substr(0, 19) + "Z";  // without the .000
}

Result<Parameter> ParseGetParameter(const std::string& body) {
  return ReadJsonBody<Parameter>("GetParameter", ParseJsonResponse("GetParameter", body),
                                 ReadParameter);
}

Result<Command> ParseSendCommand(const std::string& body) {
  return ReadJsonBody<Command>("SendCommand", ParseJsonResponse("SendCommand", body), ReadCommand);
}

Result<DescribeInstanceInformationResponse> ParseDescribeInstanceInformation(
    const std::string& body) {
  return ReadJsonBody<DescribeInstanceInformationResponse>(
      "DescribeInstanceInformation", ParseJsonResponse("DescribeInstanceInformation", body),
      ReadInstanceInformation);
}

}  // namespace fleetkeeper::aws
