#include "common/config_check.h"

#include <algorithm>
#include <cctype>
#include <regex>

#include "common/duration.h"
#include "common/secrets.h"

namespace fleetkeeper {
namespace {

std::string OneOf(const std::vector<std::string_view>& allowed) {
  std::string out;
  for (size_t i = 0; i < allowed.size(); ++i) {
    out += (i == 0 ? "" : " | ") + std::string(allowed[i]);
  }
  return out;
}

}  // namespace

bool IsBlank(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](unsigned char c) { return std::isspace(c) != 0; });
}

std::string ConfigError::ToString() const {
  std::string out = ScrubSecrets(path.empty() ? message : path + ": " + message);
  if (line > 0) out += " (line " + std::to_string(line) + ")";
  return out;
}

std::string ChildPath(const std::string& parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return parent + "." + std::string(key);
}

std::string IndexPath(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

std::string KeyPath(const std::string& parent, std::string_view key) {
  return parent + "[\"" + std::string(key) + "\"]";
}

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

bool IsAccountId(std::string_view text) {
  const auto digit = [](unsigned char c) { return std::isdigit(c) != 0; };
  return text.size() == 12 && std::all_of(text.begin(), text.end(), digit);
}

bool IsInstanceId(const std::string& text) {
  static const std::regex pattern("^i-([0-9a-f]{8}|[0-9a-f]{17})$");
  return std::regex_match(text, pattern);
}

bool IsRoleArn(const std::string& text) {
  static const std::regex pattern(R"(^arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]+$)");
  return std::regex_match(text, pattern);
}

// AssumeRole's ExternalId: 2 to 1224 of [\w+=,.@:/-]
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
bool IsExternalId(const std::string& text) {
  const auto allowed = [](unsigned char c) {
    return std::isalnum(c) != 0 || std::string_view("_+=,.@:/-").find(c) != std::string_view::npos;
  };
  return text.size() >= 2 && text.size() <= 1224 && std::all_of(text.begin(), text.end(), allowed);
}

bool IsSnsTopicArn(const std::string& text) {
  static const std::regex pattern(R"(^arn:aws(-[a-z]+)*:sns:[a-z0-9-]+:\d{12}:[\w-]+(\.fifo)?$)");
  return std::regex_match(text, pattern);
}

bool IsRegion(const std::string& text) {
  static const std::regex pattern("^[a-z]{2}(-[a-z]+)+-[0-9]+$");
  return std::regex_match(text, pattern);
}

void ConfigChecker::Fail(const std::string& path, std::string message) {
  errors_.push_back(ConfigError{path, std::move(message), 0});
}

void ConfigChecker::Warn(const std::string& path, const std::string& message) {
  warnings_.push_back(path.empty() ? message : path + ": " + message);
}

void ConfigChecker::OneOfValues(const std::string& path, const std::string& value,
                                const std::vector<std::string_view>& allowed) {
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
    Fail(path, "expected " + OneOf(allowed) + ", got " + Quoted(value));
  }
}

void ConfigChecker::AtLeast(const std::string& path, int64_t value, int64_t min) {
  if (value < min) {
    Fail(path, "must be at least " + std::to_string(min) + ", got " + std::to_string(value));
  }
}

void ConfigChecker::InRange(const std::string& path, int64_t value, int64_t min, int64_t max) {
  if (value < min || value > max) {
    Fail(path, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
                   std::to_string(value));
  }
}

void ConfigChecker::Positive(const std::string& path, const google::protobuf::Duration& d) {
  if (DurationMs(d) <= 0) {
    Fail(path, "must be a duration above zero, e.g. \"60s\"");
  }
}

void ConfigChecker::InstanceIds(const std::string& path,
                                const google::protobuf::RepeatedPtrField<std::string>& ids) {
  for (int i = 0; i < ids.size(); ++i) {
    if (!IsInstanceId(ids[i])) {
      Fail(IndexPath(path, static_cast<size_t>(i)),
           "not an EC2 instance id (i- and 8 or 17 hex digits): " + Quoted(ids[i]));
    }
  }
}

void ConfigChecker::NonEmptyNames(const std::string& path,
                                  const google::protobuf::RepeatedPtrField<std::string>& names) {
  for (int i = 0; i < names.size(); ++i) {
    if (IsBlank(names[i])) Fail(IndexPath(path, static_cast<size_t>(i)), "must not be empty");
  }
}

void ConfigChecker::MetricsNamespace(const std::string& path, const std::string& ns) {
  if (ns.empty()) return;
  if (ns.size() > 255 || ns.rfind("AWS/", 0) == 0) {
    Fail(path,
         "a CloudWatch namespace has at most 255 characters and does not start with "
         "\"AWS/\"");
  }
}

}  // namespace fleetkeeper
