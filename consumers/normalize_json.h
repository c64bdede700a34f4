// Internal to the normalizer: safe JSON parsing and strict, path-naming field access, so that every
// decoder reports bad input the same way ("detail.name: expected string, got number").
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace fleetkeeper::consumers {

using Json = nlohmann::json;

// Parses one JSON text. `what` names the text in reasons ("payload", "Message"). The bytes must be
// UTF-8 and nest no deeper than max_depth (nlohmann's parser recurses per level, so a text it
// reads is screened for both first, in one iterative pass). Never throws.
Result<Json> ParseJsonText(std::string_view text, size_t max_depth, std::string_view what);

// ParseJsonText's first try: simdjson, which parses several times faster than nlohmann's lexer
// and in the same pass checks UTF-8 and depth (counted as the screen counts: max_depth nested
// brackets pass, one more does not), copied into the document nlohmann builds (the last of
// duplicate keys wins, non-negative integers are unsigned). nullopt for whatever it refuses, which
// ParseJsonText then reads with the screen and nlohmann, whose messages name the byte and the
// problem; nlohmann also reads what simdjson refuses but the grammar allows (integers beyond 64
// bits, as doubles; a byte-order mark). Texts over 256 KiB are refused too: the parser keeps
// buffers in proportion to the largest text it has read.
std::optional<Json> ParseJsonFast(std::string_view text, size_t max_depth);

// "a.b" from "a" and "b"; just "b" at the top level.
std::string JoinPath(std::string_view path, std::string_view key);

// The first problem found while reading fields. Decoders read every field they need and check
// once: after a problem, reads return empty values instead of failing again.
class FieldProblems {
 public:
  void Note(std::string reason) {
    if (first_.empty()) first_ = std::move(reason);
  }
  bool any() const { return !first_.empty(); }
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

// Strict reads of one JSON object's members. "Required" means present, not null and of the right
// type (a required string must also be non-empty); "optional" accepts absent or null. The object
// and problems must outlive the reader.
class JsonObjectReader {
 public:
  // `value` that is not an object notes "<path>: expected object, got <type>".
  JsonObjectReader(const Json& value, std::string path, FieldProblems& problems);

  const std::string& path() const { return path_; }
  bool Has(std::string_view key) const;
  // The raw member, or nullptr when absent or null.
  const Json* Find(std::string_view key) const;

  std::string String(std::string_view key);
  std::optional<std::string> OptionalString(std::string_view key);
  std::optional<bool> OptionalBool(std::string_view key);
  JsonObjectReader Object(std::string_view key);
  std::optional<JsonObjectReader> OptionalObject(std::string_view key);
  // An array member; an absent or null one reads as empty.
  std::vector<const Json*> OptionalArray(std::string_view key);
  std::vector<std::string> OptionalStringArray(std::string_view key);
  // An object whose members are all strings (CloudWatch dimensions).
  std::map<std::string, std::string> OptionalStringMap(std::string_view key);

  FieldProblems& problems() { return *problems_; }

 private:
  const Json* object_;
  std::string path_;
  FieldProblems* problems_;
};

// "expected string, got number" for `value`.
std::string TypeMismatch(std::string_view expected, const Json& value);

// `text` in double quotes for a reason, cut to at most 80 bytes (on a UTF-8 boundary) so that a
// huge field cannot make a huge DLQ header.
std::string Quoted(std::string_view text);

// An AWS timestamp ("2019-10-02T17:04:40Z", "2015-06-03T17:43:27.123+0000") rewritten as RFC 3339
// UTC with milliseconds, or nullopt when it is not one.
std::optional<std::string> CanonicalTime(const std::string& text);

// Reads a required timestamp member and returns it canonical; notes "<path>: expected an RFC 3339
// timestamp, got \"...\"" when it is not one.
std::string RequiredTime(JsonObjectReader& object, std::string_view key);

}  // namespace fleetkeeper::consumers
