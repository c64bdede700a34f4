#include "consumers/normalize_native.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>

#include <array>
#include <cstdint>
#include <limits>
#include <optional>

#include "consumers/normalize_json.h"

namespace fleetkeeper::consumers {
namespace {

struct NativeKindNames {
  NativeKind kind;
  std::string_view type_name;    // fk-type header
  std::string_view detail_type;  // EventBridge detail-type
  std::string_view wrapper_key;  // bare JSON wrapper, proto field name in Event
  std::string_view camel_key;    // the same in the JSON mapping's lowerCamel spelling
  std::string_view id_prefix;    // dedup key prefix
};

constexpr std::array<NativeKindNames, 4> kNativeKinds{{
    {NativeKind::kPatchRequest, "fleetkeeper.v1.PatchRequest", "Fleetkeeper Patch Request",
     "patch_request", "patchRequest", "patch"},
    {NativeKind::kEcsCommand, "fleetkeeper.v1.EcsCommand", "Fleetkeeper ECS Command", "ecs_command",
     "ecsCommand", "ecs"},
    {NativeKind::kApproval, "fleetkeeper.v1.Approval", "Fleetkeeper Approval", "approval",
     "approval", "approval"},
    {NativeKind::kCancel, "fleetkeeper.v1.Cancel", "Fleetkeeper Cancel", "cancel", "cancel",
     "cancel"},
}};

const NativeKindNames& NamesOf(NativeKind kind) {
  for (const auto& names : kNativeKinds) {
    if (names.kind == kind) return names;
  }
  return kNativeKinds.front();  // unreachable: every enumerator is in the table
}

google::protobuf::Message* BodyOf(NativeKind kind, v1::Event& event) {
  switch (kind) {
    case NativeKind::kPatchRequest:
      return event.mutable_patch_request();
    case NativeKind::kEcsCommand:
      return event.mutable_ecs_command();
    case NativeKind::kApproval:
      return event.mutable_approval();
    case NativeKind::kCancel:
      return event.mutable_cancel();
  }
  return event.mutable_patch_request();
}

void Unreadable(Normalized& out, std::string reason) {
  out.disposition = Disposition::kUnreadable;
  out.reason = std::move(reason);
}

// The cell of a workflow id "<account>/<region>/<kind>-<hash>" (DESIGN.md "Guarantees").
bool CellOfWorkflowId(const std::string& workflow_id, std::string* account, std::string* region) {
  const size_t first = workflow_id.find('/');
  if (first == std::string::npos || first == 0) return false;
  const size_t second = workflow_id.find('/', first + 1);
  if (second == std::string::npos || second == first + 1 || second + 1 >= workflow_id.size()) {
    return false;
  }
  *account = workflow_id.substr(0, first);
  *region = workflow_id.substr(first + 1, second - first - 1);
  return true;
}

// PatchRequest, EcsCommand: a request of their own, identified by request_id, for one cell that
// defaults to the configured account and region.
template <typename Request>
void CompleteRequest(Request& request, const NativeKindNames& names,
                     const NormalizeOptions& options, const NativeCarrier& carrier,
                     Normalized& out) {
  if (request.request_id().empty()) return Unreadable(out, "missing request_id");
  if (request.account().empty()) {
    request.set_account(!options.default_account.empty() ? options.default_account
                                                         : carrier.account);
  }
  if (request.region().empty()) {
    request.set_region(!options.default_region.empty() ? options.default_region : carrier.region);
  }
  if (request.account().empty()) {
    return Unreadable(out, std::string(names.wrapper_key) +
                               ": missing account, and no default account is configured");
  }
  if (request.region().empty()) {
    return Unreadable(out, std::string(names.wrapper_key) +
                               ": missing region, and no default region is configured");
  }
  out.event.set_id(carrier.id.empty() ? request.request_id() : carrier.id);
  out.event.set_dedup_key(std::string(names.id_prefix) + ":" + request.request_id());
  out.event.set_account(request.account());
  out.event.set_region(request.region());
}

// Approval, Cancel: signals to a running workflow. They must be routable to the workflow's cell:
// a workflow_id carries it; a request_id needs the request's account and region spelled out,
// because a configured default would only be a guess.
template <typename Signal>
void CompleteSignal(Signal& signal, const NativeKindNames& names, const std::string& qualifier,
                    const NativeCarrier& carrier, Normalized& out) {
  const std::string kind(names.wrapper_key);
  std::string target;
  if (!signal.workflow_id().empty()) {
    std::string account;
    std::string region;
    if (!CellOfWorkflowId(signal.workflow_id(), &account, &region)) {
      return Unreadable(out, kind + ".workflow_id: expected <account>/<region>/<kind>-<hash>, " +
                                 "got " + Quoted(signal.workflow_id()));
    }
    if (!signal.account().empty() && signal.account() != account) {
      return Unreadable(out, kind + ".account: " + Quoted(signal.account()) +
                                 " is not the account of workflow_id " +
                                 Quoted(signal.workflow_id()));
    }
    if (!signal.region().empty() && signal.region() != region) {
      return Unreadable(out, kind + ".region: " + Quoted(signal.region()) +
                                 " is not the region of workflow_id " +
                                 Quoted(signal.workflow_id()));
    }
    signal.set_account(account);
    signal.set_region(region);
    target = signal.workflow_id();
  } else if (!signal.request_id().empty()) {
    if (signal.account().empty() || signal.region().empty()) {
      return Unreadable(out, kind + ": cannot be routed: request_id " +
                                 Quoted(signal.request_id()) +
                                 " needs the request's account and region (or give workflow_id)");
    }
    target = signal.request_id();
  } else {
    return Unreadable(out, kind +
                               ": cannot be routed: needs workflow_id, or request_id with "
                               "account and region");
  }
  std::string identity = std::string(names.id_prefix) + ":" + target;
  if (!qualifier.empty()) identity += ":" + qualifier;
  out.event.set_id(carrier.id.empty() ? identity : carrier.id);
  out.event.set_dedup_key(identity);
  out.event.set_account(signal.account());
  out.event.set_region(signal.region());
}

void Complete(NativeKind kind, const NormalizeOptions& options, const NativeCarrier& carrier,
              Normalized& out) {
  const NativeKindNames& names = NamesOf(kind);
  out.event.set_source_format(carrier.source_format);
  out.event.set_time(carrier.time);
  out.event.set_origin(carrier.origin.empty() ? std::string(names.type_name) : carrier.origin);
  if (!carrier.id.empty()) out.event.set_id(carrier.id);
  out.disposition = Disposition::kEvent;
  switch (kind) {
    case NativeKind::kPatchRequest:
      return CompleteRequest(*out.event.mutable_patch_request(), names, options, carrier, out);
    case NativeKind::kEcsCommand:
      return CompleteRequest(*out.event.mutable_ecs_command(), names, options, carrier, out);
    case NativeKind::kApproval: {
      v1::Approval& approval = *out.event.mutable_approval();
      if (approval.approver().empty()) return Unreadable(out, "approval: missing approver");
      // An approver may change their mind: a rejection after an approval is a different fact.
      const bool approved = !approval.has_approved() || approval.approved();
      return CompleteSignal(approval, names,
                            approval.approver() + (approved ? ":approved" : ":rejected"), carrier,
                            out);
    }
    case NativeKind::kCancel:
      return CompleteSignal(*out.event.mutable_cancel(), names, "", carrier, out);
  }
}

// --- The protobuf JSON mapping, read strictly -------------------------------------------------

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

void DecodeMessage(const JsonValue& object, const std::string& path, Message& message,
                   FieldProblems& problems);

// Where a value sits, for reasons: "patch_request.targets[0]". Joined only when a reason or a
// nested message needs the text, because most values need neither and joining allocates.
struct ValuePath {
  // An empty parent: `key` is the whole path. An index: an item of a repeated field.
  ValuePath(std::string_view parent, std::string_view key,
            std::optional<size_t> index = std::nullopt)
      : parent(parent), key(key), index(index) {}

