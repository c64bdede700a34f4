#include "app/yaml_to_proto.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>
#include <variant>

#include <google/protobuf/descriptor.h>

#include "common/file.h"
#include "common/secrets.h"

namespace fleetkeeper::app {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

bool IsDuration(const Descriptor* descriptor) {
  return descriptor->full_name() == "google.protobuf.Duration";
}

// yaml-cpp marks a quoted scalar with the non-specific tag "!"; an explicit !!str counts as quoted
// too. Only plain scalars may be read as numbers or booleans.
bool IsQuoted(const YAML::Node& node) {
  return node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str";
}

int LineOf(const YAML::Node& node, int fallback) {
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? fallback : mark.line + 1;
}

const char* NodeKind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return IsQuoted(node) ? "a quoted string" : "a scalar";
    default:
      return "nothing";
  }
}

// What a field expects, as a user reads it in an error.
std::string ExpectedType(const FieldDescriptor* field) {
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return "integer (int32)";
    case FieldDescriptor::CPPTYPE_INT64:
      return "integer (int64)";
    case FieldDescriptor::CPPTYPE_UINT32:
      return "non-negative integer (uint32)";
    case FieldDescriptor::CPPTYPE_UINT64:
      return "non-negative integer (uint64)";
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      return "number";
    case FieldDescriptor::CPPTYPE_BOOL:
      return "true or false";
    case FieldDescriptor::CPPTYPE_STRING:
      return "string";
    case FieldDescriptor::CPPTYPE_ENUM: {
      std::string names;
      const auto* e = field->enum_type();
      for (int i = 0; i < e->value_count(); ++i) {
        names += (i == 0 ? "" : " | ") + e->value(i)->name();
      }
      return "one of " + names;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      if (IsDuration(field->message_type())) {
        return "a duration with a unit, e.g. \"90s\", \"5m\", \"2h\", \"1h30m\", \"250ms\"";
      }
      return "a mapping";
  }
  return "value";
}

using ScalarValue = std::variant<int32_t, int64_t, uint32_t, uint64_t, double, float, bool,
                                 std::string, const EnumValueDescriptor*>;

template <typename Int>
std::optional<Int> ParseInteger(const std::string& text) {
  Int value{};
  const char* begin = text.data();
  const char* end = begin + text.size();
  if (begin != end && *begin == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end || begin == end) return std::nullopt;
  return value;
}

bool LooksLikeInteger(const std::string& text) {
  size_t i = (!text.empty() && (text[0] == '-' || text[0] == '+')) ? 1 : 0;
  if (i == text.size()) return false;
  return std::all_of(text.begin() + static_cast<std::ptrdiff_t>(i), text.end(),
                     [](unsigned char c) { return std::isdigit(c) != 0; });
}

template <typename Int>
std::optional<ScalarValue> IntegerValue(const std::string& text, const FieldDescriptor* field,
                                        std::string* problem) {
  if (auto v = ParseInteger<Int>(text)) return ScalarValue(*v);
  if (LooksLikeInteger(text)) {
    *problem = "expected " + ExpectedType(field) + ", " + text + " is out of range (" +
               std::to_string(std::numeric_limits<Int>::min()) + ".." +
               std::to_string(std::numeric_limits<Int>::max()) + ")";
  } else {
    *problem = "expected " + ExpectedType(field) + ", got \"" + text + "\"";
  }
  return std::nullopt;
}

