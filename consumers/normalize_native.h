// Internal to the normalizer: native requests (PatchRequest, EcsCommand, Approval, Cancel) as
// protobuf binary, as the protobuf JSON mapping, or as the `detail` of an EventBridge event.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "consumers/normalize_json.h"
#include "consumers/normalizer.h"

namespace fleetkeeper::consumers {

enum class NativeKind { kPatchRequest, kEcsCommand, kApproval, kCancel };

// From the `fk-type` header: the full message name, e.g. "fleetkeeper.v1.PatchRequest".
std::optional<NativeKind> NativeKindFromTypeName(std::string_view type_name);
// From an EventBridge detail-type, e.g. "Fleetkeeper Patch Request".
std::optional<NativeKind> NativeKindFromDetailType(std::string_view detail_type);
// From a wrapper key of a bare JSON request: "patch_request" or its lowerCamel "patchRequest".
std::optional<NativeKind> NativeKindFromWrapperKey(std::string_view key);
// "fleetkeeper.v1.PatchRequest".
std::string NativeTypeName(NativeKind kind);

// What the carrier of a native request adds to it. A bare Kafka record adds nothing; an
// EventBridge event adds its id, time, origin and account/region as a last-resort cell.
struct NativeCarrier {
  std::string source_format = "native";
  std::string id;       // empty: derived from the request (see normalizer.h)
  std::string time;     // canonical RFC 3339, or empty
  std::string origin;   // empty: the message name
  std::string account;  // used after the request's own and the configured default
  std::string region;
};

// Decodes the protobuf JSON mapping of one `kind` message from `object` into `out`, validates it
// and fills the event's identity and cell. `path` prefixes field names in reasons ("" for a whole
// payload, "detail", "patch_request"). Stricter than the protobuf library's own JSON parser, which
// accepts e.g. any string for a bool: a field of the wrong JSON type, an unknown field or an
// out-of-range number is unreadable, with its path.
void DecodeNativeJson(NativeKind kind, const JsonValue& object, const std::string& path,
                      const NormalizeOptions& options, const NativeCarrier& carrier,
                      Normalized& out);

// The same for protobuf binary.
void DecodeNativeBinary(NativeKind kind, std::string_view bytes, const NormalizeOptions& options,
                        Normalized& out);

}  // namespace fleetkeeper::consumers
