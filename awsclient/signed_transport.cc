#include "awsclient/signed_transport.h"

#include <spdlog/spdlog.h>

#include <ctime>

#include "awsclient/aws_error.h"
#include "awsclient/redact.h"
#include "awsclient/sigv4.h"
#include "common/metrics.h"

namespace fleetkeeper::aws {
namespace {

std::string DescribeHeaders(const Headers& headers) {
  std::string out;
  for (const auto& [k, v] : headers) out += k + ": " + v + "\n";
  return Redact(out);
}

}  // namespace

int64_t ParseHttpDateMs(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
  if (end == nullptr) return -1;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

SignedTransport::SignedTransport(CredentialsProviderPtr credentials, TransportOptions options)
    : credentials_(std::move(credentials)), options_(std::move(options)) {
  if (!options_.http) options_.http = std::make_shared<HttpClient>();
  if (!options_.quota) options_.quota = std::make_shared<RetryQuota>(options_.retry.quota_capacity);
  if (!options_.limiter && options_.retry.mode == RetryMode::kAdaptive) {
    options_.limiter = std::make_shared<AdaptiveRateLimiter>(*options_.clock, *options_.sleeper);
  }
  if (!options_.random) options_.random = DefaultRandom();
}

Result<Endpoint> SignedTransport::EndpointFor(const std::string& service) {
  std::lock_guard lock(endpoints_mu_);
  if (auto it = endpoints_.find(service); it != endpoints_.end()) return it->second;
  auto endpoint = ResolveEndpoint(service, options_.region, options_.endpoints);
  if (endpoint.ok()) endpoints_.emplace(service, *endpoint);
  return endpoint;
}

bool SignedTransport::CorrectClockSkew(const Error& error, const Headers& headers) {
  const bool certain = IsClockSkewCode(error.aws_code);
  if (!certain && !IsPossibleClockSkewCode(error.aws_code)) return false;
  const int64_t server_ms = ParseHttpDateMs(FindHeader(headers, "Date"));
  if (server_ms < 0) return false;  // nothing to correct with
  const int64_t skew = server_ms - options_.clock->NowMs();
  const int64_t current = clock_offset_ms_.load();
  if (!certain && std::llabs(skew - current) < options_.skew_threshold_ms) return false;
  clock_offset_ms_.store(skew);
  spdlog::warn("aws: clock skew of {} ms against the {} answer; re-signing with server time", skew,
               error.aws_code);
  return true;
}

namespace {

// The outcome label of fleetkeeper_aws_calls_total: "ok", or the error's class with spaces as
// underscores ("not_found", "throttled").
std::string OutcomeLabel(const Result<ServiceResponse>& result) {
  if (result.ok()) return "ok";
  std::string label = ToString(result.error().code);
  for (char& c : label) {
    if (c == ' ') c = '_';
  }
  return label;
}

}  // namespace

Result<ServiceResponse> SignedTransport::Call(const ServiceRequest& request) {
  auto result = Attempts(request);
  metrics::AwsCalls(request.service, request.operation, OutcomeLabel(result)).Increment();
  metrics::AwsRetryQuota(request.service).Set(options_.quota->available());
  if (options_.limiter) {
    metrics::AwsAdaptiveRate(request.service)
        .Set(options_.limiter->enabled() ? options_.limiter->fill_rate() : 0.0);
  }
  return result;
}

Result<ServiceResponse> SignedTransport::Attempts(const ServiceRequest& request) {
  const std::string what = request.service + " " + request.operation;
  auto named = [&what](Error e) {
    e.message = what + ": " + e.message;
    return e;
  };
  auto endpoint = EndpointFor(request.service);
  if (!endpoint.ok()) return named(endpoint.error());
  auto url = ParseUrl(endpoint->url);
  if (!url.ok()) {
    // The endpoint URL is the worker's configuration (AWS_ENDPOINT_URL*), never the input's: a
    // bad one must not read as a verdict on what the call named.
    Error e = named(url.error());
    if (e.code == ErrorCode::kInvalidInput) e.code = ErrorCode::kInternal;
    return e;
  }
  if (request.path.empty() || request.path.front() != '/') {
    return InvalidInput(what + ": request path must start with '/', got '" + request.path + "'");
  }
  // An endpoint with a base path (a proxy's prefix) keeps it in front of the request path.
  const std::string path = url->path == "/" ? request.path : url->path + request.path;
  const std::string base =
      endpoint->url.substr(0, endpoint->url.size() - (url->path == "/" ? 0 : url->path.size()));

  HttpRequest http;
  http.method = request.method;
  http.url = base + path;
  http.body = request.body;  // the same bytes on every attempt

  int retry_cost = 0;
  bool credentials_refreshed = false;
  const int max_attempts = std::max(1, options_.retry.max_attempts);
  for (int attempt = 1;; ++attempt) {
    if (options_.limiter) options_.limiter->Acquire();

    auto credentials = credentials_->Resolve();
    if (!credentials.ok()) {
      // A source that is not configured or is misconfigured (kNotFound, kInvalidInput...) must
      // not reach the caller as a verdict on the request: the call was never made.
      Error e = credentials.error();
      if (!IsTransientFailure(e)) e.code = ErrorCode::kUnauthorized;
      e.message = what + ": credentials: " + e.message;
      return e;
    }
    http.headers = request.headers;
    http.headers.emplace_back("Host", url->authority);
    SignableRequest signable{request.method, path, "", http.headers, request.body};
    SigningParams params{endpoint->signing_region, endpoint->signing_name,
                         options_.clock->NowMs() + clock_offset_ms_.load()};
    auto signature = SignRequest(signable, *credentials, params);
    if (!signature.ok()) {
      // Unsigned, the call cannot be made: whatever the reason, it is not the input's fault.
      Error e = named(signature.error());
      e.code = ErrorCode::kUnauthorized;
      return e;
    }
    for (const auto& h : signature->added_headers) http.headers.push_back(h);

    if (spdlog::should_log(spdlog::level::debug)) {
      spdlog::debug("aws: {} attempt {} {} {}\n{}", what, attempt, http.method, Redact(http.url),
                    DescribeHeaders(http.headers));
    }
    auto response = options_.http->Send(http);

    Error error;
    bool after_timeout = false;
    Headers answer_headers;
    if (!response.ok()) {
      error = response.error();
      error.message = what + ": " + Redact(error.message);
      after_timeout = error.code == ErrorCode::kTimeout;
    } else if (response->status / 100 == 2) {
      if (options_.limiter) options_.limiter->RecordResponse(false);
      options_.quota->RecordSuccess(retry_cost);
      ServiceResponse out;
      out.status = response->status;
      out.request_id = ExtractRequestId(response->headers, response->body);
      out.headers = std::move(response->headers);
      out.body = std::move(response->body);
      out.attempts = attempt;
      spdlog::debug("aws: {} -> HTTP {} request id {} after {} attempt(s)", what, out.status,
                    out.request_id, attempt);
      return out;
    } else {
      error = ParseAwsError(request.protocol, response->status, response->headers, response->body,
                            what);
      answer_headers = response->headers;
      if (options_.limiter) options_.limiter->RecordResponse(error.code == ErrorCode::kThrottled);
      if (CorrectClockSkew(error, answer_headers)) error.retriable = true;
    }
    spdlog::debug("aws: {} attempt {} failed: {}", what, attempt, Redact(error.ToString()));

    // Cached credentials that AWS calls expired (an early revocation, a cache that trusted a
    // wrong Expiration): fetch fresh ones and try once more, at no cost to the retry quota.
    if (IsExpiredTokenCode(error.aws_code) && !credentials_refreshed) {
      credentials_refreshed = true;
      spdlog::info("aws: {}: {}; refreshing the credentials and retrying once", what,
                   error.aws_code);
      credentials_->Invalidate();
      continue;
    }
    if (!error.retriable) return error;
    if (attempt >= max_attempts) {
      error.message += " (gave up after " + std::to_string(attempt) + " attempts)";
      return error;
    }
    auto cost = options_.quota->AcquireForRetry(after_timeout);
    if (!cost) {
      error.message += " (not retried: the client's retry quota is exhausted)";
      return error;
    }
    retry_cost += *cost;
    metrics::AwsRetries(request.service).Increment();
    options_.sleeper->SleepMs(BackoffMs(options_.retry, attempt, options_.random()));
  }
}

}  // namespace fleetkeeper::aws
