// Internal to the normalizer: safe JSON parsing and strict, path-naming field access, so that every
// decoder reports bad input the same way ("detail.name: expected string, got number").
#pragma once

#include <array>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <simdjson.h>

#include "common/error.h"

namespace fleetkeeper::consumers {

using Json = nlohmann::json;

// One value of a parsed JSON text, read in place from simdjson's document: the subset of
// nlohmann's interface the decoders use, with nlohmann's reading of it (non-negative integers are
// unsigned, the last of duplicate keys wins, type names "object", "array", "string", "number",
// "boolean", "null"). Valid while the JsonDocument it came from lives. Cheap to copy.
class JsonValue {
 public:
  explicit JsonValue(simdjson::dom::element element) : element_(element) {}

  bool is_object() const { return element_.type() == simdjson::dom::element_type::OBJECT; }
  bool is_array() const { return element_.type() == simdjson::dom::element_type::ARRAY; }
  bool is_string() const { return element_.type() == simdjson::dom::element_type::STRING; }
  bool is_boolean() const { return element_.type() == simdjson::dom::element_type::BOOL; }
  bool is_null() const { return element_.type() == simdjson::dom::element_type::NULL_VALUE; }
  bool is_number() const { return is_number_integer() || is_number_float(); }
  bool is_number_float() const { return element_.type() == simdjson::dom::element_type::DOUBLE; }
  bool is_number_integer() const {
    return element_.type() == simdjson::dom::element_type::INT64 ||
           element_.type() == simdjson::dom::element_type::UINT64;
  }
  bool is_number_unsigned() const;
  const char* type_name() const;

  // A string's text ("" for any other type).
  std::string_view string_view() const;
  // std::string, bool, double, int64_t, uint64_t or int, converted as nlohmann converts; the
  // value must be of a matching type (a number for the numeric ones).
  template <typename T>
  T get() const;

  // An object's member (the last of duplicate keys; null members included), nullopt when absent
  // or when this is not an object.
  std::optional<JsonValue> find(std::string_view key) const;
  bool contains(std::string_view key) const;
  // An object's or array's members or items as written (duplicate keys each count), 0 otherwise.
  size_t size() const;
  // Calls f(key, value) for each member of an object, in document order, duplicates included.
  template <typename F>
  void for_each_member(F&& f) const {
    if (!is_object()) return;
    for (simdjson::dom::key_value_pair field : simdjson::dom::object(element_)) {
      f(field.key, JsonValue(field.value));
    }
  }
  // Calls f(index, item) for each item of an array.
  template <typename F>
  void for_each_item(F&& f) const {
    if (!is_array()) return;
    size_t i = 0;
    for (simdjson::dom::element item : simdjson::dom::array(element_)) f(i++, JsonValue(item));
  }
  // The value as compact JSON text (for reasons).
  std::string dump() const;

  simdjson::dom::element element() const { return element_; }

 private:
  simdjson::dom::element element_;
};

// A parsed JSON text. Moves; parsers are reused per thread, so a document costs no allocation
// once its thread has parsed a text of its size.
class JsonDocument {
 public:
  JsonDocument(JsonDocument&& other) noexcept;
  JsonDocument& operator=(JsonDocument&&) = delete;
  JsonDocument(const JsonDocument&) = delete;
  ~JsonDocument();

  JsonValue root() const { return JsonValue(root_); }

 private:
  friend Result<JsonDocument> ParseJsonDocument(std::string_view, size_t, std::string_view);
  explicit JsonDocument(std::unique_ptr<simdjson::dom::parser> parser)
      : parser_(std::move(parser)) {}

  std::unique_ptr<simdjson::dom::parser> parser_;
  simdjson::dom::element root_;
};

// Parses one JSON text. `what` names the text in reasons ("payload", "Message"). The bytes must be
// UTF-8 and nest no deeper than max_depth. simdjson reads it, checking both in the same pass;
// whatever it refuses is read again by a screen (UTF-8 and depth) and nlohmann's parser, whose
// messages name the byte and the problem. What nlohmann reads but simdjson refuses (integers
// beyond 64 bits, as doubles; a byte-order mark) is re-serialized by nlohmann and read again.
// Never throws.
Result<JsonDocument> ParseJsonDocument(std::string_view text, size_t max_depth,
                                       std::string_view what);

// The same, as nlohmann's document (for readers outside the hot path: the HTTP ingest).
Result<Json> ParseJsonText(std::string_view text, size_t max_depth, std::string_view what);

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
  JsonObjectReader(JsonValue value, std::string path, FieldProblems& problems);
  // An empty object at `path` (after a problem was noted for it).
  JsonObjectReader(std::string path, FieldProblems& problems)
      : path_(std::move(path)), problems_(&problems) {}

  const std::string& path() const { return path_; }
  bool Has(std::string_view key) const;
  // The raw member, or nullopt when absent or null.
  std::optional<JsonValue> Find(std::string_view key) const;

  std::string String(std::string_view key);
  // The same, in place: valid while the document lives. For text that is only compared or read.
  std::string_view StringView(std::string_view key);
  std::optional<std::string> OptionalString(std::string_view key);
  std::optional<std::string_view> OptionalStringView(std::string_view key);
  std::optional<bool> OptionalBool(std::string_view key);
  JsonObjectReader Object(std::string_view key);
  std::optional<JsonObjectReader> OptionalObject(std::string_view key);
  // An array member; an absent or null one reads as empty.
  std::vector<JsonValue> OptionalArray(std::string_view key);
  std::vector<std::string> OptionalStringArray(std::string_view key);
  // An object whose members are all strings (CloudWatch dimensions).
  std::map<std::string, std::string> OptionalStringMap(std::string_view key);

  FieldProblems& problems() { return *problems_; }

 private:
  // Decoders read most members of the objects they open, and a simdjson object can only be
  // scanned: the members are listed once, so that each lookup compares keys side by side instead
  // of walking the tape. The envelopes and details decoders read are smaller than this; a larger
  // object is walked per lookup.
  static constexpr size_t kListedMembers = 24;
  struct Member {
    std::string_view key;
    simdjson::dom::element value;
  };

  std::optional<JsonValue> object_;  // nullopt: read as an empty object
  std::string path_;
  FieldProblems* problems_;
  size_t member_count_ = 0;  // listed in members_; more than kListedMembers: none are
  std::array<Member, kListedMembers> members_;
};

// "expected string, got number" for `value`.
std::string TypeMismatch(std::string_view expected, const JsonValue& value);

// `text` in double quotes for a reason, cut to at most 80 bytes (on a UTF-8 boundary) so that a
// huge field cannot make a huge DLQ header.
std::string Quoted(std::string_view text);

// An AWS timestamp ("2019-10-02T17:04:40Z", "2015-06-03T17:43:27.123+0000") rewritten as RFC 3339
// UTC with milliseconds, or nullopt when it is not one.
std::optional<std::string> CanonicalTime(std::string_view text);

// Reads a required timestamp member and returns it canonical; notes "<path>: expected an RFC 3339
// timestamp, got \"...\"" when it is not one.
std::string RequiredTime(JsonObjectReader& object, std::string_view key);

}  // namespace fleetkeeper::consumers
