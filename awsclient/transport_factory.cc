#include "awsclient/transport_factory.h"

#include <algorithm>
#include <cctype>

namespace fleetkeeper::aws {
namespace {

bool IsAccountId(const std::string& account) {
  return account.size() == 12 && std::all_of(account.begin(), account.end(),
                                             [](unsigned char c) { return std::isdigit(c) != 0; });
}

// arn:partition:iam::account:role/path/name -> account, or empty when not a role ARN.
std::string RoleAccount(const std::string& arn) {
  size_t parts[5];
  size_t pos = 0;
  for (int i = 0; i < 5; ++i) {
    pos = arn.find(':', pos);
    if (pos == std::string::npos) return {};
    parts[i] = pos++;
  }
  if (arn.compare(0, 4, "arn:") != 0) return {};
  if (arn.compare(parts[1] + 1, parts[2] - parts[1] - 1, "iam") != 0) return {};
  if (arn.compare(parts[4] + 1, 5, "role/") != 0) return {};
  return arn.substr(parts[3] + 1, parts[4] - parts[3] - 1);
}

}  // namespace

TransportFactory::TransportFactory(CredentialsProviderPtr base, TransportOptions defaults,
                                   ProviderContext context)
    : base_(std::move(base)), defaults_(std::move(defaults)), context_(std::move(context)) {
  if (!defaults_.http) defaults_.http = context_.http;
  if (!context_.http) context_.http = defaults_.http;
}

Result<CredentialsProviderPtr> TransportFactory::ProviderFor(const RoleKey& role) {
  if (role.first.empty()) return base_;
  if (auto it = roles_.find(role); it != roles_.end()) return it->second;
  AssumeRoleProvider::Params params;
  params.role_arn = role.first;
  params.external_id = role.second;
  params.session_name = "fleetkeeper";
  StsOptions sts{"", defaults_.endpoints};
  auto provider = std::make_shared<CachedProvider>(
      std::make_shared<AssumeRoleProvider>(context_, sts, base_, params), *context_.clock);
  roles_.emplace(role, provider);
  return CredentialsProviderPtr(provider);
}

Result<std::shared_ptr<Transport>> TransportFactory::Get(const std::string& account,
                                                         const std::string& region,
                                                         const std::string& role_arn,
                                                         const std::string& external_id) {
  if (!account.empty() && !IsAccountId(account)) {
    return InvalidInput("account: '" + account + "' is not a 12-digit AWS account id");
  }
  if (!role_arn.empty()) {
    std::string role_account = RoleAccount(role_arn);
    if (role_account.empty()) {
      return InvalidInput("role_arn: '" + role_arn + "' is not an IAM role ARN");
    }
    if (!account.empty() && role_account != account) {
      return InvalidInput("role_arn: '" + role_arn + "' is in account " + role_account +
                          ", not in the cell's account " + account);
    }
  }
  // Validate the region now, not at the first call.
  if (auto endpoint = ResolveEndpoint("sts", region, defaults_.endpoints); !endpoint.ok()) {
    return endpoint.error();
  }
  std::lock_guard lock(mu_);
  const std::string& role_external_id = role_arn.empty() ? role_arn : external_id;
  TransportKey key{account, region, role_arn, role_external_id};
  if (auto it = cells_.find(key); it != cells_.end()) return it->second;
  auto provider = ProviderFor({role_arn, role_external_id});
  if (!provider.ok()) return provider.error();
  TransportOptions options = defaults_;
  options.region = region;
  options.quota.reset();    // per cell
  options.limiter.reset();  // per cell: the API rate limits are per account and region
  std::shared_ptr<Transport> transport = std::make_shared<SignedTransport>(*provider, options);
  cells_.emplace(key, transport);
  return transport;
}

size_t TransportFactory::size() const {
  std::lock_guard lock(mu_);
  return cells_.size();
}

}  // namespace fleetkeeper::aws
