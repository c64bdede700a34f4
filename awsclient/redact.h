// Secrets never reach a log line or an error message: everything the AWS wire layer logs or puts
// into an Error goes through Redact() first.
#pragma once

#include <string>
#include <string_view>

namespace fleetkeeper::aws {

inline constexpr std::string_view kRedacted = "[REDACTED]";

// Replaces, case-insensitively: the values of Authorization and X-Amz-Security-Token headers;
// X-Amz-Credential, X-Amz-Signature and X-Amz-Security-Token query parameters; SecretAccessKey,
// SessionToken and Token elements/fields of STS, IMDS and ECS answers (XML and JSON); secret keys
// and tokens in shared config syntax and environment assignments; and every value registered
// with RegisterSecret(). Thread-safe.
std::string Redact(std::string_view text);

// Remembers a secret (a secret access key, a session token, a web identity token) so that any
// later occurrence is redacted even in a form the patterns do not know. Values shorter than 8
// characters are ignored: they would redact ordinary words.
void RegisterSecret(std::string_view secret);

}  // namespace fleetkeeper::aws
