// The AWS JSON 1.1 protocol (SSM, ECS, CodeDeploy, Application Auto Scaling): POST / with the
// operation named in "X-Amz-Target: <TargetPrefix>.<Operation>", body and response in
// application/x-amz-json-1.1. Timestamps in responses are epoch seconds (fractional). Internal to
// the service clients: only the *_json.cc files include it (and with it nlohmann/json), never a
// header handlers see.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "awsclient/transport.h"
#include "common/error.h"

namespace fleetkeeper::aws {

inline constexpr const char* kSsmTargetPrefix = "AmazonSSM";
inline constexpr const char* kEcsTargetPrefix = "AmazonEC2ContainerServiceV20141113";
inline constexpr const char* kCodeDeployTargetPrefix = "CodeDeploy_20141006";
inline constexpr const char* kApplicationAutoScalingTargetPrefix = "AnyScaleFrontendService";
inline constexpr const char* kJson11ContentType = "application/x-amz-json-1.1";

ServiceRequest MakeJsonRequest(const std::string& service, const std::string& target_prefix,
                               const std::string& operation, std::string body);

// Serializes `body`, calls the transport and parses the answer as a JSON object (an empty body
// reads as {}). A response that is not a JSON object is an error naming the operation.
Result<nlohmann::json> CallJson(Transport& transport, const std::string& service,
                                const std::string& target_prefix, const std::string& operation,
                                const nlohmann::json& body);

// Parses a JSON 1.1 response body (exposed for the parsing tests).
Result<nlohmann::json> ParseJsonResponse(const std::string& operation, const std::string& body);

// Typed reads from JSON objects that remember the first wrong-typed field, so parse functions read
// straight through and check once. Missing keys and nulls read as absent, never as errors.
class JsonReader {
 public:
  explicit JsonReader(std::string operation) : operation_(std::move(operation)) {}

  std::string Str(const nlohmann::json& obj, const char* key);
  std::optional<std::string> OptStr(const nlohmann::json& obj, const char* key);
  int64_t Int(const nlohmann::json& obj, const char* key, int64_t fallback = 0);
  std::optional<int64_t> OptInt(const nlohmann::json& obj, const char* key);
  double Num(const nlohmann::json& obj, const char* key, double fallback = 0);
  bool Bool(const nlohmann::json& obj, const char* key, bool fallback = false);
  std::optional<bool> OptBool(const nlohmann::json& obj, const char* key);
  // An epoch-seconds timestamp (or an RFC 3339 string) as epoch milliseconds; 0 when absent.
  int64_t EpochMs(const nlohmann::json& obj, const char* key);
  // The objects of an array field; non-object elements are recorded as malformed and skipped.
  std::vector<const nlohmann::json*> Objects(const nlohmann::json& obj, const char* key);
  std::vector<std::string> Strings(const nlohmann::json& obj, const char* key);
  // The object at `key`, or nullptr when absent (a non-object is recorded as malformed).
  const nlohmann::json* Object(const nlohmann::json& obj, const char* key);

  void Require(const nlohmann::json& obj, const char* key);
  void Fail(std::string what);
  bool ok() const { return !error_.has_value(); }
  Error error() const;

 private:
  const nlohmann::json* Field(const nlohmann::json& obj, const char* key);

  std::string operation_;
  std::optional<std::string> error_;
};

// Reads a parsed body with `read(JsonReader&, const nlohmann::json&) -> T`; the first wrong-typed
// field becomes the error. Instantiate only where nlohmann/json.hpp is included.
template <typename T, typename Read>
Result<T> ReadJsonBody(const std::string& operation, Result<nlohmann::json> body, Read&& read) {
  if (!body.ok()) return std::move(body).take_error();
  JsonReader reader(operation);
  T out = read(reader, *body);
  if (!reader.ok()) return reader.error();
  return out;
}

template <typename T, typename Read>
Result<T> CallJsonAndRead(Transport& transport, const std::string& service,
                          const std::string& target_prefix, const std::string& operation,
                          const nlohmann::json& request, Read&& read) {
  return ReadJsonBody<T>(operation, CallJson(transport, service, target_prefix, operation, request),
                         std::forward<Read>(read));
}

}  // namespace fleetkeeper::aws
