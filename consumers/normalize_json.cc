#include "consumers/normalize_json.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <memory>
#include <utility>

#include "common/clock.h"
#include "consumers/json_screen.h"

namespace fleetkeeper::consumers {
namespace {

// nlohmann's messages start with "[json.exception.parse_error.101] parse error at line 1, column 2:
// "; the byte offset is reported separately, so keep only what went wrong.
std::string ParseProblem(const std::exception& e) {
  std::string message = e.what();
  const size_t colon = message.find(": ");
  if (message.rfind("[json.exception", 0) == 0 && colon != std::string::npos) {
    message.erase(0, colon + 2);
  }
  return message;
}

// The DOM nlohmann's own parser would build, from simdjson's: objects keep the last of duplicate
// keys, non-negative integers are unsigned. Depth is bounded by the parser's max_depth.
Json ToJson(simdjson::dom::element element) {
  using Type = simdjson::dom::element_type;
  switch (element.type()) {
    case Type::OBJECT: {
      Json object = Json::object();
      auto& fields = object.get_ref<Json::object_t&>();
      for (simdjson::dom::key_value_pair field : simdjson::dom::object(element)) {
        fields.insert_or_assign(std::string(field.key), ToJson(field.value));
      }
      return object;
    }
    case Type::ARRAY: {
      Json array = Json::array();
      auto& items = array.get_ref<Json::array_t&>();
      for (simdjson::dom::element item : simdjson::dom::array(element)) {
        items.push_back(ToJson(item));
      }
      return array;
    }
    case Type::STRING:
      return Json(std::string(std::string_view(element)));
    case Type::INT64: {
      const int64_t value = int64_t(element);
      if (value >= 0) return Json(static_cast<uint64_t>(value));
      return Json(value);
    }
    case Type::UINT64:
      return Json(uint64_t(element));
    case Type::DOUBLE:
      return Json(double(element));
    case Type::BOOL:
      return Json(bool(element));
    case Type::NULL_VALUE:
      break;
  }
  return Json(nullptr);
}

// Texts up to this size are read by the thread's reused parsers; a parser keeps buffers in
// proportion to the largest text it has read, so larger ones (rare, up to the topics'
// max.message.bytes) get a parser of their own, freed with their document.
constexpr size_t kReusedParserMaxBytes = 256 * 1024;
// Documents alive at once on a thread: the payload and an SNS Message inside it.
constexpr size_t kReusedParsers = 4;

std::vector<std::unique_ptr<simdjson::dom::parser>>& ParserPool() {
  thread_local std::vector<std::unique_ptr<simdjson::dom::parser>> pool;
  return pool;
}

// A parser for texts nested at most max_depth deep: the thread's last returned one when the text
// is small enough to share it, else a parser of its own.
std::unique_ptr<simdjson::dom::parser> TakeParser(size_t size, size_t max_depth) {
  std::unique_ptr<simdjson::dom::parser> parser;
  auto& pool = ParserPool();
  if (size <= kReusedParserMaxBytes && !pool.empty()) {
    parser = std::move(pool.back());
    pool.pop_back();
  } else {
    parser = std::make_unique<simdjson::dom::parser>();
  }
  if (parser->max_depth() != max_depth) {
    // A failed allocation shows as the parse's MEMALLOC error.
    const simdjson::error_code allocated =
        parser->allocate(std::max<size_t>(parser->capacity(), 4096), max_depth);
    static_cast<void>(allocated);
  }
  return parser;
}

}  // namespace

// --- JsonValue ------------------------------------------------------------------------------

bool JsonValue::is_number_unsigned() const {
  switch (element_.type()) {
    case simdjson::dom::element_type::UINT64:
      return true;
    case simdjson::dom::element_type::INT64:
      return int64_t(element_) >= 0;
    default:
      return false;
  }
}

const char* JsonValue::type_name() const {
  using Type = simdjson::dom::element_type;
  switch (element_.type()) {
    case Type::OBJECT:
      return "object";
    case Type::ARRAY:
      return "array";
    case Type::STRING:
      return "string";
    case Type::BOOL:
      return "boolean";
    case Type::NULL_VALUE:
      return "null";
    case Type::INT64:
    case Type::UINT64:
    case Type::DOUBLE:
      break;
  }
  return "number";
}

std::string_view JsonValue::string_view() const {
  std::string_view text;
  if (element_.get_string().get(text) != simdjson::SUCCESS) return {};
  return text;
}

template <>
std::string JsonValue::get<std::string>() const {
  return std::string(string_view());
}

template <>
bool JsonValue::get<bool>() const {
  bool value = false;
  if (element_.get_bool().get(value) != simdjson::SUCCESS) return false;
  return value;
}

namespace {

// A number as T, converted as static_cast converts; 0 for a value that is not a number.
template <typename T>
T NumberAs(simdjson::dom::element element) {
  switch (element.type()) {
    case simdjson::dom::element_type::INT64:
      return static_cast<T>(int64_t(element));
    case simdjson::dom::element_type::UINT64:
      return static_cast<T>(uint64_t(element));
    case simdjson::dom::element_type::DOUBLE:
      return static_cast<T>(double(element));
    default:
      return T{};
  }
}

}  // namespace

template <>
double JsonValue::get<double>() const {
  return NumberAs<double>(element_);
}

template <>
int64_t JsonValue::get<int64_t>() const {
  return NumberAs<int64_t>(element_);
}

template <>
uint64_t JsonValue::get<uint64_t>() const {
  return NumberAs<uint64_t>(element_);
}

template <>
int JsonValue::get<int>() const {
  return static_cast<int>(NumberAs<int64_t>(element_));
}

std::optional<JsonValue> JsonValue::find(std::string_view key) const {
  if (!is_object()) return std::nullopt;
  std::optional<JsonValue> found;
  for (simdjson::dom::key_value_pair field : simdjson::dom::object(element_)) {
    if (field.key == key) found.emplace(field.value);
  }
  return found;
}

bool JsonValue::contains(std::string_view key) const {
  if (!is_object()) return false;
  for (simdjson::dom::key_value_pair field : simdjson::dom::object(element_)) {
    if (field.key == key) return true;  // any of duplicate keys will do: no need to find the last
  }
  return false;
}

size_t JsonValue::size() const {
  if (is_object()) return simdjson::dom::object(element_).size();
  if (is_array()) return simdjson::dom::array(element_).size();
  return 0;
}

std::string JsonValue::dump() const { return simdjson::to_string(element_); }

// --- Parsing --------------------------------------------------------------------------------

JsonDocument::JsonDocument(JsonDocument&& other) noexcept
    : parser_(std::move(other.parser_)), root_(other.root_) {}

JsonDocument::~JsonDocument() {
  // A parser that has read a large text keeps its buffers: it is freed, not shared.
  if (!parser_ || parser_->capacity() > kReusedParserMaxBytes) return;
  auto& pool = ParserPool();
  if (pool.size() < kReusedParsers) pool.push_back(std::move(parser_));
}

Result<JsonDocument> ParseJsonDocument(std::string_view text, size_t max_depth,
                                       std::string_view what) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return InvalidInput(std::string(what) + ": empty, expected a JSON document");
  }
  // A large text is screened first: a megabyte of "[" then fails at its first bytes over the
  // depth instead of after simdjson has indexed all of it with buffers of its own. Any other text
  // is screened only if simdjson refuses it, to word the reason.
  const bool large = text.size() > kReusedParserMaxBytes;
  const auto screen = [&] { return ScreenJsonText(text, max_depth, what); };
  if (large) {
    if (std::string reason = screen(); !reason.empty()) return InvalidInput(std::move(reason));
  }
  JsonDocument document(TakeParser(text.size(), max_depth));
  if (document.parser_->parse(text.data(), text.size(), /*realloc_if_needed=*/true)
          .get(document.root_) == simdjson::SUCCESS) {
    return document;
  }
  // Refused: find the reason with the screen (unless it passed above) and nlohmann.
  if (!large) {
    if (std::string reason = screen(); !reason.empty()) return InvalidInput(std::move(reason));
  }
  std::string rewritten;
  try {
    rewritten = Json::parse(text.begin(), text.end()).dump();
  } catch (const Json::parse_error& e) {
    return InvalidInput(std::string(what) + ": invalid JSON at byte " + std::to_string(e.byte) +
                        ": " + ParseProblem(e));
  } catch (const std::exception& e) {
    return InvalidInput(std::string(what) + ": invalid JSON: " + ParseProblem(e));
  }
  // Valid JSON that simdjson does not read as written (integers beyond 64 bits, now doubles; a
  // byte-order mark, now gone).
  const simdjson::error_code again =
      document.parser_->parse(rewritten.data(), rewritten.size(), true).get(document.root_);
  if (again != simdjson::SUCCESS) {
    return InvalidInput(std::string(what) +
                        ": JSON not readable: " + simdjson::error_message(again));
  }
  return document;
}

