#include "awsclient/redact.h"

#include <mutex>
#include <regex>
#include <set>
#include <shared_mutex>
#include <vector>

namespace fleetkeeper::aws {
namespace {

struct Pattern {
  std::regex re;
  std::string replacement;
};

const std::vector<Pattern>& Patterns() {
  static const std::vector<Pattern> patterns = [] {
    const auto flags = std::regex::ECMAScript | std::regex::icase;
    std::vector<Pattern> p;
    // Header lines: "Authorization: AWS4-HMAC-SHA256 Credential=..." up to the end of the line.
    p.push_back(
        {std::regex(R"re(((?:authorization|x-amz-security-token)\s*:\s*)[^\r\n"]+)re", flags),
         "$1[REDACTED]"});
    // Header pairs rendered as JSON: "Authorization": "AWS4-..." or ["Authorization", "..."].
    p.push_back(
        {std::regex(R"re(("(?:authorization|x-amz-security-token)"\s*[:,]\s*")[^"]*)re", flags),
         "$1[REDACTED]"});
    // Presigned URL parameters.
    p.push_back({std::regex(R"re(((?:x-amz-credential|x-amz-signature|x-amz-security-token)=))re"
                            R"re([^&\s"']*)re",
                            flags),
                 "$1[REDACTED]"});
    // XML elements of STS answers.
    p.push_back({std::regex(R"re((<(SecretAccessKey|SessionToken|WebIdentityToken)>)[^<]*)re"
                            R"re((</\2>))re",
                            flags),
                 "$1[REDACTED]$3"});
    // JSON fields of IMDS / ECS / STS JSON answers.
    p.push_back({std::regex(R"re(("(?:SecretAccessKey|SessionToken|Token|secret_access_key|)re"
                            R"re(session_token|WebIdentityToken)"\s*:\s*")[^"]*)re",
                            flags),
                 "$1[REDACTED]"});
    // Shared config / environment syntax: aws_secret_access_key = ..., AWS_SESSION_TOKEN=...
    p.push_back({std::regex(R"re(((?:aws_secret_access_key|aws_session_token|)re"
                            R"re(aws_security_token|aws_container_authorization_token))re"
                            R"re(\s*[=:]\s*)[^\s&"',;]+)re",
                            flags),
                 "$1[REDACTED]"});
    // Form bodies of AssumeRoleWithWebIdentity carry the token.
    p.push_back({std::regex(R"re((WebIdentityToken=)[^&\s]*)re", flags), "$1[REDACTED]"});
    return p;
  }();
  return patterns;
}

std::shared_mutex& SecretsMutex() {
  static std::shared_mutex mu;
  return mu;
}

std::set<std::string>& Secrets() {
  static std::set<std::string> secrets;
  return secrets;
}

}  // namespace

void RegisterSecret(std::string_view secret) {
  if (secret.size() < 8) return;
  std::unique_lock lock(SecretsMutex());
  // Bounded: credentials rotate, but a process sees a modest number of them in its life; beyond
  // this, the patterns still cover the known forms.
  if (Secrets().size() >= 4096) Secrets().erase(Secrets().begin());
  Secrets().emplace(secret);
}

std::string Redact(std::string_view text) {
  std::string out(text);
  {
    std::shared_lock lock(SecretsMutex());
    for (const auto& secret : Secrets()) {
      for (size_t pos = out.find(secret); pos != std::string::npos;
           pos = out.find(secret, pos + kRedacted.size())) {
        out.replace(pos, secret.size(), kRedacted);
      }
    }
  }
  for (const auto& pattern : Patterns()) {
    out = std::regex_replace(out, pattern.re, pattern.replacement);
  }
  return out;
}

}  // namespace fleetkeeper::aws
