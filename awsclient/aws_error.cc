#include "awsclient/aws_error.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include "awsclient/redact.h"

namespace fleetkeeper::aws {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// First 200 characters with whitespace folded, redacted: enough to recognise an HTML error page
// or a proxy's answer without flooding the log.
std::string Snippet(std::string_view body) {
  std::string folded;
  bool space = false;
  for (char c : body) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = !folded.empty();
      continue;
    }
    if (space) folded.push_back(' ');
    space = false;
    folded.push_back(c);
    if (folded.size() >= 200) {
      folded += "...";
      break;
    }
  }
  return Redact(folded);
}

struct ParsedBody {
  bool recognised = false;
  std::string code;
  std::string message;
  std::string request_id;
};

ParsedBody ParseXml(std::string_view body) {
  ParsedBody out;
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size())) return out;
  pugi::xml_node root = doc.document_element();
  pugi::xml_node error;
  if (std::string_view(root.name()) == "ErrorResponse") {
    error = root.child("Error");
    // moto wraps its authentication and authorization errors (SignatureDoesNotMatch,
    // AuthFailure, AccessDenied, InvalidClientTokenId) in <Errors>, as EC2 does, whatever the
    // service.
    if (!error) error = root.child("Errors").child("Error");
    out.request_id = root.child_value("RequestId");
  } else if (std::string_view(root.name()) == "Response") {
    error = root.child("Errors").child("Error");
    out.request_id = root.child_value("RequestID");
    if (out.request_id.empty()) out.request_id = root.child_value("RequestId");
  } else if (std::string_view(root.name()) == "Error") {
    error = root;  // REST-XML form; some endpoints answer query calls with it
    out.request_id = root.child_value("RequestId");
  }
  if (!error) return out;
  out.recognised = true;
  out.code = error.child_value("Code");
  out.message = error.child_value("Message");
  return out;
}

ParsedBody ParseJson(std::string_view body, const Headers& headers) {
  ParsedBody out;
  std::string header_type = FindHeader(headers, "x-amzn-errortype");
  if (!header_type.empty()) {
    out.recognised = true;
    out.code = header_type;
  }
  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_object()) {
    for (const char* key : {"__type", "code", "Code"}) {
      auto it = json.find(key);
      if (it != json.end() && it->is_string() && out.code.empty()) {
        out.code = it->get<std::string>();
        out.recognised = true;
      }
    }
    for (const char* key : {"message", "Message", "errorMessage"}) {
      auto it = json.find(key);
      if (it != json.end() && it->is_string()) {
        out.message = it->get<std::string>();
        break;
      }
    }
  }
  return out;
}

}  // namespace

std::string FindHeader(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return v;
  }
  return {};
}

std::string SanitizeErrorCode(std::string_view code) {
  size_t colon = code.find(':');
  if (colon != std::string_view::npos) code = code.substr(0, colon);
  size_t hash = code.rfind('#');
  if (hash != std::string_view::npos) code = code.substr(hash + 1);
  while (!code.empty() && std::isspace(static_cast<unsigned char>(code.front()))) {
    code.remove_prefix(1);
  }
  while (!code.empty() && std::isspace(static_cast<unsigned char>(code.back()))) {
    code.remove_suffix(1);
  }
  return std::string(code);
}

std::string ExtractRequestId(const Headers& headers, std::string_view body) {
  for (const char* name : {"x-amzn-RequestId", "x-amz-request-id", "x-amzn-request-id"}) {
    std::string id = FindHeader(headers, name);
    if (!id.empty()) return id;
  }
  // Cheap scan rather than a parse: the service layer parses the body anyway.
  for (std::string_view tag : {"<RequestId>", "<RequestID>", "<requestId>"}) {
    size_t start = body.find(tag);
    if (start == std::string_view::npos) continue;
    start += tag.size();
    size_t end = body.find('<', start);
    if (end != std::string_view::npos) return std::string(body.substr(start, end - start));
  }
  return {};
}

bool IsThrottlingCode(std::string_view code) {
  static constexpr std::array<std::string_view, 16> kCodes = {
      "Throttling",
      "ThrottlingException",
      "ThrottledException",
      "RequestThrottledException",
      "TooManyRequestsException",
      "ProvisionedThroughputExceededException",
      "TransactionInProgressException",
      "RequestLimitExceeded",
      "BandwidthLimitExceeded",
      "LimitExceededException",
      "RequestThrottled",
      "SlowDown",
      "PriorRequestNotComplete",
      "EC2ThrottledException",
      "ThrottlingError",
      "Throttled",
  };
  return std::find(kCodes.begin(), kCodes.end(), code) != kCodes.end();
}

bool IsClockSkewCode(std::string_view code) {
  return code == "RequestTimeTooSkewed" || code == "RequestExpired" || code == "RequestInTheFuture";
}

bool IsPossibleClockSkewCode(std::string_view code) {
  return code == "InvalidSignatureException" || code == "SignatureDoesNotMatch" ||
         code == "AuthFailure";
}

bool IsExpiredTokenCode(std::string_view code) {
  return code == "ExpiredToken" || code == "ExpiredTokenException";
}

bool IsTransientStatus(int status) {
  return status == 500 || status == 502 || status == 503 || status == 504;
}

