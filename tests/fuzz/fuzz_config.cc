// libFuzzer harness: the YAML config loader (app/config.h LoadConfigText and ValidateConfigText,
// app/yaml_to_proto). Variables come from a fixed map, never the process environment. A
// `${file:...}` reference reads a real file: keep the fuzzer away from paths such as /dev/zero by
// running it as an unprivileged user in a scratch directory (scripts/fuzz.sh does the latter).
// Seeds: tests/fixtures/config and the example configs.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <google/protobuf/util/message_differencer.h>

#include "app/config.h"
#include "tests/fuzz/fuzz_support.h"

namespace app = fleetkeeper::app;

FK_FUZZ_QUIET_INIT

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  static const app::Environment env = app::Environment::FromMap(
      {{"FK_KAFKA_BOOTSTRAP", "127.0.0.1:9092"}, {"FUZZ_SECRET", "s3cret"}});

  auto loaded = app::LoadConfigText(yaml, env);
  const auto errors = app::ValidateConfigText(yaml, env);
  // Both report the same verdict on the same text.
  FK_FUZZ_CHECK(loaded.ok() == errors.empty(), "LoadConfigText and ValidateConfigText disagree");
  if (!loaded.ok()) {
    FK_FUZZ_CHECK(!loaded.error().message.empty(), "a config error without a message");
    return 0;
  }
  // Defaults are idempotent (config.h).
  fleetkeeper::v1::WorkerConfig again = loaded->config;
  app::ApplyDefaults(again);
  FK_FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(again, loaded->config),
                "ApplyDefaults changed a loaded config");
  return 0;
}
