#include "consumers/msk_iam_auth.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "awsclient/credentials.h"
#include "awsclient/msk_iam.h"
#include "awsclient/region.h"
#include "common/clock.h"

namespace fleetkeeper::consumers {
namespace {

constexpr char kMechanismKey[] = "sasl.mechanism";
constexpr char kUserAgent[] = "fleetkeeper";

std::string Upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

// One credential chain for every client of the process, made on first use.
aws::CredentialsProvider& Credentials() {
  static aws::CredentialsProviderPtr chain =
      aws::DefaultCredentialsChain(aws::DefaultProviderContext());
  return *chain;
}

void RefreshToken(rd_kafka_t* rk, const char* oauthbearer_config, void* /*opaque*/) {
  std::string region = RegionOfOauthbearerConfig(oauthbearer_config);
  if (region.empty()) {
    auto found = aws::ResolveRegion();
    if (found.ok()) region = found->region;
  }
  auto fail = [rk](const std::string& why) {
    spdlog::error("kafka: MSK IAM token: {}", why);
    rd_kafka_oauthbearer_set_token_failure(rk, why.c_str());
  };
  if (region.empty()) {
    return fail("no region: set sasl.oauthbearer.config: region=<region>, or AWS_REGION");
  }
  auto credentials = Credentials().Resolve();
  if (!credentials.ok()) return fail(credentials.error().ToString());
  auto token =
      aws::MskIamAuthToken(*credentials, region, SystemClock::Instance().NowMs(), kUserAgent);
  if (!token.ok()) return fail(token.error().ToString());
  char errstr[512];
  if (rd_kafka_oauthbearer_set_token(rk, token->token.c_str(), token->expires_at_ms,
                                     token->principal.c_str(), nullptr, 0, errstr,
                                     sizeof(errstr)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return fail(errstr);
  }
}

}  // namespace

bool WantsMskIam(const std::map<std::string, std::string>& properties) {
  auto it = properties.find(kMechanismKey);
  return it != properties.end() && Upper(it->second) == "AWS_MSK_IAM";
}

std::map<std::string, std::string> MskIamProperties(std::map<std::string, std::string> properties) {
  if (WantsMskIam(properties)) properties[kMechanismKey] = "OAUTHBEARER";
  return properties;
}

void SetMskIamCallback(rd_kafka_conf_t* conf) {
  rd_kafka_conf_set_oauthbearer_token_refresh_cb(conf, &RefreshToken);
  // Its own queue, so that EnableMskIamBackground can serve it from the background thread.
  rd_kafka_conf_enable_sasl_queue(conf, 1);
}

Status EnableMskIamBackground(rd_kafka_t* client) {
  rd_kafka_error_t* error = rd_kafka_sasl_background_callbacks_enable(client);
  if (error == nullptr) return Ok{};
  const std::string why = rd_kafka_error_string(error);
  rd_kafka_error_destroy(error);
  return Error(ErrorCode::kKafka, "MSK IAM: " + why);
}

std::string RegionOfOauthbearerConfig(const char* config) {
  if (config == nullptr) return "";
  std::istringstream words{std::string(config)};
  std::string word;
  while (words >> word) {
    if (word.rfind("region=", 0) == 0) return word.substr(7);
  }
  return "";
}

}  // namespace fleetkeeper::consumers
