// A small HTTP/1.1 server on POSIX sockets for `fleetkeeper ingest`: one request per connection
// (the reply says Connection: close), Content-Length bodies only, bounded header and body sizes,
// a deadline per request, and a cap on concurrent connections. Bad input gets a 4xx reply, never
// a crash. Not a general web server: no TLS (terminate it in a load balancer), no chunked bodies.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "common/error.h"

namespace fleetkeeper::app {

struct HttpServerRequest {
  std::string method;
  std::string target;                          // path and query as sent
  std::map<std::string, std::string> headers;  // names lower-cased; a repeated name keeps the last
  std::string body;

  // The header's value, or empty.
  std::string Header(const std::string& lower_name) const;
};

struct HttpServerReply {
  int status = 200;
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // IPv4 address to bind
  uint16_t port = 8080;            // 0: any free port (see HttpServer::port())
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1024 * 1024;
  int request_timeout_ms = 10000;  // from accept to the whole request read
  int max_connections = 64;        // beyond this, new connections get 503 at once
};

// "127.0.0.1:8080" -> host and port; errors name the bad part.
Status ParseListenAddress(const std::string& text, HttpServerOptions& options);

class HttpServer {
 public:
  // Called on a connection thread, possibly concurrently; must not throw (a throw is answered 500).
  using Handler = std::function<HttpServerReply(const HttpServerRequest&)>;

  HttpServer(HttpServerOptions options, Handler handler);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting on a background thread.
  Status Start();
  // The bound port (the chosen one when options.port was 0).
  uint16_t port() const { return port_; }
  // Stops accepting and waits for requests in progress. Idempotent.
  void Stop();

 private:
  void AcceptLoop();
  void Serve(int fd);

  const HttpServerOptions options_;
  const Handler handler_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> active_{0};
  std::thread acceptor_;  // connection threads are detached; active_ counts them
};

const char* HttpReason(int status);

}  // namespace fleetkeeper::app
