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
struct Sample {
  bool shared;
  const char* path;
  std::string Load() const { return shared ? Shared(path) : Fixture(path); }
};
constexpr Sample kParameterChange{
    true, "events/awsdocs-aws-systems-manager-user-guide/parameter-store-change-create.json"};
constexpr Sample kCloudTrailPutParameter{false, "eventbridge/ssm-cloudtrail-putparameter.json"};
constexpr Sample kEventBridgeAlarm{
    true, "events/awsdocs-amazon-cloudwatch-user-guide/cloudwatch-alarm-state-change-single-metric.json"};
constexpr Sample kSnsAlarm{false, "sns/http-alarm-single-metric.json"};
constexpr Sample kSnsLambdaAlarm{
    true, "events/aws-lambda-go/cloudwatch-alarm-sns-payload-single-metric.json"};
constexpr Sample kSnsWrappedEventBridge{false, "sns/http-eventbridge-parameter-change.json"};
constexpr Sample kNativeJson{false, "native/patch-request-wrapped.json"};

void BM_EventBridgeParameterChange(benchmark::State& state) {
  NormalizeLoop(state, kParameterChange.Load(), {}, Disposition::kEvent);
}
BENCHMARK(BM_EventBridgeParameterChange);

void BM_EventBridgeCloudTrailPutParameter(benchmark::State& state) {
  NormalizeLoop(state, kCloudTrailPutParameter.Load(), {}, Disposition::kEvent);
}
BENCHMARK(BM_EventBridgeCloudTrailPutParameter);

void BM_EventBridgeAlarm(benchmark::State& state) {
  NormalizeLoop(state, kEventBridgeAlarm.Load(), {}, Disposition::kEvent);
}
BENCHMARK(BM_EventBridgeAlarm);

void BM_SnsAlarm(benchmark::State& state) {
  NormalizeLoop(state, kSnsAlarm.Load(), {}, Disposition::kEvent);
}
BENCHMARK(BM_SnsAlarm);

void BM_SnsLambdaAlarm(benchmark::State& state) {
  NormalizeLoop(state, kSnsLambdaAlarm.Load(), {}, Disposition::kEvent);
}
BENCHMARK(BM_SnsLambdaAlarm);

void BM_SnsWrappedEventBridge(benchmark::State& state) {
  NormalizeLoop(state, kSnsWrappedEventBridge.Load(), {}, Disposition::kEvent);
}
BENCHMARK(BM_SnsWrappedEventBridge);

void BM_NativeJson(benchmark::State& state) {
  NormalizeLoop(state, kNativeJson.Load(), {}, Disposition::kEvent);
}
BENCHMARK(BM_NativeJson);

// The baseline of the same run: nlohmann's parser alone over the same text (what hop 1 paid to
// parse a record before it parsed with simdjson, before any normalization). bench/README.md
// reports each Normalize time as a ratio to its form's baseline. An SNS message's inner text is
// not parsed here, so for the SNS forms the baseline understates the old cost.
void BM_BaselineNlohmannParse(benchmark::State& state, Sample sample) {
  const std::string payload = sample.Load();
  for (auto _ : state) {
    nlohmann::json document = nlohmann::json::parse(payload);
    benchmark::DoNotOptimize(document);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(payload.size()));
}
BENCHMARK_CAPTURE(BM_BaselineNlohmannParse, EventBridgeParameterChange, kParameterChange);
BENCHMARK_CAPTURE(BM_BaselineNlohmannParse, EventBridgeCloudTrailPutParameter,
                  kCloudTrailPutParameter);
BENCHMARK_CAPTURE(BM_BaselineNlohmannParse, EventBridgeAlarm, kEventBridgeAlarm);
BENCHMARK_CAPTURE(BM_BaselineNlohmannParse, SnsAlarm, kSnsAlarm);
BENCHMARK_CAPTURE(BM_BaselineNlohmannParse, SnsLambdaAlarm, kSnsLambdaAlarm);
BENCHMARK_CAPTURE(BM_BaselineNlohmannParse, SnsWrappedEventBridge, kSnsWrappedEventBridge);
BENCHMARK_CAPTURE(BM_BaselineNlohmannParse, NativeJson, kNativeJson);

void BM_NativeProtobuf(benchmark::State& state) {
  v1::PatchRequest request;
  if (!google::protobuf::util::JsonStringToMessage(Fixture("native/patch-request.json"), &request)
           .ok()) {
    state.SkipWithError("native/patch-request.json is not a PatchRequest");
    return;
  }
  NormalizeLoop(state, request.SerializeAsString(),
                {{"content-type", "application/x-protobuf"},
                 {"fk-type", "fleetkeeper.v1.PatchRequest"}},
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
