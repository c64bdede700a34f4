// Configuration checking shared by the worker's own keys (app/config.cc) and each handler's
// section (HandlerFactory::Validate): errors that name the key path, and the AWS name predicates.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/repeated_ptr_field.h>

namespace fleetkeeper {

// One problem with a configuration, located by its key path, e.g.
// `handlers.self_healing.rules[1].cooldown`. An empty path means the document as a whole.
struct ConfigError {
  std::string path;
  std::string message;
  int line = 0;  // 1-based line in the YAML text; 0 when unknown (environment variables)

  // "path: message", plus " (line N)" when the line is known.
  std::string ToString() const;
};

// Key path helpers: Child("a", "b") = "a.b", Index("a", 2) = "a[2]", Key("a", "k") = `a["k"]`.
std::string ChildPath(const std::string& parent, std::string_view key);
std::string IndexPath(const std::string& parent, size_t index);
std::string KeyPath(const std::string& parent, std::string_view key);

// `"text"`, for messages that quote what the user wrote.
std::string Quoted(std::string_view text);

// Empty or only white space: a name the user left blank.
bool IsBlank(std::string_view text);

// AWS names. Each predicate is the documented shape, not a lookup.
bool IsAccountId(std::string_view text);      // 12 digits
bool IsInstanceId(const std::string& text);   // i- and 8 or 17 hex digits
bool IsRoleArn(const std::string& text);      // arn:aws:iam::<account>:role/<path/name>
bool IsExternalId(const std::string& text);   // AssumeRole's ExternalId
bool IsSnsTopicArn(const std::string& text);  // arn:aws:sns:<region>:<account>:<name>
bool IsRegion(const std::string& text);       // us-east-1

// Collects errors and warnings, each naming its key path. Checks never stop at the first error.
class ConfigChecker {
 public:
  ConfigChecker(std::vector<ConfigError>& errors, std::vector<std::string>& warnings)
      : errors_(errors), warnings_(warnings) {}

  void Fail(const std::string& path, std::string message);
  void Warn(const std::string& path, const std::string& message);

  void OneOfValues(const std::string& path, const std::string& value,
                   const std::vector<std::string_view>& allowed);
  void AtLeast(const std::string& path, int64_t value, int64_t min);
  void InRange(const std::string& path, int64_t value, int64_t min, int64_t max);
  // A duration above zero.
  void Positive(const std::string& path, const google::protobuf::Duration& d);
  void InstanceIds(const std::string& path,
                   const google::protobuf::RepeatedPtrField<std::string>& ids);
  void NonEmptyNames(const std::string& path,
                     const google::protobuf::RepeatedPtrField<std::string>& names);
  // A CloudWatch namespace: 1-255 characters, not starting with "AWS/".
  void MetricsNamespace(const std::string& path, const std::string& ns);

  bool failed() const { return !errors_.empty(); }

 private:
  std::vector<ConfigError>& errors_;
  std::vector<std::string>& warnings_;
};

}  // namespace fleetkeeper