// Converts a scalar node for a non-message field. On failure sets *problem and returns nullopt.
std::optional<ScalarValue> ConvertScalar(const YAML::Node& node, const FieldDescriptor* field,
                                         std::string* problem) {
  if (!node.IsScalar()) {
    *problem = "expected " + ExpectedType(field) + ", got " + NodeKind(node);
    return std::nullopt;
  }
  const std::string& text = node.Scalar();
  const auto type = field->cpp_type();
  if (type == FieldDescriptor::CPPTYPE_STRING) return ScalarValue(text);
  if (IsQuoted(node) && type != FieldDescriptor::CPPTYPE_ENUM) {
    *problem = "expected " + ExpectedType(field) + ", got the quoted string \"" + text + "\"";
    return std::nullopt;
  }
  switch (type) {
    case FieldDescriptor::CPPTYPE_INT32:
      return IntegerValue<int32_t>(text, field, problem);
    case FieldDescriptor::CPPTYPE_INT64:
      return IntegerValue<int64_t>(text, field, problem);
    case FieldDescriptor::CPPTYPE_UINT32:
      return IntegerValue<uint32_t>(text, field, problem);
    case FieldDescriptor::CPPTYPE_UINT64:
      return IntegerValue<uint64_t>(text, field, problem);
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (text.empty() || end != text.c_str() + text.size()) {
        *problem = "expected a number, got \"" + text + "\"";
        return std::nullopt;
      }
      if (type == FieldDescriptor::CPPTYPE_FLOAT) return ScalarValue(static_cast<float>(v));
      return ScalarValue(v);
    }
    case FieldDescriptor::CPPTYPE_BOOL:
      if (text == "true" || text == "True" || text == "TRUE") return ScalarValue(true);
      if (text == "false" || text == "False" || text == "FALSE") return ScalarValue(false);
      *problem = "expected true or false, got \"" + text + "\"";
      return std::nullopt;
    case FieldDescriptor::CPPTYPE_ENUM:
      if (const auto* v = field->enum_type()->FindValueByName(text)) return ScalarValue(v);
      *problem = "expected " + ExpectedType(field) + ", got \"" + text + "\"";
      return std::nullopt;
    default:
      break;
  }
  *problem = "unsupported field type";
  return std::nullopt;
}

// Sets (singular) or appends (repeated) a converted scalar.
void StoreScalar(Message& message, const FieldDescriptor* field, const ScalarValue& value) {
  const Reflection* r = message.GetReflection();
  const bool add = field->is_repeated();
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, int32_t>) {
          add ? r->AddInt32(&message, field, v) : r->SetInt32(&message, field, v);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          add ? r->AddInt64(&message, field, v) : r->SetInt64(&message, field, v);
        } else if constexpr (std::is_same_v<T, uint32_t>) {
          add ? r->AddUInt32(&message, field, v) : r->SetUInt32(&message, field, v);
        } else if constexpr (std::is_same_v<T, uint64_t>) {
          add ? r->AddUInt64(&message, field, v) : r->SetUInt64(&message, field, v);
        } else if constexpr (std::is_same_v<T, double>) {
          add ? r->AddDouble(&message, field, v) : r->SetDouble(&message, field, v);
        } else if constexpr (std::is_same_v<T, float>) {
          add ? r->AddFloat(&message, field, v) : r->SetFloat(&message, field, v);
        } else if constexpr (std::is_same_v<T, bool>) {
          add ? r->AddBool(&message, field, v) : r->SetBool(&message, field, v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          add ? r->AddString(&message, field, v) : r->SetString(&message, field, v);
        } else {
          add ? r->AddEnum(&message, field, v) : r->SetEnum(&message, field, v);
        }
      },
      value);
}

// A whole-value `${env:NAME}` or `${file:/path}`: its value (registered as a secret), or nullopt
// with `problem` set when it cannot be read. `is_reference` says whether the text was one.
std::optional<std::string> ResolveReference(const std::string& text, const Getenv& getenv,
                                            bool* is_reference, std::string* problem) {
  *is_reference = false;
  if (text.size() < 4 || text.compare(0, 2, "${") != 0 || text.back() != '}') return std::nullopt;
  const std::string_view inner = std::string_view(text).substr(2, text.size() - 3);
  std::optional<std::string> value;
  if (inner.rfind("env:", 0) == 0) {
    *is_reference = true;
    const std::string name(inner.substr(4));
    if (name.empty()) {
      *problem = "${env:} names no variable";
      return std::nullopt;
    }
    value = getenv ? getenv(name) : std::nullopt;
    if (!value) {
      *problem = "environment variable " + name + " is not set";
      return std::nullopt;
    }
  } else if (inner.rfind("file:", 0) == 0) {
    *is_reference = true;
    const std::string file(inner.substr(5));
    auto contents = ReadFileContents(file);
    if (!contents.ok()) {
      *problem = "cannot read " + file + ": " + contents.error().message;
      return std::nullopt;
    }
    value = std::move(*contents);
    if (!value->empty() && value->back() == '\n') value->pop_back();
    if (!value->empty() && value->back() == '\r') value->pop_back();
  } else {
    return std::nullopt;  // "${" starting an ordinary value
  }
  RegisterSecret(*value);
  return value;
}