Result<Json> ParseJsonText(std::string_view text, size_t max_depth, std::string_view what) {
  Result<JsonDocument> document = ParseJsonDocument(text, max_depth, what);
  if (!document.ok()) return std::move(document).take_error();
  return ToJson(document->root().element());
}

std::string JoinPath(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  std::string joined;
  joined.reserve(path.size() + 1 + key.size());
  joined.append(path).append(".").append(key);
  return joined;
}

std::string TypeMismatch(std::string_view expected, const JsonValue& value) {
  return "expected " + std::string(expected) + ", got " + value.type_name();
}

JsonObjectReader::JsonObjectReader(JsonValue value, std::string path, FieldProblems& problems)
    : path_(std::move(path)), problems_(&problems) {
  if (value.is_object()) {
    object_.emplace(value);
    const simdjson::dom::object object(value.element());
    member_count_ = object.size();
    if (member_count_ <= kListedMembers) {
      size_t i = 0;
      for (simdjson::dom::key_value_pair field : object) members_[i++] = {field.key, field.value};
    }
  } else {
    problems_->Note((path_.empty() ? std::string("payload") : path_) + ": " +
                    TypeMismatch("object", value));
  }
}

bool JsonObjectReader::Has(std::string_view key) const { return Find(key).has_value(); }

