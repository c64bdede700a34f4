// MSK IAM tokens (awsclient/msk_iam.h) against URLs botocore presigned for the same credentials
// and times (tests/fixtures/msk_iam/generate.py): same query parameters, same signature; the token
// is the URL in base64url without padding, with the User-Agent parameter after the signature.
// (The order of the X-Amz-* parameters is free; MSK reads them by name.)
#include "awsclient/msk_iam.h"

#include "common/clock.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace fleetkeeper::aws {
namespace {

std::map<std::string, std::string> QueryOf(const std::string& url) {
  std::map<std::string, std::string> out;
  const std::string query = url.substr(url.find('?') + 1);
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    const std::string pair = query.substr(start, end - start);
    const size_t eq = pair.find('=');
    out[pair.substr(0, eq)] = eq == std::string::npos ? "" : pair.substr(eq + 1);
    start = end + 1;
  }
  return out;
}

std::string Base64UrlDecode(std::string text) {
  for (char& c : text) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (text.size() % 4 != 0) text += '=';
  std::string out(text.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '\0') out.pop_back();  // the padding's zero bytes
  return out;
}

nlohmann::json Cases() {
  std::ifstream in(std::filesystem::path(FK_TEST_FIXTURES) / "msk_iam" / "expected.json");
  return nlohmann::json::parse(in);
}

TEST(MskIamToken, MatchesBotocoresPresignedUrlParameterForParameter) {
  const auto cases = Cases();
  ASSERT_EQ(cases.size(), 2u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c["name"].get<std::string>());
    Credentials credentials{
        c["access_key_id"], c["secret_access_key"],
        c["session_token"].is_null() ? "" : c["session_token"].get<std::string>(), 0, "test"};
    const int64_t now_ms = ParseRfc3339Ms(c["time"].get<std::string>()) + 250;
    auto token = MskIamAuthToken(credentials, c["region"], now_ms, "fleetkeeper/test");
    ASSERT_TRUE(token.ok()) << token.error().ToString();
    EXPECT_EQ(token->token.find_first_of("+/="), std::string::npos) << "base64url, no padding";
    const std::string url = Base64UrlDecode(token->token);
    const std::string expected = c["presigned_url"];
    ASSERT_EQ(url.substr(0, url.find('?')), expected.substr(0, expected.find('?')));
    auto ours = QueryOf(url);
    const auto theirs = QueryOf(expected);
    EXPECT_EQ(ours["User-Agent"], "fleetkeeper%2Ftest");
    ours.erase("User-Agent");
    EXPECT_EQ(ours, theirs);
    // The User-Agent is added after signing: it is the last parameter, outside the signature.
    EXPECT_GT(url.find("&User-Agent="), url.find("&X-Amz-Signature="));
    EXPECT_EQ(token->expires_at_ms, ParseRfc3339Ms(c["time"].get<std::string>()) + 900'000);
    EXPECT_EQ(token->principal, "AKIDEXAMPLE");
  }
}

TEST(MskIamToken, NamesWhatIsMissing) {
  Credentials none;
  auto no_credentials = MskIamAuthToken(none, "us-east-1", 1'700'000'000'000, "ua");
  ASSERT_FALSE(no_credentials.ok());
  EXPECT_NE(no_credentials.error().message.find("no AWS credentials"), std::string::npos);
  Credentials some{"AKID", "secret", "", 0, "test"};
  auto no_region = MskIamAuthToken(some, "", 1'700'000'000'000, "ua");
  ASSERT_FALSE(no_region.ok());
  EXPECT_NE(no_region.error().message.find("no region"), std::string::npos);
}

TEST(Base64UrlNoPadding, KnownVectors) {
  // RFC 4648 section 10, in the URL-safe alphabet and without padding.
  EXPECT_EQ(Base64UrlNoPadding(""), "");
  EXPECT_EQ(Base64UrlNoPadding("f"), "Zg");
  EXPECT_EQ(Base64UrlNoPadding("fo"), "Zm8");
  EXPECT_EQ(Base64UrlNoPadding("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlNoPadding("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64UrlNoPadding("\xfb\xff"), "-_8");
}

}  // namespace
}  // namespace fleetkeeper::aws
