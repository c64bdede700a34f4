#include "awsclient/http.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "awsclient/redact.h"
#include "common/callback.h"

namespace fleetkeeper::aws {
namespace {

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  HttpResponse* response;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  return InvokeCallback("curl write", size_t{0}, [&] {
    auto* transfer = static_cast<Transfer*>(user);
    transfer->response->body.append(data, size * count);
    return size * count;
  });
}

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  return InvokeCallback("curl header", size_t{0}, [&] {
    auto* transfer = static_cast<Transfer*>(user);
    std::string_view line(data, size * count);
    if (line.rfind("HTTP/", 0) == 0) {
      // A new status line (after 100-continue or a redirect): forget the previous headers.
      transfer->response->headers.clear();
    } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
      transfer->response->headers.emplace_back(Trim(line.substr(0, colon)),
                                               Trim(line.substr(colon + 1)));
    }
    return size * count;
  });
}

Error CurlError(CURLcode code, const char* detail, const HttpRequest& request) {
  std::string what = std::string(curl_easy_strerror(code));
  if (detail != nullptr && *detail != '\0') what += " (" + std::string(detail) + ")";
  const std::string message =
      Redact(request.method + " " + request.url.substr(0, request.url.find('?')) + ": " + what);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return Error(ErrorCode::kTimeout, message, /*retry=*/true);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return Error(ErrorCode::kNetwork, message, /*retry=*/true);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return Error(ErrorCode::kInvalidInput, message);
    default:
      // TLS verification failures and the like: retrying would not help.
      return Error(ErrorCode::kNetwork, message, /*retry=*/false);
  }
}

}  // namespace

HttpClient::HttpClient(HttpOptions options) : options_(std::move(options)) { GlobalInitOnce(); }

HttpClient::~HttpClient() = default;

CurlEasyPtr HttpClient::TakeHandle() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      CurlEasyPtr handle = std::move(idle_.back());
      idle_.pop_back();
      // Reset clears the options but keeps the handle's live connections and caches.
      curl_easy_reset(handle.get());
      return handle;
    }
  }
  return CurlEasyPtr(curl_easy_init());
}

void HttpClient::ReturnHandle(CurlEasyPtr handle) {
  std::lock_guard lock(mu_);
  if (options_.reuse_connections && idle_.size() < options_.max_idle_handles) {
    idle_.push_back(std::move(handle));
  }
}

Result<HttpResponse> HttpClient::Send(const HttpRequest& request) {
  CurlEasyPtr handle = TakeHandle();
  if (!handle) return Internal("curl_easy_init failed");
  CURL* curl = handle.get();

  HttpResponse response;
  Transfer transfer{&response};
  char error_buffer[CURL_ERROR_SIZE] = {0};

  CurlSlistPtr header_list;
  auto append_header = [&header_list](const std::string& line) {
    curl_slist* next = curl_slist_append(header_list.get(), line.c_str());
    if (next != nullptr) {
      (void)header_list.release();
      header_list.reset(next);
    }
  };
  for (const auto& [name, value] : request.headers) append_header(name + ": " + value);
  // libcurl would otherwise add headers that nobody signed or wants: Expect: 100-continue on
  // larger bodies (an extra round trip), Accept: */*.
  append_header("Expect:");
  append_header("Accept:");

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  // CloudTrail records it as the call's userAgent: who changed the fleet is visible there.
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "fleetkeeper");
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_bundle.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_bundle.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout_ms));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                   std::max(1L, static_cast<long>(options_.read_stall_ms / 1000)));
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  if (request.bypass_proxy) curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  if (!options_.reuse_connections) {
    curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);

  if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    // The body is sent from the caller's buffer unchanged: a retry sends the same bytes.
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    if (request.method != "POST") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
  }

  CURLcode code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &response.new_connections);
  if (code != CURLE_OK) {
    Error error = CurlError(code, error_buffer, request);
    // A handle whose transfer failed may hold a broken connection: do not pool it.
    return error;
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  ReturnHandle(std::move(handle));
  return response;
}

Result<UrlParts> ParseUrl(const std::string& url) {
  UrlParts parts;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    return InvalidInput("endpoint URL '" + url + "': no scheme (expected http:// or https://)");
  }
  parts.scheme = url.substr(0, scheme_end);
  std::transform(parts.scheme.begin(), parts.scheme.end(), parts.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (parts.scheme != "http" && parts.scheme != "https") {
    return InvalidInput("endpoint URL '" + url + "': scheme must be http or https");
  }
  size_t host_start = scheme_end + 3;
  size_t path_start = url.find_first_of("/?", host_start);
  std::string authority = url.substr(host_start, path_start - host_start);
  if (authority.empty()) return InvalidInput("endpoint URL '" + url + "': no host");
  if (authority.find('@') != std::string::npos) {
    return InvalidInput("endpoint URL: user information is not supported");
  }
  // Drop the scheme's default port: SigV4 signs Host as the client sends it, without it.
  size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
    std::string port = authority.substr(colon + 1);
    if ((parts.scheme == "https" && port == "443") || (parts.scheme == "http" && port == "80")) {
      authority.resize(colon);
    }
  }
  parts.authority = authority;
  if (path_start != std::string::npos) {
    std::string rest = url.substr(path_start);
    size_t q = rest.find('?');
    parts.path = rest.substr(0, q);
    if (parts.path.empty()) parts.path = "/";
    if (q != std::string::npos) parts.query = rest.substr(q + 1);
  }
  return parts;
}

}  // namespace fleetkeeper::aws
