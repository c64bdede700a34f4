// Where an HTTP server listens, and binding a cpp-httplib server there: the `ingest` endpoint and
// the worker's operator endpoint (app/observability) share it. "::" is dual stack: IPv4 clients
// reach it as mapped addresses, whatever the host's net.ipv6.bindv6only says; a host without IPv6
// falls back to every IPv4 address.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "common/error.h"

namespace httplib {
class Server;
}

namespace fleetkeeper::consumers::http {

struct ListenAddress {
  std::string host;  // "::" (every IPv6 and IPv4 address), "0.0.0.0", "127.0.0.1", "::1", a name
  int port = 0;      // 0: any free port
};

// "host:port", "[v6]:port" or ":port" (every address). Errors name what is wrong.
Result<ListenAddress> ParseListenAddress(std::string_view text);

// A cpp-httplib server bound to an address and serving on its own thread until destroyed.
class BoundServer {
 public:
  // Binds `server` (routes and limits already set) and starts serving. An address that cannot be
  // bound is an error that starts with `what` (the config key or option naming the address).
  static Result<std::unique_ptr<BoundServer>> Start(std::unique_ptr<httplib::Server> server,
                                                    const ListenAddress& at, std::string_view what);
  ~BoundServer();  // stops accepting, finishes the requests in progress
  BoundServer(const BoundServer&) = delete;
  BoundServer& operator=(const BoundServer&) = delete;

  int port() const { return port_; }

 private:
  BoundServer() = default;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace fleetkeeper::consumers::http
