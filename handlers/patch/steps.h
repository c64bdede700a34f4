// The steps of a rolling patch workflow and what they share.
//
//   discover ─▶ gate ─▶ start-stopped ─▶ patch (repeats until every batch is done) ─▶ report
//           └▶ (dry run: finish DRY_RUN with the plan; over max_targets: REJECTED)
//   any step ─(cancel)─▶ cancel: registers the drained instances again, ends CANCELLED
//   a request over several cells: fan-out ─▶ children (fanout.h); each child runs the steps
//   above, waiting after discover (fan-out-wait) for its parent's go
//
// `patch` advances every instance of the current batch through its own phase machine
// (instance.h) as far as it can without waiting, then checkpoints: the instances of a batch
// proceed together inside one workflow, and every mutation is checkpointed before the call that
// depends on it. A new batch starts only when the previous one is done, inside the maintenance
// window, and while failures stay within max_errors.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "awsclient/ec2.h"
#include "awsclient/elbv2.h"
#include "awsclient/ssm.h"
#include "common/error.h"
#include "fleetkeeper/v1/patch_state.pb.h"
#include "handlers/patch/config.h"
#include "handlers/workflow.h"

namespace fleetkeeper::handlers::patch {

// Released step names; never reuse one with another meaning.
inline constexpr char kStepDiscover[] = "discover";
inline constexpr char kStepGate[] = "gate";
inline constexpr char kStepStartStopped[] = "start-stopped";
inline constexpr char kStepPatch[] = "patch";
inline constexpr char kStepReport[] = "report";
inline constexpr char kStepCancel[] = "cancel";

// Instance outcomes, as they appear in the result's actions.
inline constexpr char kPatched[] = "patched";
inline constexpr char kFailed[] = "failed";
inline constexpr char kSkipped[] = "skipped";
inline constexpr char kNotStarted[] = "not-started";
inline constexpr char kDryRun[] = "dry-run";
inline constexpr char kCancelled[] = "cancelled";
inline constexpr char kRolledBack[] = "rolled-back";          // on a guard alarm, from the backup
inline constexpr char kRollbackFailed[] = "rollback-failed";  // on a guard alarm

// Instance phases.
inline constexpr char kPhasePending[] = "pending";
inline constexpr char kPhaseStart[] = "start";
inline constexpr char kPhaseDone[] = "done";

// Tags on the AMI backups, so that a re-run finds the one it made.
inline constexpr char kRequestTag[] = "fleetkeeper:patch-request";
inline constexpr char kBackupOfTag[] = "fleetkeeper:backup-of";

// What the instances one run of a step advances share: the reads made once for all of them, and
// their turns when several advance at once (handlers.patch.parallel_instances).
struct RunShared {
  // DescribeTargetHealth by group ARN (a batch moves together). `budget_health`, the whole
  // group, serves the blast-radius budget, which counts this campaign's instances from the state,
  // not from the read: one read a run is enough. `member_health` serves our instances' own states:
  // the whole group when a budget read made it, else the targets of the batch's instances in the
  // group (a read of a few targets, not of a group of hundreds); it is dropped when this run
  // registers or deregisters a target of the group.
  struct MemberHealth {
    bool whole = false;
    std::set<std::string> ids;  // the targets read, when not the whole group
    std::vector<aws::TargetHealthDescription> health;
  };
  std::map<std::string, std::vector<aws::TargetHealthDescription>> budget_health;
  std::map<std::string, MemberHealth> member_health;
  // DescribeInstanceStatus of the instances waiting for status checks, read once a run for all of
  // them, by instance id.
  std::map<std::string, aws::InstanceStatus> instance_status;
  // DescribeInstancePatchStates of the instances that verify their patch in this run, read once
  // for all of them, by instance id (an empty state: none reported).
  std::map<std::string, aws::InstancePatchState> patch_states;
  // The batch's command look, once a run (instance.cc): invocation status by
  // "<command id>/<instance id>".
  std::map<std::string, std::string> command_status;
  bool commands_looked = false;
  // The batch's search for commands sent before a crash, once a run (command.cc): the command id
  // by token of the instances about to send theirs; `searched_all` when the listing was read to
  // its end, so that a token it does not hold was not sent.
  std::map<std::string, std::string> sent_by_token;
  std::set<std::string> searched_tokens;
  bool searched_all = false;

  // Several instances advancing at once take turns: each holds `turn` while it reads or changes
  // the ticks, the state or the reads above, and lets go of it only around its AWS and HTTP calls
  // (PatchTick::Io), which then overlap. A read several of them share is made by one while the
  // others wait (`reading`, PatchTick::ShareRead).
  bool parallel = false;
  std::mutex turn;
  std::condition_variable_any read_done;
  std::set<std::string> reading;
};

// One run of a step: the context, the request, its plan and the unpacked state, plus what the
// step reports.
struct PatchTick {
  PatchTick(StepContext& c, const v1::PatchRequest& r, const PatchPlan& p,
            v1::PatchWorkflowState& s)
      : ctx(c), request(r), plan(p), state(s), now_ms(c.clock().NowMs()) {}

  StepContext& ctx;
  const v1::PatchRequest& request;
  const PatchPlan& plan;
  v1::PatchWorkflowState& state;
  int64_t now_ms;

  std::vector<v1::Action> actions;     // appended to the workflow's result
  std::set<std::string> wait_signals;  // "ssm-command:<id>"
  int64_t next_wake_ms = 0;            // 0 = the poll interval
  std::vector<std::string> notes;      // progress worth publishing

  std::shared_ptr<RunShared> shared = std::make_shared<RunShared>();

  void Record(const std::string& resource, const std::string& action, const std::string& status,
              const std::string& detail, const Error* error = nullptr);
  void WakeAt(int64_t at_ms);

  // A tick for one instance of this run: the same context, request, plan, state, time and shared
  // reads; its own actions, notes, signals and wake-up, which Absorb adds to this tick's.
  PatchTick Lane() const;
  void Absorb(PatchTick& lane);

  // Makes `call`, AWS or HTTP I/O that touches nothing of the ticks or the state, without holding
  // the run's turn when instances advance at once.
  template <class Call>
  auto Io(Call&& call) -> decltype(call()) {
    if (!shared->parallel) return call();
    struct Away {
      std::mutex& turn;
      explicit Away(std::mutex& m) : turn(m) { turn.unlock(); }
      ~Away() { turn.lock(); }
    } away(shared->turn);
    return call();
  }
  // A read that several instances of the run share, named `key`: waits while another instance
  // makes it; then, unless `have()` says it is made, makes it with `read` (which stores what it
  // read and may call Io). The read's error, or Ok.
  Status ShareRead(const std::string& key, const std::function<bool()>& have,
                   const std::function<Status()>& read);
};

// `o` with what `t` recorded: its actions, and its notes as the published progress reason.
StepOutcome WithTick(StepOutcome o, PatchTick& t);

// The workflow's steps over the PatchWorkflowState packed in the context. `guard_tags` are the
// tag keys that name guard alarms on a group (GuardTagKeys of handlers/engine/guards.h), read from
// the target groups at discovery. `config`, `commands` and `guard_tags` must outlive the table.
StepTable PatchSteps(const v1::PatchConfig& config, const v1::CommandsConfig& commands,
                     const std::vector<std::string>& guard_tags);

// "instance:<id>": the resource name of an instance in results and locks.
std::string Resource(const std::string& instance_id);

// What the result says about one instance at the end (or in a dry run's plan).
std::string InstanceSummary(const v1::PatchInstanceState& i);

}  // namespace fleetkeeper::handlers::patch
