#include "awsclient/sigv4.h"

#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>
#include <utility>
#include <vector>

namespace fleetkeeper::aws {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Trims and folds every run of whitespace (including the line breaks of an obs-folded value)
// into one space, as the canonical header value requires.
std::string CanonicalHeaderValue(std::string_view value) {
  std::string out;
  bool pending_space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

// Headers a proxy or the HTTP stack may rewrite; signing them would break the signature.
bool IsUnsignedHeader(const std::string& lower_name) {
  return lower_name == "authorization" || lower_name == "user-agent" ||
         lower_name == "x-amzn-trace-id" || lower_name == "expect" || lower_name == "connection" ||
         lower_name == "transfer-encoding";
}

// Headers the signer sets itself; a caller's copy is ignored rather than signed twice.
bool IsSignerHeader(const std::string& lower_name) {
  return lower_name == "x-amz-date" || lower_name == "x-amz-security-token" ||
         lower_name == "x-amz-content-sha256";
}

std::string CanonicalPath(std::string_view raw, bool normalize) {
  std::string path(raw.empty() ? "/" : raw);
  if (normalize) {
    std::vector<std::string_view> segments;
    std::string_view rest(path);
    bool trailing_slash = false;
    size_t pos = 0;
    while (pos <= rest.size()) {
      size_t next = rest.find('/', pos);
      if (next == std::string_view::npos) next = rest.size();
      std::string_view seg = rest.substr(pos, next - pos);
      bool last = next == rest.size();
      if (seg == "..") {
        if (!segments.empty()) segments.pop_back();
        trailing_slash = last;
      } else if (seg == ".") {
        trailing_slash = last;
      } else if (seg.empty()) {
        trailing_slash = last;
      } else {
        segments.push_back(seg);
        trailing_slash = false;
      }
      pos = next + 1;
    }
    std::string normalized;
    for (auto seg : segments) {
      normalized.push_back('/');
      normalized.append(seg);
    }
    if (normalized.empty() || trailing_slash) normalized.push_back('/');
    path = std::move(normalized);
  }
  return UriEncode(path, /*keep_slash=*/true);
}

using Params = std::vector<std::pair<std::string, std::string>>;  // encoded key, encoded value

Params ParseQuery(std::string_view query) {
  Params params;
  size_t pos = 0;
  while (pos <= query.size() && !query.empty()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view item = query.substr(pos, amp - pos);
    if (!item.empty()) {
      size_t eq = item.find('=');
      std::string_view key = item.substr(0, eq);
      std::string_view value = eq == std::string_view::npos ? "" : item.substr(eq + 1);
      params.emplace_back(UriEncode(UriDecode(key)), UriEncode(UriDecode(value)));
    }
    pos = amp + 1;
  }
  return params;
}

std::string CanonicalQuery(Params params) {
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out.push_back('&');
    out.append(k).append("=").append(v);
  }
  return out;
}

struct CanonicalHeaders {
  std::string block;         // "name:value\n" lines
  std::string signed_names;  // "a;b;c"
};

CanonicalHeaders BuildCanonicalHeaders(const Headers& headers, const Headers& extra) {
  // Stable sort keeps the order of repeated headers, whose values are joined in request order.
  std::vector<std::pair<std::string, std::string>> lowered;
  auto add = [&lowered](const Headers& from, bool from_caller) {
    for (const auto& [name, value] : from) {
      std::string lname = Lower(name);
      if (IsUnsignedHeader(lname) || (from_caller && IsSignerHeader(lname))) continue;
      lowered.emplace_back(std::move(lname), CanonicalHeaderValue(value));
    }
  };
  add(headers, true);
  add(extra, false);
  std::stable_sort(lowered.begin(), lowered.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  CanonicalHeaders out;
  for (size_t i = 0; i < lowered.size();) {
    const std::string& name = lowered[i].first;
    std::string value = lowered[i].second;
    size_t j = i + 1;
    for (; j < lowered.size() && lowered[j].first == name; ++j) value += "," + lowered[j].second;
    out.block += name + ":" + value + "\n";
    if (!out.signed_names.empty()) out.signed_names.push_back(';');
    out.signed_names += name;
    i = j;
  }
  return out;
}

bool HasHost(const Headers& headers) {
  return std::any_of(headers.begin(), headers.end(),
                     [](const auto& h) { return Lower(h.first) == "host"; });
}

Status Validate(const SignableRequest& request, const Credentials& credentials,
                const SigningParams& params) {
  if (credentials.access_key_id.empty()) {
    return InvalidInput("credentials.access_key_id: empty, cannot sign");
  }
  if (credentials.secret_access_key.empty()) {
    return InvalidInput("credentials.secret_access_key: empty, cannot sign");
  }
  if (params.region.empty()) return InvalidInput("signing region: empty");
  if (params.service.empty()) return InvalidInput("signing service name: empty");
  if (!HasHost(request.headers)) return InvalidInput("request headers: no Host header to sign");
  if (request.method.empty()) return InvalidInput("request method: empty");
  return Ok{};
}

std::string Scope(const std::string& date, const SigningParams& params) {
  return date + "/" + params.region + "/" + params.service + "/aws4_request";
}

std::string StringToSign(const std::string& amz_date, const std::string& scope,
                         const std::string& canonical_request) {
  std::string out(kAlgorithm);
  out += "\n" + amz_date + "\n" + scope + "\n" + Sha256Hex(canonical_request);
  return out;
}

std::string Signature(const Credentials& credentials, const std::string& date,
                      const SigningParams& params, const std::string& string_to_sign) {
  std::string key = HmacSha256("AWS4" + credentials.secret_access_key, date);
  key = HmacSha256(key, params.region);
  key = HmacSha256(key, params.service);
  key = HmacSha256(key, "aws4_request");
  return HexEncode(HmacSha256(key, string_to_sign));
}

}  // namespace

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string UriEncode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string UriDecode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string AmzDate(int64_t epoch_ms) {
  std::time_t seconds = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Result<SigningResult> SignRequest(const SignableRequest& request, const Credentials& credentials,
                                  const SigningParams& params) {
  if (auto st = Validate(request, credentials, params); !st) return st.error();
  const std::string amz_date = AmzDate(params.time_ms);
  const std::string date = amz_date.substr(0, 8);
  const std::string payload_hash = Sha256Hex(request.body);

  SigningResult result;
  const bool has_token = !credentials.session_token.empty();
  Headers signed_extra;
  if (has_token && !params.omit_session_token) {
    signed_extra.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  signed_extra.emplace_back("X-Amz-Date", amz_date);
  if (params.sign_body) signed_extra.emplace_back("x-amz-content-sha256", payload_hash);

  CanonicalHeaders canonical = BuildCanonicalHeaders(request.headers, signed_extra);
  result.canonical_request = request.method + "\n" +
                             CanonicalPath(request.path, params.normalize_path) + "\n" +
                             CanonicalQuery(ParseQuery(request.query)) + "\n" + canonical.block +
                             "\n" + canonical.signed_names + "\n" + payload_hash;
  const std::string scope = Scope(date, params);
  result.string_to_sign = StringToSign(amz_date, scope, result.canonical_request);
  result.signature = Signature(credentials, date, params, result.string_to_sign);

  // The token goes first whether signed or not, as the SDKs and the test suite place it.
  if (has_token) {
    result.added_headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  result.added_headers.emplace_back("X-Amz-Date", amz_date);
  if (params.sign_body) result.added_headers.emplace_back("x-amz-content-sha256", payload_hash);
  result.added_headers.emplace_back(
      "Authorization", std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + "/" +
                           scope + ", SignedHeaders=" + canonical.signed_names +
                           ", Signature=" + result.signature);
  return result;
}

Result<SigningResult> PresignRequest(const SignableRequest& request, const Credentials& credentials,
                                     const SigningParams& params) {
  if (auto st = Validate(request, credentials, params); !st) return st.error();
  if (params.expires_seconds <= 0 || params.expires_seconds > 7 * 24 * 3600) {
    return InvalidInput("presign expires_seconds: must be within 1..604800, got " +
                        std::to_string(params.expires_seconds));
  }
  const std::string amz_date = AmzDate(params.time_ms);
  const std::string date = amz_date.substr(0, 8);
  const std::string scope = Scope(date, params);
  CanonicalHeaders canonical = BuildCanonicalHeaders(request.headers, {});

  const bool has_token = !credentials.session_token.empty();
  // Wire order of the added parameters, as the SDKs emit them.
  Params added = {
      {"X-Amz-Algorithm", std::string(kAlgorithm)},
      {"X-Amz-Credential", UriEncode(credentials.access_key_id + "/" + scope)},
      {"X-Amz-Date", amz_date},
      {"X-Amz-SignedHeaders", UriEncode(canonical.signed_names)},
      {"X-Amz-Expires", std::to_string(params.expires_seconds)},
  };
  Params all = ParseQuery(request.query);
  all.insert(all.end(), added.begin(), added.end());
  if (has_token) {
    added.emplace_back("X-Amz-Security-Token", UriEncode(credentials.session_token));
    if (!params.omit_session_token) all.push_back(added.back());
  }

  SigningResult result;
  result.canonical_request = request.method + "\n" +
                             CanonicalPath(request.path, params.normalize_path) + "\n" +
                             CanonicalQuery(std::move(all)) + "\n" + canonical.block + "\n" +
                             canonical.signed_names + "\n" + Sha256Hex(request.body);
  result.string_to_sign = StringToSign(amz_date, scope, result.canonical_request);
  result.signature = Signature(credentials, date, params, result.string_to_sign);
  added.emplace_back("X-Amz-Signature", result.signature);
  for (const auto& [k, v] : added) {
    if (!result.added_query.empty()) result.added_query.push_back('&');
    result.added_query.append(k).append("=").append(v);
  }
  return result;
}

}  // namespace fleetkeeper::aws
