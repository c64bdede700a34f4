// A patch request that spans cells (docs/patch.md, "Fan-out across cells"): its parent workflow,
// in the request's own cell, starts one child workflow per cell (a PatchRequest of that cell's
// targets, produced on fleet.work under the cell's key), tells them whether to go on once every
// child has counted its instances (commands.max_targets over all of them), forwards approvals
// and cancels, and ends with every child's per-instance report. The messages are v1::FanOut work
// items (handlers/fanout.h).
//
//   fan-out ─▶ children (waits for the children's counts and ends) ─▶ finished
//   cancel (a parent's): forwards the cancel to the children, waits for their ends
//
// A child runs the ordinary steps; its discover step reports its count and waits (step
// "fan-out-wait") for the parent's go before anything else, so nothing is touched in any cell
// before the whole count is known.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "fleetkeeper/v1/config.pb.h"
#include "fleetkeeper/v1/patch_state.pb.h"
#include "handlers/workflow.h"

namespace fleetkeeper::handlers::patch {

struct PatchTick;

// Released step names of the parent, and the child's wait for its parent's word.
inline constexpr char kStepFanOut[] = "fan-out";
inline constexpr char kStepChildren[] = "children";
inline constexpr char kStepFanOutWait[] = "fan-out-wait";

// The cells ("<account>/<region>") the request's targets name; a target without an account or a
// region is in the request's own.
std::set<std::string> TargetCells(const v1::Event& request);
// Whether the request fans out: its targets name a cell other than its own.
bool SpansCells(const v1::Event& request);

// The child workflow of `parent` for `cell`: its id, deterministic from the parent's id and the
// cell, and the request that starts it (the cell's targets only, the cell's account and region,
// the parent's request id and dry run, the parent link, a dedup key of its own).
std::string ChildWorkflowId(const std::string& parent_workflow_id, const std::string& cell);
v1::Event ChildRequest(const v1::WorkflowCheckpoint& parent, const std::string& cell);

// The parent's status over its children's: every one the same (SKIPPED ones aside) → that
// status; some patched → PARTIAL; otherwise FAILED. A child without a result counts as FAILED.
v1::Result::Status ParentStatus(const v1::PatchWorkflowState& state);

// The parent's steps.
StepOutcome FanOutStep(PatchTick& t);
StepOutcome ChildrenStep(PatchTick& t, const v1::CommandsConfig& commands);
StepOutcome ParentCancel(PatchTick& t);

// A child at the end of discovery: its count to the parent and the wait for the parent's word, or
// nullopt when it has the go (or has no parent).
std::optional<StepOutcome> AwaitParent(PatchTick& t);
// The child's wait for its parent's word: true on the go (carry on). Otherwise `*end` is what the
// step answers: REJECTED on a stop, FAILED past the deadline, else the same wait again.
bool ParentSaidGo(PatchTick& t, std::optional<StepOutcome>* end);

// Approvals among the step's signals, kept in the state for the gate (see early_approvals).
void KeepEarlyApprovals(PatchTick& t);

}  // namespace fleetkeeper::handlers::patch
