// The worker's operator listener (app/observability.h): address parsing, the probe rules, and the
// served endpoints over a real loopback socket.
#include "app/observability.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include "common/metrics.h"

namespace fleetkeeper::app {
namespace {

TEST(ParseListenAddress, AcceptsTheDocumentedForms) {
  auto any = ParseListenAddress(":9464");
  ASSERT_TRUE(any.ok()) << any.error().ToString();
  EXPECT_EQ(any->host, "::");
  EXPECT_EQ(any->port, 9464);
  auto v6 = ParseListenAddress("[::]:9464");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::");
  auto loop = ParseListenAddress("127.0.0.1:0");
  ASSERT_TRUE(loop.ok());
  EXPECT_EQ(loop->host, "127.0.0.1");
  EXPECT_EQ(loop->port, 0);
}

TEST(ParseListenAddress, NamesWhatIsWrong) {
  for (const char* bad : {"9464", "host:", "host:70000", "host:9x", "::1:9464", "[]:1"}) {
    auto r = ParseListenAddress(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find(bad), std::string::npos) << r.error().message;
  }
}

TEST(Healthz, AliveWhileThePollLoopTurnsWithinHalfTheInterval) {
  metrics::Health health;
  // No turn yet: measured from the start.
  EXPECT_EQ(ObservabilityServer::Healthz(health, 1000 + 150'000, 1000, 300'000).first, 200);
  EXPECT_EQ(ObservabilityServer::Healthz(health, 1000 + 150'001, 1000, 300'000).first, 503);
  health.last_poll_ms = 500'000;
  EXPECT_EQ(ObservabilityServer::Healthz(health, 600'000, 1000, 300'000).first, 200);
  auto stuck = ObservabilityServer::Healthz(health, 700'000, 1000, 300'000);
  EXPECT_EQ(stuck.first, 503);
  EXPECT_NE(stuck.second.find("200000 ms"), std::string::npos) << stuck.second;
}

TEST(Readyz, OnlyRestoredAndNotFencedIsReady) {
  metrics::Health health;
  EXPECT_EQ(ObservabilityServer::Readyz(health).first, 503);
  health.restored = true;
  EXPECT_EQ(ObservabilityServer::Readyz(health).first, 200);
  health.fenced = true;
  auto fenced = ObservabilityServer::Readyz(health);
  EXPECT_EQ(fenced.first, 503);
  EXPECT_NE(fenced.second.find("fenced"), std::string::npos);
  health.fenced = false;
  health.stopping = true;
  EXPECT_EQ(ObservabilityServer::Readyz(health).first, 503);
}

TEST(Readyz, NotReadyWhileNoBrokerAnswers) {
  metrics::Health health;
  health.restored = true;
  health.brokers_down_since_ms = 12345;
  auto down = ObservabilityServer::Readyz(health);
  EXPECT_EQ(down.first, 503);
  EXPECT_EQ(down.second, "not ready: no Kafka broker answers\n");
  health.brokers_down_since_ms = 0;
  EXPECT_EQ(ObservabilityServer::Readyz(health).first, 200);
}

TEST(ObservabilityServer, ServesMetricsAndProbesOnLoopback) {
  metrics::Health health;
  ManualClock clock;
  clock.Advance(10);
  auto server = ObservabilityServer::Start({ListenAddress{"127.0.0.1", 0}, 300'000}, clock, health);
  ASSERT_TRUE(server.ok()) << server.error().ToString();
  ASSERT_GT((*server)->port(), 0);
  metrics::RecordsIn("fleet.events", "SKIPPED").Increment(3);

  httplib::Client client("127.0.0.1", (*server)->port());
  auto m = client.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_NE(m->body.find("fleetkeeper_records_total{outcome=\"SKIPPED\",topic=\"fleet.events\"}"),
            std::string::npos)
      << m->body.substr(0, 2000);

  auto not_ready = client.Get("/readyz");
  ASSERT_TRUE(not_ready);
  EXPECT_EQ(not_ready->status, 503);
  health.restored = true;
  auto ready = client.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);

  auto alive = client.Get("/healthz");
  ASSERT_TRUE(alive);
  EXPECT_EQ(alive->status, 200);
  clock.Advance(150'001);
  auto stuck = client.Get("/healthz");
  ASSERT_TRUE(stuck);
  EXPECT_EQ(stuck->status, 503);

  auto other = client.Get("/nothing");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
}

TEST(ObservabilityServer, AnAddressInUseIsAnErrorNamingTheKey) {
  metrics::Health health;
  ManualClock clock;
  auto first = ObservabilityServer::Start({ListenAddress{"127.0.0.1", 0}, 300'000}, clock, health);
  ASSERT_TRUE(first.ok());
  auto second = ObservabilityServer::Start({ListenAddress{"127.0.0.1", (*first)->port()}, 300'000},
                                           clock, health);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("observability.listen"), std::string::npos);
}

}  // namespace
}  // namespace fleetkeeper::app
