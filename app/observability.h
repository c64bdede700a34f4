// The worker's HTTP listener for operators (DESIGN.md "Configuration": observability.listen):
//   /metrics  Prometheus text (common/metrics.h; names in docs/operations.md)
//   /healthz  200 while the poll loop has turned within max.poll.interval.ms / 2, else 503
//   /readyz   200 once partitions are assigned and restored and the producer is not fenced
// Served by cpp-httplib on its own threads; it reads atomics and the metrics registry only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/error.h"
#include "common/metrics.h"
#include "consumers/http/listener.h"

namespace fleetkeeper::app {

inline constexpr std::string_view kDefaultObservabilityListen = "[::]:9464";

using consumers::http::ListenAddress;
using consumers::http::ParseListenAddress;

struct ObservabilityOptions {
  ListenAddress listen;
  int64_t max_poll_interval_ms = 300000;  // the consumer's max.poll.interval.ms
};

class ObservabilityServer {
 public:
  // Binds and starts serving; an address that cannot be bound is an error naming it.
  static Result<std::unique_ptr<ObservabilityServer>> Start(const ObservabilityOptions& options,
                                                            const Clock& clock,
                                                            const metrics::Health& health);
  ~ObservabilityServer();
  ObservabilityServer(const ObservabilityServer&) = delete;
  ObservabilityServer& operator=(const ObservabilityServer&) = delete;

  int port() const { return server_->port(); }

  // The answers, for tests without a socket: {status, body}.
  static std::pair<int, std::string> Healthz(const metrics::Health& health, int64_t now_ms,
                                             int64_t started_ms, int64_t max_poll_interval_ms);
  static std::pair<int, std::string> Readyz(const metrics::Health& health);

 private:
  ObservabilityServer() = default;

  std::unique_ptr<consumers::http::BoundServer> server_;
};

}  // namespace fleetkeeper::app
