// The HTTP/1.1 server of `fleetkeeper ingest`, on cpp-httplib: Content-Length and chunked bodies,
// keep-alive, IPv4 and IPv6 (listener.h). Every request goes to one IngestHandler; the limits
// below answer before it is called. No TLS: terminate it in a load balancer (docs/ingest.md).
#pragma once

#include <cstddef>
#include <memory>

#include "common/error.h"
#include "consumers/http/ingest_handler.h"
#include "consumers/http/listener.h"

namespace fleetkeeper::consumers::http {

struct IngestServerOptions {
  ListenAddress listen{"127.0.0.1", 8080};
  size_t max_body_bytes = 1024 * 1024;  // larger bodies (declared or chunked) are answered 413
  int read_timeout_ms = 10000;          // a request (or its body) stalled this long is answered 400
  int threads = 64;                     // connections served at once; more wait to be accepted
  int keep_alive_requests = 100;        // requests on one connection before it is closed
  int keep_alive_timeout_s = 5;         // an idle kept-alive connection is closed after this
};

class IngestServer {
 public:
  // Binds and serves on background threads; `handler` must outlive the server. An address that
  // cannot be bound is an error naming it and `what` (the option that gave it).
  static Result<std::unique_ptr<IngestServer>> Start(const IngestServerOptions& options,
                                                     IngestHandler& handler,
                                                     std::string_view what = "--listen");
  ~IngestServer();  // stops accepting and finishes the requests in progress

  int port() const { return server_->port(); }

 private:
  IngestServer() = default;
  std::unique_ptr<BoundServer> server_;
};

}  // namespace fleetkeeper::consumers::http
