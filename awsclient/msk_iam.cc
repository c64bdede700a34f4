#include "awsclient/msk_iam.h"

#include <openssl/evp.h>

#include <vector>

namespace fleetkeeper::aws {

std::string Base64UrlNoPadding(std::string_view bytes) {
  std::vector<unsigned char> out(4 * ((bytes.size() + 2) / 3) + 1);
  const int n = EVP_EncodeBlock(out.data(), reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  std::string text(reinterpret_cast<const char*>(out.data()), static_cast<size_t>(n));
  while (!text.empty() && text.back() == '=') text.pop_back();
  for (char& c : text) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return text;
}

Result<std::string> MskPresignedUrl(const Credentials& credentials, const std::string& region,
                                    int64_t now_ms, std::string_view user_agent) {
  if (region.empty()) return InvalidInput("MSK IAM token: no region (set aws.region)");
  if (credentials.empty()) return InvalidInput("MSK IAM token: no AWS credentials");
  const std::string host = "kafka." + region + ".amazonaws.com";
  SignableRequest request;
  request.method = "GET";
  request.path = "/";
  request.query = "Action=kafka-cluster%3AConnect";
  request.headers = {{"host", host}};
  SigningParams params;
  params.region = region;
  params.service = "kafka-cluster";
  params.time_ms = now_ms;
  params.expires_seconds = kMskTokenLifetimeSeconds;
  auto signed_request = PresignRequest(request, credentials, params);
  if (!signed_request.ok()) return signed_request.error();
  return "https://" + host + "/?" + request.query + "&" + signed_request->added_query +
         "&User-Agent=" + UriEncode(user_agent);
}

Result<MskAuthToken> MskIamAuthToken(const Credentials& credentials, const std::string& region,
                                     int64_t now_ms, std::string_view user_agent) {
  auto url = MskPresignedUrl(credentials, region, now_ms, user_agent);
  if (!url.ok()) return url.error();
  // X-Amz-Date has whole seconds: the lifetime counts from the second the URL names.
  const int64_t signed_at_ms = now_ms - now_ms % 1000;
  return MskAuthToken{Base64UrlNoPadding(*url), signed_at_ms + kMskTokenLifetimeSeconds * 1000,
                      credentials.access_key_id};
}

}  // namespace fleetkeeper::aws
