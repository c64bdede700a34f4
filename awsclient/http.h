// The HTTP client under the AWS transport and the credential providers: libcurl, with a pool of
// easy handles so that connections (and TLS sessions) are reused across calls, connect and read
// timeouts, TLS peer and host verification always on, and the proxy environment variables
// (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) honoured by libcurl itself.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "awsclient/transport.h"
#include "common/error.h"
#include "common/raii_curl.h"

namespace fleetkeeper::aws {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;
  // Instance metadata and container endpoints are link-local or loopback; a proxy in between
  // would answer for the wrong host.
  bool bypass_proxy = false;
};

struct HttpResponse {
  int status = 0;
  Headers headers;
  std::string body;
  long new_connections = 0;  // connections libcurl opened for this call: 0 when one was reused
};

struct HttpOptions {
  int64_t connect_timeout_ms = 3'100;
  int64_t request_timeout_ms = 60'000;  // whole call, upload + download
  int64_t read_stall_ms = 20'000;       // fail when no byte arrives for this long
  bool reuse_connections = true;        // false only for benchmarks' baseline
  size_t max_idle_handles = 32;
  std::string ca_bundle;  // empty: the system store
};

// Thread-safe: concurrent Send() calls each take a handle from the pool.
class HttpClient {
 public:
  explicit HttpClient(HttpOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Any HTTP status is a successful Result; transport failures are Errors: kTimeout (retriable),
  // kNetwork (retriable when the request may be sent again: refused, reset, no answer),
  // kInvalidInput for a malformed URL.
  Result<HttpResponse> Send(const HttpRequest& request);

  const HttpOptions& options() const { return options_; }

 private:
  CurlEasyPtr TakeHandle();
  void ReturnHandle(CurlEasyPtr handle);

  const HttpOptions options_;
  std::mutex mu_;
  std::vector<CurlEasyPtr> idle_;
};

// The host[:port] authority of an http(s) URL, as the Host header and SigV4 need it (the port
// only when it is not the scheme's default), and the path and query. Fails naming the URL.
struct UrlParts {
  std::string scheme;
  std::string authority;
  std::string path = "/";
  std::string query;
};
Result<UrlParts> ParseUrl(const std::string& url);

}  // namespace fleetkeeper::aws
