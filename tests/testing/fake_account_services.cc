// The fake account's ECS services, CodeDeploy deployments, CloudWatch alarms and metrics and SNS
// messages (FakeAccount::InstallServices).
#include <algorithm>

#include "tests/testing/fake_account.h"

namespace fleetkeeper::handlers::testing {

void FakeAccount::InstallServices() {
  using ::testing::_;
  ON_CALL(*cell_.ecs, DescribeServices(_))
      .WillByDefault(
          [this](const aws::DescribeServicesRequest& r) -> Result<aws::DescribeServicesResponse> {
            if (auto e = Call("DescribeServices")) return *e;
            aws::DescribeServicesResponse resp;
            for (const auto& n : r.services) {
              auto it = services.find(n);
              if (it == services.end()) {
                resp.failures.push_back({n, "MISSING", ""});
                continue;
              }
              if (ecs_completes && it->second.deployments.size() > 1) {
                // The new deployment replaced the old tasks: only the PRIMARY one is left.
                auto& deps = it->second.deployments;
                deps.erase(deps.begin() + 1, deps.end());
                deps.front().rollout_state = "COMPLETED";
                deps.front().running_count = deps.front().desired_count;
              }
              resp.services.push_back(it->second);
            }
            return resp;
          });
  ON_CALL(*cell_.ecs, UpdateService(_))
      .WillByDefault([this](const aws::UpdateServiceRequest& r) -> Result<aws::EcsService> {
        if (auto e = Call("UpdateService", true)) return *e;
        auto& s = services.at(r.service);
        if (r.force_new_deployment) {
          for (auto& d : s.deployments) d.status = "ACTIVE";
          aws::EcsDeployment d;
          d.id = "ecs-svc/" + std::to_string(++ecs_deployments_);
          d.status = "PRIMARY";
          d.desired_count = s.desired_count;
          d.rollout_state = "IN_PROGRESS";
          s.deployments.insert(s.deployments.begin(), d);
        }
        return s;
      });
  ON_CALL(*cell_.codedeploy, GetDeployment(_))
      .WillByDefault([this](const aws::GetDeploymentRequest& r) -> Result<aws::DeploymentInfo> {
        if (auto e = Call("GetDeployment")) return *e;
        auto it = deployments.find(r.deployment_id);
        if (it == deployments.end()) {
          Error e(ErrorCode::kAws, "Deployment " + r.deployment_id + " does not exist");
          e.aws_code = "DeploymentDoesNotExistException";
          return e;
        }
        return it->second;
      });
  ON_CALL(*cell_.codedeploy, StopDeployment(_))
      .WillByDefault(
          [this](const aws::StopDeploymentRequest& r) -> Result<aws::StopDeploymentResponse> {
            if (auto e = Call("StopDeployment", true)) return *e;
            auto& d = deployments.at(r.deployment_id);
            d.status = "Stopped";
            if (r.auto_rollback_enabled.value_or(false)) d.rollback_deployment_id = "d-ROLLBACK";
            aws::StopDeploymentResponse resp;
            resp.status = "Succeeded";
            return resp;
          });
  ON_CALL(*cell_.codedeploy, ListApplications(_))
      .WillByDefault(
          [this](const aws::ListApplicationsRequest&) -> Result<aws::ListApplicationsResponse> {
            if (auto e = Call("ListApplications")) return *e;
            aws::ListApplicationsResponse out;
            for (const auto& [app, in_app] : deployment_groups) out.applications.push_back(app);
            return out;
          });
  ON_CALL(*cell_.codedeploy, ListDeploymentGroups(_))
      .WillByDefault([this](const aws::ListDeploymentGroupsRequest& r)
                         -> Result<aws::ListDeploymentGroupsResponse> {
        if (auto e = Call("ListDeploymentGroups")) return *e;
        aws::ListDeploymentGroupsResponse out;
        for (const auto& g : deployment_groups[r.application_name]) {
          out.deployment_groups.push_back(g.deployment_group_name);
        }
        return out;
      });
  ON_CALL(*cell_.codedeploy, BatchGetDeploymentGroups(_))
      .WillByDefault([this](const aws::BatchGetDeploymentGroupsRequest& r)
                         -> Result<aws::BatchGetDeploymentGroupsResponse> {
        if (auto e = Call("BatchGetDeploymentGroups")) return *e;
        aws::BatchGetDeploymentGroupsResponse out;
        for (const auto& g : deployment_groups[r.application_name]) {
          const auto& names = r.deployment_group_names;
          if (std::find(names.begin(), names.end(), g.deployment_group_name) != names.end()) {
            out.deployment_groups.push_back(g);
          }
        }
        return out;
      });
  ON_CALL(*cell_.codedeploy, ListDeployments(_))
      .WillByDefault(
          [this](const aws::ListDeploymentsRequest& r) -> Result<aws::ListDeploymentsResponse> {
            if (auto e = Call("ListDeployments")) return *e;
            aws::ListDeploymentsResponse out;
            const auto& want = r.include_only_statuses;
            for (const auto& [id, d] : deployments) {
              if (d.application_name == r.application_name &&
                  d.deployment_group_name == r.deployment_group_name &&
                  std::find(want.begin(), want.end(), d.status) != want.end()) {
                out.deployments.push_back(id);
              }
            }
            return out;
          });
  ON_CALL(*cell_.cloudwatch, PutMetricData(_))
      .WillByDefault([this](const aws::PutMetricDataRequest& r) -> Status {
        if (auto e = Call("PutMetricData")) return *e;
        metrics.push_back(r);
        return Ok{};
      });
  ON_CALL(*cell_.cloudwatch, DescribeAlarms(_))
      .WillByDefault(
          [this](const aws::DescribeAlarmsRequest& r) -> Result<aws::DescribeAlarmsResponse> {
            if (auto e = Call("DescribeAlarms")) return *e;
            aws::DescribeAlarmsResponse resp;
            for (const auto& n : r.alarm_names) {
              if (!alarm_states.count(n)) continue;
              aws::MetricAlarm a;
              a.name = n;
              a.state_value = alarm_states[n];
              resp.metric_alarms.push_back(a);
            }
            return resp;
          });
  ON_CALL(*cell_.sns, Publish(_))
      .WillByDefault([this](const aws::PublishRequest& r) -> Result<aws::PublishResponse> {
        if (auto e = Call("Publish")) return *e;
        published.push_back(r);
        aws::PublishResponse resp;
        resp.message_id = "msg-" + std::to_string(published.size());
        return resp;
      });
}

}  // namespace fleetkeeper::handlers::testing