class Converter {
 public:
  Converter(std::vector<ConfigError>& errors, const Getenv* getenv)
      : errors_(errors), getenv_(getenv) {}

  void ConvertMessage(const YAML::Node& node, Message& message, const std::string& path, int line) {
    if (!node.IsDefined() || node.IsNull()) return;
    if (!node.IsMap()) {
      Fail(path, std::string("expected a mapping, got ") + NodeKind(node), LineOf(node, line));
      return;
    }
    const Descriptor* descriptor = message.GetDescriptor();
    std::map<const FieldDescriptor*, std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      // A copy, not a reference: yaml-cpp's it-> returns a proxy that holds the key and value
      // pair by value and dies with the statement. A Node is a handle; copying it is cheap.
      const YAML::Node key = it->first;
      const int key_line = LineOf(key, line);
      if (!key.IsScalar()) {
        Fail(path, "a key must be a plain name, got " + std::string(NodeKind(key)), key_line);
        continue;
      }
      const std::string& name = key.Scalar();
      const std::string child = ChildPath(path, name);
      const FieldDescriptor* field = FindField(descriptor, name);
      if (field == nullptr) {
        Fail(child, UnknownKeyMessage(descriptor, name), key_line);
        continue;
      }
      auto [prev, inserted] = seen.emplace(field, name);
      if (!inserted) {
        Fail(child, "duplicate key (already given as \"" + prev->second + "\")", key_line);
        continue;
      }
      ConvertField(it->second, message, field, child, key_line);
    }
  }

 private:
  static const FieldDescriptor* FindField(const Descriptor* descriptor, const std::string& name) {
    if (const auto* f = descriptor->FindFieldByName(name)) return f;
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const auto* f = descriptor->field(i);
      if (f->json_name() == name) return f;
    }
    return nullptr;
  }

  static std::string UnknownKeyMessage(const Descriptor* descriptor, const std::string& name) {
    std::vector<std::string> keys;
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const auto* f = descriptor->field(i);
      keys.push_back(f->name());
      if (f->has_json_name()) keys.push_back(f->json_name());
    }
    std::string message = "unknown key";
    if (auto nearest = NearestKey(name, keys)) {
      message += "; did you mean \"" + *nearest + "\"?";
    } else {
      message += "; valid keys here:";
      for (int i = 0; i < descriptor->field_count(); ++i) {
        message += (i == 0 ? " " : ", ") + descriptor->field(i)->name();
      }
    }
    return message;
  }

  void ConvertField(const YAML::Node& node, Message& message, const FieldDescriptor* field,
                    const std::string& path, int line) {
    if (!node.IsDefined() || node.IsNull()) return;  // `key:` alone means "not set"
    if (field->is_map()) {
      ConvertMap(node, message, field, path, line);
      return;
    }
    const Reflection* r = message.GetReflection();
    if (field->is_repeated()) {
      if (!node.IsSequence()) {
        Fail(path,
             "expected a list of " + ExpectedType(field) + ", got " + NodeKind(node) +
                 " (write [a, b] or one \"- item\" per line)",
             LineOf(node, line));
        return;
      }
      for (size_t i = 0; i < node.size(); ++i) {
        const YAML::Node element = node[i];
        const std::string element_path = IndexPath(path, i);
        const int element_line = LineOf(element, line);
        if (element.IsNull()) {
          Fail(element_path, "expected " + ExpectedType(field) + ", got nothing", element_line);
        } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          ConvertSubMessage(element, *r->AddMessage(&message, field), field, element_path,
                            element_line);
        } else {
          ConvertScalarField(element, message, field, element_path, element_line);
        }
      }
      return;
    }
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      ConvertSubMessage(node, *r->MutableMessage(&message, field), field, path, line);
      return;
    }
    ConvertScalarField(node, message, field, path, line);
  }

  void ConvertSubMessage(const YAML::Node& node, Message& sub, const FieldDescriptor* field,
                         const std::string& path, int line) {
    if (!IsDuration(field->message_type())) {
      ConvertMessage(node, sub, path, line);
      return;
    }
    std::optional<google::protobuf::Duration> duration;
    if (node.IsScalar()) duration = ParseDuration(node.Scalar());
    if (!duration) {
      const std::string got = node.IsScalar() ? "\"" + node.Scalar() + "\"" : NodeKind(node);
      Fail(path, "expected " + ExpectedType(field) + ", got " + got, LineOf(node, line));
      return;
    }
    sub.CopyFrom(*duration);
  }

  void ConvertScalarField(const YAML::Node& node, Message& message, const FieldDescriptor* field,
                          const std::string& path, int line) {
    std::string problem;
    if (getenv_ != nullptr && node.IsScalar()) {
      bool is_reference = false;
      auto resolved = ResolveReference(node.Scalar(), *getenv_, &is_reference, &problem);
      if (is_reference) {
        if (!resolved) {
          Fail(path, problem, LineOf(node, line));
          return;
        }
        if (auto value = ConvertScalar(YAML::Node(*resolved), field, &problem)) {
          StoreScalar(message, field, *value);
        } else {
          Fail(path, "the value of " + node.Scalar() + ": " + problem, LineOf(node, line));
        }
        return;
      }
    }
    if (auto value = ConvertScalar(node, field, &problem)) {
      StoreScalar(message, field, *value);
    } else {
      Fail(path, problem, LineOf(node, line));
    }
  }

  void ConvertMap(const YAML::Node& node, Message& message, const FieldDescriptor* field,
                  const std::string& path, int line) {
    if (!node.IsMap()) {
      Fail(path, std::string("expected a mapping, got ") + NodeKind(node), LineOf(node, line));
      return;
    }
    const FieldDescriptor* key_field = field->message_type()->map_key();
    const FieldDescriptor* value_field = field->message_type()->map_value();
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node key = it->first;  // copies, as in ConvertMessage: it-> is a temporary
      const YAML::Node value = it->second;
      const int key_line = LineOf(key, line);
      if (!key.IsScalar()) {
        Fail(path, "a key must be a scalar, got " + std::string(NodeKind(key)), key_line);
        continue;
      }
      const std::string entry_path = KeyPath(path, key.Scalar());
      if (!seen.insert(key.Scalar()).second) {
        Fail(entry_path, "duplicate key", key_line);
        continue;
      }
      std::string problem;
      auto key_value = ConvertScalar(key, key_field, &problem);
      if (!key_value) {
        Fail(entry_path, "bad key: " + problem, key_line);
        continue;
      }
      if (value.IsNull()) {
        Fail(entry_path, "expected " + ExpectedType(value_field) + ", got nothing", key_line);
        continue;
      }
      Message* entry = message.GetReflection()->AddMessage(&message, field);
      StoreScalar(*entry, key_field, *key_value);
      if (value_field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        ConvertSubMessage(value, *entry->GetReflection()->MutableMessage(entry, value_field),
                          value_field, entry_path, key_line);
      } else {
        ConvertScalarField(value, *entry, value_field, entry_path, key_line);
      }
    }
  }

  void Fail(const std::string& path, std::string message, int line) {
    errors_.push_back(ConfigError{path, std::move(message), line});
  }

  std::vector<ConfigError>& errors_;
  const Getenv* getenv_;  // null: references are not resolved
};

