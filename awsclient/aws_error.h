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
// kAlreadyExists / kInProgress for idempotent answers, kNotFound, kUnauthorized, kThrottled,
// kUnavailable, else kAws.
ErrorCode ErrorCodeFor(std::string_view aws_code, int http_status);

}  // namespace fleetkeeper::aws
