// Hands out one shared Transport per cell: (account, region, role_arn). A role gets an
// AssumeRole provider with its own credentials cache on top of the base chain, shared by every
// region of that role; each transport has its own retry quota and rate limiter, so that one
// account's throttling never slows another's. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

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
  Result<std::shared_ptr<Transport>> Get(const std::string& account, const std::string& region,
                                         const std::string& role_arn);

  size_t size() const;

 private:
  Result<CredentialsProviderPtr> ProviderFor(const std::string& role_arn);

  CredentialsProviderPtr base_;
  TransportOptions defaults_;
  ProviderContext context_;
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, std::string>, std::shared_ptr<Transport>> cells_;
  std::map<std::string, CredentialsProviderPtr> roles_;
};

}  // namespace fleetkeeper::aws
