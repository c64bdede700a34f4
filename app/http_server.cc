#include "app/http_server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>

namespace fleetkeeper::app {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Reads into `buf` until `more` is false, the peer closes, or the deadline passes.
// Returns false on timeout or error.
template <typename More>
bool ReadUntil(int fd, std::string& buf, int64_t deadline_ms, More more) {
  char chunk[8192];
  while (more()) {
    int64_t left = deadline_ms - NowMs();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (r < 0 && errno != EINTR) return false;
    if (r <= 0) continue;
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buf.append(chunk, static_cast<size_t>(n));
  }
  return true;
}

void SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

void Reply(int fd, const HttpServerReply& reply) {
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
      reply.status, HttpReason(reply.status), reply.content_type, reply.body.size());
  out += reply.body;
  SendAll(fd, out);
}

HttpServerReply Plain(int status, std::string body) {
  HttpServerReply r;
  r.status = status;
  r.body = std::move(body) + "\n";
  return r;
}

}  // namespace

std::string HttpServerRequest::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

const char* HttpReason(int status) {
  switch (status) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

Status ParseListenAddress(const std::string& text, HttpServerOptions& options) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    return InvalidInput("--listen '" + text + "': expected HOST:PORT, e.g. 127.0.0.1:8080");
  }
  std::string host = text.substr(0, colon);
  std::string port = text.substr(colon + 1);
  in_addr addr{};
  if (host.empty() || ::inet_pton(AF_INET, host.c_str(), &addr) != 1) {
    return InvalidInput("--listen '" + text + "': '" + host + "' is not an IPv4 address");
  }
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); }) ||
      std::stoi(port) > 65535) {
    return InvalidInput("--listen '" + text + "': '" + port + "' is not a port number");
  }
  options.host = host;
  options.port = static_cast<uint16_t>(std::stoi(port));
  return Ok{};
}

HttpServer::HttpServer(HttpServerOptions options, Handler handler)
    : options_(std::move(options)), handler_(std::move(handler)) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(options_.port);
  if (::inet_pton(AF_INET, options_.host.c_str(), &addr.sin_addr) != 1) {
    return InvalidInput("listen host '" + options_.host + "' is not an IPv4 address");
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return Error(ErrorCode::kNetwork, "socket: " + std::string(strerror(errno)));
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listen_fd_, 128) != 0) {
    std::string why = strerror(errno);
    ::close(listen_fd_);
    listen_fd_ = -1;
    return Error(ErrorCode::kNetwork,
                 fmt::format("cannot listen on {}:{}: {}", options_.host, options_.port, why));
  }
  socklen_t len = sizeof(addr);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
  return Ok{};
}

void HttpServer::Stop() {
  if (stopping_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
  // Requests in progress finish within request_timeout_ms plus the handler's own time.
  while (active_.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

void HttpServer::AcceptLoop() {
  while (!stopping_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    if (active_.load() >= options_.max_connections) {
      Reply(fd, Plain(503, "too many connections"));
      ::close(fd);
      continue;
    }
    active_.fetch_add(1);
    std::thread([this, fd] {
      Serve(fd);
      ::close(fd);
      active_.fetch_sub(1);
    }).detach();
  }
}

void HttpServer::Serve(int fd) {
  const int64_t deadline = NowMs() + options_.request_timeout_ms;
  std::string buf;
  size_t header_end = std::string::npos;
  bool complete = ReadUntil(fd, buf, deadline, [&] {
    header_end = buf.find("\r\n\r\n");
    return header_end == std::string::npos && buf.size() <= options_.max_header_bytes;
  });
  if (header_end == std::string::npos) {
    if (buf.size() > options_.max_header_bytes) {
      Reply(fd, Plain(431, "request headers larger than " +
                               std::to_string(options_.max_header_bytes) + " bytes"));
    } else if (!complete && !buf.empty()) {
      Reply(fd, Plain(408, "request not received in time"));
    }
    return;
  }
  HttpServerRequest req;
  size_t line_end = buf.find("\r\n");
  std::string request_line = buf.substr(0, line_end);
  size_t sp1 = request_line.find(' ');
  size_t sp2 = request_line.rfind(' ');
  // METHOD SP TARGET SP HTTP/x.y, neither the method nor the target empty.
  if (sp1 == std::string::npos || sp1 == 0 || sp2 <= sp1 + 1 ||
      request_line.compare(sp2 + 1, 5, "HTTP/") != 0) {
    Reply(fd, Plain(400, "malformed request line"));
    return;
  }
  req.method = request_line.substr(0, sp1);
  req.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  size_t pos = line_end + 2;
  while (pos < header_end) {
    size_t eol = buf.find("\r\n", pos);
    std::string line = buf.substr(pos, eol - pos);
    pos = eol + 2;
    size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0) {
      Reply(fd, Plain(400, "malformed header line"));
      return;
    }
    req.headers[Lower(Trim(line.substr(0, colon)))] = Trim(line.substr(colon + 1));
  }
  if (!req.Header("transfer-encoding").empty()) {
    Reply(fd, Plain(411, "chunked bodies are not accepted: send Content-Length"));
    return;
  }
  size_t length = 0;
  const std::string cl = req.Header("content-length");
  if (!cl.empty()) {
    if (cl.size() > 12 ||
        !std::all_of(cl.begin(), cl.end(), [](unsigned char c) { return std::isdigit(c); })) {
      Reply(fd, Plain(400, "Content-Length: not a number"));
      return;
    }
    length = std::stoull(cl);
  } else if (req.method == "POST" || req.method == "PUT") {
    Reply(fd, Plain(411, "Content-Length required"));
    return;
  }
  if (length > options_.max_body_bytes) {
    Reply(fd, Plain(413, "body larger than " + std::to_string(options_.max_body_bytes) +
                             " bytes"));
    return;
  }
  const size_t body_start = header_end + 4;
  if (!ReadUntil(fd, buf, deadline, [&] { return buf.size() - body_start < length; })) {
    Reply(fd, Plain(408, "request body not received in time"));
    return;
  }
  req.body = buf.substr(body_start, length);
  HttpServerReply reply;
  try {
    reply = handler_(req);
  } catch (const std::exception& e) {
    spdlog::error("http: handler failed on {} {}: {}", req.method, req.target, e.what());
    reply = Plain(500, "internal error");
  }
  Reply(fd, reply);
}

}  // namespace fleetkeeper::app
