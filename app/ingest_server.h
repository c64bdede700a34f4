// `fleetkeeper ingest` (DESIGN.md "Data flow", "Commands"): the HTTP endpoint that EventBridge API
// destinations and SNS HTTPS subscriptions deliver to, producing each accepted body, as it is, to
// the events topic (the first input topic). See docs/ingest.md.
//
//   GET  /healthz                         200 "ok"
//   POST with x-amz-sns-message-type      SNS: the signature is verified first (consumers/
//                                         sns_signature.h); SubscriptionConfirmation -> GET its
//                                         SubscribeURL; Notification -> produced;
//                                         UnsubscribeConfirmation -> acknowledged, not produced
//   POST anything else                    an EventBridge event (a JSON object) -> produced
//
// Replies: 200 produced (acknowledged by the broker) or confirmed; 400 malformed; 401 missing or
// wrong shared secret; 403 bad signature, forbidden certificate or SubscribeURL, or a topic not
// allowed; 503 Kafka did not take the record (the sender retries); 502 the certificate or the
// SubscribeURL could not be fetched.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/http_server.h"
#include "common/error.h"

namespace fleetkeeper::app {

struct IngestOptions {
  // EventBridge: when both are set, a POST without SNS headers must carry this header with this
  // value (an API destination connection's API-key authorization). Compared in constant time.
  std::string secret_header;  // lower-case name, e.g. "x-fleetkeeper-token"
  std::string secret;
  // SNS: when non-empty, only these topic ARNs are accepted (signatures only prove a message came
  // from SNS, not from which topic).
  std::set<std::string> sns_topic_arns;
  // SNS: a directory of signing certificates named as the last path segment of their
  // SigningCertURL, consulted before fetching (hosts without outbound HTTPS to SNS). Empty: none.
  std::string sns_certificate_dir;
};

// The seams, so that tests run without the network or a broker:
// the PEM at a SigningCertURL (already checked by ValidateSigningCertUrl);
using CertificateFetcher = std::function<Result<std::string>(const std::string& url)>;
// GET a SubscribeURL (already checked); returns the HTTP status;
using UrlVisitor = std::function<Result<int>(const std::string& url)>;
// produce one record to the events topic and wait for its acknowledgement; kUnavailable or
// kTimeout -> 503.
struct IngestRecord {
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};
using RecordSink = std::function<Status(const IngestRecord& record)>;

// Accepts only https://sns.<region>.amazonaws.com[.cn]/... with no port or credentials: a forged
// confirmation could otherwise make us GET any URL.
Status ValidateSubscribeUrl(const std::string& url);

// The request handler behind the server. Thread-safe: certificates are cached by URL.
class IngestHandler {
 public:
  IngestHandler(IngestOptions options, RecordSink sink, CertificateFetcher fetch_certificate,
                UrlVisitor visit);

  HttpServerReply Handle(const HttpServerRequest& request);

  size_t cached_certificates() const;

 private:
  HttpServerReply HandleSns(const HttpServerRequest& request, const std::string& type);
  HttpServerReply HandleEventBridge(const HttpServerRequest& request);
  HttpServerReply Produce(IngestRecord record, const std::string& what);
  Result<std::string> Certificate(const std::string& url);

  const IngestOptions options_;
  const RecordSink sink_;
  const CertificateFetcher fetch_certificate_;
  const UrlVisitor visit_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> certificates_;  // SigningCertURL -> PEM
};

// The command: `fleetkeeper ingest [--config FILE] [--listen 127.0.0.1:8080]`; the shared secret
// comes from the environment (FLEETKEEPER_INGEST_SECRET), never the command line. Runs until
// SIGTERM or SIGINT; exit 0 then, 2 on bad usage or configuration, 1 when it cannot start.
int Ingest(const CommonOptions& options, const std::string& listen, IngestOptions ingest);

}  // namespace fleetkeeper::app
