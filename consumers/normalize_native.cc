#include "consumers/normalize_native.h"

#include <google/protobuf/util/json_util.h>

#include <array>
#include <limits>

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
    {NativeKind::kEcsCommand, "fleetkeeper.v1.EcsCommand", "Fleetkeeper ECS Command",
     "ecs_command", "ecsCommand", "ecs"},
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
      return Unreadable(out, kind + ".workflow_id: expected <account>/<region>/<kind>-<hash>, got " +
                                 Quoted(signal.workflow_id()));
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
    return Unreadable(out, kind + ": cannot be routed: needs workflow_id, or request_id with "
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

void DecodeNativeJson(NativeKind kind, std::string_view json_text, std::string_view what,
                      const NormalizeOptions& options, const NativeCarrier& carrier,
                      Normalized& out) {
  google::protobuf::util::JsonParseOptions parse_options;
  // A misspelt field in a command must not silently become its default.
  parse_options.ignore_unknown_fields = false;
  google::protobuf::Message* body = BodyOf(kind, out.event);
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json_text.data(), json_text.size()), body, parse_options);
  if (!status.ok()) {
    out.event.clear_body();
    return Unreadable(out, std::string(what) + ": not a valid " + NativeTypeName(kind) + ": " +
                               std::string(status.message()));
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
