#include "consumers/normalizer.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <optional>

#include "consumers/normalize_eventbridge.h"
#include "consumers/normalize_json.h"
#include "consumers/normalize_native.h"
#include "consumers/normalize_sns.h"

namespace fleetkeeper::consumers {
namespace {

constexpr std::string_view kContentTypeHeader = "content-type";
constexpr std::string_view kTypeHeader = "fk-type";

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

// Kafka header keys are case-sensitive, but producers write them as HTTP habits dictate.
const std::string* FindHeader(const InputRecord& record, std::string_view key) {
  for (const RecordHeader& header : record.headers) {
    if (EqualsIgnoreCase(header.key, key)) return &header.value;
  }
  return nullptr;
}

// "application/x-protobuf" or "application/protobuf", parameters (";...") ignored.
bool IsProtobufContentType(std::string_view value) {
  value = value.substr(0, value.find(';'));
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  return EqualsIgnoreCase(value, "application/x-protobuf") ||
         EqualsIgnoreCase(value, "application/protobuf");
}

Normalized Unreadable(std::string reason) {
  Normalized out;
  out.disposition = Disposition::kUnreadable;
  out.reason = std::move(reason);
  return out;
}

std::optional<NativeKind> KindFromHeader(const std::string& type, std::string* reason) {
  std::optional<NativeKind> kind = NativeKindFromTypeName(type);
  if (!kind) {
    *reason = "fk-type header: unknown message type " + Quoted(type) +
              " (expected fleetkeeper.v1.PatchRequest, fleetkeeper.v1.EcsCommand, "
              "fleetkeeper.v1.Approval or fleetkeeper.v1.Cancel)";
  }
  return kind;
}

// A bare JSON native request is wrapped by its kind, {"patch_request": {...}}, because the
// messages' fields overlap too much (request_id, account, region) to tell them apart by shape.
Normalized NormalizeWrappedNative(const JsonValue& document, const NormalizeOptions& options) {
  std::string key;
  std::optional<JsonValue> member;
  document.for_each_member([&](std::string_view name, JsonValue value) {
    key = std::string(name);
    member.emplace(value);
  });
  const JsonValue& body = *member;
  std::optional<NativeKind> kind = NativeKindFromWrapperKey(key);
  Normalized out;
  if (!body.is_object()) {
    return Unreadable(key + ": " + TypeMismatch("object", body));
  }
  DecodeNativeJson(*kind, body, key, options, NativeCarrier{}, out);
  return out;
}

// One member, named by a kind (a duplicated member is not one).
bool IsWrappedNative(const JsonValue& document) {
  if (document.size() != 1) return false;
  bool named = false;
  document.for_each_member([&](std::string_view name, JsonValue) {
    named = NativeKindFromWrapperKey(name).has_value();
  });
  return named;
}

Normalized NormalizeJson(const InputRecord& record, const NormalizeOptions& options) {
  Result<JsonDocument> parsed =
      ParseJsonDocument(record.payload, options.max_json_depth, "payload");
  if (!parsed.ok()) return Unreadable(parsed.error().message);
  const JsonValue document = parsed->root();
  if (!document.is_object()) {
    return Unreadable("payload: expected a JSON object at the top level, got " +
                      std::string(document.type_name()));
  }

  if (const std::string* type = FindHeader(record, kTypeHeader)) {
    std::string reason;
    std::optional<NativeKind> kind = KindFromHeader(*type, &reason);
    if (!kind) return Unreadable(std::move(reason));
    Normalized out;
    DecodeNativeJson(*kind, document, "", options, NativeCarrier{}, out);
    return out;
  }
  if (LooksLikeSnsLambda(document) || LooksLikeSnsHttp(document)) {
    return NormalizeSns(document, options);
  }
  if (IsWrappedNative(document)) return NormalizeWrappedNative(document, options);
  if (document.contains("alarmData")) {
    return Unreadable(
        "payload: a CloudWatch alarm Lambda-action payload (alarmData) is not an accepted input; "
        "deliver alarms through EventBridge or SNS");
  }
  if (LooksLikeEventBridge(document)) return NormalizeEventBridge(document, "", options);
  return Unreadable(
      "payload: not a recognised document: expected an EventBridge envelope (detail-type, "
      "source, detail), an SNS message (Type, MessageId) or a native request (fk-type header, or "
      "one of patch_request, ecs_command, approval, cancel)");
}

Normalized NormalizeRecord(const InputRecord& record, const NormalizeOptions& options) {
  const std::string* content_type = FindHeader(record, kContentTypeHeader);
  if (content_type != nullptr && IsProtobufContentType(*content_type)) {
    const std::string* type = FindHeader(record, kTypeHeader);
    if (type == nullptr) {
      return Unreadable("fk-type header: missing; a protobuf payload needs it to name the message");
    }
    std::string reason;
    std::optional<NativeKind> kind = KindFromHeader(*type, &reason);
    if (!kind) return Unreadable(std::move(reason));
    if (record.payload.empty()) return Unreadable("payload: empty");
    Normalized out;
    DecodeNativeBinary(*kind, record.payload, options, out);
    return out;
  }
  if (record.payload.empty()) return Unreadable("payload: empty");
  return NormalizeJson(record, options);
}

}  // namespace

Normalized Normalize(const InputRecord& record, const NormalizeOptions& options) {
  Normalized out;
  try {
    out = NormalizeRecord(record, options);
  } catch (const std::exception& e) {
    // Decoders check types before access; this is the last line against a library surprise.
    out = Unreadable(std::string("payload: could not be decoded: ") + e.what());
  } catch (...) {
    out = Unreadable("payload: could not be decoded");
  }
  if (out.disposition != Disposition::kEvent) {
    out.event.clear_dedup_key();
    out.event.clear_body();
  }
  v1::SourceRef* source = out.event.mutable_source();
  source->set_topic(record.topic);
  source->set_partition(record.partition);
  source->set_offset(record.offset);
  return out;
}

}  // namespace fleetkeeper::consumers
