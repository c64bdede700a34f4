// The end of a patch campaign: one action per instance in the final result (patched, missing
// before and after, rebooted, rollback, skipped with the reason, duration), the status, an SNS
// summary to notify_topic_arn and the CloudWatch metrics InstancesPatched, PatchFailures and
// PatchDuration.
#pragma once

#include "handlers/patch/steps.h"

namespace fleetkeeper::handlers::patch {

StepOutcome ReportStep(PatchTick& t);

// The cancel step: every instance still drained is registered in its target groups again (a
// command already sent runs on; the result says where each instance was), then the workflow ends
// CANCELLED with the cancel's reason and one action per instance.
StepOutcome CancelCampaign(PatchTick& t);

// SUCCEEDED when every scheduled instance was patched, PARTIAL when some were, FAILED when none
// was; skipped instances are reported but do not fail the campaign.
v1::Result::Status CampaignStatus(const v1::PatchWorkflowState& s);

}  // namespace fleetkeeper::handlers::patch
