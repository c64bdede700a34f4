// Pre-patch, read-only: which instances the request names (DescribeInstances with filters,
// paginated), which of them can be patched (state, SSM managed and online), their target groups,
// their patch state before, and the batches. The eligibility report is what a dry run and the
// final result show.
#pragma once

#include <string>
#include <vector>

#include "handlers/patch/steps.h"

namespace fleetkeeper::handlers::patch {

// SSM takes at most 50 instance ids per filter and per DescribeInstancePatchStates call.
inline constexpr size_t kSsmIdsPerCall = 50;
// `ids` in runs of at most `n`, in order.
std::vector<std::vector<std::string>> Chunks(const std::vector<std::string>& ids, size_t n);

// Fills state.instances with every instance the targets name, in instance id order, each
// eligible (phase pending, or start for a stopped one with start_stopped) or skipped with the
// reason; reads the target groups and patch states of the eligible ones.
Status Discover(PatchTick& t);

// Skips, with the reason, the instances among `ids` that are not SSM managed and online. When
// `wait` is true an instance that is managed but not yet Online is left alone (it was just
// started); the answer lists those.
Result<std::vector<std::string>> CheckSsmOnline(PatchTick& t, const std::vector<std::string>& ids,
                                                bool wait);

// Reads the patch state of `ids` into missing/failed/installed before.
Status ReadPatchStatesBefore(PatchTick& t, const std::vector<std::string>& ids);

// Gives every eligible instance its batch: batch_size = max_concurrency of the eligible count.
void AssignBatches(v1::PatchWorkflowState& state, const PatchPlan& plan);

// Marks an instance skipped with `why`.
void Skip(v1::PatchInstanceState& i, const std::string& why);

}  // namespace fleetkeeper::handlers::patch
