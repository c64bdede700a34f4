// Hands out one shared Transport per cell: (account, region, role_arn). A role gets an
// AssumeRole provider with its own credentials cache on top of the base chain, shared by every
// region of that role and external id; each transport has its own retry quota and rate limiter,
// so that one account's throttling never slows another's. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>

#include "awsclient/credentials.h"
#include "awsclient/signed_transport.h"

namespace fleetkeeper::aws {

class TransportFactory {
 public:
  // `base` is usually DefaultCredentialsChain(); `defaults` gives the HTTP client (shared by all
  // transports), retry config, clock, sleeper and endpoint config; its region is ignored.
  TransportFactory(CredentialsProviderPtr base, TransportOptions defaults,
                   ProviderContext context = DefaultProviderContext());

  // account: 12 digits or empty (the base credentials' account). role_arn: empty for the base
  // credentials; otherwise it must be an IAM role ARN, in `account` when both are given.
  // external_id: the ExternalId AssumeRole sends for the role (its trust policy's
  // sts:ExternalId condition); empty: none. Ignored without a role.
  Result<std::shared_ptr<Transport>> Get(const std::string& account, const std::string& region,
                                         const std::string& role_arn,
                                         const std::string& external_id = "");

  size_t size() const;

 private:
  using RoleKey = std::pair<std::string, std::string>;  // role ARN, external id
  using TransportKey = std::tuple<std::string, std::string, std::string, std::string>;

  Result<CredentialsProviderPtr> ProviderFor(const RoleKey& role);

  CredentialsProviderPtr base_;
  TransportOptions defaults_;
  ProviderContext context_;
  mutable std::mutex mu_;
  // By account, region, role ARN, external id.
  std::map<TransportKey, std::shared_ptr<Transport>> cells_;
  std::map<RoleKey, CredentialsProviderPtr> roles_;
};

}  // namespace fleetkeeper::aws