std::optional<JsonValue> JsonObjectReader::Find(std::string_view key) const {
  if (!object_) return std::nullopt;
  if (member_count_ > kListedMembers) {
    std::optional<JsonValue> value = object_->find(key);
    if (value && value->is_null()) return std::nullopt;
    return value;
  }
  // From the end, because of duplicate keys the last one counts.
  for (size_t i = member_count_; i-- > 0;) {
    if (members_[i].key != key) continue;
    const JsonValue value(members_[i].value);
    if (value.is_null()) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

std::string JsonObjectReader::String(std::string_view key) { return std::string(StringView(key)); }

std::string_view JsonObjectReader::StringView(std::string_view key) {
  const std::optional<JsonValue> value = Find(key);
  if (!value) {
    problems_->Note(JoinPath(path_, key) + ": missing");
    return {};
  }
  if (!value->is_string()) {
    problems_->Note(JoinPath(path_, key) + ": " + TypeMismatch("string", *value));
    return {};
  }
  const std::string_view text = value->string_view();
  if (text.empty()) problems_->Note(JoinPath(path_, key) + ": empty");
  return text;
}

std::optional<std::string> JsonObjectReader::OptionalString(std::string_view key) {
  const std::optional<std::string_view> text = OptionalStringView(key);
  if (!text) return std::nullopt;
  return std::string(*text);
}

std::optional<std::string_view> JsonObjectReader::OptionalStringView(std::string_view key) {
  const std::optional<JsonValue> value = Find(key);
  if (!value) return std::nullopt;
  if (!value->is_string()) {
    problems_->Note(JoinPath(path_, key) + ": " + TypeMismatch("string", *value));
    return std::nullopt;
  }
  return value->string_view();
}

std::optional<bool> JsonObjectReader::OptionalBool(std::string_view key) {
  const std::optional<JsonValue> value = Find(key);
  if (!value) return std::nullopt;
  if (!value->is_boolean()) {
    problems_->Note(JoinPath(path_, key) + ": " + TypeMismatch("boolean", *value));
    return std::nullopt;
  }
  return value->get<bool>();
}

JsonObjectReader JsonObjectReader::Object(std::string_view key) {
  const std::optional<JsonValue> value = Find(key);
  if (!value) {
    problems_->Note(JoinPath(path_, key) + ": missing");
    return JsonObjectReader(JoinPath(path_, key), *problems_);
  }
  return JsonObjectReader(*value, JoinPath(path_, key), *problems_);
}

std::optional<JsonObjectReader> JsonObjectReader::OptionalObject(std::string_view key) {
  const std::optional<JsonValue> value = Find(key);
  if (!value) return std::nullopt;
  return JsonObjectReader(*value, JoinPath(path_, key), *problems_);
}

std::vector<JsonValue> JsonObjectReader::OptionalArray(std::string_view key) {
  std::vector<JsonValue> items;
  const std::optional<JsonValue> value = Find(key);
  if (!value) return items;
  if (!value->is_array()) {
    problems_->Note(JoinPath(path_, key) + ": " + TypeMismatch("array", *value));
    return items;
  }
  items.reserve(value->size());
  value->for_each_item([&](size_t, JsonValue item) { items.push_back(item); });
  return items;
}

std::vector<std::string> JsonObjectReader::OptionalStringArray(std::string_view key) {
  std::vector<std::string> strings;
  const std::vector<JsonValue> items = OptionalArray(key);
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_string()) {
      problems_->Note(JoinPath(path_, key) + "[" + std::to_string(i) +
                      "]: " + TypeMismatch("string", items[i]));
      return {};
    }
    strings.push_back(items[i].get<std::string>());
  }
  return strings;
}

