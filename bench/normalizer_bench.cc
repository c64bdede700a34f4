// Normalization cost per input form, on the recorded samples the unit tests use. Run by
// scripts/bench.sh; each benchmark reports bytes/s over the payload it decodes.
#include <benchmark/benchmark.h>
#include <google/protobuf/util/json_util.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "consumers/normalizer.h"

namespace fleetkeeper::consumers {
namespace {

// The hand-made fixtures live beside the unit tests; this file is bench/normalizer_bench.cc.
std::filesystem::path FixturesDir() {
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "tests" / "fixtures" /
         "events";
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::exit(1);
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::string Shared(const std::string& relative) {
  return ReadFile(std::filesystem::path(FK_SHARED_TESTDATA) / relative);
}

std::string Fixture(const std::string& relative) { return ReadFile(FixturesDir() / relative); }

void NormalizeLoop(benchmark::State& state, const std::string& payload,
                   std::vector<RecordHeader> headers, Disposition expected) {
  NormalizeOptions options;
  options.default_account = "111122223333";
  options.default_region = "eu-west-1";
  InputRecord record;
  record.payload = payload;
  record.headers = std::move(headers);
  record.topic = "fleet.events";
  if (Normalize(record, options).disposition != expected) {
    state.SkipWithError("the sample does not normalize as expected");
    return;
  }
  for (auto _ : state) {
    Normalized normalized = Normalize(record, options);
    benchmark::DoNotOptimize(normalized);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(payload.size()));
}

// The JSON forms: a third-party sample (../shared/testdata) or a hand-made fixture.
struct Form {
  const char* name;
  bool shared;
  const char* path;
  std::string Load() const { return shared ? Shared(path) : Fixture(path); }
};
constexpr Form kJsonForms[] = {
    {"EventBridgeParameterChange", true,
     "events/awsdocs-aws-systems-manager-user-guide/parameter-store-change-create.json"},
    {"EventBridgeCloudTrailPutParameter", false, "eventbridge/ssm-cloudtrail-putparameter.json"},
    {"EventBridgeAlarm", true,
     "events/awsdocs-amazon-cloudwatch-user-guide/"
     "cloudwatch-alarm-state-change-single-metric.json"},
    {"SnsAlarm", false, "sns/http-alarm-single-metric.json"},
    {"SnsLambdaAlarm", true,
     "events/aws-lambda-go/cloudwatch-alarm-sns-payload-single-metric.json"},
    {"SnsWrappedEventBridge", false, "sns/http-eventbridge-parameter-change.json"},
    {"NativeJson", false, "native/patch-request-wrapped.json"},
};

// The baseline of the same run: nlohmann's parser alone over the same text (what hop 1 paid to
// parse a record before it parsed with simdjson, before any normalization). bench/README.md
// reports each Normalize time as a ratio to its form's baseline. An SNS message's inner text is
// not parsed here, so for the SNS forms the baseline understates the old cost.
void BaselineNlohmannParse(benchmark::State& state, const std::string& payload) {
  for (auto _ : state) {
    nlohmann::json document = nlohmann::json::parse(payload);
    benchmark::DoNotOptimize(document);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(payload.size()));
}

// BM_<form> (Normalize) for every JSON form, then BM_BaselineNlohmannParse/<form>.
const bool kJsonFormsRegistered = [] {
  for (const Form& form : kJsonForms) {
    benchmark::RegisterBenchmark((std::string("BM_") + form.name).c_str(),
                                 [form](benchmark::State& state) {
                                   NormalizeLoop(state, form.Load(), {}, Disposition::kEvent);
                                 });
  }
  for (const Form& form : kJsonForms) {
    benchmark::RegisterBenchmark(
        (std::string("BM_BaselineNlohmannParse/") + form.name).c_str(),
        [form](benchmark::State& state) { BaselineNlohmannParse(state, form.Load()); });
  }
  return true;
}();

void BM_NativeProtobuf(benchmark::State& state) {
  v1::PatchRequest request;
  if (!google::protobuf::util::JsonStringToMessage(Fixture("native/patch-request.json"), &request)
           .ok()) {
    state.SkipWithError("native/patch-request.json is not a PatchRequest");
    return;
  }
  NormalizeLoop(
      state, request.SerializeAsString(),
      {{"content-type", "application/x-protobuf"}, {"fk-type", "fleetkeeper.v1.PatchRequest"}},
      Disposition::kEvent);
}
BENCHMARK(BM_NativeProtobuf);

void BM_UnsupportedSkipped(benchmark::State& state) {
  NormalizeLoop(state, Shared("events/aws-lambda-go/codedeploy-deployment-event.json"), {},
                Disposition::kSkipped);
}
BENCHMARK(BM_UnsupportedSkipped);

void BM_UnreadableGarbage(benchmark::State& state) {
  std::string garbage(4096, '\0');
  unsigned seed = 12345;
  for (char& c : garbage) {
    seed = seed * 1103515245u + 12345u;
    c = static_cast<char>(seed >> 16);
  }
  NormalizeLoop(state, garbage, {}, Disposition::kUnreadable);
}
BENCHMARK(BM_UnreadableGarbage);

void BM_UnreadableTruncatedJson(benchmark::State& state) {
  const std::string whole = Fixture("eventbridge/cloudwatch-alarm-metric-math.json");
  NormalizeLoop(state, whole.substr(0, whole.size() / 2), {}, Disposition::kUnreadable);
}
BENCHMARK(BM_UnreadableTruncatedJson);

void BM_UnreadableDeepNesting(benchmark::State& state) {
  NormalizeLoop(state, std::string(1 << 20, '['), {}, Disposition::kUnreadable);
}
BENCHMARK(BM_UnreadableDeepNesting);

}  // namespace
}  // namespace fleetkeeper::consumers

BENCHMARK_MAIN();
