// AWS CodeDeploy, for the self-healing `stop_deployment` action. Handlers depend on the abstract
// CodeDeploy interface; MakeCodeDeployClient() is the JSON 1.1 implementation (codedeploy_json.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

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
  std::string rollback_deployment_id;              // the deployment that rolls this one back
  std::string rollback_triggering_deployment_id;   // set on a rollback deployment
  std::string rollback_message;
};

// Thread-safe.
class CodeDeploy {
 public:
  virtual ~CodeDeploy() = default;
  virtual Result<StopDeploymentResponse> StopDeployment(const StopDeploymentRequest& r) = 0;
  virtual Result<DeploymentInfo> GetDeployment(const GetDeploymentRequest& r) = 0;
};

std::unique_ptr<CodeDeploy> MakeCodeDeployClient(std::shared_ptr<Transport> transport);

Result<DeploymentInfo> ParseGetDeployment(const std::string& body);

}  // namespace fleetkeeper::aws