  std::string_view parent;
  std::string_view key;
  std::optional<size_t> index;

  std::string Joined() const {
    std::string joined = JoinPath(parent, key);
    if (index) joined.append("[").append(std::to_string(*index)).append("]");
    return joined;
  }
};

// A JSON integer within [min, max]; the mapping also allows a decimal string (for 64-bit values).
std::optional<int64_t> SignedInteger(const JsonValue& value, int64_t min, int64_t max) {
  int64_t number = 0;
  if (value.is_number_unsigned()) {
    if (value.get<uint64_t>() > static_cast<uint64_t>(max)) return std::nullopt;
    number = static_cast<int64_t>(value.get<uint64_t>());
  } else if (value.is_number_integer()) {
    number = value.get<int64_t>();
  } else if (value.is_string()) {
    const std::string text = value.get<std::string>();
    size_t used = 0;
    try {
      number = std::stoll(text, &used);
    } catch (const std::exception&) {
      return std::nullopt;
    }
    if (used != text.size()) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (number < min || number > max) return std::nullopt;
  return number;
}

std::optional<uint64_t> UnsignedInteger(const JsonValue& value, uint64_t max) {
  uint64_t number = 0;
  if (value.is_number_unsigned()) {
    number = value.get<uint64_t>();
  } else if (value.is_number_integer()) {
    return std::nullopt;  // negative
  } else if (value.is_string()) {
    const std::string text = value.get<std::string>();
    size_t used = 0;
    if (text.empty() || text.front() == '-') return std::nullopt;
    try {
      number = std::stoull(text, &used);
    } catch (const std::exception&) {
      return std::nullopt;
    }
    if (used != text.size()) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (number > max) return std::nullopt;
  return number;
}

// Sets (or, for repeated fields, adds) one value of `field`. Notes a problem at `path` when the
// JSON value does not fit the field's type.
void DecodeValue(const JsonValue& value, const FieldDescriptor* field, const ValuePath& path,
                 Message& message, FieldProblems& problems) {
  const Reflection* reflection = message.GetReflection();
  const bool repeated = field->is_repeated();
  const auto mismatch = [&](std::string_view expected) {
    problems.Note(path.Joined() + ": " + TypeMismatch(expected, value));
  };
  const auto out_of_range = [&](std::string_view type) {
    problems.Note(path.Joined() + ": expected " + std::string(type) + ", got " + value.dump());
  };
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      if (!value.is_string()) return mismatch("string");
      if (repeated) return reflection->AddString(&message, field, value.get<std::string>());
      return reflection->SetString(&message, field, value.get<std::string>());
    case FieldDescriptor::CPPTYPE_BOOL:
      if (!value.is_boolean()) return mismatch("boolean");
      if (repeated) return reflection->AddBool(&message, field, value.get<bool>());
      return reflection->SetBool(&message, field, value.get<bool>());
    case FieldDescriptor::CPPTYPE_INT32: {
      const auto number = SignedInteger(value, std::numeric_limits<int32_t>::min(),
                                        std::numeric_limits<int32_t>::max());
      if (!number) return out_of_range("a 32-bit integer");
      if (repeated) return reflection->AddInt32(&message, field, static_cast<int32_t>(*number));
      return reflection->SetInt32(&message, field, static_cast<int32_t>(*number));
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      const auto number = SignedInteger(value, std::numeric_limits<int64_t>::min(),
                                        std::numeric_limits<int64_t>::max());
      if (!number) return out_of_range("a 64-bit integer");
      if (repeated) return reflection->AddInt64(&message, field, *number);
      return reflection->SetInt64(&message, field, *number);
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      const auto number = UnsignedInteger(value, std::numeric_limits<uint32_t>::max());
      if (!number) return out_of_range("an unsigned 32-bit integer");
      if (repeated) return reflection->AddUInt32(&message, field, static_cast<uint32_t>(*number));
      return reflection->SetUInt32(&message, field, static_cast<uint32_t>(*number));
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      const auto number = UnsignedInteger(value, std::numeric_limits<uint64_t>::max());
      if (!number) return out_of_range("an unsigned 64-bit integer");
      if (repeated) return reflection->AddUInt64(&message, field, *number);
      return reflection->SetUInt64(&message, field, *number);
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      if (!value.is_number()) return mismatch("number");
      const double number = value.get<double>();
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT) {
        if (repeated) return reflection->AddFloat(&message, field, static_cast<float>(number));
        return reflection->SetFloat(&message, field, static_cast<float>(number));
      }
      if (repeated) return reflection->AddDouble(&message, field, number);
      return reflection->SetDouble(&message, field, number);
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const google::protobuf::EnumValueDescriptor* enum_value = nullptr;
      if (value.is_string()) {
        enum_value = field->enum_type()->FindValueByName(value.get<std::string>());
      } else if (value.is_number_integer()) {
        enum_value = field->enum_type()->FindValueByNumber(value.get<int>());
      }
      if (enum_value == nullptr) {
        return problems.Note(path.Joined() + ": not a value of " + field->enum_type()->name() +
                             ": " + value.dump());
      }
      if (repeated) return reflection->AddEnum(&message, field, enum_value);
      return reflection->SetEnum(&message, field, enum_value);
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      if (!value.is_object()) return mismatch("object");
      Message* child = repeated ? reflection->AddMessage(&message, field)
                                : reflection->MutableMessage(&message, field);
      return DecodeMessage(value, path.Joined(), *child, problems);
    }
  }
}

// A map key: JSON keys are strings; non-string key types are read from their text.
void DecodeMapKey(std::string_view key, const FieldDescriptor* key_field, const std::string& path,
                  Message& entry, FieldProblems& problems) {
  const Reflection* reflection = entry.GetReflection();
  if (key_field->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
    return reflection->SetString(&entry, key_field, std::string(key));
  }
  Result<JsonDocument> parsed = ParseJsonDocument(key, 1, path);
  if (!parsed.ok()) return problems.Note(path + ": not a valid map key: " + Quoted(key));
  DecodeValue(parsed->root(), key_field, ValuePath{{}, path}, entry, problems);
}

// A map field is a JSON object; its keys become the entries' keys.
void DecodeMap(const JsonValue& value, const FieldDescriptor* field, const std::string& path,
               Message& message, FieldProblems& problems) {
  if (!value.is_object()) return problems.Note(path + ": " + TypeMismatch("object", value));
  const Descriptor* entry_type = field->message_type();
  const FieldDescriptor* key_field = entry_type->map_key();
  const FieldDescriptor* value_field = entry_type->map_value();
  value.for_each_member([&](std::string_view key, JsonValue member) {
    if (problems.any()) return;
    const std::string member_path = JoinPath(path, key);
    if (member.is_null()) return;
    Message* entry = message.GetReflection()->AddMessage(&message, field);
    DecodeMapKey(key, key_field, member_path, *entry, problems);
    DecodeValue(member, value_field, ValuePath{{}, member_path}, *entry, problems);
  });
}

// The field a JSON key names: its proto name, else its lowerCamel JSON name. A scan, not
// Descriptor::FindFieldByName: the messages are small, and the pool's lookup (a std::string key,
// hashed with the parent's name) costs more than comparing lengths field by field.
const FieldDescriptor* FieldNamed(const Descriptor& type, std::string_view key) {
  for (int i = 0; i < type.field_count(); ++i) {
    if (type.field(i)->name() == key) return type.field(i);
  }
  for (int i = 0; i < type.field_count(); ++i) {
    if (type.field(i)->json_name() == key) return type.field(i);
  }
  return nullptr;
}

void DecodeMessage(const JsonValue& object, const std::string& path, Message& message,
                   FieldProblems& problems) {
  const Descriptor* type = message.GetDescriptor();
  object.for_each_member([&](std::string_view key, JsonValue value) {
    if (problems.any()) return;
    const ValuePath field_path{path, key};
    const FieldDescriptor* field = FieldNamed(*type, key);
    if (field == nullptr) {
      // A misspelt field in a command must not silently become its default.
      return problems.Note(field_path.Joined() + ": unknown field of " + type->full_name());
    }
    if (value.is_null()) return;  // the mapping's "default value"
    if (field->is_map()) {
      DecodeMap(value, field, field_path.Joined(), message, problems);
    } else if (field->is_repeated()) {
      if (!value.is_array()) {
        return problems.Note(field_path.Joined() + ": " + TypeMismatch("array", value));
      }
      message.GetReflection()->ClearField(&message, field);
      value.for_each_item([&](size_t i, JsonValue item) {
        if (problems.any()) return;
        DecodeValue(item, field, ValuePath{path, key, i}, message, problems);
      });
    } else {
      DecodeValue(value, field, field_path, message, problems);
    }
  });
}

}  // namespace

std::optional<NativeKind> NativeKindFromTypeName(std::string_view type_name) {
  for (const auto& names : kNativeKinds) {
    if (names.type_name == type_name) return names.kind;
  }
  return std::nullopt;
}

std::optional<NativeKind> NativeKindFromDetailType(std::string_view detail_type) {
  for (const auto& names : kNativeKinds) {
    if (names.detail_type == detail_type) return names.kind;
  }
  return std::nullopt;
}

std::optional<NativeKind> NativeKindFromWrapperKey(std::string_view key) {
  for (const auto& names : kNativeKinds) {
    if (names.wrapper_key == key || names.camel_key == key) return names.kind;
  }
  return std::nullopt;
}

std::string NativeTypeName(NativeKind kind) { return std::string(NamesOf(kind).type_name); }

void DecodeNativeJson(NativeKind kind, const JsonValue& object, const std::string& path,
                      const NormalizeOptions& options, const NativeCarrier& carrier,
                      Normalized& out) {
  FieldProblems problems;
  google::protobuf::Message* body = BodyOf(kind, out.event);
  if (!object.is_object()) {
    problems.Note((path.empty() ? std::string("payload") : path) + ": " +
                  TypeMismatch("object", object));
  } else {
    DecodeMessage(object, path, *body, problems);
  }
  if (problems.any()) {
    out.event.clear_body();
    return Unreadable(out, problems.first());
  }
  Complete(kind, options, carrier, out);
}

void DecodeNativeBinary(NativeKind kind, std::string_view bytes, const NormalizeOptions& options,
                        Normalized& out) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return Unreadable(out, "payload: too large for a protobuf message");
  }
  google::protobuf::Message* body = BodyOf(kind, out.event);
  if (!body->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    out.event.clear_body();
    return Unreadable(out, "payload: not a valid protobuf " + NativeTypeName(kind));
  }
  Complete(kind, options, NativeCarrier{}, out);
}

}  // namespace fleetkeeper::consumers