bool IsCallerRefusedCode(std::string_view code) {
  static constexpr std::array<std::string_view, 13> kCodes = {
      "UnauthorizedOperation",
      "AuthFailure",
      "InvalidClientTokenId",
      "UnrecognizedClientException",
      "ExpiredToken",
      "ExpiredTokenException",
      "SignatureDoesNotMatch",
      "InvalidSignatureException",
      "MissingAuthenticationToken",
      "IncompleteSignature",
      "InvalidAccessKeyId",
      "AuthorizationError",  // SNS's AccessDenied
      "NotAuthorized",
  };
  return code.rfind("AccessDenied", 0) == 0 ||
         std::find(kCodes.begin(), kCodes.end(), code) != kCodes.end() || IsClockSkewCode(code);
}

ErrorCode ErrorCodeFor(std::string_view code, int status) {
  // Deliberately narrow: IdempotentParameterMismatch, IncorrectState and InvalidParameterValue
  // are real failures, not "the earlier attempt already did it".
  if (code == "AlreadyExists" || code == "AlreadyExistsException" || EndsWith(code, ".Duplicate") ||
      EndsWith(code, "AlreadyExists") || EndsWith(code, "AlreadyExistsException") ||
      EndsWith(code, "AlreadyExistsFault")) {
    return ErrorCode::kAlreadyExists;
  }
  if (code == "InProgress" || code == "OperationInProgress" || code == "ResourceInUse" ||
      code == "ResourceInUseException" || code == "ResourceInUseFault" ||
      code == "ScalingActivityInProgress" || code == "InstanceRefreshInProgress" ||
      code == "OperationInProgressException") {
    return ErrorCode::kInProgress;
  }
  if (IsThrottlingCode(code)) return ErrorCode::kThrottled;
  if (IsCallerRefusedCode(code)) return ErrorCode::kUnauthorized;
  if (EndsWith(code, "NotFound") || EndsWith(code, ".NotFound") ||
      EndsWith(code, "NotFoundException") || code == "NoSuchEntity" || code == "ResourceNotFound" ||
      code == "InvalidInstanceID.NotFound") {
    return ErrorCode::kNotFound;
  }
  if (code.empty() && status == 429) return ErrorCode::kThrottled;
  if (IsTransientStatus(status)) return ErrorCode::kUnavailable;
  if (code.empty() && (status == 401 || status == 403)) return ErrorCode::kUnauthorized;
  if (code.empty() && status == 404) return ErrorCode::kNotFound;
  return ErrorCode::kAws;
}

FailureKind ClassifyFailure(const Error& e) {
  switch (e.code) {
    case ErrorCode::kThrottled:
    case ErrorCode::kUnavailable:
    case ErrorCode::kNetwork:
    case ErrorCode::kTimeout:
      return FailureKind::kTransient;
    default:
      break;
  }
  if (e.retriable) return FailureKind::kTransient;
  if (e.http_status == 401 || e.http_status == 403 || IsCallerRefusedCode(e.aws_code)) {
    return FailureKind::kCaller;
  }
  // An HTTP answer without an AWS error code (an HTML 404 from a proxy, a wrong endpoint path)
  // is no verdict of AWS on what the call named, whatever its status.
  if (e.http_status != 0 && e.aws_code.empty()) return FailureKind::kCaller;
  switch (e.code) {
    case ErrorCode::kNotFound:
    case ErrorCode::kInvalidInput:
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kInProgress:
    case ErrorCode::kConflict:
      return FailureKind::kInput;
    case ErrorCode::kAws:
      // Without a code AWS gave no verdict: an unreadable or malformed answer.
      return e.aws_code.empty() ? FailureKind::kCaller : FailureKind::kInput;
    default:
      return FailureKind::kCaller;  // kUnauthorized, kInternal, kNotImplemented, kKafka, ...
  }
}

bool IsNotFoundAnswer(const Error& e) {
  return ClassifyFailure(e) == FailureKind::kInput &&
         (e.code == ErrorCode::kNotFound || e.aws_code.find("NotFound") != std::string::npos);
}

Error ParseAwsError(Protocol protocol, int status, const Headers& headers, std::string_view body,
                    std::string_view what) {
  ParsedBody parsed;
  if (protocol == Protocol::kJson11) {
    parsed = ParseJson(body, headers);
    // A proxy or gateway may answer in XML, and moto answers auth failures of JSON services in
    // XML with only the code in X-Amzn-ErrorType: the message is in the XML then.
    if (!parsed.recognised || parsed.message.empty()) {
      ParsedBody xml = ParseXml(body);
      if (xml.recognised && (!parsed.recognised || xml.code == parsed.code)) parsed = xml;
    }
  } else {
    parsed = ParseXml(body);
    if (!parsed.recognised) parsed = ParseJson(body, headers);
  }
  const std::string code = SanitizeErrorCode(parsed.code);
  Error error;
  error.http_status = status;
  error.aws_code = code;
  error.request_id = ExtractRequestId(headers, body);
  if (error.request_id.empty()) error.request_id = parsed.request_id;
  error.code = ErrorCodeFor(code, status);
  error.retriable = IsThrottlingCode(code) || IsTransientStatus(status) || IsClockSkewCode(code) ||
                    (code.empty() && status == 429);
  if (!parsed.recognised || code.empty()) {
    error.message = std::string(what) + ": HTTP " + std::to_string(status) +
                    (body.empty() ? " with an empty body"
                                  : " with an unrecognised error body: " + Snippet(body));
  } else {
    error.message = std::string(what) + ": " + code +
                    (parsed.message.empty() ? "" : ": " + Redact(parsed.message)) + " (HTTP " +
                    std::to_string(status) + ")";
  }
  return error;
}

}  // namespace fleetkeeper::aws
