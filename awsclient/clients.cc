#include "awsclient/clients.h"

#include <utility>

namespace fleetkeeper::aws {

std::unique_ptr<CellClients> MakeCellClients(const TransportForService& transport_for) {
  auto clients = std::make_unique<CellClients>();
  clients->ec2 = MakeEc2Client(transport_for("ec2"));
  clients->autoscaling = MakeAutoScalingClient(transport_for("autoscaling"));
  clients->ssm = MakeSsmClient(transport_for("ssm"));
  clients->elbv2 = MakeElbv2Client(transport_for("elasticloadbalancing"));
  clients->cloudwatch = MakeCloudWatchClient(transport_for("monitoring"));
  clients->sns = MakeSnsClient(transport_for("sns"));
  clients->ecs = MakeEcsClient(transport_for("ecs"));
  clients->sts = MakeStsClient(transport_for("sts"));
  clients->iam = MakeIamClient(transport_for("iam"));
  clients->codedeploy = MakeCodeDeployClient(transport_for("codedeploy"));
  clients->application_autoscaling =
      MakeApplicationAutoScalingClient(transport_for("application-autoscaling"));
  return clients;
}

std::unique_ptr<CellClients> MakeCellClients(std::shared_ptr<Transport> transport) {
  return MakeCellClients([&transport](const std::string&) { return transport; });
}

Result<CellClients*> CachingClientProvider::For(const std::string& account,
                                                const std::string& region,
                                                const std::string& role_arn) {
  if (region.empty()) return InvalidInput("AWS clients: the region is empty");
  CellKey key{account, region, role_arn};
  // Held across the transport's creation so that two threads never build the same cell twice; a
  // source is expected not to do network I/O here (the transport fetches credentials lazily).
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cells_.find(key);
  if (it != cells_.end()) return it->second.get();
  Result<std::shared_ptr<Transport>> transport = source_(key);
  if (!transport.ok()) return std::move(transport).take_error();
  if (!*transport) {
    return Internal("AWS clients: no transport for account " + account + " in " + region);
  }
  std::unique_ptr<CellClients> clients = MakeCellClients(std::move(*transport));
  clients->account = account;
  clients->region = region;
  clients->role_arn = role_arn;
  CellClients* raw = clients.get();
  cells_.emplace(std::move(key), std::move(clients));
  return raw;
}

size_t CachingClientProvider::cell_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cells_.size();
}

}  // namespace fleetkeeper::aws
