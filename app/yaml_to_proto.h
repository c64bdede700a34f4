// Generic YAML -> protobuf conversion by reflection, with errors that name the key path.
//
// Contract of the YAML spelling (the same for every message):
// - a mapping key matches a field by its proto name or its json_name (`min_healthy_percentage` or
//   `MinHealthyPercentage`); an unknown key is an error that suggests the nearest valid key;
// - a key with no value (`key:` or `key: ~`) is the same as leaving the key out;
// - string fields take any scalar; bool fields take only true/false; integer fields take only plain
//   (unquoted) integers within the field's range; repeated fields take a YAML sequence;
// - google.protobuf.Duration takes a duration with units: "90s", "5m", "2h", "1h30m", "250ms";
// - map<string, string> takes a mapping whose scalar values (numbers, bools) are kept as written;
//   map<string, Message> recurses, with paths like `aws.accounts["111122223333"].role_arn`.
// Conversion does not stop at the first error: every error found is appended.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/message.h>
#include <yaml-cpp/yaml.h>

#include "common/config_check.h"
#include "common/duration.h"

namespace fleetkeeper::app {

using fleetkeeper::ChildPath;
using fleetkeeper::ConfigError;
using fleetkeeper::IndexPath;
using fleetkeeper::KeyPath;

// Where `${env:NAME}` references read variables from (config.h's Environment::get).
using Getenv = std::function<std::optional<std::string>(const std::string&)>;

// Fills `message` from `node` (merging into what it holds). `path` is the key path of `node`
// ("" for the document root). Errors are appended to `errors`; fields without errors are still set.
//
// With `getenv`, a scalar value written as a whole `${env:NAME}` is the variable's value and
// `${file:/path}` the file's contents without one trailing newline; each such value is registered
// as a secret (common/secrets.h), so it never appears in logs or command output. An unset variable
// or an unreadable file is an error at the value's path naming the variable or the file. Keys are
// never resolved; without `getenv` nothing is.
void YamlToMessage(const YAML::Node& node, google::protobuf::Message& message,
                   const std::string& path, std::vector<ConfigError>& errors,
                   const Getenv* getenv = nullptr);

// Durations ("90s", "5m") are spelled as common/duration.h reads and writes them.
using fleetkeeper::FormatDuration;
using fleetkeeper::ParseDuration;

// Edit distance, used for "did you mean" suggestions.
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate nearest to `key` when it is close enough to be a likely typo.
std::optional<std::string> NearestKey(std::string_view key,
                                      const std::vector<std::string>& candidates);

// The message as a YAML mapping that YamlToMessage reads back to an equal message (fields at their
// default are left out; fields with a custom json_name use that spelling). Used to show the
// effective configuration.
YAML::Node MessageToYaml(const google::protobuf::Message& message);

}  // namespace fleetkeeper::app
