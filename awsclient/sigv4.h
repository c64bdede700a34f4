// AWS Signature Version 4: header signing (Authorization header) and presigned URLs (query
// parameters), session tokens included. Pure functions: no I/O, no clock (the signing time is a
// parameter), so the official test suite runs against them directly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "awsclient/transport.h"
#include "common/digest.h"
#include "common/error.h"

namespace fleetkeeper::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term keys
  int64_t expiration_ms = 0;  // epoch ms; 0 = does not expire
  std::string source;         // the provider that produced them, e.g. "environment"

  bool empty() const { return access_key_id.empty() || secret_access_key.empty(); }
  bool expires() const { return expiration_ms != 0; }
};

// A request as it will go on the wire, before signing.
struct SignableRequest {
  std::string method = "POST";
  std::string path = "/";  // raw (not percent-encoded) path
  std::string query;       // query string without '?', as it will be sent (may hold %XX escapes)
  Headers headers;         // must include Host
  std::string body;
};

struct SigningParams {
  std::string region;
  std::string service;              // signing name: ec2, autoscaling, ssm, sts, ...
  int64_t time_ms = 0;              // signing time, epoch ms
  bool normalize_path = true;       // remove dot segments and duplicate slashes (all but S3)
  bool sign_body = false;           // add and sign x-amz-content-sha256
  bool omit_session_token = false;  // add the token after signing (services that want it so)
  int64_t expires_seconds = 3600;   // presigned URLs only
};

// What signing adds to the request, plus the intermediate strings (tests and debugging).
struct SigningResult {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;    // lowercase hex
  Headers added_headers;    // header signing: append these to the request, in order
  std::string added_query;  // presigning: append to the query string (with '&' if not empty)
};

// Header signing: X-Amz-Security-Token (if any), X-Amz-Date, x-amz-content-sha256 (sign_body)
// and Authorization are returned in added_headers. Fails with kInvalidInput naming the field when
// credentials, region, service or the Host header are missing.
Result<SigningResult> SignRequest(const SignableRequest& request, const Credentials& credentials,
                                  const SigningParams& params);

// Presigning: X-Amz-Algorithm, -Credential, -Date, -SignedHeaders, -Expires, -Security-Token and
// -Signature are returned in added_query, already encoded.
Result<SigningResult> PresignRequest(const SignableRequest& request, const Credentials& credentials,
                                     const SigningParams& params);

// Helpers exposed for the transport, redaction and tests (Sha256Hex and HexEncode:
// common/digest.h).
std::string HmacSha256(std::string_view key, std::string_view data);  // raw bytes
// RFC 3986 encoding with SigV4's unreserved set (A-Z a-z 0-9 - . _ ~); '/' kept if keep_slash.
std::string UriEncode(std::string_view text, bool keep_slash = false);
std::string UriDecode(std::string_view text);
// 20150830T123600Z
std::string AmzDate(int64_t epoch_ms);

}  // namespace fleetkeeper::aws
