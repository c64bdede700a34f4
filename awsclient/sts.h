// AWS STS as a typed client (doctor's caller identity, role checks). The wire layer's credential
// chain has its own minimal AssumeRole and does not depend on this one. Handlers depend on the
// abstract Sts interface; MakeStsClient() is the query-protocol implementation (sts_query.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "awsclient/transport.h"
#include "common/error.h"

namespace fleetkeeper::aws {

struct CallerIdentity {
  std::string account;
  std::string arn;
  std::string user_id;
};

struct StsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  int64_t expiration_ms = 0;
};

struct AssumeRoleRequest {
  std::string role_arn;
  std::string role_session_name;
  std::optional<int> duration_seconds;
  std::string external_id;
  std::string policy;  // an inline session policy (JSON), optional
};

struct AssumeRoleWithWebIdentityRequest {
  std::string role_arn;
  std::string role_session_name;
  std::string web_identity_token;
  std::optional<int> duration_seconds;
  std::string provider_id;
};

struct AssumeRoleResponse {
  StsCredentials credentials;
  std::string assumed_role_arn;
  std::string assumed_role_id;
  std::string subject_from_web_identity_token;  // web identity only
  std::string audience;                         // web identity only
  std::string provider;                         // web identity only
};

// Thread-safe.
class Sts {
 public:
  virtual ~Sts() = default;
  virtual Result<CallerIdentity> GetCallerIdentity() = 0;
  virtual Result<AssumeRoleResponse> AssumeRole(const AssumeRoleRequest& r) = 0;
  virtual Result<AssumeRoleResponse> AssumeRoleWithWebIdentity(
      const AssumeRoleWithWebIdentityRequest& r) = 0;
};

std::unique_ptr<Sts> MakeStsClient(std::shared_ptr<Transport> transport);

Result<CallerIdentity> ParseGetCallerIdentity(const std::string& xml);
Result<AssumeRoleResponse> ParseAssumeRole(const std::string& action, const std::string& xml);

}  // namespace fleetkeeper::aws
