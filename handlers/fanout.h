// Fan-out of a request over cells (DESIGN.md "Patch request -> rolling patch workflow": a request
// that spans accounts or regions fans out one child workflow per cell). A cell's workflows live
// with the owner of its fleet.work partition, so a parent and its children talk only through work
// items (v1::FanOut) that the runtime produces in the transaction that checkpoints the step (or
// the finish) that decided them: exactly once, and each id deterministic so that a re-run after a
// crash produces the same item, which the receiving partition drops if it has seen it.
#pragma once

#include <string>

#include "fleetkeeper/v1/event.pb.h"
#include "fleetkeeper/v1/result.pb.h"
#include "fleetkeeper/v1/workflow.pb.h"

namespace fleetkeeper::handlers {

// FanOut kinds.
inline constexpr char kFanOutDiscovered[] = "discovered";  // child -> parent
inline constexpr char kFanOutGo[] = "go";                  // parent -> child
inline constexpr char kFanOutStop[] = "stop";              // parent -> child
inline constexpr char kFanOutResult[] = "result";          // child -> parent

// The workflow a FanOut is for: the parent for a child's reports, the child for the parent's word.
std::string FanOutAddressee(const v1::FanOut& fan_out);

// A work item made by workflow `from` for the cell `account`/`region`, with id `id`: its source
// is `from`'s trigger's (the input record the whole request came from).
v1::Event WorkItemFrom(const v1::WorkflowCheckpoint& from, const std::string& id,
                       const std::string& account, const std::string& region);

// The FanOut `kind` from child `child` (its trigger carries the parent link) to its parent.
v1::Event ReportToParent(const v1::WorkflowCheckpoint& child, const std::string& kind);
// The child's end, for its parent: `result` is the child's final result.
v1::Event ResultToParent(const v1::WorkflowCheckpoint& child, const v1::Result& result);

// The FanOut `kind` (go, stop) from `parent` to its child `child_workflow_id` in `cell`.
v1::Event WordToChild(const v1::WorkflowCheckpoint& parent, const std::string& child_workflow_id,
                      const std::string& cell, const std::string& kind, const std::string& reason);

}  // namespace fleetkeeper::handlers
