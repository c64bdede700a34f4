// Amazon MSK IAM authentication for Kafka clients: the OAUTHBEARER token the signer libraries
// AWS publishes produce (aws-msk-iam-sasl-signer-python, -go, -js), from SigV4 credentials.
//
// The token is the URL GET https://kafka.<region>.amazonaws.com/?Action=kafka-cluster%3AConnect,
// presigned for the signing name kafka-cluster with X-Amz-Expires=900, with a User-Agent query
// parameter appended after signing, encoded as base64url without padding. It expires at its
// X-Amz-Date plus 900 s; librdkafka asks for a new one (its token refresh callback) before then.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "awsclient/sigv4.h"
#include "common/error.h"

namespace fleetkeeper::aws {

inline constexpr int64_t kMskTokenLifetimeSeconds = 900;

struct MskAuthToken {
  std::string token;          // base64url of the presigned URL, no padding
  int64_t expires_at_ms = 0;  // epoch ms: the signing time plus the lifetime
  std::string principal;      // what librdkafka logs as the principal: the access key id
};

// The presigned URL itself (what the token encodes), for tests and debugging.
Result<std::string> MskPresignedUrl(const Credentials& credentials, const std::string& region,
                                    int64_t now_ms, std::string_view user_agent);

// A token for `region`'s MSK clusters. Fails naming what is missing (credentials, region).
Result<MskAuthToken> MskIamAuthToken(const Credentials& credentials, const std::string& region,
                                     int64_t now_ms, std::string_view user_agent);

// base64url (RFC 4648 section 5) without padding.
std::string Base64UrlNoPadding(std::string_view bytes);

}  // namespace fleetkeeper::aws
