// libFuzzer harness: the ingest HTTP server (consumers/http/ingest_server.h): cpp-httplib's request
// parser, chunked decoding and keep-alive as the ingest command configures them, and the request
// conversion and IngestHandler behind them. The parser reads from a socket, so the harness serves
// one IngestServer on a loopback port and sends each input as a whole connection, written and then
// half-closed so that the server reads to its end at once instead of waiting out its read timeout.
// cpp-httplib writes no answer to a peer that has shut down its side, so the requests are parsed
// and handled but mostly not answered: the harness is about what survives the parser, not the
// replies. The server and its threads run in this process, so libFuzzer sees their coverage (of
// the project's code; Debian's libcpp-httplib is not instrumented) and ASan their memory. The
// handler's sink records nothing and the network seams refuse, so nothing leaves the process.
// Seeds: the request.txt files of the SigV4 suite (HTTP requests) and the SNS HTTP fixtures.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "consumers/http/ingest_server.h"
#include "tests/fuzz/fuzz_support.h"

namespace http = fleetkeeper::consumers::http;
using fleetkeeper::Error;
using fleetkeeper::ErrorCode;

namespace {

// Never stopped: it serves until the fuzzer exits. Held by a static so that the leak check at
// exit sees it reachable.
http::IngestServer& Server() {
  static http::IngestServer* server = [] {
    static http::IngestHandler handler(
        {},
        [](const http::IngestRecord& record) -> fleetkeeper::Status {
          // Only a JSON object (EventBridge) or a verified SNS body is produced; neither is empty.
          FK_FUZZ_CHECK(!record.value.empty(), "an empty body produced");
          return fleetkeeper::Ok{};
        },
        [](const std::string&) -> fleetkeeper::Result<std::string> {
          return Error(ErrorCode::kUnavailable, "no network in the fuzzer");
        },
        [](const std::string&) -> fleetkeeper::Result<int> {
          return Error(ErrorCode::kUnavailable, "no network in the fuzzer");
        });
    http::IngestServerOptions options;
    options.listen = http::ListenAddress{"127.0.0.1", 0};
    options.max_body_bytes = 64 * 1024;
    // The input arrives at once and is half-closed: a request short of its body ends when the
    // peer's end is read, not when this passes.
    options.read_timeout_ms = 2000;
    options.threads = 4;
    auto started = http::IngestServer::Start(options, handler, "fuzz");
    FK_FUZZ_CHECK(started.ok(), "the ingest server did not start on loopback");
    return started->release();
  }();
  return *server;
}

}  // namespace

FK_FUZZ_QUIET_INIT

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int port = Server().port();
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  FK_FUZZ_CHECK(fd >= 0, "socket() failed");
  // Each input from another source address of 127/8: a connection the server closed first leaves
  // a TIME_WAIT on its 4-tuple, and at thousands of inputs a second one source address ran out of
  // ephemeral ports (connect() failed in smoke runs of 2026-12-07).
  static uint32_t inputs = 0;
  sockaddr_in source{};
  source.sin_family = AF_INET;
  source.sin_addr.s_addr = htonl(0x7F000000u | (1u + (++inputs % 0xFFFFFDu)));
  FK_FUZZ_CHECK(::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof(source)) == 0,
                "bind to a loopback source address failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  FK_FUZZ_CHECK(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0,
                "connect to the HTTP server failed");
  size_t sent = 0;
  while (sent < size) {
    const ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server answered early (413, 400) and closed
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string reply;
  char chunk[4096];
  for (ssize_t n; (n = ::recv(fd, chunk, sizeof(chunk), 0)) > 0;) reply.append(chunk, n);
  // Closed with a reset, so that no TIME_WAIT is left behind: at thousands of inputs a second the
  // loopback's ephemeral ports ran out and connect() failed (a smoke run of 2026-12-07).
  const linger reset{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  ::close(fd);
  // Whatever answer comes starts with an HTTP/1.1 status line.
  if (!reply.empty()) FK_FUZZ_CHECK(reply.rfind("HTTP/1.1 ", 0) == 0, "an answer without a status");
  return 0;
}
