#include "consumers/normalize_sns.h"

#include <optional>
#include <string_view>

#include "consumers/normalize_cloudwatch_alarm.h"
#include "consumers/normalize_eventbridge.h"

namespace fleetkeeper::consumers {
namespace {

Normalized Finish(Normalized out, Disposition disposition, std::string reason) {
  out.disposition = disposition;
  out.reason = std::move(reason);
  return out;
}

// arn:aws:sns:<region>:<account>:<topic>: the cell a skipped or unreadable message is reported in
// when its content names none.
void CellFromTopicArn(std::string_view topic_arn, v1::Event& event) {
  std::string_view rest = topic_arn;
  std::string_view fields[5];
  for (auto& field : fields) {
    const size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return;
    field = rest.substr(0, colon);
    rest.remove_prefix(colon + 1);
  }
  if (fields[0] != "arn" || fields[2] != "sns") return;
  event.set_region(std::string(fields[3]));
  event.set_account(std::string(fields[4]));
}

Normalized NormalizeSnsMessage(JsonObjectReader& sns, const NormalizeOptions& options) {
  Normalized out;
  v1::Event& event = out.event;
  event.set_source_format("sns");
  // Type and Message are read in place: the document outlives this call.
  const std::string_view type = sns.StringView("Type");
  event.set_id(sns.String("MessageId"));
  const std::string topic_arn(sns.StringView("TopicArn"));
  event.set_time(RequiredTime(sns, "Timestamp"));
  event.set_origin("sns " + topic_arn);
  CellFromTopicArn(topic_arn, event);
  if (sns.problems().any())
    return Finish(std::move(out), Disposition::kUnreadable, sns.problems().first());

  if (type == "SubscriptionConfirmation" || type == "UnsubscribeConfirmation") {
    return Finish(std::move(out), Disposition::kSkipped,
                  "SNS " + std::string(type) + " for topic " + topic_arn +
                      ": not an event (subscriptions are confirmed by the ingest endpoint)");
  }
  if (type != "Notification") {
    return Finish(std::move(out), Disposition::kUnreadable,
                  JoinPath(sns.path(), "Type") + ": unknown SNS message type " + Quoted(type));
  }

  const std::string_view message_text = sns.StringView("Message");
  if (sns.problems().any())
    return Finish(std::move(out), Disposition::kUnreadable, sns.problems().first());
  const std::string message_path = JoinPath(sns.path(), "Message");
  Result<JsonDocument> parsed =
      ParseJsonDocument(message_text, options.max_json_depth, message_path);
  if (!parsed.ok()) {
    return Finish(std::move(out), Disposition::kUnreadable, parsed.error().message);
  }
  const JsonValue message = parsed->root();

  if (IsSnsAlarmNotification(message)) {
    FieldProblems problems;
    JsonObjectReader alarm(message, message_path, problems);
    event.set_origin("sns " + topic_arn + " / CloudWatch alarm notification");
    DecodeSnsAlarmNotification(alarm, &event);
    if (problems.any()) {
      event.clear_body();
      return Finish(std::move(out), Disposition::kUnreadable, problems.first());
    }
    return Finish(std::move(out), Disposition::kEvent, "");
  }
  if (LooksLikeEventBridge(message)) {
    Normalized inner = NormalizeEventBridge(message, message_path, options);
    inner.event.set_source_format("sns");
    // The outermost envelope names the delivery; the inner id names the fact, so a fact delivered
    // twice through SNS (two MessageIds) is recognised as one.
    if (inner.disposition == Disposition::kEvent) inner.event.set_dedup_key(inner.event.id());
    inner.event.set_id(event.id());
    if (inner.event.time().empty()) inner.event.set_time(event.time());
    return inner;
  }
  return Finish(std::move(out), Disposition::kSkipped,
                "unsupported SNS message on topic " + topic_arn +
                    ": neither a CloudWatch alarm notification nor an EventBridge event");
}

}  // namespace

bool LooksLikeSnsHttp(const JsonValue& document) {
  return document.is_object() && document.contains("Type") && document.contains("MessageId");
}

bool LooksLikeSnsLambda(const JsonValue& document) {
  return document.is_object() && document.contains("Records");
}

Normalized NormalizeSns(const JsonValue& document, const NormalizeOptions& options) {
  FieldProblems problems;
  JsonObjectReader root(document, "", problems);
  if (!LooksLikeSnsLambda(document)) return NormalizeSnsMessage(root, options);

  Normalized out;
  out.event.set_source_format("sns");
  const std::vector<JsonValue> records = root.OptionalArray("Records");
  if (problems.any()) return Finish(std::move(out), Disposition::kUnreadable, problems.first());
  // Lambda receives one SNS message per invocation. A record that bundles several would need one
  // outcome each, and a Kafka record can have only one: send it to the DLQ intact, where it can be
  // split and replayed, rather than drop all but the first.
  if (records.size() != 1) {
    return Finish(std::move(out), Disposition::kUnreadable,
                  "Records: expected exactly 1 SNS record, got " + std::to_string(records.size()));
  }
  JsonObjectReader record(records.front(), "Records[0]", problems);
  const std::string_view event_source = record.StringView("EventSource");
  if (problems.any()) return Finish(std::move(out), Disposition::kUnreadable, problems.first());
  if (event_source != "aws:sns") {
    return Finish(std::move(out), Disposition::kSkipped,
                  "unsupported Lambda event: EventSource " + std::string(event_source));
  }
  JsonObjectReader sns = record.Object("Sns");
  if (problems.any()) return Finish(std::move(out), Disposition::kUnreadable, problems.first());
  return NormalizeSnsMessage(sns, options);
}

}  // namespace fleetkeeper::consumers
