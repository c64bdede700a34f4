// The stale rule (DESIGN.md, Handlers; docs/workflows.md, "Stale events"): an event older than the
// last one applied to the same resource is SKIPPED. The last applied time of each resource is a
// mark in its cell's store (`applied/<resource>`), so it is checkpointed and restored with the
// rest of the cell's state.
#pragma once

#include <cstddef>
#include <string>

#include "handlers/handler.h"

namespace fleetkeeper::handlers {

// True when a cell store key is a stale-rule mark (the runtime counts them per partition).
bool IsAppliedMark(const std::string& cell_key);

// Why `event` is stale, or "". `marks` is the partition's count of marks: without any, nothing is
// read (most alarms start nothing and set none).
std::string StaleReason(size_t marks, const CellStore& store, const v1::Event& event);

// `event` was applied (it started a workflow, or its handler decided something): its time becomes
// its resource's mark, unless the mark is newer.
void MarkApplied(CellStore& store, const v1::Event& event);

}  // namespace fleetkeeper::handlers
