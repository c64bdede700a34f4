// `fleetkeeper ingest`'s server over a real loopback socket: a raw HTTP client talks to the server
// on port 0; the broker and the network are replaced by a recording sink, a certificate fetcher
// that serves the PEMs of ../shared/testdata/sns, and a recording URL visitor. The SNS messages are
// real signed deliveries (aws-sdk-java-v2 fixtures); their HTTP form follows "Parsing message
// formats" in the SNS developer guide:
// https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html
#include "consumers/http/ingest_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace fleetkeeper::consumers::http {
namespace {

const std::string kSns =
    std::string(FK_SHARED_TESTDATA) + "/sns/aws-sdk-java-v2/sns-message-manager/";
const std::string kCertUrl =
    "https://sns.us-west-2.amazonaws.com/"
    "SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A connection to the server, over IPv4 or IPv6 loopback.
int Connect(int port, bool v6 = false) {
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
  int rc;
  if (v6) {
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_port = htons(static_cast<uint16_t>(port));
    addr.sin6_addr = in6addr_loopback;
    rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  } else {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  }
  if (rc != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads one whole response (its headers and Content-Length body) from a kept-alive connection.
std::string ReadResponse(int fd) {
  std::string out;
  char buf[4096];
  size_t need = std::string::npos;
  while (need == std::string::npos || out.size() < need) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    size_t end = out.find("\r\n\r\n");
    if (need == std::string::npos && end != std::string::npos) {
      size_t cl = out.find("Content-Length: ");
      need = end + 4 + (cl < end ? std::stoul(out.substr(cl + 16)) : 0);
    }
  }
  return out;
}

// Sends `raw` (optionally pausing mid-way) and returns the answer. The connection is not
// half-closed: cpp-httplib answers nothing to a peer that has shut down its side.
std::string Exchange(int port, const std::string& raw, int pause_ms = 0, bool v6 = false) {
  int fd = Connect(port, v6);
  if (fd < 0) return "connect failed";
  size_t first = pause_ms > 0 ? raw.size() / 2 : raw.size();
  ::send(fd, raw.data(), first, MSG_NOSIGNAL);
  if (pause_ms > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
    ::send(fd, raw.data() + first, raw.size() - first, MSG_NOSIGNAL);
  }
  std::string out = ReadResponse(fd);
  ::close(fd);
  return out;
}

int StatusOf(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0) return -1;
  return std::stoi(response.substr(9, 3));
}

std::string Post(const std::string& body, const std::string& extra_headers = "") {
  return "POST / HTTP/1.1\r\nHost: ingest.example.com\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" + body;
}

std::string SnsPost(const std::string& type, const std::string& body) {
  return Post(
      body, "x-amz-sns-message-type: " + type + "\r\nContent-Type: text/plain; charset=UTF-8\r\n");
}

class IngestServerTest : public ::testing::Test {
 protected:
  void Start(IngestOptions options = {}, IngestServerOptions server_options = {}) {
    handler_ = std::make_unique<IngestHandler>(
        options,
        [this](const IngestRecord& r) -> Status {
          if (kafka_down_) return Error(ErrorCode::kUnavailable, "broker down", true);
          std::lock_guard lock(mu_);
          produced_.push_back(r);
          return Ok{};
        },
        [this](const std::string& url) -> Result<std::string> {
          ++fetches_;
          if (url != kCertUrl) return Error(ErrorCode::kNotFound, "unknown certificate " + url);
          return ReadFile(kSns + "SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem");
        },
        [this](const std::string& url) -> Result<int> {
          std::lock_guard lock(mu_);
          visited_.push_back(url);
          return 200;
        });
    if (server_options.listen.host == "127.0.0.1") server_options.listen.port = 0;
    auto server = IngestServer::Start(server_options, *handler_);
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(*server);
  }
  int port() const { return server_->port(); }

