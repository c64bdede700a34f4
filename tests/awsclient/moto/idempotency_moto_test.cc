// A RunInstances whose answer is lost launches one instance: a loopback proxy in front of moto
// passes the first RunInstances on and drops moto's answer; the transport retries with the
// byte-identical body, so the ClientToken the client filled in makes moto return the first
// launch instead of a second one.
#include <atomic>
#include <mutex>

#include "awsclient/http.h"
#include "tests/awsclient/moto/moto_fixture.h"
#include "tests/testing/loopback_server.h"

namespace fleetkeeper::aws::moto_test {
namespace {

using aws::testing::LoopbackReply;
using aws::testing::LoopbackRequest;
using aws::testing::LoopbackServer;

bool IsHopByHop(const std::string& name) {
  std::string lower;
  for (char c : name) lower.push_back(static_cast<char>(std::tolower(c)));
  return lower == "content-length" || lower == "transfer-encoding" || lower == "connection" ||
         lower == "expect" || lower == "keep-alive";
}

class Idempotency : public MotoTest {};

TEST_F(Idempotency, RunInstancesRetriedAfterALostAnswerLaunchesOnce) {
  auto [vpc_id, subnet_id] = MakeSubnet(81);
  auto [ami, other_ami] = TwoAmis();
  const std::string moto = Env("FK_MOTO_ENDPOINT");

  HttpClient upstream;
  std::atomic<int> run_calls{0};
  std::mutex mu;
  std::vector<std::string> run_bodies;
  LoopbackServer proxy([&](const LoopbackRequest& request) {
    HttpRequest forward;
    forward.method = request.method;
    forward.url = moto + request.target;
    forward.body = request.body;
    // The Host header stays the proxy's: the signature covers it.
    for (const auto& [k, v] : request.headers) {
      if (!IsHopByHop(k)) forward.headers.emplace_back(k, v);
    }
    Result<HttpResponse> answer = upstream.Send(forward);
    if (!answer.ok()) return LoopbackReply{502, {}, answer.error().ToString()};
    if (request.body.find("Action=RunInstances") != std::string::npos) {
      std::lock_guard lock(mu);
      run_bodies.push_back(request.body);
      if (++run_calls == 1) return LoopbackReply{0, {}, "", 0, /*drop=*/true};
    }
    LoopbackReply reply{answer->status, {}, answer->body};
    for (const auto& [k, v] : answer->headers) {
      if (!IsHopByHop(k)) reply.headers.emplace_back(k, v);
    }
    return reply;
  });

  TransportOptions options = MotoOptions();
  options.endpoints.profile_endpoint_url = proxy.url();
  options.retry.max_attempts = 3;
  std::unique_ptr<CellClients> through_proxy = MakeCellClients(
      std::make_shared<SignedTransport>(std::make_shared<EnvironmentProvider>(), options));

  const std::string marker = Unique("lost-answer");
  RunInstancesRequest run;  // no client_token: the client makes one
  run.image_id = ami;
  run.instance_type = "t3.micro";
  run.subnet_id = subnet_id;
  run.tag_specifications = {{"instance", {{"fk-marker", marker}}}};
  Result<RunInstancesResponse> launched = through_proxy->ec2->RunInstances(run);
  ASSERT_TRUE(launched.ok()) << launched.error().ToString();
  ASSERT_EQ(launched->instances.size(), 1u);

  {
    std::lock_guard lock(mu);
    ASSERT_EQ(run_bodies.size(), 2u) << "the first answer was dropped, so the call was retried";
    EXPECT_EQ(run_bodies[0], run_bodies[1]) << "the retry carries the same ClientToken";
    EXPECT_NE(run_bodies[0].find("ClientToken="), std::string::npos);
  }
  Result<DescribeInstancesResponse> all =
      clients_->ec2->DescribeInstances({{}, {{"tag:fk-marker", {marker}}}, {}, ""});
  ASSERT_TRUE(all.ok()) << all.error().ToString();
  ASSERT_EQ(all->instances.size(), 1u) << "two attempts, one instance";
  EXPECT_EQ(all->instances[0].id, launched->instances[0].id);
  ASSERT_TRUE(clients_->ec2->TerminateInstances({{all->instances[0].id}}).ok());
}

}  // namespace
}  // namespace fleetkeeper::aws::moto_test