std::map<std::string, std::string> JsonObjectReader::OptionalStringMap(std::string_view key) {
  std::map<std::string, std::string> strings;
  const std::optional<JsonValue> value = Find(key);
  if (!value) return strings;
  if (!value->is_object()) {
    problems_->Note(JoinPath(path_, key) + ": " + TypeMismatch("object", *value));
    return strings;
  }
  bool bad = false;
  value->for_each_member([&](std::string_view name, JsonValue member) {
    if (bad) return;
    if (!member.is_string()) {
      problems_->Note(JoinPath(JoinPath(path_, key), name) + ": " + TypeMismatch("string", member));
      bad = true;
      return;
    }
    strings.insert_or_assign(std::string(name), member.get<std::string>());  // last one wins
  });
  if (bad) return {};
  return strings;
}

std::string Quoted(std::string_view text) {
  constexpr size_t kMaxBytes = 80;
  if (text.size() <= kMaxBytes) return "\"" + std::string(text) + "\"";
  size_t cut = kMaxBytes;
  while (cut > 0 && (static_cast<uint8_t>(text[cut]) & 0xC0) == 0x80) --cut;
  return "\"" + std::string(text.substr(0, cut)) + "...\" (" + std::to_string(text.size()) +
         " bytes)";
}

std::optional<std::string> CanonicalTime(std::string_view text) {
  const int64_t epoch_ms = ParseRfc3339Ms(text);
  if (epoch_ms == -1) return std::nullopt;
  return FormatRfc3339(epoch_ms);
}

std::string RequiredTime(JsonObjectReader& object, std::string_view key) {
  const std::string_view text = object.StringView(key);
  if (text.empty()) return "";
  std::optional<std::string> canonical = CanonicalTime(text);
  if (!canonical) {
    object.problems().Note(JoinPath(object.path(), key) + ": expected an RFC 3339 timestamp, got " +
                           Quoted(text));
    return "";
  }
  return *canonical;
}

}  // namespace fleetkeeper::consumers
