#include "common/error.h"

namespace fleetkeeper {

const char* ToString(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput:
      return "invalid input";
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kAlreadyExists:
      return "already exists";
    case ErrorCode::kInProgress:
      return "in progress";
    case ErrorCode::kUnauthorized:
      return "unauthorized";
    case ErrorCode::kThrottled:
      return "throttled";
    case ErrorCode::kTimeout:
      return "timeout";
    case ErrorCode::kNetwork:
      return "network";
    case ErrorCode::kAws:
      return "aws";
    case ErrorCode::kKafka:
      return "kafka";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kCancelled:
      return "cancelled";
    case ErrorCode::kNotImplemented:
      return "not implemented";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "unknown";
}

std::string Error::ToString() const {
  std::string out = fleetkeeper::ToString(code);
  out += ": ";
  if (!aws_code.empty()) {
    out += aws_code;
    out += ": ";
  }
  out += message;
  if (!request_id.empty()) {
    out += " (request id ";
    out += request_id;
    out += ")";
  }
  return out;
}

}  // namespace fleetkeeper
