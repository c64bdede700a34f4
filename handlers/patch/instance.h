// One instance's part of a rolling patch: AMI backup (CreateImage, NoReboot, tagged with the
// request; wait available), deregister from its target groups within each group's budget and wait
// for draining, AWS-RunPatchBaseline (the command token checkpointed before SendCommand and in its
// Comment, so that after a crash the command is found by ListCommandInvocations, not sent again),
// wait for the command (command_progress signals, else GetCommandInvocation on the poll grid),
// status checks OK after a reboot, patch state after, re-register and wait healthy, the HTTP
// health check. A failure after the drain re-registers the instance.
#pragma once

#include "handlers/patch/steps.h"

namespace fleetkeeper::handlers::patch {

// What advancing an instance by one phase did.
enum class Progress {
  kContinue,    // go on with the next phase now
  kCheckpoint,  // checkpoint before the next phase (it makes a call that depends on this state)
  kWait,        // nothing to do until a timer or a signal
  kDone,        // the instance has its outcome
};

// Advances the instance by one phase; every phase re-reads AWS before it acts.
Progress AdvanceInstance(PatchTick& t, v1::PatchInstanceState& i);

// Whether the instance is out of its target groups now (deregistered, not yet back).
bool Drained(const v1::PatchInstanceState& i);

// Registers the instance in each of its target groups again (`into`), or deregisters it,
// recording each call.
Status ChangeMembership(PatchTick& t, const v1::PatchInstanceState& i, bool into);

// One HTTP health check of the instance: health_check.url with {private_ip} and {instance_id}
// substituted, answered with the expected status within the timeout or not.
struct HealthProbe {
  bool ok = false;
  std::string url;
  std::string got;  // "HTTP 200", or the transport error
};
HealthProbe ProbeHealth(const PatchTick& t, const v1::PatchInstanceState& i);

// Marks the instance failed (counting against max_errors) with `why`, noting what rollback does.
void FailInstance(PatchTick& t, v1::PatchInstanceState& i, const std::string& why);

}  // namespace fleetkeeper::handlers::patch
