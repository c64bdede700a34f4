// AWS wire layer costs: SigV4 signatures per second, and the client's overhead per call against
// a loopback HTTP server that answers at once, with connection reuse on and off (the ratio shows
// what the handle pool saves).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>

#include "awsclient/signed_transport.h"
#include "awsclient/sigv4.h"
#include "tests/testing/loopback_server.h"

namespace fleetkeeper::aws {
namespace {

const Credentials kCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                               "session-token-example-0123456789", 0, "bench"};

SignableRequest DescribeInstances() {
  SignableRequest r;
  r.method = "POST";
  r.path = "/";
  r.headers = {{"Host", "ec2.eu-west-1.amazonaws.com"},
               {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  r.body =
      "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag%3Afleet&"
      "Filter.1.Value.1=web&MaxResults=1000";
  return r;
}

void BM_SignRequest(benchmark::State& state) {
  const SignableRequest request = DescribeInstances();
  SigningParams params{"eu-west-1", "ec2", 1'700'000'000'000};
  for (auto _ : state) {
    auto signature = SignRequest(request, kCredentials, params);
    benchmark::DoNotOptimize(signature);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SignRequest);

void BM_PresignRequest(benchmark::State& state) {
  SignableRequest request = DescribeInstances();
  request.method = "GET";
  request.body.clear();
  request.query = "Action=GetCallerIdentity&Version=2011-06-15";
  SigningParams params{"us-east-1", "sts", 1'700'000'000'000};
  for (auto _ : state) {
    auto signature = PresignRequest(request, kCredentials, params);
    benchmark::DoNotOptimize(signature);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PresignRequest);

class FixedCredentials final : public CredentialsProvider {
 public:
  Result<Credentials> Resolve() override { return kCredentials; }
  std::string name() const override { return "bench"; }
};

// Arg 1: connections reused through the handle pool; arg 0: a new connection per call.
void BM_TransportCall(benchmark::State& state) {
  testing::LoopbackServer server([](const testing::LoopbackRequest&) {
    return testing::LoopbackReply{200, {{"x-amzn-RequestId", "bench"}}, "<Ok/>"};
  });
  setenv("AWS_ENDPOINT_URL", server.url().c_str(), 1);
  HttpOptions http;
  http.reuse_connections = state.range(0) == 1;
  TransportOptions options;
  options.region = "eu-west-1";
  options.http = std::make_shared<HttpClient>(http);
  SignedTransport transport(std::make_shared<FixedCredentials>(), options);
  ServiceRequest request{"ec2",
                         "DescribeInstances",
                         Protocol::kEc2Query,
                         "POST",
                         "/",
                         {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
                         DescribeInstances().body};
  for (auto _ : state) {
    auto response = transport.Call(request);
    if (!response.ok()) {
      state.SkipWithError(response.error().message.c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["connections"] = server.connections();
  unsetenv("AWS_ENDPOINT_URL");
}
BENCHMARK(BM_TransportCall)->ArgName("reuse")->Arg(1)->Arg(0)->Iterations(2000)->UseRealTime();

}  // namespace
}  // namespace fleetkeeper::aws

BENCHMARK_MAIN();
