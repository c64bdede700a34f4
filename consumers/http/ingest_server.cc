#include "consumers/http/ingest_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <exception>

#include <httplib.h>

namespace fleetkeeper::consumers::http {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

void Reply(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "text/plain; charset=utf-8");
}

void Serve(IngestHandler& handler, const httplib::Request& req, std::string body,
           httplib::Response& res) {
  IngestRequest request;
  request.method = req.method;
  request.path = req.path;
  for (const auto& [name, value] : req.headers) request.headers[Lower(name)] = value;
  // cpp-httplib adds these for its own bookkeeping; they are not the sender's.
  for (const char* own : {"remote_addr", "remote_port", "local_addr", "local_port"}) {
    request.headers.erase(own);
  }
  request.body = std::move(body);
  IngestReply reply = handler.Handle(request);
  Reply(res, reply.status, reply.body);
}

// A request that may carry a body. cpp-httplib 0.11 bounds only Content-Length bodies by
// payload_max_length, so the body is read here, chunk by chunk, against the limit.
void ServeWithBody(IngestHandler& handler, size_t max_body, const httplib::Request& req,
                   httplib::Response& res, const httplib::ContentReader& content) {
  const std::string length = req.get_header_value("Content-Length");
  const bool chunked =
      Lower(req.get_header_value("Transfer-Encoding")).find("chunked") != std::string::npos;
  if (length.empty() && !chunked) return Serve(handler, req, "", res);  // 411 from the handler
  if (Lower(req.get_header_value("Content-Type")).rfind("multipart/", 0) == 0) {
    return Reply(res, 415, "multipart bodies are not accepted: send the event as JSON\n");
  }
  const std::string too_large = "body larger than " + std::to_string(max_body) + " bytes\n";
  if (!length.empty()) {
    if (length.size() > 19 || !std::all_of(length.begin(), length.end(),
                                           [](unsigned char c) { return std::isdigit(c); })) {
      return Reply(res, 400, "Content-Length: not a number\n");
    }
    if (std::stoull(length) > max_body) return Reply(res, 413, too_large);
  }
  std::string body;
  bool over = false;
  const bool read = content([&](const char* data, size_t n) {
    if (body.size() + n > max_body) {
      over = true;
      return false;
    }
    body.append(data, n);
    return true;
  });
  if (over) return Reply(res, 413, too_large);
  if (!read) return Reply(res, 400, "request body not received whole (timed out or malformed)\n");
  Serve(handler, req, std::move(body), res);
}

}  // namespace

Result<std::unique_ptr<IngestServer>> IngestServer::Start(const IngestServerOptions& options,
                                                          IngestHandler& handler,
                                                          std::string_view what) {
  auto server = std::make_unique<httplib::Server>();
  server->set_payload_max_length(options.max_body_bytes);
  server->set_read_timeout(options.read_timeout_ms / 1000, (options.read_timeout_ms % 1000) * 1000);
  server->set_keep_alive_timeout(std::max(options.keep_alive_timeout_s, 1));
  server->set_keep_alive_max_count(static_cast<size_t>(std::max(options.keep_alive_requests, 1)));
  const size_t threads = static_cast<size_t>(std::max(options.threads, 1));
  server->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // The handler does not throw; should it, the sender gets a plain 500 and nothing of the why.
  server->set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          spdlog::error("ingest: handler failed on {} {}: {}", req.method, req.path, e.what());
        } catch (...) {
          spdlog::error("ingest: handler failed on {} {}", req.method, req.path);
        }
        res.status = 500;
        res.set_content("internal error\n", "text/plain; charset=utf-8");
      });
  auto serve = [&handler](const httplib::Request& req, httplib::Response& res) {
    Serve(handler, req, "", res);
  };
  auto serve_body = [&handler, max = options.max_body_bytes](
                        const httplib::Request& req, httplib::Response& res,
                        const httplib::ContentReader& content) {
    ServeWithBody(handler, max, req, res, content);
  };
  // Every path and method reaches the handler, which answers 404/405 itself (HEAD is served as
  // GET by cpp-httplib).
  server->Get(".*", serve);
  server->Options(".*", serve);
  server->Post(".*", serve_body);
  server->Put(".*", serve_body);
  server->Patch(".*", serve_body);
  server->Delete(".*", serve_body);

  auto bound = BoundServer::Start(std::move(server), options.listen, what);
  if (!bound.ok()) return std::move(bound).take_error();
  std::unique_ptr<IngestServer> self(new IngestServer());
  self->server_ = std::move(*bound);
  return self;
}

IngestServer::~IngestServer() = default;

}  // namespace fleetkeeper::consumers::http
