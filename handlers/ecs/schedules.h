// handlers.ecs.schedules: cron entries of ECS actions (DESIGN.md "ECS command -> lifecycle",
// Schedules). Each occurrence is a durable workflow of its cell, created ahead of its time by the
// runtime (WorkflowHandler::TimedWorkflows) with an id made from the schedule's name and the
// occurrence's time, so that it runs once across the consumer group and survives restarts. Its
// steps are the command's (discover, act, verify); discover applies the selector, act skips an
// occurrence held past kScheduleGraceMs (a freeze, a lock, a stopped worker). A schedule acts in
// the worker's cell: aws.default_account and aws.region.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/config_check.h"
#include "common/cron.h"
#include "fleetkeeper/v1/config.pb.h"
#include "fleetkeeper/v1/ecs_state.pb.h"
#include "fleetkeeper/v1/workflow.pb.h"

namespace fleetkeeper::handlers::ecs {

// An occurrence whose act has not started this long after its time is skipped: the next
// occurrence decides (a scale-down held by a freeze all night must not run after the morning's
// restore).
inline constexpr int64_t kScheduleGraceMs = 60LL * 60 * 1000;

// One entry of a valid config, its cron parsed and its cell filled in.
struct ScheduleEntry {
  v1::EcsSchedule config;
  Schedule cron;
  std::string account;
  std::string region;
};

// Every error names its path: `handlers.ecs.schedules[2].cron: …`.
void ValidateSchedules(const v1::WorkerConfig& config, ConfigChecker& check);

// The entries of a config that passed ValidateSchedules (an entry that does not parse is left
// out; validation has refused it before).
std::vector<ScheduleEntry> ReadSchedules(const v1::WorkerConfig& config);

// The workflow of `entry`'s occurrence at `occurrence_ms`, due then; `ecs` supplies the defaults
// (verify timeout, poll interval).
v1::WorkflowCheckpoint OccurrenceWorkflow(const ScheduleEntry& entry, int64_t occurrence_ms,
                                          const v1::EcsConfig& ecs);

// For a scheduled occurrence: whether a service of the cluster matches its globs (any; none = all),
// and whether its tags carry its tag (none = all). For a command, always.
bool NameSelected(const v1::EcsWorkflowState& state, const std::string& service);
bool TagSelected(const v1::EcsWorkflowState& state, const std::map<std::string, std::string>& tags);

}  // namespace fleetkeeper::handlers::ecs
