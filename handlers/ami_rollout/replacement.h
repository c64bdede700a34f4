// One standalone instance's part of an AMI rollout, by strategy:
//  - relaunch: deregister, stop, detach the data volumes and the secondary network interfaces,
//    launch an equivalent instance from the new AMI (CPU credit option included; ClientToken
//    checkpointed before the call, recovered through the client-token filter), set what
//    RunInstances cannot (SourceDestCheck), attach the volumes at the same devices and the
//    interfaces at the same device indexes (stopped unless attach_live), move the Elastic IP,
//    register and wait healthy, give it the old one's termination protection and the interfaces'
//    DeleteOnTermination, then retire the old instance. Any failure before the protection rolls
//    back to the old instance, volumes and interfaces included.
//  - replace-root-volume: deregister, CreateReplaceRootVolumeTask with the new AMI (same instance
//    id, interfaces and data volumes), wait, register and wait healthy; a failure after the root
//    was replaced rolls back with a second task to the old image.
#pragma once

#include <string>
#include <vector>

#include "handlers/ami_rollout/steps.h"
#include "handlers/root_volume.h"

namespace fleetkeeper::handlers::ami_rollout {

// Advances the instance by one phase; every phase re-reads AWS before it acts.
Progress AdvanceInstance(RolloutTick& t, v1::InstanceRollout& instance);

// Whether the replacement acts in this tick: it is in a phase that acts, its next look at AWS is
// due, or a state-change event of one of its instances arrived.
bool ReplacementDue(const RolloutTick& t, const v1::InstanceRollout& instance);

// Reads, in one call per kind, what the phases of the `due` replacements are about to read
// (instances, volumes, status checks, client tokens), and sends the stop, start and terminate
// calls they are about to make as one call per kind. The phases then find their answers in
// t.prefetched; whatever is missing there they read or send alone.
void PrefetchReplacements(RolloutTick& t, const std::vector<v1::InstanceRollout*>& due);

// Reads and captures, in one pass, the instances whose replacement starts in this tick.
void StartReplacements(RolloutTick& t, const std::vector<v1::InstanceRollout*>& starting);

// Whether the instance is being replaced now (counts against max_concurrency and, through its
// target groups, against max_unavailable).
bool ReplacementActive(const v1::InstanceRollout& instance);

// The rollback on a guard alarm (guard_rollback.cc), for every instance not yet decided: stops
// what has not started, sends replacements under way down their rollback path and reverses those
// that succeeded. Returns whether it changed the state (a checkpoint is due).
bool ApplyGuardRollback(RolloutTick& t);

// The outcome of a reversal on a guard alarm (one with `reverses`) that ended with `outcome`:
// rolled-back when it reached its image, rollback-failed (saying why) otherwise.
void SettleReversal(RolloutTick& t, v1::InstanceRollout& r, const std::string& outcome,
                    const std::string& detail);

// What a dry run says would happen to the instance.
std::string DescribeInstancePlan(const v1::AmiRolloutState& state, const RolloutConfig& config,
                                 const v1::InstanceRollout& instance);

// Tags set on resources this workflow creates, so that a re-run finds them (and kTokenTag,
// handlers/root_volume.h).
inline constexpr char kReplacesTag[] = "fleetkeeper:replaces";
inline constexpr char kRetireAfterTag[] = "fleetkeeper:retire-after";

}  // namespace fleetkeeper::handlers::ami_rollout
