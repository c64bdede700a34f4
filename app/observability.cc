#include "app/observability.h"

#include <fmt/format.h>
#include <httplib.h>

namespace fleetkeeper::app {

std::pair<int, std::string> ObservabilityServer::Healthz(const metrics::Health& health,
                                                         int64_t now_ms, int64_t started_ms,
                                                         int64_t max_poll_interval_ms) {
  const int64_t last = health.last_poll_ms.load();
  const int64_t since = now_ms - (last > 0 ? last : started_ms);
  const int64_t limit = max_poll_interval_ms / 2;
  if (since > limit) {
    return {503, fmt::format("unhealthy: the poll loop has not turned for {} ms (limit {} ms, "
                             "half of max.poll.interval.ms)\n",
                             since, limit)};
  }
  return {200, "ok\n"};
}

std::pair<int, std::string> ObservabilityServer::Readyz(const metrics::Health& health) {
  if (health.fenced.load()) return {503, "not ready: the producer was fenced\n"};
  if (health.stopping.load()) return {503, "not ready: stopping\n"};
  if (health.brokers_down_since_ms.load() != 0) {
    return {503, "not ready: no Kafka broker answers\n"};
  }
  if (!health.restored.load())
    return {503, "not ready: partitions not yet assigned and restored\n"};
  return {200, "ready\n"};
}

Result<std::unique_ptr<ObservabilityServer>> ObservabilityServer::Start(
    const ObservabilityOptions& options, const Clock& clock, const metrics::Health& health) {
  std::unique_ptr<ObservabilityServer> self(new ObservabilityServer());
  auto owned = std::make_unique<httplib::Server>();
  httplib::Server& server = *owned;
  const int64_t started_ms = clock.MonotonicMs();
  const int64_t max_poll = options.max_poll_interval_ms;
  server.Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics::TextExposition(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get("/healthz", [&clock, &health, started_ms, max_poll](const httplib::Request&,
                                                                 httplib::Response& res) {
    auto [status, body] = Healthz(health, clock.MonotonicMs(), started_ms, max_poll);
    res.status = status;
    res.set_content(body, "text/plain; charset=utf-8");
  });
  server.Get("/readyz", [&health](const httplib::Request&, httplib::Response& res) {
    auto [status, body] = Readyz(health);
    metrics::Ready().Set(status == 200 ? 1 : 0);
    res.status = status;
    res.set_content(body, "text/plain; charset=utf-8");
  });

  auto bound =
      consumers::http::BoundServer::Start(std::move(owned), options.listen, "observability.listen");
  if (!bound.ok()) return std::move(bound).take_error();
  self->server_ = std::move(*bound);
  return self;
}

ObservabilityServer::~ObservabilityServer() = default;

}  // namespace fleetkeeper::app