  std::unique_ptr<IngestHandler> handler_;
  std::unique_ptr<IngestServer> server_;
  std::mutex mu_;
  std::vector<IngestRecord> produced_;
  std::vector<std::string> visited_;
  std::atomic<int> fetches_{0};
  std::atomic<bool> kafka_down_{false};
};

TEST_F(IngestServerTest, HealthEndpointAnswers) {
  Start();
  std::string r = Exchange(port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(StatusOf(r), 200) << r;
  EXPECT_NE(r.find("\r\n\r\nok\n"), std::string::npos);
}

TEST_F(IngestServerTest, SignedSnsNotificationIsProducedAsSentAndTheCertificateCached) {
  Start();
  const std::string body = ReadFile(kSns + "test-notification-with-subject.json");
  EXPECT_EQ(StatusOf(Exchange(port(), SnsPost("Notification", body))), 200);
  EXPECT_EQ(StatusOf(Exchange(port(), SnsPost("Notification", body))), 200);
  ASSERT_EQ(produced_.size(), 2u);
  EXPECT_EQ(produced_[0].value, body);
  EXPECT_EQ(fetches_.load(), 1);
  EXPECT_EQ(handler_->cached_certificates(), 1u);
}

TEST_F(IngestServerTest, TamperedSnsNotificationIs403AndNotProduced) {
  Start();
  std::string body = ReadFile(kSns + "test-notification-with-subject.json");
  body.replace(body.find("Hello!"), 6, "Hullo!");
  std::string r = Exchange(port(), SnsPost("Notification", body));
  EXPECT_EQ(StatusOf(r), 403);
  EXPECT_NE(r.find("Signature: does not match"), std::string::npos) << r;
  EXPECT_TRUE(produced_.empty());
}

TEST_F(IngestServerTest, SubscriptionConfirmationVisitsTheSubscribeUrlAndProducesNothing) {
  Start();
  const std::string body = ReadFile(kSns + "test-subscription-confirmation.json");
  EXPECT_EQ(StatusOf(Exchange(port(), SnsPost("SubscriptionConfirmation", body))), 200);
  ASSERT_EQ(visited_.size(), 1u);
  EXPECT_EQ(visited_[0].rfind("https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription", 0),
            0u);
  EXPECT_TRUE(produced_.empty());
}

TEST_F(IngestServerTest, UnsubscribeConfirmationIsAcknowledgedNotProduced) {
  Start();
  const std::string body = ReadFile(kSns + "test-unsubscribe-confirmation.json");
  EXPECT_EQ(StatusOf(Exchange(port(), SnsPost("UnsubscribeConfirmation", body))), 200);
  EXPECT_TRUE(produced_.empty());
  EXPECT_TRUE(visited_.empty());
}

TEST_F(IngestServerTest, SnsFromATopicNotAllowedIs403) {
  IngestOptions options;
  options.sns_topic_arns = {"arn:aws:sns:us-east-1:111122223333:fleet-alarms"};
  Start(options);
  const std::string body = ReadFile(kSns + "test-notification-with-subject.json");
  EXPECT_EQ(StatusOf(Exchange(port(), SnsPost("Notification", body))), 403);
  EXPECT_TRUE(produced_.empty());
  EXPECT_EQ(fetches_.load(), 0);
}

TEST_F(IngestServerTest, MalformedSnsIs400) {
  Start();
  EXPECT_EQ(StatusOf(Exchange(port(), SnsPost("Notification", "{\"Type\":"))), 400);
  const std::string body = ReadFile(kSns + "test-notification-with-subject.json");
  std::string r = Exchange(port(), SnsPost("SubscriptionConfirmation", body));
  EXPECT_EQ(StatusOf(r), 400);
  EXPECT_NE(r.find("body's Type is Notification"), std::string::npos);
  EXPECT_TRUE(produced_.empty());
}

TEST_F(IngestServerTest, EventBridgeEventIsProducedAndKafkaDownIs503) {
  Start();
  const std::string event =
      R"({"version":"0","id":"7bf73129-1428-4cd3-a780-95db273d1602","detail-type":)"
      R"("Parameter Store Change","source":"aws.ssm","account":"123456789012",)"
      R"("time":"2026-01-01T00:00:00Z","region":"us-east-1","resources":[],)"
      R"("detail":{"name":"/ami/linux/test","operation":"Update"}})";
  EXPECT_EQ(StatusOf(Exchange(port(), Post(event, "Content-Type: application/json\r\n"))), 200);
  ASSERT_EQ(produced_.size(), 1u);
  EXPECT_EQ(produced_[0].value, event);
  kafka_down_ = true;
  std::string r = Exchange(port(), Post(event));
  EXPECT_EQ(StatusOf(r), 503);
  EXPECT_NE(r.find("broker down"), std::string::npos);
  EXPECT_EQ(produced_.size(), 1u);
}

TEST_F(IngestServerTest, BadInputGets4xxAndTheServerKeepsServing) {
  IngestServerOptions limits;
  limits.max_body_bytes = 64 * 1024;
  limits.read_timeout_ms = 300;
  Start({}, limits);
  EXPECT_EQ(StatusOf(Exchange(port(), Post("not json"))), 400);
  EXPECT_EQ(StatusOf(Exchange(port(), Post("[1,2,3]"))), 400);
  EXPECT_EQ(StatusOf(Exchange(port(), Post(std::string(50000, '[')))), 400);
  EXPECT_EQ(StatusOf(Exchange(port(), Post(std::string(70000, 'x')))), 413);
  EXPECT_EQ(StatusOf(Exchange(port(), "POST / HTTP/1.1\r\nHost: x\r\n\r\n")), 411);
  EXPECT_EQ(StatusOf(Exchange(port(), "GARBAGE\r\n\r\n")), 400);
  EXPECT_EQ(StatusOf(Exchange(port(), "POST / HTTP/1.1\r\nContent-Length: x1\r\n\r\n")), 400);
  // A body that stalls past the read timeout is answered 400 and not produced.
  EXPECT_EQ(StatusOf(Exchange(port(), Post("{\"id\":\"1\"}"), 600)), 400);
  EXPECT_EQ(StatusOf(Exchange(port(), "GET /events HTTP/1.1\r\n\r\n")), 405);
  EXPECT_EQ(StatusOf(Exchange(port(), Post("--b\r\n\r\n--b--\r\n",
                                           "Content-Type: multipart/form-data; boundary=b\r\n"))),
            415);
  EXPECT_TRUE(produced_.empty());
  EXPECT_EQ(StatusOf(Exchange(port(), "GET /healthz HTTP/1.1\r\n\r\n")), 200);
}

// The hand-written server before cpp-httplib answered 411 to these, 400 to a second request on a
// connection, and could not bind IPv6.
TEST_F(IngestServerTest, ChunkedBodyIsProducedWhole) {
  IngestServerOptions limits;
  limits.max_body_bytes = 1024;
  Start({}, limits);
  const std::string event = R"({"id":"chunked-1","detail-type":"x","source":"aws.ssm"})";
  std::string chunked;
  for (size_t at = 0; at < event.size(); at += 16) {
    const std::string part = event.substr(at, 16);
    chunked += fmt::format("{:x}\r\n{}\r\n", part.size(), part);
  }
  chunked += "0\r\n\r\n";
  std::string r = Exchange(port(),
                           "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                           "Content-Type: application/json\r\n\r\n" +
                               chunked);
  EXPECT_EQ(StatusOf(r), 200) << r;
  ASSERT_EQ(produced_.size(), 1u);
  EXPECT_EQ(produced_[0].value, event);
  // Chunked does not get around the body limit.
  std::string big = fmt::format("{:x}\r\n{}\r\n0\r\n\r\n", 2000, std::string(2000, ' '));
  EXPECT_EQ(StatusOf(Exchange(port(),
                              "POST / HTTP/1.1\r\nHost: x\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n" +
                                  big)),
            413);
  EXPECT_EQ(produced_.size(), 1u);
}

TEST_F(IngestServerTest, KeptAliveConnectionServesSeveralRequests) {
  Start();
  int fd = Connect(port());
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 3; ++i) {
    const std::string event = fmt::format(R"({{"id":"keep-alive-{}"}})", i);
    const std::string request = Post(event);
    ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    std::string r = ReadResponse(fd);
    EXPECT_EQ(StatusOf(r), 200) << r;
    EXPECT_EQ(r.find("Connection: close"), std::string::npos) << r;
  }
  ::close(fd);
  ASSERT_EQ(produced_.size(), 3u);
  EXPECT_EQ(produced_[2].value, R"({"id":"keep-alive-2"})");
}

TEST_F(IngestServerTest, ServesIpv6AndDualStack) {
  IngestServerOptions v6only;
  v6only.listen = ListenAddress{"::1", 0};
  Start({}, v6only);
  EXPECT_EQ(StatusOf(Exchange(port(), "GET /healthz HTTP/1.1\r\n\r\n", 0, /*v6=*/true)), 200);
  EXPECT_EQ(StatusOf(Exchange(port(), Post(R"({"id":"v6"})"), 0, /*v6=*/true)), 200);
  EXPECT_EQ(produced_.size(), 1u);
  server_.reset();
  // "::" takes IPv4 clients too.
  IngestServerOptions any;
  any.listen = ListenAddress{"::", 0};
  Start({}, any);
  EXPECT_EQ(StatusOf(Exchange(port(), "GET /healthz HTTP/1.1\r\n\r\n", 0, /*v6=*/true)), 200);
  EXPECT_EQ(StatusOf(Exchange(port(), "GET /healthz HTTP/1.1\r\n\r\n")), 200);
}

TEST_F(IngestServerTest, AnAddressInUseIsAnErrorNamingTheOption) {
  Start();
  IngestServerOptions same;
  same.listen = ListenAddress{"127.0.0.1", port()};
  auto second = IngestServer::Start(same, *handler_);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("--listen: cannot listen on 127.0.0.1:"), std::string::npos)
      << second.error().message;
}

