// How the app reaches AWS: one credential chain for the process, one TransportFactory (per-cell
// transports with their own retry quota and rate limiter, AssumeRole per configured account with
// its external id), and the CachingClientProvider that handlers get their CellClients from.
//
// Typical start-up (DESIGN.md "awsclient": credentials are resolved before Kafka starts):
//
//   auto credentials = app::MakeCredentials();
//   auto source = app::ResolveCredentialsAtStart(*credentials);  // fail start on error
//   auto clients = app::MakeClientProvider(config, {.credentials = credentials});
//   ... clients->For(event.account(), event.region(), "") ...
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "awsclient/clients.h"
#include "awsclient/credentials.h"
#include "awsclient/endpoints.h"
#include "common/error.h"
#include "fleetkeeper/v1/config.pb.h"

namespace fleetkeeper::app {

struct AwsWiringOptions {
  // The process's own credentials; null: MakeCredentials() (the AWS CLI's chain, cached).
  aws::CredentialsProviderPtr credentials;
  // Endpoint URLs besides AWS_ENDPOINT_URL*; nullopt: the selected profile's (endpoint_url and
  // its services section) from the shared config files.
  std::optional<aws::EndpointConfig> endpoints;
};

// The AWS CLI's credential chain (environment, profile, web identity, container, IMDSv2), cached
// and refreshed before expiry. Cheap: nothing is resolved until first use.
aws::CredentialsProviderPtr MakeCredentials();

// Resolves `credentials` now and returns the name of the source that answered (never a secret),
// e.g. "environment" or "profile prod: assume-role ...". The error says why no source answered;
// `run` refuses to start on it, `doctor` prints it.
Result<std::string> ResolveCredentialsAtStart(aws::CredentialsProvider& credentials);

// The cell a ClientProvider::For(account, region, role_arn) call is served from:
//  - role_arn empty and `account` listed under aws.accounts: that account's role_arn;
//  - region empty: aws.region, else the region as the AWS CLI finds it (kNotFound if none).
// An account that is neither empty nor 12 digits is kInvalidInput naming it.
Result<aws::CellKey> ResolveCell(const v1::WorkerConfig& config, const aws::CellKey& requested);

// The provider handlers use. Thread-safe; cells are made on first use and kept. Retries follow
// RetryConfig::FromEnvironment() (AWS_MAX_ATTEMPTS, AWS_RETRY_MODE). A cell that cannot be made
// (unknown region, bad role ARN, role in another account) is an error from For(), not cached.
// A role listed under aws.accounts with an external_id is assumed with that ExternalId.
std::unique_ptr<aws::ClientProvider> MakeClientProvider(const v1::WorkerConfig& config,
                                                        AwsWiringOptions options = {});

// The roles the process assumes: every aws.accounts role_arn, sorted, unique.
std::vector<std::string> ConfiguredRoles(const v1::WorkerConfig& config);

// The AWS actions the process calls itself, besides its handlers: sts:AssumeRole when it assumes a
// configured role (on ConfiguredRoles). A role or web identity that the credential chain assumes
// (a profile's role_arn, AWS_WEB_IDENTITY_TOKEN_FILE) is the environment's, not the config's, and
// is not listed.
std::vector<std::string> WorkerActions(const v1::WorkerConfig& config);

}  // namespace fleetkeeper::app
