// Secrets in the configuration (DESIGN.md "Configuration"): `${env:NAME}` and `${file:/path}`
// values are read at load, and never appear in the configuration `doctor` prints, in the errors
// `validate-config` prints, or in a log line.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "app/config.h"
#include "common/log.h"
#include "common/secrets.h"

namespace fleetkeeper::app {
namespace {

constexpr char kPassword[] = "s3cr3t-Pa55word";

class ConfigSecretsTest : public ::testing::Test {
 protected:
  void SetUp() override { ClearSecretsForTesting(); }
  void TearDown() override { ClearSecretsForTesting(); }
};

TEST_F(ConfigSecretsTest, EnvironmentReferencesAreReadAndNeverPrinted) {
  auto env = Environment::FromMap({{"FK_SASL_PASSWORD", kPassword}});
  auto loaded = LoadConfigText(
      "kafka:\n  bootstrap.servers: b:9092\n  sasl.username: fleetkeeper\n"
      "  ssl.key.password: ${env:FK_SASL_PASSWORD}\n"
      "aws: {default_account: \"${env:FK_SASL_PASSWORD}x\"}\n",  // not a whole reference
      env);
  ASSERT_FALSE(loaded.ok()) << "the second value is literal text, and not an account id";
  EXPECT_EQ(loaded.error().message.find(kPassword), std::string::npos) << loaded.error().message;

  loaded = LoadConfigText(
      "kafka:\n  bootstrap.servers: b:9092\n  sasl.plain.token: ${env:FK_SASL_PASSWORD}\n", env);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->config.kafka().at("sasl.plain.token"), kPassword);
  const std::string printed = RedactedYaml(loaded->config);
  EXPECT_EQ(printed.find(kPassword), std::string::npos) << printed;
  EXPECT_NE(printed.find("<redacted>"), std::string::npos) << printed;
}

TEST_F(ConfigSecretsTest, FileReferencesDropOneTrailingNewline) {
  const std::string path = ::testing::TempDir() + "/fk-secret.txt";
  std::ofstream(path) << kPassword << "\n";
  auto loaded = LoadConfigText("kafka: {sasl.password: \"${file:" + path + "}\"}\n",
                               Environment::FromMap({}));
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->config.kafka().at("sasl.password"), kPassword);
  std::remove(path.c_str());
}

TEST_F(ConfigSecretsTest, AMissingVariableOrFileIsAnErrorNamingIt) {
  auto loaded = LoadConfigText(
      "kafka: {sasl.password: \"${env:FK_NOT_SET}\"}\n"
      "aws: {region: \"${file:/nonexistent/fk-region}\"}\n",
      Environment::FromMap({}));
  ASSERT_FALSE(loaded.ok());
  const std::string& message = loaded.error().message;
  EXPECT_NE(message.find("kafka[\"sasl.password\"]: environment variable FK_NOT_SET is not set"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("aws.region: cannot read /nonexistent/fk-region"), std::string::npos)
      << message;
}

TEST_F(ConfigSecretsTest, AResolvedValueThatIsInvalidIsReportedWithoutItsValue) {
  auto loaded = LoadConfigText("aws: {region: \"${env:FK_REGION}\"}\n",
                               Environment::FromMap({{"FK_REGION", "Not A Region"}}));
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("aws.region"), std::string::npos);
  EXPECT_EQ(loaded.error().message.find("Not A Region"), std::string::npos)
      << loaded.error().message;
}

TEST_F(ConfigSecretsTest, LogLinesNeverCarryASecret) {
  RegisterSecret(kPassword);
  for (const char* format : {"text", "json"}) {
    std::ostringstream captured;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
    sink->set_formatter(MakeLogFormatter(format));
    spdlog::logger logger("secrets-test", sink);
    logger.info("connecting with password {} to the broker", kPassword);
    logger.flush();
    const std::string line = captured.str();
    EXPECT_EQ(line.find(kPassword), std::string::npos) << format << ": " << line;
    EXPECT_NE(line.find("connecting with password <redacted> to the broker"), std::string::npos)
        << format << ": " << line;
  }
}

TEST_F(ConfigSecretsTest, ShortValuesAreNotTreatedAsSecrets) {
  RegisterSecret("on");
  EXPECT_EQ(ScrubSecrets("turned on"), "turned on");
  RegisterSecret("abcd");
  RegisterSecret("abcdef");
  EXPECT_EQ(ScrubSecrets("x abcdef y abcd"), "x <redacted> y <redacted>");
}

}  // namespace
}  // namespace fleetkeeper::app