// Found by tests/fuzz/fuzz_http in the hand-written server: a request line that starts with a space
// (or has two spaces before the target) parsed as a request with an empty method (or target) and
// reached the handler. Kept for cpp-httplib.
TEST_F(IngestServerTest, RequestLineWithoutMethodOrTargetIs400) {
  Start();
  EXPECT_EQ(StatusOf(Exchange(port(), " / HTTP/1.1\r\nHost: x\r\n\r\n")), 400);
  EXPECT_EQ(StatusOf(Exchange(port(), "GET  HTTP/1.1\r\nHost: x\r\n\r\n")), 400);
  // The fuzzer's input, as it found it.
  EXPECT_EQ(StatusOf(Exchange(port(), std::string(" \xb5"
                                                  "8\rPOST / HTTP/1.1\r\nHost:sns HTTP/1.1\r\n"
                                                  "Hostteefl :keeper\nh\xff"
                                                  "content-lengtA\x7f\xff\xff",
                                                  77) +
                                          std::string("\0\xff"
                                                      "el.examplServint\r\n\r\n\r\r\n"
                                                      "{\"Type\":\"Notif\nication\",\"a\":1}",
                                                      55))),
            400);
  EXPECT_TRUE(produced_.empty());
  EXPECT_EQ(StatusOf(Exchange(port(), "GET /healthz HTTP/1.1\r\n\r\n")), 200);
}

