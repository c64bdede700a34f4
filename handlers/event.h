// What both stages derive from a normalized event: its kind, its cell (the unit of ownership), and
// the result that answers it (DESIGN.md "Result event"). The ingest stage answers SKIPPED events
// with a result, the workflow engine everything else; neither layer includes the other for these.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "fleetkeeper/v1/event.pb.h"
#include "fleetkeeper/v1/result.pb.h"

namespace fleetkeeper::handlers {

// What an event is: the case of its body oneof, compared as a typed value, never as a string.
using EventKind = v1::Event::BodyCase;

// The body field's name ("parameter_change", "alarm", ...) for logs and reasons; "unknown" for an
// event with no body.
std::string_view EventKindName(EventKind kind);

// "<account>/<region>": the fleet.work key and the unit of ownership.
std::string CellOf(const v1::Event& event);

// A final (or progress) result for `event`, ids and source filled in; status and reason set.
v1::Result MakeResult(const v1::Event& event, v1::Result::Status status, std::string reason,
                      std::string handler, int64_t now_ms, std::string workflow_id = "");
// The same, into `result` (cleared first): a result reused from one event to the next keeps its
// strings' buffers, and the work stage answers nearly every event with one.
void FillResult(v1::Result* result, const v1::Event& event, v1::Result::Status status,
                std::string reason, std::string handler, int64_t now_ms,
                std::string workflow_id = "");

}  // namespace fleetkeeper::handlers
