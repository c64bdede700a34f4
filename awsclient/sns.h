// Amazon SNS Publish, for notifications. Handlers depend on the abstract Sns interface;
// MakeSnsClient() is the query-protocol wire implementation (sns_query.cc).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "awsclient/transport.h"
#include "common/error.h"

namespace fleetkeeper::aws {

struct SnsMessageAttribute {
  std::string data_type = "String";  // String | String.Array | Number
  std::string string_value;
};

struct PublishRequest {
  std::string topic_arn;
  std::string subject;  // optional; at most 100 ASCII characters
  std::string message;
  std::map<std::string, SnsMessageAttribute> message_attributes;
};

struct PublishResponse {
  std::string message_id;
};

// Thread-safe.
class Sns {
 public:
  virtual ~Sns() = default;
  virtual Result<PublishResponse> Publish(const PublishRequest& r) = 0;
};

std::unique_ptr<Sns> MakeSnsClient(std::shared_ptr<Transport> transport);

Result<PublishResponse> ParsePublish(const std::string& xml);

}  // namespace fleetkeeper::aws