std::string Normalized(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '_' || c == '-' || c == '.') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

YAML::Node ScalarToYaml(const Message& message, const FieldDescriptor* field, int index) {
  const Reflection* r = message.GetReflection();
  const bool rep = index >= 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return YAML::Node(rep ? r->GetRepeatedInt32(message, field, index)
                            : r->GetInt32(message, field));
    case FieldDescriptor::CPPTYPE_INT64:
      return YAML::Node(rep ? r->GetRepeatedInt64(message, field, index)
                            : r->GetInt64(message, field));
    case FieldDescriptor::CPPTYPE_UINT32:
      return YAML::Node(rep ? r->GetRepeatedUInt32(message, field, index)
                            : r->GetUInt32(message, field));
    case FieldDescriptor::CPPTYPE_UINT64:
      return YAML::Node(rep ? r->GetRepeatedUInt64(message, field, index)
                            : r->GetUInt64(message, field));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return YAML::Node(rep ? r->GetRepeatedDouble(message, field, index)
                            : r->GetDouble(message, field));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return YAML::Node(rep ? r->GetRepeatedFloat(message, field, index)
                            : r->GetFloat(message, field));
    case FieldDescriptor::CPPTYPE_BOOL:
      return YAML::Node(rep ? r->GetRepeatedBool(message, field, index)
                            : r->GetBool(message, field));
    case FieldDescriptor::CPPTYPE_STRING:
      return YAML::Node(rep ? r->GetRepeatedString(message, field, index)
                            : r->GetString(message, field));
    case FieldDescriptor::CPPTYPE_ENUM:
      return YAML::Node(rep ? r->GetRepeatedEnum(message, field, index)->name()
                            : r->GetEnum(message, field)->name());
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& sub =
          rep ? r->GetRepeatedMessage(message, field, index) : r->GetMessage(message, field);
      if (IsDuration(sub.GetDescriptor())) {
        google::protobuf::Duration d;
        d.CopyFrom(sub);
        return YAML::Node(FormatDuration(d));
      }
      return MessageToYaml(sub);
    }
  }
  return YAML::Node();
}

}  // namespace

