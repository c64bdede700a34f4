// CodeDeploy over JSON 1.1 (target prefix CodeDeploy_20141006).
#include <utility>

#include <nlohmann/json.hpp>

#include "awsclient/codedeploy.h"
#include "awsclient/json_protocol.h"

namespace fleetkeeper::aws {
namespace {

using nlohmann::json;

constexpr const char* kService = "codedeploy";

auto ReadDeployment = [](JsonReader& r, const json& body) {
  DeploymentInfo d;
  r.Require(body, "deploymentInfo");
  const json* n = r.Object(body, "deploymentInfo");
  if (!n) return d;
  d.deployment_id = r.Str(*n, "deploymentId");
  d.application_name = r.Str(*n, "applicationName");
  d.deployment_group_name = r.Str(*n, "deploymentGroupName");
  d.status = r.Str(*n, "status");
  if (const json* e = r.Object(*n, "errorInformation")) {
    d.error_code = r.Str(*e, "code");
    d.error_message = r.Str(*e, "message");
  }
  d.create_time_ms = r.EpochMs(*n, "createTime");
  d.complete_time_ms = r.EpochMs(*n, "completeTime");
  if (const json* a = r.Object(*n, "autoRollbackConfiguration")) {
    d.auto_rollback_enabled = r.OptBool(*a, "enabled");
  }
  if (const json* ri = r.Object(*n, "rollbackInfo")) {
    d.rollback_deployment_id = r.Str(*ri, "rollbackDeploymentId");
    d.rollback_triggering_deployment_id = r.Str(*ri, "rollbackTriggeringDeploymentId");
    d.rollback_message = r.Str(*ri, "rollbackMessage");
  }
  return d;
};

class CodeDeployJsonClient final : public CodeDeploy {
 public:
  explicit CodeDeployJsonClient(std::shared_ptr<Transport> t) : t_(std::move(t)) {}

  Result<StopDeploymentResponse> StopDeployment(const StopDeploymentRequest& r) override {
    json body = {{"deploymentId", r.deployment_id}};
    if (r.auto_rollback_enabled) body["autoRollbackEnabled"] = *r.auto_rollback_enabled;
    return CallJsonAndRead<StopDeploymentResponse>(
        *t_, kService, kCodeDeployTargetPrefix, "StopDeployment", body,
        [](JsonReader& x, const json& b) {
          return StopDeploymentResponse{x.Str(b, "status"), x.Str(b, "statusMessage")};
        });
  }

  Result<DeploymentInfo> GetDeployment(const GetDeploymentRequest& r) override {
    json body = {{"deploymentId", r.deployment_id}};
    return CallJsonAndRead<DeploymentInfo>(*t_, kService, kCodeDeployTargetPrefix,
                                           "GetDeployment", body, ReadDeployment);
  }

 private:
  std::shared_ptr<Transport> t_;
};

}  // namespace

std::unique_ptr<CodeDeploy> MakeCodeDeployClient(std::shared_ptr<Transport> transport) {
  return std::make_unique<CodeDeployJsonClient>(std::move(transport));
}

Result<DeploymentInfo> ParseGetDeployment(const std::string& body) {
  return ReadJsonBody<DeploymentInfo>("GetDeployment", ParseJsonResponse("GetDeployment", body),
                                      ReadDeployment);
}

}  // namespace fleetkeeper::aws
