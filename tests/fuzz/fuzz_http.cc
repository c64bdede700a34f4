// libFuzzer harness: the ingest HTTP request parser (app/http_server.cc). The parser is not a
// function of its own: HttpServer::Serve reads the request from the connection's socket and parses
// it in place. So the harness serves one HttpServer on a loopback port and sends each input as a
// whole connection (written, then half-closed), reading the answer to the end. The server and its
// connection threads run in this process, so libFuzzer sees their coverage and ASan their memory.
// Seeds: the request.txt files of the SigV4 suite (HTTP requests) and the SNS HTTP fixtures.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "app/http_server.h"
#include "tests/fuzz/fuzz_support.h"

namespace app = fleetkeeper::app;

namespace {

app::HttpServer& Server() {
  static app::HttpServer* server = [] {
    app::HttpServerOptions options;
    options.port = 0;
    options.max_header_bytes = 4096;
    options.max_body_bytes = 64 * 1024;
    // The input arrives at once and is half-closed; a request still short of its body by then
    // is answered 408 when the peer's end is read, not when this passes.
    options.request_timeout_ms = 2000;
    auto* s = new app::HttpServer(options, [](const app::HttpServerRequest& request) {
      // What the parser hands the ingest handler: a method, a target, and a body of the length
      // declared.
      FK_FUZZ_CHECK(!request.method.empty(), "a request without a method");
      FK_FUZZ_CHECK(!request.target.empty(), "a request without a target");
      const std::string length = request.Header("content-length");
      FK_FUZZ_CHECK(length.empty() || request.body.size() == std::stoull(length),
                    "a body of another length than Content-Length");
      return app::HttpServerReply{200, request.body, "application/octet-stream"};
    });
    FK_FUZZ_CHECK(s->Start().ok(), "the HTTP server did not start on loopback");
    return s;  // never stopped: it serves until the fuzzer exits
  }();
  return *server;
}

}  // namespace

FK_FUZZ_QUIET_INIT

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const uint16_t port = Server().port();
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  FK_FUZZ_CHECK(fd >= 0, "socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  FK_FUZZ_CHECK(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0,
                "connect to the HTTP server failed");
  size_t sent = 0;
  while (sent < size) {
    const ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server answered early (431, 413) and closed
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string reply;
  char chunk[4096];
  for (ssize_t n; (n = ::recv(fd, chunk, sizeof(chunk), 0)) > 0;) reply.append(chunk, n);
  ::close(fd);
  // Any answer is a whole HTTP/1.1 status line; no answer only for a request with no header end.
  if (!reply.empty()) FK_FUZZ_CHECK(reply.rfind("HTTP/1.1 ", 0) == 0, "an answer without a status");
  return 0;
}
