// The official SigV4 suite (../shared/testdata/sigv4/v4/, from aws-c-auth): every case folder is
// found by walking the directory, and each runs in both forms (header and presigned), checking
// the canonical request, the string to sign, the signature and the full signed request.
#include "awsclient/sigv4.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/clock.h"

namespace fleetkeeper::aws {
namespace {

namespace fs = std::filesystem;

const fs::path kSuite = fs::path(FK_SHARED_TESTDATA) / "sigv4" / "v4";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct SuiteRequest {
  std::string method;
  std::string path;
  std::string query;
  std::string version;
  std::vector<std::string> header_lines;  // as written, for rebuilding the signed request
  SignableRequest signable;
};

// request.txt: "METHOD path[?query] HTTP/1.1", header lines (a line starting with whitespace
// continues the previous value), an empty line, then the body.
SuiteRequest ParseRequest(const std::string& text) {
  SuiteRequest out;
  size_t head_end = text.find("\n\n");
  std::string head = text.substr(0, head_end);
  if (head_end != std::string::npos) out.signable.body = text.substr(head_end + 2);
  std::istringstream lines(head);
  std::string line;
  std::getline(lines, line);
  size_t first = line.find(' ');
  size_t last = line.rfind(' ');
  out.method = line.substr(0, first);
  out.version = line.substr(last + 1);
  std::string target = line.substr(first + 1, last - first - 1);
  size_t q = target.find('?');
  out.path = target.substr(0, q);
  if (q != std::string::npos) out.query = target.substr(q + 1);
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    out.header_lines.push_back(line);
    if ((line[0] == ' ' || line[0] == '\t') && !out.signable.headers.empty()) {
      out.signable.headers.back().second += "\n" + line;
      continue;
    }
    size_t colon = line.find(':');
    out.signable.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  out.signable.method = out.method;
  out.signable.path = out.path;
  out.signable.query = out.query;
  return out;
}

struct SuiteCase {
  std::string name;
  SuiteRequest request;
  Credentials credentials;
  SigningParams params;
};

SuiteCase LoadCase(const fs::path& dir) {
  SuiteCase c;
  c.name = dir.filename().string();
  c.request = ParseRequest(ReadFile(dir / "request.txt"));
  auto ctx = nlohmann::json::parse(ReadFile(dir / "context.json"));
  const auto& creds = ctx.at("credentials");
  c.credentials.access_key_id = creds.at("access_key_id").get<std::string>();
  c.credentials.secret_access_key = creds.at("secret_access_key").get<std::string>();
  c.credentials.session_token = creds.value("token", std::string());
  c.params.region = ctx.at("region").get<std::string>();
  c.params.service = ctx.at("service").get<std::string>();
  c.params.time_ms = ParseRfc3339Ms(ctx.at("timestamp").get<std::string>());
  c.params.normalize_path = ctx.value("normalize", true);
  c.params.sign_body = ctx.value("sign_body", false);
  c.params.omit_session_token = ctx.value("omit_session_token", false);
  c.params.expires_seconds = ctx.value("expiration_in_seconds", 3600);
  return c;
}

std::vector<std::string> CaseNames() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kSuite)) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string Head(const SuiteRequest& r, const std::string& query) {
  std::string out =
      r.method + " " + r.path + (query.empty() ? "" : "?" + query) + " " + r.version + "\n";
  for (const auto& line : r.header_lines) out += line + "\n";
  return out;
}

class SigV4SuiteTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SigV4SuiteTest, HeaderSigningMatchesSuite) {
  const fs::path dir = kSuite / GetParam();
  SuiteCase c = LoadCase(dir);
  auto signed_request = SignRequest(c.request.signable, c.credentials, c.params);
  ASSERT_TRUE(signed_request.ok()) << signed_request.error().ToString();
  EXPECT_EQ(signed_request->canonical_request, ReadFile(dir / "header-canonical-request.txt"));
  EXPECT_EQ(signed_request->string_to_sign, ReadFile(dir / "header-string-to-sign.txt"));
  EXPECT_EQ(signed_request->signature, ReadFile(dir / "header-signature.txt"));

  std::string rebuilt = Head(c.request, c.request.query);
  for (const auto& [name, value] : signed_request->added_headers) {
    rebuilt += name + ":" + value + "\n";
  }
  rebuilt += "\n" + c.request.signable.body;
  EXPECT_EQ(rebuilt, ReadFile(dir / "header-signed-request.txt"));
}

TEST_P(SigV4SuiteTest, PresigningMatchesSuite) {
  const fs::path dir = kSuite / GetParam();
  SuiteCase c = LoadCase(dir);
  auto presigned = PresignRequest(c.request.signable, c.credentials, c.params);
  ASSERT_TRUE(presigned.ok()) << presigned.error().ToString();
  EXPECT_EQ(presigned->canonical_request, ReadFile(dir / "query-canonical-request.txt"));
  EXPECT_EQ(presigned->string_to_sign, ReadFile(dir / "query-string-to-sign.txt"));
  EXPECT_EQ(presigned->signature, ReadFile(dir / "query-signature.txt"));

  std::string query = c.request.query;
  query += (query.empty() ? "" : "&") + presigned->added_query;
  std::string rebuilt = Head(c.request, query) + "\n" + c.request.signable.body;
  EXPECT_EQ(rebuilt, ReadFile(dir / "query-signed-request.txt"));
}

INSTANTIATE_TEST_SUITE_P(Official, SigV4SuiteTest, ::testing::ValuesIn(CaseNames()),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// Guards against the walk silently finding nothing (a moved folder would otherwise pass).
TEST(SigV4Suite, EveryCaseHasBothForms) {
  auto names = CaseNames();
  EXPECT_EQ(names.size(), 38u);
  for (const auto& name : names) {
    for (const char* file :
         {"context.json", "request.txt", "header-signature.txt", "query-signature.txt",
          "header-signed-request.txt", "query-signed-request.txt"}) {
      EXPECT_TRUE(fs::exists(kSuite / name / file)) << name << "/" << file;
    }
  }
}

TEST(SigV4, MissingHostIsAnInputErrorNamingTheField) {
  SignableRequest request;
  Credentials creds{"AKID", "secret", "", 0, "test"};
  SigningParams params{"us-east-1", "ec2", 1'700'000'000'000};
  auto result = SignRequest(request, creds, params);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(result.error().message.find("Host"), std::string::npos);
}

TEST(SigV4, MissingSecretIsAnInputError) {
  SignableRequest request;
  request.headers = {{"Host", "ec2.us-east-1.amazonaws.com"}};
  Credentials creds{"AKID", "", "", 0, "test"};
  auto result = SignRequest(request, creds, SigningParams{"us-east-1", "ec2", 0});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("secret_access_key"), std::string::npos);
}

TEST(SigV4, PresignRejectsExpiryBeyondSevenDays) {
  SignableRequest request;
  request.headers = {{"Host", "sts.amazonaws.com"}};
  SigningParams params{"us-east-1", "sts", 0};
  params.expires_seconds = 8 * 24 * 3600;
  auto result = PresignRequest(request, Credentials{"AKID", "s", "", 0, ""}, params);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("expires_seconds"), std::string::npos);
}

}  // namespace
}  // namespace fleetkeeper::aws
