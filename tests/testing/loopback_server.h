// A tiny threaded HTTP/1.1 server on 127.0.0.1, port 0, for every test that needs an HTTP peer:
// it plays IMDSv2, the ECS credentials endpoint, STS, the AWS services, and the outside world of
// the test-only effect handler. Keep-alive is supported so that
// connection reuse is observable; a reply can be delayed, or dropped by closing the connection
// after the request was read (the "answer lost" case of the idempotency tests).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "awsclient/transport.h"

namespace fleetkeeper::aws::testing {

struct LoopbackRequest {
  std::string method;
  std::string target;  // path and query
  Headers headers;
  std::string body;
  int connection = 0;  // which accepted connection carried it (1-based)

  std::string Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k.size() == name.size() &&
          std::equal(k.begin(), k.end(), name.begin(),
                     [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
        return v;
      }
    }
    return {};
  }
};

struct LoopbackReply {
  int status = 200;
  Headers headers;
  std::string body;
  int delay_ms = 0;
  bool drop = false;  // close the connection without answering
};

class LoopbackServer {
 public:
  using Handler = std::function<LoopbackReply(const LoopbackRequest&)>;

  explicit LoopbackServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::listen(listen_fd_, 64);
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~LoopbackServer() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    acceptor_.join();
    {
      std::lock_guard lock(mu_);
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : workers_) t.join();
  }

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }
  std::vector<LoopbackRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  size_t request_count() const {
    std::lock_guard lock(mu_);
    return requests_.size();
  }

 private:
  void AcceptLoop() {
    while (!stopping_) {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) {
        if (stopping_) return;
        continue;
      }
      int id = ++connections_;
      std::lock_guard lock(mu_);
      open_fds_.push_back(fd);
      workers_.emplace_back([this, fd, id] { Serve(fd, id); });
    }
  }

  // Reads one request from `buffer` + the socket; false when the peer closed.
  static bool ReadRequest(int fd, std::string& buffer, LoopbackRequest& out) {
    size_t head_end;
    while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!ReadMore(fd, buffer)) return false;
    }
    std::string head = buffer.substr(0, head_end);
    size_t line_end = head.find("\r\n");
    std::string request_line = head.substr(0, line_end);
    size_t sp1 = request_line.find(' ');
    size_t sp2 = request_line.rfind(' ');
    out.method = request_line.substr(0, sp1);
    out.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t next = head.find("\r\n", pos);
      if (next == std::string::npos) next = head.size();
      std::string line = head.substr(pos, next - pos);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        size_t v = line.find_first_not_of(' ', colon + 1);
        out.headers.emplace_back(line.substr(0, colon),
                                 v == std::string::npos ? "" : line.substr(v));
      }
      pos = next + 2;
    }
    size_t length = 0;
    std::string cl = out.Header("Content-Length");
    if (!cl.empty()) length = std::stoul(cl);
    buffer.erase(0, head_end + 4);
    while (buffer.size() < length) {
      if (!ReadMore(fd, buffer)) return false;
    }
    out.body = buffer.substr(0, length);
    buffer.erase(0, length);
    return true;
  }

  static bool ReadMore(int fd, std::string& buffer) {
    char chunk[8192];
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
    return true;
  }

  void Serve(int fd, int id) {
    std::string buffer;
    while (!stopping_) {
      LoopbackRequest request;
      request.connection = id;
      if (!ReadRequest(fd, buffer, request)) break;
      {
        std::lock_guard lock(mu_);
        requests_.push_back(request);
      }
      LoopbackReply reply = handler_(request);
      if (reply.delay_ms > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(reply.delay_ms));
      }
      if (reply.drop) break;
      std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " X\r\n";
      bool has_length = false;
      for (const auto& [k, v] : reply.headers) {
        out += k + ": " + v + "\r\n";
        if (k == "Content-Length") has_length = true;
      }
      if (!has_length) out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
      out += "\r\n" + reply.body;
      size_t sent = 0;
      while (sent < out.size()) {
        ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
    }
    {
      std::lock_guard lock(mu_);
      open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
    }
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<std::thread> workers_;
  std::vector<int> open_fds_;
  std::vector<LoopbackRequest> requests_;
};

}  // namespace fleetkeeper::aws::testing
