// One instance's part of a rolling patch: AMI backup (CreateImage, NoReboot, tagged with the
// request; wait available), deregister from its target groups within each group's budget and wait
// for draining, AWS-RunPatchBaseline (the command token checkpointed before SendCommand and in its
// Comment, so that after a crash the command is found by ListCommandInvocations, not sent again),
// wait for the command (command_progress signals, else on the poll grid one ListCommandInvocations
// for the batch's commands due for a look, GetCommandInvocation for one it does not list),
// status checks OK after a reboot, patch state after, re-register and wait healthy, the HTTP
// health check. A failure after the drain re-registers the instance.
#pragma once

#include "handlers/patch/steps.h"

namespace fleetkeeper::handlers::patch {

// Released phase names (besides kPhasePending and kPhaseDone, steps.h).
inline constexpr char kBackup[] = "backup";
inline constexpr char kBackupWait[] = "backup-wait";
inline constexpr char kDrain[] = "drain";
inline constexpr char kDraining[] = "draining";
inline constexpr char kCommand[] = "command";
inline constexpr char kCommandWait[] = "command-wait";
inline constexpr char kStatusOk[] = "status-ok";
inline constexpr char kVerify[] = "verify";
inline constexpr char kRegister[] = "register";
inline constexpr char kHealthyWait[] = "healthy-wait";
inline constexpr char kHealthCheck[] = "health-check";
inline constexpr char kRollbackDrain[] = "rollback-drain";
inline constexpr char kRollbackPrepare[] = "rollback-prepare";
inline constexpr char kRollbackTask[] = "rollback-task";
inline constexpr char kRollbackWait[] = "rollback-wait";
// On a guard alarm, an instance patched in an earlier batch reserves its capacity in the ledger
// before its rollback from the backup takes it out of service.
inline constexpr char kGuardReserve[] = "guard-rollback-reserve";

// What advancing an instance by one phase did.
enum class Progress {
  kContinue,    // go on with the next phase now
  kCheckpoint,  // checkpoint before the next phase (it makes a call that depends on this state)
  kWait,        // nothing to do until a timer or a signal
  kDone,        // the instance has its outcome
};

// Advances the instance by one phase; every phase re-reads AWS before it acts.
Progress AdvanceInstance(PatchTick& t, v1::PatchInstanceState& i);

// ---- what the phases share (instance.cc), and the command's phases (command.cc) -------------

// Moves the instance into `phase` now, with no poll due yet; returns `p`.
Progress Enter(PatchTick& t, v1::PatchInstanceState& i, const char* phase, Progress p);
// Waits for the next poll of this instance; `what` goes into its detail. A failed instance on its
// way back into service keeps its failure as its detail.
Progress WaitFor(PatchTick& t, v1::PatchInstanceState& i, const std::string& what);
// Whether the instance has been in its phase for `timeout_ms` or more.
bool TimedOut(const PatchTick& t, const v1::PatchInstanceState& i, int64_t timeout_ms);
// The instance has its outcome (patched unless it failed).
Progress Finish(PatchTick& t, v1::PatchInstanceState& i);
// Whether a failed instance is restored from its AMI backup: rollback_policy instance, a backup,
// and a patch command sent (before it, nothing on the instance changed).
bool RollsBack(const PatchTick& t, const v1::PatchInstanceState& i);
// Back into service after a failure (and its rollback): registered again if drained.
Progress Return(PatchTick& t, v1::PatchInstanceState& i);
// A failure: before the command nothing is to be undone; after it, the instance is rolled back
// from its backup when the policy says so; a drained instance goes back into its target groups.
Progress Fail(PatchTick& t, v1::PatchInstanceState& i, const std::string& why);
// An AWS error: retriable ones are tried again at the next poll (within the phase's timeout).
Progress OnError(PatchTick& t, v1::PatchInstanceState& i, const std::string& call, const Error& e,
                 int64_t timeout_ms);

// AWS-RunPatchBaseline for the instance, found by its checkpointed token after a crash, else sent.
Progress Command(PatchTick& t, v1::PatchInstanceState& i);
// Waits for the instance's command to end: its signals, else the batch's look or its own read.
Progress CommandWait(PatchTick& t, v1::PatchInstanceState& i);

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

// The rollback on a guard alarm (guard_rollback.cc): stops what has not been patched and sends
// the patched instances back to their backups, once per instance. Returns whether it changed the
// state (a checkpoint is due).
bool ApplyGuardRollback(PatchTick& t);
// Whether the rollback on a guard alarm has instances still to decide or to restore.
bool GuardRollbackUnderWay(const v1::PatchWorkflowState& s);

// Marks the instance failed (counting against max_errors) with `why`, noting what rollback does.
void FailInstance(PatchTick& t, v1::PatchInstanceState& i, const std::string& why);

}  // namespace fleetkeeper::handlers::patch
