// Alarm guards (docs/safety.md, "Alarm guards"): while a guard alarm watching a group is in
// ALARM, no workflow starts a mutating step on that group; running steps finish. The alarm's
// state lives in the cell's durable store (record "safety/guard-alarms"), so a restart or a
// rebalance restores it with the cell. It is learnt from alarm state-change events, and re-read
// with DescribeAlarms on the executor (GuardAlarmPoller) in case an event was lost.
//
// Thread-safety: everything here is for the poll thread and does no I/O, except where noted.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/config_check.h"
#include "common/executor.h"
#include "fleetkeeper/v1/config.pb.h"
#include "fleetkeeper/v1/workflow.pb.h"
#include "handlers/handler.h"
#include "handlers/safety_config.h"

namespace fleetkeeper::aws {
class ClientProvider;
struct MetricAlarm;
}  // namespace fleetkeeper::aws

namespace fleetkeeper::handlers {

// The cell store key of the guard alarms' states (v1::GuardAlarmStates).
inline constexpr char kGuardAlarmsKey[] = "safety/guard-alarms";

// `safety.guards`, `safety.on_guard_alarm` and `safety.guard_poll_interval`: defaults and checks,
// every error naming its key.
void ApplyAlarmGuardDefaults(v1::SafetyConfig& safety);
void ValidateAlarmGuards(const v1::SafetyConfig& safety, ConfigChecker& check);

// The lock among `locks` whose tag, recorded in `wf.tagged_guards`, names `alarm_name` (with the
// tag: "asg:web, named by its tag fleetkeeper:guard-alarms"), or "".
std::string TaggedGuardOf(const v1::SafetyConfig& safety, const v1::WorkflowCheckpoint& wf,
                          const std::vector<std::string>& locks, const std::string& alarm_name);

// The first guard of `safety.guards` that names the alarm, or null.
const v1::AlarmGuard* GuardFor(const v1::SafetyConfig& safety, const std::string& alarm_name);

// Whether `alarm`, named by `guard`, watches the resource `lock` (a lock name as handlers give
// them: "asg:<name>", "instance:<id>", "tg:<arn>", "ecs:<cluster>/<service>"): its dimensions
// name it (within the guard's scope), or the guard lists it.
bool AlarmWatches(const v1::AlarmGuard& guard, const v1::AlarmStateChange& alarm,
                  const std::string& lock);

// The alarm's state as CloudWatch's DescribeAlarms reports it, in the event's shape.
v1::AlarmStateChange AlarmStateOf(const aws::MetricAlarm& alarm);

// Records the alarm's state in the cell's guard record when a guard names the alarm and the state
// is not older than the one recorded. Writes only a change. Returns whether it wrote.
bool ObserveGuardAlarm(const v1::SafetyConfig& safety, const v1::AlarmStateChange& alarm,
                       CellStore& store);

// The guard alarm in ALARM that watches one of `locks` of `wf`: "alarm X (in ALARM since T,
// guarding L)", or "". A self-healing workflow triggered by an alarm is never held by that alarm.
std::string GuardAlarmFiring(const v1::SafetyConfig& safety, const v1::WorkflowCheckpoint& wf,
                             const std::vector<std::string>& locks, const CellStore& store);

// Why a mutating step of `wf`, changing `locks`, may not start: "paused by alarm X (…)", or "".
// A self-healing workflow triggered by an alarm is never paused by that same alarm.
std::string AlarmHold(const v1::SafetyConfig& safety, const v1::WorkflowCheckpoint& wf,
                      const std::vector<std::string>& locks, const CellStore& store);

// The DescribeAlarms fallback: each cell with live workflows re-reads its guard alarms every
// `safety.guard_poll_interval` on the executor; the answers come back to the poll thread.
class GuardAlarmPoller {
 public:
  // `clients` may be null (no AWS configured): nothing is read.
  GuardAlarmPoller(const v1::WorkerConfig& config, aws::ClientProvider* clients,
                   Executor& executor);

  // Poll thread. The cell (`account`, `region`) of partition p has live workflows: starts a read
  // of its guard alarms when the interval has passed since the last one (and none is running);
  // `notify` runs on the executor when the answer is in. Returns when the next read is due
  // (INT64_MAX when the fallback is off).
  int64_t Poll(int32_t partition, uint64_t generation, const std::string& account,
               const std::string& region, int64_t now_ms, const std::function<void()>& notify);

  // Poll thread. Hands every alarm state read since the last call to `apply`.
  using Apply = std::function<void(int32_t partition, uint64_t generation, const std::string& cell,
                                   const v1::AlarmStateChange& alarm)>;
  void Collect(const Apply& apply);

 private:
  struct Answer {
    int32_t partition;
    uint64_t generation;
    std::string cell;
    std::vector<v1::AlarmStateChange> alarms;
  };

  const v1::WorkerConfig& config_;
  aws::ClientProvider* clients_;
  Executor& executor_;
  int64_t interval_ms_;
  std::map<std::string, int64_t> next_read_ms_;  // cell -> when its next read is due (poll thread)

  std::mutex mu_;
  std::vector<Answer> answers_;
  std::map<std::string, bool> reading_;  // cell -> a read is running
};

}  // namespace fleetkeeper::handlers
