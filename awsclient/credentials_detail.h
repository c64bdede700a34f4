// Helpers the credential providers share across their files (credentials.cc, shared_config.cc,
// sts_credentials.cc). Internal to awsclient/.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "awsclient/credentials.h"

namespace fleetkeeper::aws::credentials_detail {

// The variable's value, or "" when unset.
std::string Env(const char* name);
std::string Trim(std::string_view s);
std::string Lower(std::string s);
// The file's bytes; kNotFound naming `what` and the path when it cannot be read.
Result<std::string> ReadWholeFile(const std::string& path, const std::string& what);
// Registers the secret parts of `c` for redaction from logs and errors.
void Remember(const Credentials& c);

// One STS query call returning a <Credentials> element. Signed when `signer` is given
// (AssumeRole), anonymous otherwise (AssumeRoleWithWebIdentity). Transient failures are retried
// twice with a short pause; STS calls happen at start-up and at refresh, not per request.
Result<Credentials> CallSts(const ProviderContext& context, const StsOptions& sts,
                            const std::vector<std::pair<std::string, std::string>>& params,
                            const Credentials* signer, const std::string& source);

}  // namespace fleetkeeper::aws::credentials_detail
