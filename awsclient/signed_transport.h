// The Transport the service clients call: endpoint resolution, SigV4 with the current
// credentials, the standard retry loop with its quota, the adaptive rate limiter, clock-skew
// correction, request ids and redacted debug logging.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "awsclient/credentials.h"
#include "awsclient/endpoints.h"
#include "awsclient/http.h"
#include "awsclient/retry.h"
#include "awsclient/transport.h"
#include "common/clock.h"

namespace fleetkeeper::aws {

struct TransportOptions {
  std::string region;
  EndpointConfig endpoints;  // the profile's endpoint_url / services section
  RetryConfig retry;
  std::shared_ptr<HttpClient> http;              // null: a private client
  std::shared_ptr<RetryQuota> quota;             // null: a private quota of retry.quota_capacity
  std::shared_ptr<AdaptiveRateLimiter> limiter;  // null: a private one in adaptive mode
  const Clock* clock = &SystemClock::Instance();
  Sleeper* sleeper = &RealSleeper::Instance();
  RandomSource random;  // null: DefaultRandom()
  // Beyond this difference between our clock and the server's Date header, a signature error is
  // taken for clock skew: the offset is corrected and the call re-signed.
  int64_t skew_threshold_ms = 4 * 60 * 1000;
};

class SignedTransport final : public Transport {
 public:
  SignedTransport(CredentialsProviderPtr credentials, TransportOptions options);

  // The request body is sent byte for byte as given on every attempt: idempotency tokens the
  // service layer put in it are never regenerated. An ExpiredToken answer invalidates the
  // credentials provider's cache and is retried once with fresh credentials, outside the retry
  // quota.
  Result<ServiceResponse> Call(const ServiceRequest& request) override;
  const std::string& region() const override { return options_.region; }

  // Server time minus ours, as learned from clock-skew answers; added to the signing time.
  int64_t clock_offset_ms() const { return clock_offset_ms_.load(); }
  const RetryQuota& quota() const { return *options_.quota; }
  const AdaptiveRateLimiter* limiter() const { return options_.limiter.get(); }

 private:
  // Call without its metrics: every attempt, retry and backoff.
  Result<ServiceResponse> Attempts(const ServiceRequest& request);
  Result<Endpoint> EndpointFor(const std::string& service);
  // True when `error` looks like clock skew; then the offset has been corrected.
  bool CorrectClockSkew(const Error& error, const Headers& headers);

  CredentialsProviderPtr credentials_;
  TransportOptions options_;
  std::atomic<int64_t> clock_offset_ms_{0};
  std::mutex endpoints_mu_;
  std::map<std::string, Endpoint> endpoints_;
};

// Parses an HTTP Date header (RFC 1123, "Sun, 06 Nov 1994 08:49:37 GMT"); -1 when unreadable.
int64_t ParseHttpDateMs(const std::string& text);

}  // namespace fleetkeeper::aws
