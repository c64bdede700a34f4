// The steps of an AMI rollout workflow and what they share.
//
//   read-parameter ─▶ plan-targets ─▶ roll-out (repeats until every target is done)
//                                  └▶ (dry run: finish DRY_RUN)
//   roll-out ─▶ check-parameter-version ─▶ report (finish)
//                           └▶ read-parameter (the parameter moved on: roll out the newer version)
//
// roll-out advances every target's own phase machine (asg_rollout.h, replacement.h) by as much as
// it can without waiting, then checkpoints: targets proceed concurrently inside one workflow while
// each mutation is followed by a checkpoint before the call that depends on it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "awsclient/describe_coalescer.h"
#include "common/error.h"
#include "fleetkeeper/v1/ami_rollout_state.pb.h"
#include "handlers/ami_rollout/config.h"
#include "handlers/workflow.h"

namespace fleetkeeper::handlers::ami_rollout {

// Released step names; never reuse one with another meaning.
inline constexpr char kStepReadParameter[] = "read-parameter";
inline constexpr char kStepPlanTargets[] = "plan-targets";
inline constexpr char kStepRollOut[] = "roll-out";
inline constexpr char kStepCheckVersion[] = "check-parameter-version";
inline constexpr char kStepReport[] = "report";

// Target outcomes, as they appear in the result's actions.
inline constexpr char kSucceeded[] = "succeeded";
inline constexpr char kFailed[] = "failed";
inline constexpr char kRolledBack[] = "rolled-back";
inline constexpr char kRollbackFailed[] = "rollback-failed";
inline constexpr char kRejected[] = "rejected";
inline constexpr char kCurrent[] = "current";
inline constexpr char kSkipped[] = "skipped";
inline constexpr char kDryRun[] = "dry-run";

// Phases every target machine shares.
inline constexpr char kPhasePending[] = "pending";
inline constexpr char kPhaseDone[] = "done";

// What advancing a target by one phase did.
enum class Progress {
  kContinue,    // go on with the next phase now
  kCheckpoint,  // checkpoint before the next phase (it makes a call that depends on this state)
  kWait,        // nothing to do until a timer or a signal
  kDone,        // the target has its outcome
};

// The answer to a call sent for several instances at once: the request id AWS gave it, or why it
// failed.
using CallOutcome = Result<std::string>;

// What one roll-out tick read (and changed) for all its due replacements at once, so that each
// replacement's phase finds its answer here instead of making its own call. An id that was asked
// for and is absent from the answer is recorded in `asked_*`, so a phase can tell "not found"
// from "not prefetched".
struct TickReads {
  std::map<std::string, aws::Instance> instances;
  std::set<std::string> asked_instances;
  std::map<std::string, aws::Volume> volumes;
  std::set<std::string> asked_volumes;
  std::map<std::string, aws::InstanceStatus> statuses;
  std::set<std::string> asked_statuses;
  std::map<std::string, aws::NetworkInterface> interfaces;  // secondary interfaces being moved
  std::set<std::string> asked_interfaces;
  // Instances found by the client-token filter, by token (launch phases re-run after a crash).
  std::map<std::string, aws::Instance> by_client_token;
  bool client_tokens_asked = false;
  // Configurations captured in one pass for the replacements that start in this tick.
  std::map<std::string, v1::InstanceCapture> captures;
  // Outcomes of state changes sent for many instances in one call, by instance id.
  std::map<std::string, CallOutcome> stopped;
  std::map<std::string, CallOutcome> started;
  std::map<std::string, CallOutcome> terminated;
  // Per target group: its targets out of service, id -> state (read once a tick, when a
  // replacement in it could start), or the read's error.
  std::map<std::string, Result<std::map<std::string, std::string>>> out_of_service;
};

// One run of a step: the context, the config and the unpacked state, plus what the step reports.
struct RolloutTick {
  RolloutTick(StepContext& c, const RolloutConfig& cfg, v1::AmiRolloutState& s,
              aws::Ec2ReadCoalescer& r)
      : ctx(c), config(cfg), state(s), reads(r), now_ms(c.clock().NowMs()) {}

  StepContext& ctx;
  const RolloutConfig& config;
  v1::AmiRolloutState& state;
  aws::Ec2ReadCoalescer& reads;  // shared by every workflow of the cell
  int64_t now_ms;
  TickReads prefetched;

  std::vector<v1::Action> actions;     // appended to the workflow's result
  std::set<std::string> wait_signals;  // "refresh:<asg>", "instance:<id>"
  int64_t next_wake_ms = 0;            // 0 = the poll interval
  std::vector<std::string> notes;      // progress worth publishing

  // Records an AWS call or decision in the result. `error`, when given, supplies the AWS request
  // id and the error text.
  void Record(const std::string& resource, const std::string& action, const std::string& status,
              const std::string& detail, const Error* error = nullptr);
  // Records a call that succeeded, with the request id AWS gave it.
  void RecordCall(const std::string& resource, const std::string& action, const std::string& detail,
                  const std::string& request_id);
  // Asks to be woken no later than `at_ms`.
  void WakeAt(int64_t at_ms);
};

// Reserves the instance in the cell's ledger, with every one of its target groups read now. ""
// when granted, else what holds it back.
std::string ReserveInLedger(RolloutTick& t, const v1::InstanceRollout& r);

// The read coalescer of the cell whose EC2 client this is.
using ReadsOfCell = std::function<aws::Ec2ReadCoalescer&(aws::Ec2&)>;

// The workflow's steps, each over the AmiRolloutState packed in the context. `config` must outlive
// the table.
StepTable RolloutSteps(const RolloutConfig& config, ReadsOfCell reads);

// The dedup key the rollout completes with the version it read: "param:<name>:<version>".
std::string VersionedKey(const v1::AmiRolloutState& state);

}  // namespace fleetkeeper::handlers::ami_rollout
