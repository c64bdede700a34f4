#include "consumers/normalize_eventbridge.h"

#include <optional>
#include <string_view>

#include "consumers/normalize_cloudwatch_alarm.h"
#include "consumers/normalize_native.h"

namespace fleetkeeper::consumers {
namespace {

constexpr std::string_view kRefreshDetailTypePrefix = "EC2 Auto Scaling Instance Refresh ";

// CloudTrail records a PutParameter value in the clear only for String and StringList parameters;
// this marker (or a SecureString type) means the event does not carry the value.
constexpr std::string_view kHiddenValue = "HIDDEN_DUE_TO_SECURITY_REASONS";

// The envelope fields every decoder needs, read once. The views point into the document.
struct Envelope {
  std::string_view id;
  std::string_view detail_type;
  std::string_view source;
  std::vector<std::string> resources;
};

Normalized Skipped(Normalized out, std::string reason) {
  out.disposition = Disposition::kSkipped;
  out.reason = std::move(reason);
  return out;
}

std::string UnsupportedReason(const Envelope& envelope) {
  std::string reason = "unsupported event: source ";
  reason.append(envelope.source).append(", detail-type ").append(envelope.detail_type);
  return reason;
}

void DecodeParameterStoreChange(JsonObjectReader& detail, v1::Event& event) {
  v1::ParameterChange* change = event.mutable_parameter_change();
  change->set_name(detail.String("name"));
  change->set_operation(detail.String("operation"));
  change->set_type(detail.OptionalString("type").value_or(""));
  change->set_description(detail.OptionalString("description").value_or(""));
  event.set_dedup_key("param:" + change->name());
}

// Returns a skip reason, or "" when the call was a successful PutParameter now in event.
std::string DecodeCloudTrailCall(JsonObjectReader& detail, const Envelope& envelope,
                                 v1::Event& event) {
  const std::string_view event_name = detail.StringView("eventName");
  if (detail.problems().any()) return "";
  if (event_name != "PutParameter") {
    return UnsupportedReason(envelope).append(", eventName ").append(event_name);
  }
  if (std::optional<std::string> error_code = detail.OptionalString("errorCode");
      error_code && !error_code->empty()) {
    std::string reason = "CloudTrail PutParameter failed with errorCode " + *error_code;
    if (std::optional<std::string> message = detail.OptionalString("errorMessage")) {
      reason += ": " + *message;
    }
    return reason + "; the parameter did not change";
  }
  JsonObjectReader request = detail.Object("requestParameters");
  v1::ParameterChange* change = event.mutable_parameter_change();
  change->set_name(request.String("name"));
  change->set_operation("PutParameter");
  change->set_type(request.OptionalString("type").value_or(""));
  change->set_description(request.OptionalString("description").value_or(""));
  std::optional<std::string> value = request.OptionalString("value");
  if (value && change->type() != "SecureString" && *value != kHiddenValue) {
    change->set_value(*value);
  }
  event.set_dedup_key("param:" + change->name());
  return "";
}

void DecodeCommandProgress(JsonObjectReader& detail, bool invocation, v1::Event& event) {
  v1::CommandProgress* progress = event.mutable_command_progress();
  progress->set_command_id(detail.String("command-id"));
  progress->set_document_name(detail.OptionalString("document-name").value_or(""));
  progress->set_status(detail.String("status"));
  progress->set_invocation(invocation);
  if (invocation) progress->set_instance_id(detail.String("instance-id"));
  event.set_dedup_key(event.id());
}

void DecodeRefreshProgress(JsonObjectReader& detail, const Envelope& envelope, v1::Event& event) {
  v1::RefreshProgress* progress = event.mutable_refresh_progress();
  progress->set_auto_scaling_group_name(detail.String("AutoScalingGroupName"));
  progress->set_instance_refresh_id(detail.String("InstanceRefreshId"));
  progress->set_status(std::string(envelope.detail_type.substr(kRefreshDetailTypePrefix.size())));
  progress->set_detail_type(std::string(envelope.detail_type));
  event.set_dedup_key(event.id());
}

void DecodeInstanceState(JsonObjectReader& detail, v1::Event& event) {
  v1::InstanceState* state = event.mutable_instance_state();
  state->set_instance_id(detail.String("instance-id"));
  state->set_state(detail.String("state"));
  event.set_dedup_key(event.id());
}

}  // namespace

bool LooksLikeEventBridge(const JsonValue& document) {
  return document.is_object() && (document.contains("detail-type") || document.contains("detail") ||
                                  document.contains("source"));
}

Normalized NormalizeEventBridge(const JsonValue& document, const std::string& path,
                                const NormalizeOptions& options) {
  Normalized out;
  v1::Event& event = out.event;
  event.set_source_format("eventbridge");
  FieldProblems problems;
  JsonObjectReader root(document, path, problems);

  Envelope envelope;
  root.OptionalStringView("version");  // absent in some published samples; not needed
  envelope.id = root.StringView("id");
  envelope.detail_type = root.StringView("detail-type");
  envelope.source = root.StringView("source");
  event.set_id(std::string(envelope.id));
  event.set_account(root.String("account"));
  event.set_region(root.String("region"));
  event.set_time(RequiredTime(root, "time"));
  envelope.resources = root.OptionalStringArray("resources");
  std::string origin;
  origin.reserve(envelope.source.size() + 3 + envelope.detail_type.size());
  origin.append(envelope.source).append(" / ").append(envelope.detail_type);
  event.set_origin(std::move(origin));
  JsonObjectReader detail = root.Object("detail");
  if (problems.any()) {
    out.reason = problems.first();
    return out;
  }

  const std::string_view source = envelope.source;
  const std::string_view detail_type = envelope.detail_type;
  if (std::optional<NativeKind> kind = NativeKindFromDetailType(detail_type)) {
    NativeCarrier carrier;
    carrier.source_format = "eventbridge";
    carrier.id = std::string(envelope.id);
    carrier.time = event.time();
    carrier.origin = event.origin();
    carrier.account = event.account();
    carrier.region = event.region();
    DecodeNativeJson(*kind, *document.find("detail"), JoinPath(path, "detail"), options, carrier,
                     out);
    return out;
  }

  if (source == "aws.ssm" && detail_type == "Parameter Store Change") {
    DecodeParameterStoreChange(detail, event);
  } else if (source == "aws.ssm" && detail_type == "AWS API Call via CloudTrail") {
    std::string skip = DecodeCloudTrailCall(detail, envelope, event);
    if (!skip.empty()) return Skipped(std::move(out), std::move(skip));
  } else if (source == "aws.cloudwatch" && detail_type == "CloudWatch Alarm State Change") {
    DecodeEventBridgeAlarm(detail, envelope.resources, event.time(), &event);
  } else if (source == "aws.ssm" && detail_type == "EC2 Command Status-change Notification") {
    DecodeCommandProgress(detail, /*invocation=*/false, event);
  } else if (source == "aws.ssm" &&
             detail_type == "EC2 Command Invocation Status-change Notification") {
    DecodeCommandProgress(detail, /*invocation=*/true, event);
  } else if (source == "aws.autoscaling" && detail_type.size() > kRefreshDetailTypePrefix.size() &&
             detail_type.starts_with(kRefreshDetailTypePrefix)) {
    DecodeRefreshProgress(detail, envelope, event);
  } else if (source == "aws.ec2" && detail_type == "EC2 Instance State-change Notification") {
    DecodeInstanceState(detail, event);
  } else {
    std::string reason = UnsupportedReason(envelope);
    // CloudTrail events of every service share one detail-type; the call's name says what it was.
    if (detail_type == "AWS API Call via CloudTrail") {
      if (std::optional<JsonValue> name = detail.Find("eventName"); name && name->is_string()) {
        reason.append(", eventName ").append(name->string_view());
      }
    }
    return Skipped(std::move(out), std::move(reason));
  }

  if (problems.any()) {
    event.clear_body();
    event.clear_dedup_key();
    out.reason = problems.first();
    return out;
  }
  out.disposition = Disposition::kEvent;
  return out;
}

}  // namespace fleetkeeper::consumers
