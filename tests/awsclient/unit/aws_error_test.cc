#include "awsclient/aws_error.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>
#include <vector>

namespace fleetkeeper::aws {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// botocore's recorded error responses, each with botocore's own parse beside it: our code,
// message and request id must agree with botocore's for every one of them.
TEST(AwsErrorTest, BotocoreRecordedXmlErrorsParseAsBotocoreDoes) {
  const fs::path dir = fs::path(FK_SHARED_TESTDATA) / "aws-responses" / "botocore-xml-errors";
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".xml") continue;
    fs::path expected_path = entry.path();
    expected_path.replace_extension(".json");
    if (!fs::exists(expected_path)) continue;
    SCOPED_TRACE(entry.path().filename().string());
    auto expected = nlohmann::json::parse(ReadFile(expected_path));
    const std::string body = ReadFile(entry.path());
    const Protocol protocol = entry.path().filename().string().rfind("ec2-", 0) == 0
                                  ? Protocol::kEc2Query
                                  : Protocol::kQuery;
    Error error = ParseAwsError(protocol, 400, {}, body, "svc Op");
    EXPECT_EQ(error.aws_code, expected["Error"]["Code"].get<std::string>());
    EXPECT_NE(error.message.find(expected["Error"]["Message"].get<std::string>()),
              std::string::npos)
        << error.message;
    const auto& metadata = expected["ResponseMetadata"];
    if (metadata.contains("RequestId")) {
      EXPECT_EQ(error.request_id, metadata["RequestId"].get<std::string>());
    }
    EXPECT_EQ(error.http_status, 400);
    EXPECT_FALSE(error.retriable);
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

// botocore's protocol test cases for error outputs of the three protocols we speak.
TEST(AwsErrorTest, BotocoreProtocolErrorCasesYieldTheExpectedCode) {
  const fs::path dir =
      fs::path(FK_SHARED_TESTDATA) / "aws-responses" / "botocore-protocols" / "output";
  int checked = 0;
  for (auto [file, protocol] :
       {std::pair{"json.json", Protocol::kJson11}, std::pair{"query.json", Protocol::kQuery},
        std::pair{"ec2.json", Protocol::kEc2Query}}) {
    auto suites = nlohmann::json::parse(ReadFile(dir / file));
    for (const auto& suite : suites) {
      for (const auto& c : suite["cases"]) {
        if (!c.contains("errorCode")) continue;
        SCOPED_TRACE(std::string(file) + ": " + c["response"].dump());
        Headers headers;
        const auto& response = c["response"];
        if (response.contains("headers")) {
          for (const auto& [k, v] : response["headers"].items()) {
            if (v.is_string()) headers.emplace_back(k, v.get<std::string>());
          }
        }
        const std::string body =
            response.contains("body") && response["body"].is_string() ? response["body"] : "";
        Error error = ParseAwsError(protocol, c["response"]["status_code"].get<int>(), headers,
                                    body, "svc GreetingWithErrors");
        EXPECT_EQ(error.aws_code, c["errorCode"].get<std::string>());
        if (c.contains("error") && c["error"].contains("Message")) {
          EXPECT_NE(error.message.find(c["error"]["Message"].get<std::string>()),
                    std::string::npos);
        }
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 15);
}

TEST(AwsErrorTest, HtmlFiveHundredIsARetriableErrorWithStatusAndSnippet) {
  // What moto answers for an action it does not implement, and what a load balancer answers
  // when the service behind it is down.
  const std::string html =
      "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
      "<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was "
      "unable to complete your request.</p>\n" +
      std::string(2000, 'x');
  Error error = ParseAwsError(Protocol::kEc2Query, 500, {{"Content-Type", "text/html"}}, html,
                              "ec2 CreateReplaceRootVolumeTask");
  EXPECT_EQ(error.code, ErrorCode::kUnavailable);
  EXPECT_TRUE(error.retriable);
  EXPECT_EQ(error.http_status, 500);
  EXPECT_TRUE(error.aws_code.empty());
  EXPECT_NE(error.message.find("HTTP 500"), std::string::npos);
  EXPECT_NE(error.message.find("Internal Server Error"), std::string::npos);
  EXPECT_NE(error.message.find("ec2 CreateReplaceRootVolumeTask"), std::string::npos);
  EXPECT_LT(error.message.size(), 400u) << "the snippet must stay short";
}

TEST(AwsErrorTest, EmptyBodyNamesTheStatus) {
  Error error = ParseAwsError(Protocol::kJson11, 403, {}, "", "ssm GetParameter");
  EXPECT_EQ(error.code, ErrorCode::kUnauthorized);
  EXPECT_NE(error.message.find("HTTP 403 with an empty body"), std::string::npos);
}

TEST(AwsErrorTest, ThrottlingCodesAreRetriableAndThrottled) {
  for (const char* code :
       {"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException",
        "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
        "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        "EC2ThrottledException"}) {
    SCOPED_TRACE(code);
    const std::string body = std::string("<Response><Errors><Error><Code>") + code +
                             "</Code><Message>Rate exceeded</Message></Error></Errors>"
                             "<RequestID>r-1</RequestID></Response>";
    Error error = ParseAwsError(Protocol::kEc2Query, 400, {}, body, "ec2 DescribeInstances");
    EXPECT_EQ(error.code, ErrorCode::kThrottled);
    EXPECT_TRUE(error.retriable);
    EXPECT_EQ(error.request_id, "r-1");
  }
}

TEST(AwsErrorTest, JsonThrottlingFromSsm) {
  Error error = ParseAwsError(
      Protocol::kJson11, 400, {{"x-amzn-RequestId", "abc-123"}},
      R"({"__type":"com.amazonaws.ssm#ThrottlingException","message":"Rate exceeded"})",
      "ssm GetParameter");
  EXPECT_EQ(error.aws_code, "ThrottlingException");
  EXPECT_EQ(error.code, ErrorCode::kThrottled);
  EXPECT_TRUE(error.retriable);
  EXPECT_EQ(error.request_id, "abc-123");
}

TEST(AwsErrorTest, IdempotentAnswersMapToAlreadyExistsOrInProgress) {
  EXPECT_EQ(ErrorCodeFor("AlreadyExists", 400), ErrorCode::kAlreadyExists);
  EXPECT_EQ(ErrorCodeFor("InvalidGroup.Duplicate", 400), ErrorCode::kAlreadyExists);
  EXPECT_EQ(ErrorCodeFor("InvalidLaunchTemplateName.AlreadyExistsException", 400),
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(ErrorCodeFor("EntityAlreadyExists", 409), ErrorCode::kAlreadyExists);
  EXPECT_EQ(ErrorCodeFor("ResourceInUse", 400), ErrorCode::kInProgress);
  EXPECT_EQ(ErrorCodeFor("InProgress", 400), ErrorCode::kInProgress);
  EXPECT_EQ(ErrorCodeFor("OperationInProgress", 400), ErrorCode::kInProgress);
  EXPECT_EQ(ErrorCodeFor("InstanceRefreshInProgress", 400), ErrorCode::kInProgress);
  // Real failures that look similar must not be swallowed as "re-read".
  EXPECT_EQ(ErrorCodeFor("IdempotentParameterMismatch", 400), ErrorCode::kAws);
  EXPECT_EQ(ErrorCodeFor("IncorrectState", 400), ErrorCode::kAws);
  EXPECT_EQ(ErrorCodeFor("InvalidParameterValue", 400), ErrorCode::kAws);
}

TEST(AwsErrorTest, NotFoundAndAuthCodes) {
  EXPECT_EQ(ErrorCodeFor("InvalidInstanceID.NotFound", 400), ErrorCode::kNotFound);
  EXPECT_EQ(ErrorCodeFor("ParameterNotFound", 400), ErrorCode::kNotFound);
  EXPECT_EQ(ErrorCodeFor("UnauthorizedOperation", 403), ErrorCode::kUnauthorized);
  EXPECT_EQ(ErrorCodeFor("ExpiredToken", 403), ErrorCode::kUnauthorized);
}

TEST(AwsErrorTest, EveryWayOfRefusingTheCallerIsUnauthorized) {
  for (const char* code :
       {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthFailure",
        "InvalidClientTokenId", "UnrecognizedClientException", "ExpiredToken",
        "ExpiredTokenException", "SignatureDoesNotMatch", "InvalidSignatureException",
        "IncompleteSignature", "InvalidAccessKeyId", "AuthorizationError"}) {
    EXPECT_EQ(ErrorCodeFor(code, 403), ErrorCode::kUnauthorized) << code;
    EXPECT_TRUE(IsCallerRefusedCode(code)) << code;
  }
  EXPECT_FALSE(IsCallerRefusedCode("InvalidAMIID.NotFound"));
  EXPECT_FALSE(IsCallerRefusedCode("ValidationException"));
}

// What each failure a handler meets means for its outcome (docs/workflows.md).
TEST(AwsErrorTest, FailuresAreTransientTheCallersOwnOrAboutTheInput) {
  auto parsed = [](int status, const std::string& code) {
    return ParseAwsError(Protocol::kEc2Query, status, {},
                         "<Response><Errors><Error><Code>" + code +
                             "</Code><Message>m</Message></Error></Errors></Response>",
                         "ec2 DescribeImages");
  };
  // The worker's own trouble: never a verdict on the input.
  for (const auto& [status, code] :
       std::vector<std::pair<int, std::string>>{{403, "UnauthorizedOperation"},
                                                {403, "AccessDenied"},
                                                {401, "AuthFailure"},
                                                {400, "ExpiredToken"},
                                                {403, "InvalidClientTokenId"},
                                                {400, "UnrecognizedClientException"},
                                                {403, "SignatureDoesNotMatch"},
                                                {403, "SomeFutureDenial"}}) {
    const Error e = parsed(status, code);
    EXPECT_EQ(ClassifyFailure(e), FailureKind::kCaller) << e.ToString();
    EXPECT_FALSE(IsNotFoundAnswer(e)) << e.ToString();
  }
  // As the transport answers when no credential source is configured.
  Error no_credentials(ErrorCode::kUnauthorized,
                       "ssm GetParameter: credentials: no AWS credentials found (environment: "
                       "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set)");
  EXPECT_EQ(ClassifyFailure(no_credentials), FailureKind::kCaller);
  EXPECT_FALSE(IsNotFoundAnswer(no_credentials));
  // An answer that could not be read says nothing about the input either.
  EXPECT_EQ(ClassifyFailure(Error(ErrorCode::kAws, "ec2 DescribeImages: malformed response")),
            FailureKind::kCaller);

  Error refused(ErrorCode::kNetwork,
                "ec2 DescribeImages: POST http://127.0.0.1:1/: Couldn't "
                "connect to server",
                /*retry=*/true);
  EXPECT_EQ(ClassifyFailure(refused), FailureKind::kTransient);
  EXPECT_TRUE(IsTransientFailure(parsed(503, "ServiceUnavailable")));
  EXPECT_TRUE(IsTransientFailure(parsed(400, "RequestLimitExceeded")));
  EXPECT_TRUE(IsTransientFailure(Error(ErrorCode::kTimeout, "t")));

  EXPECT_EQ(ClassifyFailure(parsed(400, "InvalidAMIID.Malformed")), FailureKind::kInput);
  EXPECT_TRUE(IsNotFoundAnswer(parsed(400, "InvalidAMIID.NotFound")));
  EXPECT_TRUE(IsNotFoundAnswer(Error(ErrorCode::kNotFound, "instance i-1 not found")));
  EXPECT_FALSE(IsNotFoundAnswer(parsed(400, "InvalidAMIID.Malformed")));
}

// A 404 with no AWS error code (an HTML page from a proxy, a wrong AWS_ENDPOINT_URL path) is no
// verdict on what the call named: never "not found", never a reason to reject the input.
TEST(AwsErrorTest, AnAnswerWithoutAnAwsCodeIsNeverAboutTheInput) {
  for (int status : {404, 400, 409}) {
    const Error e =
        ParseAwsError(Protocol::kJson11, status, {}, "<html><body><h1>Not Found</h1></body></html>",
                      "ssm GetParameter");
    EXPECT_EQ(ClassifyFailure(e), FailureKind::kCaller) << e.ToString();
    EXPECT_FALSE(IsNotFoundAnswer(e)) << e.ToString();
  }
  const Error empty = ParseAwsError(Protocol::kEc2Query, 404, {}, "", "ec2 DescribeInstances");
  EXPECT_FALSE(IsNotFoundAnswer(empty)) << empty.ToString();
}

TEST(AwsErrorTest, ClockSkewClassification) {
  EXPECT_TRUE(IsClockSkewCode("RequestTimeTooSkewed"));
  EXPECT_TRUE(IsClockSkewCode("RequestExpired"));
  EXPECT_TRUE(IsPossibleClockSkewCode("SignatureDoesNotMatch"));
  EXPECT_TRUE(IsPossibleClockSkewCode("AuthFailure"));
  EXPECT_TRUE(IsPossibleClockSkewCode("InvalidSignatureException"));
  EXPECT_FALSE(IsClockSkewCode("AuthFailure"));
  EXPECT_FALSE(IsPossibleClockSkewCode("AccessDenied"));
}

TEST(AwsErrorTest, ErrorMessagesNeverCarryASignature) {
  const std::string body =
      "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>The canonical string "
      "was 'Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sts/"
      "aws4_request, Signature=abcdef0123'</Message></Error><RequestId>x</RequestId>"
      "</ErrorResponse>";
  Error error = ParseAwsError(Protocol::kQuery, 403, {}, body, "sts GetCallerIdentity");
  EXPECT_EQ(error.message.find("abcdef0123"), std::string::npos) << error.message;
  EXPECT_EQ(error.message.find("AKIDEXAMPLE"), std::string::npos) << error.message;
}

// moto's server writes its authentication and authorization failures for every service as
// <ErrorResponse><Errors><Error>, the <Errors> wrapper of EC2's form
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html#api-error-response)
// inside the query protocol's root
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CommonErrors.html), and puts
// the code in X-Amzn-ErrorType too; a JSON 1.1 service then gets an XML body. Codes and messages:
// https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
std::string MotoAuthBody(const std::string& code, const std::string& message) {
  return "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ErrorResponse><Errors><Error><Code>" + code +
         "</Code><Message>" + message +
         "</Message><Type>Sender</Type></Error></Errors></ErrorResponse>";
}

TEST(AwsErrorTest, MotoWrappedAuthErrorsGiveTheirCode) {
  Error signature = ParseAwsError(
      Protocol::kQuery, 403, {},
      MotoAuthBody("SignatureDoesNotMatch",
                   "The request signature we calculated does not match the signature you "
                   "provided."),
      "sts GetCallerIdentity");
  EXPECT_EQ(signature.aws_code, "SignatureDoesNotMatch");
  EXPECT_EQ(signature.code, ErrorCode::kUnauthorized);
  EXPECT_FALSE(signature.retriable);
  EXPECT_NE(signature.message.find("does not match the signature"), std::string::npos)
      << signature.message;

  Error auth = ParseAwsError(
      Protocol::kEc2Query, 401, {},
      MotoAuthBody("AuthFailure", "AWS was not able to validate the provided access credentials"),
      "ec2 DescribeInstances");
  EXPECT_EQ(auth.aws_code, "AuthFailure");
  EXPECT_EQ(auth.code, ErrorCode::kUnauthorized);
  EXPECT_FALSE(auth.retriable);

  Error denied = ParseAwsError(
      Protocol::kQuery, 403, {},
      MotoAuthBody("AccessDenied",
                   "User: arn:aws:iam::123456789012:user/u is not authorized to perform: "
                   "sqs:ListQueues"),
      "sqs ListQueues");
  EXPECT_EQ(denied.aws_code, "AccessDenied");
  EXPECT_EQ(denied.code, ErrorCode::kUnauthorized);
  EXPECT_NE(denied.message.find("sqs:ListQueues"), std::string::npos) << denied.message;

  // A JSON 1.1 service: the code from the header, the message from the XML body.
  Error json = ParseAwsError(Protocol::kJson11, 403, {{"X-Amzn-ErrorType", "InvalidClientTokenId"}},
                             MotoAuthBody("InvalidClientTokenId",
                                          "The security token included in the request is "
                                          "invalid."),
                             "ssm GetParameter");
  EXPECT_EQ(json.aws_code, "InvalidClientTokenId");
  EXPECT_EQ(json.code, ErrorCode::kUnauthorized);
  EXPECT_NE(json.message.find("security token included"), std::string::npos) << json.message;
  // Without the header, the XML body alone is enough.
  Error json_bare =
      ParseAwsError(Protocol::kJson11, 403, {}, MotoAuthBody("AccessDenied", "not authorized"),
                    "ecs ListClusters");
  EXPECT_EQ(json_bare.aws_code, "AccessDenied");
}

TEST(AwsErrorTest, RequestIdFromHeaderOrBody) {
  EXPECT_EQ(ExtractRequestId({{"X-Amzn-RequestId", "h-1"}}, "<RequestId>b-1</RequestId>"), "h-1");
  EXPECT_EQ(ExtractRequestId({}, "<Response><RequestID>b-2</RequestID></Response>"), "b-2");
  EXPECT_EQ(ExtractRequestId({}, "{}"), "");
}

}  // namespace
}  // namespace fleetkeeper::aws
