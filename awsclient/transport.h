// The seam between the AWS wire (HTTP, SigV4, credentials, endpoints, retries: transport_*.cc,
// sigv4.*, credentials.*, http.*, retry.*) and the protocol/service layer (query XML, JSON 1.1,
// typed service clients). Service clients build a ServiceRequest and hand it to a Transport; the
// transport resolves the endpoint, signs, sends, retries and rate-limits, and returns either the
// raw successful response or an Error parsed from the service's error body.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace fleetkeeper::aws {

enum class Protocol {
  kQuery,     // Auto Scaling, ELBv2, CloudWatch, SNS, STS, IAM: form body, XML response
  kEc2Query,  // EC2: form body, XML response with <Response><Errors> errors
  kJson11,    // SSM, ECS, CodeDeploy: X-Amz-Target, application/x-amz-json-1.1
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// The request id AWS gave a call that changed something, kept in a workflow's result so that the
// change can be traced in CloudTrail. Responses of mutating calls carry one in `request_id`; calls
// whose answer holds nothing else return this. The member initializer keeps brace-initialized
// responses in tests free of -Wmissing-field-initializers.
struct RequestReceipt {
  std::string request_id = {};
};

struct ServiceRequest {
  std::string service;    // endpoint prefix and signing name: ec2, autoscaling, ssm, ...
  std::string operation;  // e.g. "DescribeInstances", for logs, errors and metrics
  Protocol protocol = Protocol::kQuery;
  std::string method = "POST";
  std::string path = "/";
  Headers headers;   // protocol headers (Content-Type, X-Amz-Target); never auth headers
  std::string body;  // already serialized; the idempotency token, if any, is in it
};

struct ServiceResponse {
  int status = 0;
  Headers headers;
  std::string body;
  std::string request_id;  // x-amzn-RequestId / x-amz-request-id / <RequestId>
  int attempts = 1;
};

// Thread-safe. One instance per (account, region, role): credentials, endpoint and rate limiter
// are bound at construction.
class Transport {
 public:
  virtual ~Transport() = default;
  // Returns the response of a 2xx answer; otherwise an Error with code, aws_code, message,
  // request_id, http_status and retriable filled in. kAlreadyExists / kInProgress mark the
  // idempotent-retry answers the caller should treat as "re-read".
  virtual Result<ServiceResponse> Call(const ServiceRequest& request) = 0;
  virtual const std::string& region() const = 0;
};

}  // namespace fleetkeeper::aws
