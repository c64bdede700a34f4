#include "app/aws_wiring.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <set>

#include "awsclient/region.h"
#include "awsclient/retry.h"
#include "awsclient/transport_factory.h"

namespace fleetkeeper::app {
namespace {

bool IsAccountId(const std::string& account) {
  return account.size() == 12 && std::all_of(account.begin(), account.end(),
                                             [](unsigned char c) { return std::isdigit(c) != 0; });
}

aws::EndpointConfig ProfileEndpoints() {
  auto shared = aws::LoadSharedConfig();
  if (!shared.ok()) {
    // The credential chain reads the same files and fails with this error at start; endpoints
    // alone are not worth a second report.
    spdlog::warn("aws: shared config not read for endpoints: {}", shared.error().message);
    return {};
  }
  return shared->EndpointsFor(shared->Selected());
}

// The region as the AWS CLI finds it, looked up once: IMDS may take a second to say "none".
Result<std::string> ProcessRegion() {
  static std::once_flag once;
  static Result<std::string> region = Error(ErrorCode::kNotFound, "not resolved");
  std::call_once(once, [] {
    auto found = aws::ResolveRegion();
    if (found.ok()) {
      region = found->region;
    } else {
      region = Error(ErrorCode::kNotFound,
                     "no AWS region: set aws.region in the config or AWS_REGION (" +
                         found.error().message + ")");
    }
  });
  return region;
}

// The external id a role's trust policy expects, by role ARN: it belongs to the role, so a role
// named explicitly (a request's role_arn) that is also a configured account's gets it too.
std::map<std::string, std::string> ExternalIds(const v1::WorkerConfig& config) {
  std::map<std::string, std::string> out;
  for (const auto& [_, account] : config.aws().accounts()) {
    if (!account.external_id().empty()) out[account.role_arn()] = account.external_id();
  }
  return out;
}

// Applies the config's cell rules (ResolveCell) before the cache, so that "" and the configured
// region share one cell and an account's calls go through its role.
class ConfiguredClientProvider final : public aws::ClientProvider {
 public:
  ConfiguredClientProvider(v1::WorkerConfig config, std::shared_ptr<aws::TransportFactory> factory)
      : config_(std::move(config)),
        cells_([factory, external_ids = ExternalIds(config_)](const aws::CellKey& cell) {
          auto it = external_ids.find(cell.role_arn);
          return factory->Get(cell.account, cell.region, cell.role_arn,
                              it == external_ids.end() ? "" : it->second);
        }) {}

  Result<aws::CellClients*> For(const std::string& account, const std::string& region,
                                const std::string& role_arn) override {
    auto cell = ResolveCell(config_, {account, region, role_arn});
    if (!cell.ok()) return cell.error();
    return cells_.For(cell->account, cell->region, cell->role_arn);
  }

 private:
  const v1::WorkerConfig config_;
  aws::CachingClientProvider cells_;
};

}  // namespace

aws::CredentialsProviderPtr MakeCredentials() {
  return aws::DefaultCredentialsChain(aws::DefaultProviderContext());
}

Result<std::string> ResolveCredentialsAtStart(aws::CredentialsProvider& credentials) {
  auto source = aws::DescribeCredentialSource(credentials);
  if (!source.ok()) {
    Error e = source.error();
    e.message = "no AWS credentials: " + e.message;
    return e;
  }
  return source;
}

Result<aws::CellKey> ResolveCell(const v1::WorkerConfig& config, const aws::CellKey& requested) {
  aws::CellKey cell = requested;
  if (!cell.account.empty() && !IsAccountId(cell.account)) {
    return InvalidInput("account '" + cell.account + "' is not a 12-digit AWS account id");
  }
  if (cell.role_arn.empty() && !cell.account.empty()) {
    auto it = config.aws().accounts().find(cell.account);
    if (it != config.aws().accounts().end()) cell.role_arn = it->second.role_arn();
  }
  if (cell.region.empty()) {
    if (!config.aws().region().empty()) {
      cell.region = config.aws().region();
    } else {
      auto region = ProcessRegion();
      if (!region.ok()) return region.error();
      cell.region = *region;
    }
  }
  return cell;
}

std::unique_ptr<aws::ClientProvider> MakeClientProvider(const v1::WorkerConfig& config,
                                                        AwsWiringOptions options) {
  aws::ProviderContext context = aws::DefaultProviderContext();
  aws::CredentialsProviderPtr credentials =
      options.credentials ? options.credentials : aws::DefaultCredentialsChain(context);
  aws::TransportOptions defaults;
  defaults.endpoints = options.endpoints ? *options.endpoints : ProfileEndpoints();
  defaults.retry = aws::RetryConfig::FromEnvironment();
  defaults.http = context.http;
  auto factory = std::make_shared<aws::TransportFactory>(credentials, defaults, context);
  // The config is copied: the provider outlives the caller's message.
  return std::make_unique<ConfiguredClientProvider>(config, std::move(factory));
}

std::vector<std::string> ConfiguredRoles(const v1::WorkerConfig& config) {
  std::set<std::string> roles;
  for (const auto& [account, settings] : config.aws().accounts()) {
    if (!settings.role_arn().empty()) roles.insert(settings.role_arn());
  }
  return {roles.begin(), roles.end()};
}

std::vector<std::string> WorkerActions(const v1::WorkerConfig& config) {
  if (ConfiguredRoles(config).empty()) return {};
  return {"sts:AssumeRole"};
}

}  // namespace fleetkeeper::app
