// What every request of the HTTP client carries on the wire, seen by a loopback server.
#include "awsclient/http.h"

#include <gtest/gtest.h>

#include "tests/testing/loopback_server.h"

namespace fleetkeeper::aws {
namespace {

using testing::LoopbackReply;
using testing::LoopbackRequest;
using testing::LoopbackServer;

// CloudTrail shows a call's User-Agent as its userAgent: an operator tells fleetkeeper's changes
// from everyone else's by it, and the end-to-end tests tell the worker's calls from their own.
TEST(HttpClient, EveryRequestNamesFleetkeeperAsItsUserAgent) {
  LoopbackServer server([](const LoopbackRequest&) { return LoopbackReply{200, {}, "ok"}; });
  HttpClient http;
  HttpRequest get;
  get.url = server.url() + "/";
  HttpRequest post;
  post.method = "POST";
  post.url = server.url() + "/";
  post.body = "Action=DescribeInstances";
  ASSERT_TRUE(http.Send(get).ok());
  ASSERT_TRUE(http.Send(post).ok());
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  for (const auto& r : requests) EXPECT_EQ(r.Header("User-Agent"), "fleetkeeper");
}

}  // namespace
}  // namespace fleetkeeper::aws
