// AWS CodeDeploy, for the self-healing `stop_deployment` action. Handlers depend on the abstract
// CodeDeploy interface; MakeCodeDeployClient() is the JSON 1.1 implementation (codedeploy_json.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "awsclient/transport.h"
#include "common/error.h"

namespace fleetkeeper::aws {

struct StopDeploymentRequest {
  std::string deployment_id;
  std::optional<bool> auto_rollback_enabled;  // roll back to the last successful revision
};

struct StopDeploymentResponse {
  std::string status;  // Pending | Succeeded
  std::string status_message;
};

struct GetDeploymentRequest {
  std::string deployment_id;
};

struct DeploymentInfo {
  std::string deployment_id;
  std::string application_name;
  std::string deployment_group_name;
  // Created | Queued | InProgress | Baking | Succeeded | Failed | Stopped | Ready
  std::string status;
  std::string error_code;
  std::string error_message;
  int64_t create_time_ms = 0;
  int64_t complete_time_ms = 0;
  std::optional<bool> auto_rollback_enabled;
  std::string rollback_deployment_id;             // the deployment that rolls this one back
  std::string rollback_triggering_deployment_id;  // set on a rollback deployment
  std::string rollback_message;
};

// Finding the deployments an alarm guards: applications, their deployment groups (whose alarm
// configuration names the alarms CodeDeploy itself watches) and their active deployments.
struct ListApplicationsRequest {
  std::string next_token;
};

struct ListApplicationsResponse {
  std::vector<std::string> applications;
  std::string next_token;
};

struct ListDeploymentGroupsRequest {
  std::string application_name;
  std::string next_token;
};

struct ListDeploymentGroupsResponse {
  std::vector<std::string> deployment_groups;
  std::string next_token;
};

// At most kMaxBatchGetDeploymentGroups names per call (the API's limit).
inline constexpr size_t kMaxBatchGetDeploymentGroups = 100;

struct BatchGetDeploymentGroupsRequest {
  std::string application_name;
  std::vector<std::string> deployment_group_names;
};

struct DeploymentGroupInfo {
  std::string application_name;
  std::string deployment_group_name;
  std::string deployment_group_id;
  bool alarms_enabled = false;           // alarmConfiguration.enabled
  std::vector<std::string> alarm_names;  // alarmConfiguration.alarms[].name
};

struct BatchGetDeploymentGroupsResponse {
  std::vector<DeploymentGroupInfo> deployment_groups;
  std::string error_message;  // e.g. groups that do not exist
};

struct ListDeploymentsRequest {
  std::string application_name;  // with deployment_group_name, or neither
  std::string deployment_group_name;
  std::vector<std::string> include_only_statuses;
  std::string next_token;
};

struct ListDeploymentsResponse {
  std::vector<std::string> deployments;  // ids
  std::string next_token;
};

// Thread-safe.
class CodeDeploy {
 public:
  virtual ~CodeDeploy() = default;
  virtual Result<StopDeploymentResponse> StopDeployment(const StopDeploymentRequest& r) = 0;
  virtual Result<DeploymentInfo> GetDeployment(const GetDeploymentRequest& r) = 0;
  virtual Result<ListApplicationsResponse> ListApplications(const ListApplicationsRequest& r) = 0;
  virtual Result<ListDeploymentGroupsResponse> ListDeploymentGroups(
      const ListDeploymentGroupsRequest& r) = 0;
  virtual Result<BatchGetDeploymentGroupsResponse> BatchGetDeploymentGroups(
      const BatchGetDeploymentGroupsRequest& r) = 0;
  virtual Result<ListDeploymentsResponse> ListDeployments(const ListDeploymentsRequest& r) = 0;
};

std::unique_ptr<CodeDeploy> MakeCodeDeployClient(std::shared_ptr<Transport> transport);

Result<DeploymentInfo> ParseGetDeployment(const std::string& body);

}  // namespace fleetkeeper::aws
