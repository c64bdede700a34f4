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

auto ReadDeploymentGroups = [](JsonReader& r, const json& body) {
  BatchGetDeploymentGroupsResponse out;
  for (const json* g : r.Objects(body, "deploymentGroupsInfo")) {
    DeploymentGroupInfo info;
    info.application_name = r.Str(*g, "applicationName");
    info.deployment_group_name = r.Str(*g, "deploymentGroupName");
    info.deployment_group_id = r.Str(*g, "deploymentGroupId");
    if (const json* a = r.Object(*g, "alarmConfiguration")) {
      info.alarms_enabled = r.Bool(*a, "enabled");
      for (const json* alarm : r.Objects(*a, "alarms")) {
        info.alarm_names.push_back(r.Str(*alarm, "name"));
      }
    }
    out.deployment_groups.push_back(std::move(info));
  }
  out.error_message = r.Str(body, "errorMessage");
  return out;
};

// A page of names under `key` and its nextToken.
template <typename Page>
auto NamesPage(const char* key, std::vector<std::string> Page::*field) {
  return [key, field](JsonReader& r, const json& body) {
    Page page;
    page.*field = r.Strings(body, key);
    page.next_token = r.Str(body, "nextToken");
    return page;
  };
}

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
    return CallJsonAndRead<DeploymentInfo>(*t_, kService, kCodeDeployTargetPrefix, "GetDeployment",
                                           body, ReadDeployment);
  }

  Result<ListApplicationsResponse> ListApplications(const ListApplicationsRequest& r) override {
    json body = json::object();
    if (!r.next_token.empty()) body["nextToken"] = r.next_token;
    return CallJsonAndRead<ListApplicationsResponse>(
        *t_, kService, kCodeDeployTargetPrefix, "ListApplications", body,
        NamesPage("applications", &ListApplicationsResponse::applications));
  }

  Result<ListDeploymentGroupsResponse> ListDeploymentGroups(
      const ListDeploymentGroupsRequest& r) override {
    json body = {{"applicationName", r.application_name}};
    if (!r.next_token.empty()) body["nextToken"] = r.next_token;
    return CallJsonAndRead<ListDeploymentGroupsResponse>(
        *t_, kService, kCodeDeployTargetPrefix, "ListDeploymentGroups", body,
        NamesPage("deploymentGroups", &ListDeploymentGroupsResponse::deployment_groups));
  }

  Result<BatchGetDeploymentGroupsResponse> BatchGetDeploymentGroups(
      const BatchGetDeploymentGroupsRequest& r) override {
    if (r.deployment_group_names.size() > kMaxBatchGetDeploymentGroups) {
      return InvalidInput("BatchGetDeploymentGroups: at most 100 deployment group names, got " +
                          std::to_string(r.deployment_group_names.size()));
    }
    json body = {{"applicationName", r.application_name},
                 {"deploymentGroupNames", r.deployment_group_names}};
    return CallJsonAndRead<BatchGetDeploymentGroupsResponse>(*t_, kService, kCodeDeployTargetPrefix,
                                                             "BatchGetDeploymentGroups", body,
                                                             ReadDeploymentGroups);
  }

  Result<ListDeploymentsResponse> ListDeployments(const ListDeploymentsRequest& r) override {
    json body = json::object();
    if (!r.application_name.empty()) body["applicationName"] = r.application_name;
    if (!r.deployment_group_name.empty()) body["deploymentGroupName"] = r.deployment_group_name;
    if (!r.include_only_statuses.empty()) body["includeOnlyStatuses"] = r.include_only_statuses;
    if (!r.next_token.empty()) body["nextToken"] = r.next_token;
    return CallJsonAndRead<ListDeploymentsResponse>(
        *t_, kService, kCodeDeployTargetPrefix, "ListDeployments", body,
        NamesPage("deployments", &ListDeploymentsResponse::deployments));
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
