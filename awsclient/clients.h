// The AWS clients of one cell (account, region, role) and the provider handlers get them from.
// Handlers receive a ClientProvider through their context and never construct clients; unit tests
// hand them a provider of mocks (tests/testing/aws_mocks.h).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "awsclient/application_autoscaling.h"
#include "awsclient/autoscaling.h"
#include "awsclient/cloudwatch.h"
#include "awsclient/codedeploy.h"
#include "awsclient/ec2.h"
#include "awsclient/ecs.h"
#include "awsclient/elbv2.h"
#include "awsclient/iam.h"
#include "awsclient/sns.h"
#include "awsclient/ssm.h"
#include "awsclient/sts.h"
#include "awsclient/transport.h"
#include "common/error.h"

namespace fleetkeeper::aws {

// Every service interface for one (account, region, role). Never null once made.
struct CellClients {
  std::string account;
  std::string region;
  std::string role_arn;  // empty: the process's own credentials

  std::unique_ptr<Ec2> ec2;
  std::unique_ptr<AutoScaling> autoscaling;
  std::unique_ptr<Ssm> ssm;
  std::unique_ptr<Elbv2> elbv2;
  std::unique_ptr<CloudWatch> cloudwatch;
  std::unique_ptr<Sns> sns;
  std::unique_ptr<Ecs> ecs;
  std::unique_ptr<Sts> sts;
  std::unique_ptr<Iam> iam;
  std::unique_ptr<CodeDeploy> codedeploy;
  std::unique_ptr<ApplicationAutoScaling> application_autoscaling;
};

// The Transport to use for a service's signing name ("ec2", "autoscaling", "ssm", ...). The wire
// layer shares one Transport per cell, so a provider usually returns the same one for all.
using TransportForService = std::function<std::shared_ptr<Transport>(const std::string& service)>;

std::unique_ptr<CellClients> MakeCellClients(const TransportForService& transport_for);
// All services over one shared Transport.
std::unique_ptr<CellClients> MakeCellClients(std::shared_ptr<Transport> transport);

struct CellKey {
  std::string account;
  std::string region;
  std::string role_arn;
  auto operator<=>(const CellKey&) const = default;
};

// What handlers use to reach AWS. Thread-safe; the returned pointer stays valid as long as the
// provider lives.
class ClientProvider {
 public:
  virtual ~ClientProvider() = default;
  virtual Result<CellClients*> For(const std::string& account, const std::string& region,
                                   const std::string& role_arn) = 0;
};

// The Transport of a cell, e.g. from the wire layer's TransportFactory. It may fail (no
// credentials for the role, unknown region); the failure is returned to the handler as is.
using CellTransportSource = std::function<Result<std::shared_ptr<Transport>>(const CellKey&)>;

// Makes each cell's clients once, on first use, and keeps them for the provider's lifetime.
// A failure to make a cell's transport is not cached: the next call tries again.
class CachingClientProvider final : public ClientProvider {
 public:
  explicit CachingClientProvider(CellTransportSource source) : source_(std::move(source)) {}

  Result<CellClients*> For(const std::string& account, const std::string& region,
                           const std::string& role_arn) override;

  size_t cell_count() const;

 private:
  CellTransportSource source_;
  mutable std::mutex mu_;
  std::map<CellKey, std::unique_ptr<CellClients>> cells_;
};

}  // namespace fleetkeeper::aws
