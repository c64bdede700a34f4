// Turns a failed AWS answer into an Error, and classifies errors for the retry loop: throttling,
// transient (5xx, network), clock skew, and the idempotent "already exists" / "in progress"
// answers that tell a retried call to re-read instead of failing.
#pragma once

#include <string>
#include <string_view>

#include "awsclient/transport.h"
#include "common/error.h"

namespace fleetkeeper::aws {

// Parses the error body of a non-2xx answer: query XML (<ErrorResponse><Error>, or
// <ErrorResponse><Errors><Error> as moto writes its auth errors), EC2 XML
// (<Response><Errors><Error>), JSON 1.1 (__type / code / message, or the X-Amzn-ErrorType
// header). A body that is none of these (an HTML 500 page, an empty body) gives an Error with
// the HTTP status and a short, redacted snippet. `what` names the call for the message, e.g.
// "ec2 DescribeInstances". The Error's code, retriable flag, aws_code, request_id and
// http_status are filled in.
Error ParseAwsError(Protocol protocol, int http_status, const Headers& headers,
                    std::string_view body, std::string_view what);

// The request id of an answer: x-amzn-RequestId / x-amz-request-id headers, else <RequestId> or
// <RequestID> in an XML body. Empty when there is none.
std::string ExtractRequestId(const Headers& headers, std::string_view body);

// Case-insensitive header lookup; empty when absent.
std::string FindHeader(const Headers& headers, std::string_view name);

// Strips the namespace ("aws.protocoltests#") and URI suffix (":http://...") some services add.
std::string SanitizeErrorCode(std::string_view code);

bool IsThrottlingCode(std::string_view aws_code);
// Codes that always mean the request's time was off.
bool IsClockSkewCode(std::string_view aws_code);
// Codes that mean clock skew only when the server's Date header disagrees with ours.
bool IsPossibleClockSkewCode(std::string_view aws_code);
bool IsTransientStatus(int http_status);  // 500, 502, 503, 504
// The session token expired (ExpiredToken, ExpiredTokenException): fresh credentials may help.
bool IsExpiredTokenCode(std::string_view aws_code);
// Codes by which AWS refuses the caller itself, whatever the request named: no or bad
// credentials (InvalidClientTokenId, UnrecognizedClientException, ExpiredToken, a bad
// signature), a missing permission (AccessDenied*, UnauthorizedOperation), clock skew.
bool IsCallerRefusedCode(std::string_view aws_code);
// kAlreadyExists / kInProgress for idempotent answers, kNotFound, kUnauthorized, kThrottled,
// kUnavailable, else kAws.
ErrorCode ErrorCodeFor(std::string_view aws_code, int http_status);

// What a failed call says, for every caller that must choose between trying again, failing and
// rejecting its input (docs/workflows.md, "FAILED or REJECTED"). One classification, so that no
// handler mistakes the worker's own trouble for a verdict on the event.
enum class FailureKind {
  // May succeed when tried again later: throttling, HTTP 5xx, a network error (connection
  // refused included), a timeout. Once the retries are spent, it ends a workflow as kCaller does.
  kTransient,
  // AWS could not be called, or refused the caller: no credentials, expired or invalid ones, a
  // bad signature, a missing permission (any HTTP 401/403), an answer that could not be read, a
  // bug. Nothing is known about the input: the outcome is FAILED, never REJECTED.
  kCaller,
  // AWS answered about what the call named: it does not exist, is invalid, is in the wrong
  // state. The only kind a handler may turn into REJECTED.
  kInput,
};
FailureKind ClassifyFailure(const Error& error);
inline bool IsTransientFailure(const Error& error) {
  return ClassifyFailure(error) == FailureKind::kTransient;
}
// AWS answered that what the call named does not exist (kNotFound, or a *NotFound* code). Never
// true for the caller's own trouble: a credential source that is not configured is not a
// missing parameter.
bool IsNotFoundAnswer(const Error& error);

}  // namespace fleetkeeper::aws