TEST_F(IngestServerTest, SharedSecretIsRequiredWhenConfigured) {
  IngestOptions options;
  options.secret_header = "x-fleetkeeper-token";
  options.secret = "s3cret";
  Start(options);
  EXPECT_EQ(StatusOf(Exchange(port(), Post("{}"))), 401);
  EXPECT_EQ(StatusOf(Exchange(port(), Post("{}", "X-Fleetkeeper-Token: wrong\r\n"))), 401);
  EXPECT_TRUE(produced_.empty());
  EXPECT_EQ(StatusOf(Exchange(port(), Post("{}", "X-Fleetkeeper-Token: s3cret\r\n"))), 200);
  EXPECT_EQ(produced_.size(), 1u);
}

TEST(IngestUrls, SubscribeUrlMustBeAnSnsEndpoint) {
  EXPECT_TRUE(ValidateSubscribeUrl(
                  "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&Token=1")
                  .ok());
  EXPECT_TRUE(ValidateSubscribeUrl("https://sns.cn-north-1.amazonaws.com.cn/?Action=x").ok());
  for (const char* bad : {"http://sns.us-west-2.amazonaws.com/?Action=x",
                          "https://sns.us-west-2.amazonaws.com.evil.example/",
                          "https://evil.example/?https://sns.us-west-2.amazonaws.com/",
                          "https://sns.us-west-2.amazonaws.com@evil.example/",
                          "https://sns.us-west-2.amazonaws.com:444/",
                          "https://sqs.us-west-2.amazonaws.com/", "https://sns..amazonaws.com/"}) {
    EXPECT_FALSE(ValidateSubscribeUrl(bad).ok()) << bad;
  }
}

TEST(IngestUrls, ListenAddressIsChecked) {
  auto v4 = ParseListenAddress("0.0.0.0:9000");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->port, 9000);
  auto v6 = ParseListenAddress("[::1]:0");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_FALSE(ParseListenAddress("127.0.0.1:99999").ok());
  EXPECT_FALSE(ParseListenAddress("127.0.0.1").ok());
  EXPECT_FALSE(ParseListenAddress("::1:80").ok());
}

}  // namespace
}  // namespace fleetkeeper::consumers::http
