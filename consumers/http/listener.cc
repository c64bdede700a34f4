#include "consumers/http/listener.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>

#include <fmt/format.h>
#include <httplib.h>

namespace fleetkeeper::consumers::http {
namespace {

// SO_REUSEADDR so that a restart does not wait out TIME_WAIT; IPV6_V6ONLY off for dual stack
// (it fails harmlessly on an IPv4 socket).
void SocketOptions(int fd) {
  int on = 1;
  int off = 0;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
}

int Bind(httplib::Server& server, const std::string& host, int port) {
  if (port == 0) return server.bind_to_any_port(host);
  return server.bind_to_port(host, port) ? port : -1;
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
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 0 || port > 65535) {
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

Result<std::unique_ptr<BoundServer>> BoundServer::Start(std::unique_ptr<httplib::Server> server,
                                                        const ListenAddress& at,
                                                        std::string_view what) {
  std::unique_ptr<BoundServer> self(new BoundServer());
  server->set_socket_options(SocketOptions);
  int port = Bind(*server, at.host, at.port);
  if (port < 0 && at.host == "::") port = Bind(*server, "0.0.0.0", at.port);  // no IPv6 here
  if (port < 0) {
    return Error{ErrorCode::kUnavailable,
                 fmt::format("{}: cannot listen on {}:{} (in use, or not an address of this host)",
                             what, at.host, at.port)};
  }
  self->server_ = std::move(server);
  self->port_ = port;
  httplib::Server& s = *self->server_;
  auto ended = std::make_shared<std::atomic<bool>>(false);
  self->thread_ = std::thread([&s, ended] {
    s.listen_after_bind();
    *ended = true;
  });
  // stop() only stops a server that is running: wait until it is, so that a destructor right
  // after Start cannot miss it and join forever.
  while (!s.is_running() && !*ended) std::this_thread::yield();
  return self;
}

BoundServer::~BoundServer() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace fleetkeeper::consumers::http
