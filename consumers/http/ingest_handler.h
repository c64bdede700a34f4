// What `fleetkeeper ingest` answers (DESIGN.md "Data flow", "Commands"): EventBridge API
// destinations and SNS HTTPS subscriptions deliver to it, and each accepted body is produced, as
// it is, to the events topic (the first input topic). See docs/ingest.md.
//
//   GET  /healthz                         200 "ok"
//   POST with x-amz-sns-message-type      SNS: the signature is verified first (sns_signature.h);
//                                         SubscriptionConfirmation -> GET its SubscribeURL;
//                                         Notification -> produced;
//                                         UnsubscribeConfirmation -> acknowledged, not produced
//   POST anything else                    an EventBridge event (a JSON object) -> produced
//
// Replies: 200 produced (acknowledged by the broker) or confirmed; 400 malformed; 401 missing or
// wrong shared secret; 403 bad signature, forbidden certificate or SubscribeURL, or a topic not
// allowed; 411 a POST with neither Content-Length nor chunked encoding; 503 Kafka did not take the
// record (the sender retries); 502 the certificate or the SubscribeURL could not be fetched.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace fleetkeeper::consumers::http {

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

// One request as the server read it (the body whole, chunked or not).
struct IngestRequest {
  std::string method;
  std::string path;                            // without the query
  std::map<std::string, std::string> headers;  // names lower-cased; a repeated name keeps the last
  std::string body;

  // The header's value, or empty.
  std::string Header(const std::string& lower_name) const;
};

struct IngestReply {
  int status = 200;
  std::string body;  // text/plain
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

  IngestReply Handle(const IngestRequest& request);

  size_t cached_certificates() const;

 private:
  IngestReply HandleSns(const IngestRequest& request, const std::string& type);
  IngestReply HandleEventBridge(const IngestRequest& request);
  IngestReply Produce(IngestRecord record, const std::string& what);
  Result<std::string> Certificate(const std::string& url);

  const IngestOptions options_;
  const RecordSink sink_;
  const CertificateFetcher fetch_certificate_;
  const UrlVisitor visit_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> certificates_;  // SigningCertURL -> PEM
};

}  // namespace fleetkeeper::consumers::http
