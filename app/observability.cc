#include "app/observability.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <charconv>

#include <fmt/format.h>
#include <httplib.h>

namespace fleetkeeper::app {
namespace {

// Dual stack on "::": IPv4 clients reach it as mapped addresses, whatever the host's
// net.ipv6.bindv6only says. SO_REUSEADDR so that a restart does not wait out TIME_WAIT.
void SocketOptions(int fd) {
  int on = 1;
  int off = 0;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));  // fails harmlessly on IPv4
}

}  // namespace

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return InvalidInput(fmt::format("listen address \"{}\": {}", text, why));
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad("expected host:port, [v6]:port or :port");
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  int port = -1;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 0 ||
      port > 65535) {
    return bad("the port must be a number from 0 to 65535");
  }
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad("an IPv6 host is written [addr]");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return bad("write an IPv6 host in brackets, e.g. [::1]:9464");
  }
  return ListenAddress{host.empty() ? "::" : std::string(host), port};
}

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
  if (!health.restored.load()) return {503, "not ready: partitions not yet assigned and restored\n"};
  return {200, "ready\n"};
}

Result<std::unique_ptr<ObservabilityServer>> ObservabilityServer::Start(
    const ObservabilityOptions& options, const Clock& clock, const metrics::Health& health) {
  std::unique_ptr<ObservabilityServer> self(new ObservabilityServer());
  self->server_ = std::make_unique<httplib::Server>();
  httplib::Server& server = *self->server_;
  server.set_socket_options(SocketOptions);
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

  const ListenAddress& at = options.listen;
  int port = at.port == 0 ? server.bind_to_any_port(at.host)
                          : (server.bind_to_port(at.host, at.port) ? at.port : -1);
  if (port < 0 && at.host == "::") {
    // A host without IPv6: every IPv4 address instead.
    port = at.port == 0 ? server.bind_to_any_port("0.0.0.0")
                        : (server.bind_to_port("0.0.0.0", at.port) ? at.port : -1);
  }
  if (port < 0) {
    return Error{ErrorCode::kUnavailable,
                 fmt::format("observability.listen: cannot listen on {}:{} (in use, or not an "
                             "address of this host)",
                             at.host, at.port)};
  }
  self->port_ = port;
  auto ended = std::make_shared<std::atomic<bool>>(false);
  self->thread_ = std::thread([&server, ended] {
    server.listen_after_bind();
    *ended = true;
  });
  // stop() only stops a server that is running: wait until it is, so that a destructor right
  // after Start cannot miss it and join forever.
  while (!server.is_running() && !*ended) std::this_thread::yield();
  return self;
}

ObservabilityServer::~ObservabilityServer() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace fleetkeeper::app