void YamlToMessage(const YAML::Node& node, google::protobuf::Message& message,
                   const std::string& path, std::vector<ConfigError>& errors,
                   const Getenv* getenv) {
  Converter(errors, getenv).ConvertMessage(node, message, path, LineOf(node, 0));
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::optional<std::string> NearestKey(std::string_view key,
                                      const std::vector<std::string>& candidates) {
  const std::string wanted = Normalized(key);
  std::optional<std::string> best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  size_t best_raw = best_distance;
  for (const auto& candidate : candidates) {
    // Case and separators do not count, but on a tie the spelling closest to what the user wrote
    // wins: MinHealthyPercent suggests MinHealthyPercentage, not min_healthy_percentage.
    const size_t d = EditDistance(wanted, Normalized(candidate));
    const size_t raw = EditDistance(key, candidate);
    if (d < best_distance || (d == best_distance && raw < best_raw)) {
      best_distance = d;
      best_raw = raw;
      best = candidate;
    }
  }
  // A typo is a few edits; beyond a third of the word it is more likely a different key.
  const size_t limit = std::max<size_t>(2, wanted.size() / 3);
  if (best && best_distance <= limit) return best;
  return std::nullopt;
}

YAML::Node MessageToYaml(const google::protobuf::Message& message) {
  YAML::Node out(YAML::NodeType::Map);
  const Reflection* r = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    const std::string key = field->has_json_name() ? field->json_name() : field->name();
    if (field->is_map()) {
      const FieldDescriptor* key_field = field->message_type()->map_key();
      const FieldDescriptor* value_field = field->message_type()->map_value();
      std::map<std::string, YAML::Node> sorted;
      for (int i = 0; i < r->FieldSize(message, field); ++i) {
        const Message& entry = r->GetRepeatedMessage(message, field, i);
        sorted[ScalarToYaml(entry, key_field, -1).Scalar()] = ScalarToYaml(entry, value_field, -1);
      }
      YAML::Node map(YAML::NodeType::Map);
      for (const auto& [k, v] : sorted) map[k] = v;
      out[key] = map;
    } else if (field->is_repeated()) {
      YAML::Node list(YAML::NodeType::Sequence);
      for (int i = 0; i < r->FieldSize(message, field); ++i) {
        list.push_back(ScalarToYaml(message, field, i));
      }
      out[key] = list;
    } else {
      out[key] = ScalarToYaml(message, field, -1);
    }
  }
  return out;
}

}  // namespace fleetkeeper::app
