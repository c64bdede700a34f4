// The ingest stage's decoder: one Kafka record's bytes (and headers) in, one normalized
// fleetkeeper.v1.Event out — or the reason the record is unsupported (SKIPPED result) or unreadable
// (fleet.dlq). See DESIGN.md "Inputs the normalizer accepts" and "Normalized event".
//
// Input forms, told apart by content, never by topic name:
//   - protobuf binary: header `content-type: application/x-protobuf` (or application/protobuf) and
//     header `fk-type` naming the message (`fleetkeeper.v1.PatchRequest`, `.EcsCommand`,
//     `.Approval`, `.Cancel`);
//   - JSON with an `fk-type` header: the protobuf JSON mapping of that message, the whole payload;
//   - JSON without one, by its top-level keys:
//       `Records`                          SNS as delivered to Lambda (exactly one record);
//       `Type` + `MessageId`               SNS HTTP(S) notification or confirmation;
//       `detail-type` / `detail` / `source` an EventBridge envelope;
//       exactly one of `patch_request`, `ecs_command`, `approval`, `cancel` (or their lowerCamel
//       spellings): a native request wrapped by its kind, e.g.
//       {"patch_request": {"request_id": "r-1", ...}}.
//
// Identity of a normalized event:
//   id         EventBridge `id`; the outermost SNS `MessageId`; for a native PatchRequest or
//              EcsCommand its `request_id`. An Approval or Cancel names another request or workflow
//              (its `request_id` is the target's), so its id is "approval:<target>:<approver>" or
//              "cancel:<target>", which cannot collide with the target's own event id.
//   dedup_key  parameter change "param:<name>" (the handler appends the version it reads); alarm
//              "alarm:<arn, else name>:<state>:<state time as RFC 3339 UTC>", so the same
//              transition delivered by EventBridge and by SNS is one fact; SNS-wrapped EventBridge:
//              the inner envelope id; native "patch:<request_id>", "ecs:<request_id>",
//              "approval:<target>:<approver>", "cancel:<target>"; progress events: their own id.
//   time       the envelope time (SNS alarm: StateChangeTime; SNS-wrapped EventBridge: the inner
//              envelope's), always rewritten as RFC 3339 UTC with milliseconds. A bare native
//              request carries no time and InputRecord has no record timestamp, so its time stays
//              empty; one sent through EventBridge PutEvents takes the envelope time.
//
// Thread-safety: Normalize is a pure function of its arguments; call it from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fleetkeeper/v1/event.pb.h"
#include "handlers/event.h"

namespace fleetkeeper::consumers {

struct RecordHeader {
  std::string key;
  std::string value;
};

// A view of one Kafka record: payload and key point into the consumer's message and must outlive
// the call to Normalize.
struct InputRecord {
  std::string_view payload;
  std::string_view key;
  std::vector<RecordHeader> headers;
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
};

struct NormalizeOptions {
  // For native requests without an account / region (aws.default_account / aws.region).
  std::string default_account;
  std::string default_region;
  // Deeper JSON is unreadable. Checked before parsing, without recursion, so a hostile payload of
  // a million '[' cannot overflow the stack of the recursive JSON parsers.
  size_t max_json_depth = 64;
};

enum class Disposition {
  kEvent,       // supported: event is fully filled, goes to fleet.work keyed by CellOf(event)
  kSkipped,     // well-formed, not handled: a SKIPPED result with `reason`
  kUnreadable,  // malformed: fleet.dlq with `reason` as fk-error
};

struct Normalized {
  Disposition disposition = Disposition::kUnreadable;
  // kEvent: fully filled (id, dedup_key, source_format, account, region, time, body, origin,
  // source). kSkipped / kUnreadable: id, source_format, account, region, time and origin as far as
  // known; source always.
  v1::Event event;
  // kSkipped: what the event is, e.g. "unsupported event: source aws.s3, detail-type Object
  // Created". kUnreadable: the field and the problem, e.g. "detail.name: expected string, got
  // number". Empty for kEvent.
  std::string reason;
};

// Never throws; every failure is a kUnreadable result with a reason.
Normalized Normalize(const InputRecord& record, const NormalizeOptions& options);

// "<account>/<region>": the fleet.work key and the unit of ownership (handlers/event.h, below both
// stages).
using handlers::CellOf;

}  // namespace fleetkeeper::consumers
