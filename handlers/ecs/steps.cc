// The act and verify steps (discover is in discover.cc).
#include "handlers/ecs/steps.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <set>

#include "awsclient/aws_error.h"
#include "awsclient/clients.h"
#include "handlers/ecs/capacity.h"
#include "handlers/ecs/intake.h"
#include "handlers/ecs/listing.h"
#include "handlers/ecs/reads.h"
#include "handlers/ecs/scaling.h"
#include "handlers/ecs/support.h"

namespace fleetkeeper::handlers::ecs {
namespace {

bool Done(const std::string& outcome) { return !outcome.empty(); }

template <typename Targets>
std::vector<std::string> PendingNames(const Targets& targets) {
  std::vector<std::string> out;
  for (const auto& t : targets) {
    if (!Done(t.outcome())) out.push_back(t.arn());
  }
  return out;
}

std::vector<std::string> PendingServices(const v1::EcsWorkflowState& s) {
  std::vector<std::string> out;
  for (const auto& t : s.services()) {
    if (!Done(t.outcome())) out.push_back(t.name());
  }
  return out;
}

class Step {
 public:
  Step(v1::EcsWorkflowState& state, StepContext& ctx)
      : s_(state),
        ctx_(ctx),
        ecs_(*ctx.aws().ecs),
        aas_(*ctx.aws().application_autoscaling),
        now_(ctx.clock().NowMs()),
        budget_(ctx, ecs_, state.cluster(), std::to_string(std::max(1, state.max_concurrency()))) {}

  StepOutcome Act() {
    const std::string& action = s_.action();
    if (!s_.schedule().empty() && now_ > s_.occurrence_ms() + s_.grace_ms()) {
      return StepOutcome::Finish(
          v1::Result::SKIPPED,
          fmt::format("schedule {}: the occurrence of {} could not act until {} (held by a "
                      "freeze or a lock, or no worker ran), more than {} min late; skipped, the "
                      "next occurrence decides; nothing was changed",
                      s_.schedule(), FormatRfc3339(s_.occurrence_ms()), FormatRfc3339(now_),
                      s_.grace_ms() / 60000));
    }
    std::optional<StepOutcome> problem;
    if (action == kDrain) {
      problem = DrainInstances();
    } else if (action == kStopTasks && s_.tasks_size() > 0) {
      problem = StopNamedTasks();
    } else {
      problem = ActOnServices();
    }
    if (problem) return *problem;
    if (checkpoint_first_) {
      // Reserved in the ledger: the checkpoint holds the reservations before any call is made.
      StepOutcome o = StepOutcome::Next(kStepAct);
      o.actions = std::move(actions_);
      return o;
    }
    // A round that sent nothing (every task waits for the ledger) keeps the verification's
    // deadline of what was sent before.
    if (sent_ || s_.verify_deadline_ms() == 0) {
      s_.set_verify_deadline_ms(now_ + s_.verify_timeout_ms());
    }
    StepOutcome o = StepOutcome::Wait(kStepVerify, s_.poll_ms());
    o.actions = std::move(actions_);
    o.reason =
        fmt::format("{} sent; verifying for up to {} s", action, s_.verify_timeout_ms() / 1000);
    o.publish_progress = true;
    return o;
  }

  StepOutcome Verify() {
    const std::string& action = s_.action();
    std::optional<StepOutcome> problem;
    bool next_round = false;
    if (action == kDrain) {
      problem = VerifyInstances();
    } else if (action == kStopTasks && s_.tasks_size() > 0) {
      problem = VerifyTasks();
    } else {
      problem = VerifyServices(&next_round);
    }
    if (problem) return *problem;
    if (auto problem = ReleaseWhatIsBack()) return *problem;
    if (next_round || WaitingForCapacity(s_)) {
      StepOutcome o = StepOutcome::Next(kStepAct);
      o.actions = std::move(actions_);
      return o;
    }
    const bool pending = !PendingServices(s_).empty() || !PendingNames(s_.tasks()).empty() ||
                         !PendingNames(s_.instances()).empty();
    if (pending && now_ < s_.verify_deadline_ms()) {
      StepOutcome o = StepOutcome::Wait(kStepVerify, s_.poll_ms());
      o.actions = std::move(actions_);
      return o;
    }
    if (pending) TimeOut();
    return Finish();
  }

  std::optional<StepOutcome> ReleaseWhatIsBack() {
    if (Status st = budget_.ReleaseDone(s_); !st.ok()) {
      return CallFailed(ctx_, kStepVerify, "DescribeServices", st.error());
    }
    return std::nullopt;
  }

 private:
  std::string Res(const std::string& service) const {
    return ServiceResource(s_.cluster(), service);
  }
  void Record(const std::string& resource, const std::string& call, const std::string& status,
              const std::string& detail, const std::string& request_id = "") {
    actions_.push_back(MakeAction(resource, call, status, detail, request_id));
  }
  template <typename T>
  void Fail(T& target, const std::string& resource, const std::string& why) {
    target.set_outcome(kFailed);
    target.set_detail(why);
    Record(resource, s_.action(), kFailed, why);
  }
  // A call that failed for one target: transient failures run the whole step again (it re-reads),
  // anything else fails that target and the others go on.
  template <typename T>
  std::optional<StepOutcome> TargetCallFailed(T& target, const std::string& resource,
                                              const std::string& call, const Error& e,
                                              const char* step) {
    if (aws::IsTransientFailure(e)) return CallFailed(ctx_, step, call, e);
    Fail(target, resource, fmt::format("{} failed: {}", call, e.ToString()));
    return std::nullopt;
  }

  // Reads the pending services (`step` names the step a failed read retries) and runs
  // `body(target, service)` for each; a service that is gone fails its target.
  template <typename Body>
  std::optional<StepOutcome> ForEachPendingService(const char* step, bool include_tags,
                                                   Body&& body) {
    auto found = ReadServices(ecs_, s_.cluster(), PendingServices(s_), include_tags);
    if (!found.ok()) return CallFailed(ctx_, step, "DescribeServices", found.error());
    for (auto& t : *s_.mutable_services()) {
      if (Done(t.outcome())) continue;
      auto it = found->by_name.find(t.name());
      if (it == found->by_name.end()) {
        Fail(t, Res(t.name()), "the service no longer exists");
        continue;
      }
      if (auto problem = body(t, it->second)) return problem;
    }
    return std::nullopt;
  }

  // ---- act ----

  std::optional<StepOutcome> ActOnServices() {
    std::map<std::string, aws::ScalableTarget> scalable;
    if (s_.action() == kScale || s_.action() == kRestore) {
      auto read = ReadScalableTargets(aas_, s_.cluster(), PendingServices(s_));
      if (!read.ok()) return CallFailed(ctx_, kStepAct, "DescribeScalableTargets", read.error());
      scalable = std::move(*read);
    }
    return ForEachPendingService(
        kStepAct, true,
        [&](v1::EcsServiceTarget& t, const aws::EcsService& svc) -> std::optional<StepOutcome> {
          if (s_.action() == kScale || s_.action() == kRestore) {
            auto it = scalable.find(t.name());
            return SetDesired(t, svc, it == scalable.end() ? nullptr : &it->second);
          }
          if (s_.action() == kRestart) return ForceDeployment(t, svc);
          if (s_.action() == kStopTasks) return StopRound(t, svc);
          return std::nullopt;
        });
  }

  // scale and restore: the absolute target checkpointed by discover, set only when the service,
  // re-read now, is not already there. `scalable`: the service's scalable target, or null.
  std::optional<StepOutcome> SetDesired(v1::EcsServiceTarget& t, const aws::EcsService& svc,
                                        const aws::ScalableTarget* scalable) {
    const int64_t target = t.target();
    auto tag = svc.tags.find(kPreviousCountTag);
    auto marker = svc.tags.find(kScalingSuspendedTag);
    if (s_.action() == kScale && target == 0 && svc.desired_count > 0) {
      // The tag first: a crash between the two calls leaves the count recorded, never lost.
      const std::string value = std::to_string(svc.desired_count);
      t.set_previous_desired(svc.desired_count);
      if (tag == svc.tags.end() || tag->second != value) {
        if (auto problem = Tag(t, svc, kPreviousCountTag, value)) return problem;
      }
    }
    // Suspended before the count drops, so that no scaling policy raises it again.
    if (s_.action() == kScale && target == 0 && scalable != nullptr) {
      if (auto problem = SuspendScaling(t, svc, *scalable, marker != svc.tags.end())) {
        return problem;
      }
    }
    if (svc.desired_count != target) {
      aws::UpdateServiceRequest r;
      r.cluster = s_.cluster();
      r.service = svc.name;
      r.desired_count = target;
      auto res = ecs_.UpdateService(r);
      if (!res.ok()) {
        return TargetCallFailed(t, Res(t.name()), "UpdateService", res.error(), kStepAct);
      }
      Record(Res(t.name()), "UpdateService", kOk,
             fmt::format("desiredCount {} -> {}{}", svc.desired_count, target, AboveMax(t)));
    } else {
      Record(Res(t.name()), "UpdateService", "skipped",
             fmt::format("desired count is already {}", target));
    }
    // Restored, or scaled away from zero on purpose: the recorded count no longer applies, and
    // the scaling fleetkeeper suspended runs again.
    const bool leave_zero = s_.action() == kRestore || (s_.action() == kScale && target > 0);
    if (!leave_zero) return std::nullopt;
    std::vector<std::string> drop;
    if (marker != svc.tags.end()) {
      if (scalable != nullptr) {
        const aws::SuspendedState resumed = Resumed(scalable->suspended, marker->second);
        if (auto st = SetSuspendedState(aas_, *scalable, resumed); !st.ok()) {
          return TargetCallFailed(t, Res(t.name()), "RegisterScalableTarget", st.error(), kStepAct);
        }
        aws::ScalableTarget after = *scalable;
        after.suspended = resumed;
        Record(Res(t.name()), "RegisterScalableTarget", kOk,
               fmt::format("resumed scaling ({}): {}", marker->second, DescribeTarget(after)));
      }
      drop.push_back(kScalingSuspendedTag);
    }
    if (tag != svc.tags.end()) drop.push_back(kPreviousCountTag);
    if (drop.empty()) return std::nullopt;
    aws::UntagResourceRequest r;
    r.resource_arn = svc.arn;
    r.tag_keys = drop;
    if (auto st = ecs_.UntagResource(r); !st.ok()) {
      return TargetCallFailed(t, Res(t.name()), "UntagResource", st.error(), kStepAct);
    }
    Record(Res(t.name()), "UntagResource", kOk, fmt::format("{}", fmt::join(drop, ", ")));
    return std::nullopt;
  }

  std::optional<StepOutcome> Tag(v1::EcsServiceTarget& t, const aws::EcsService& svc,
                                 const std::string& key, const std::string& value) {
    aws::TagResourceRequest r;
    r.resource_arn = svc.arn;
    r.tags[key] = value;
    if (auto st = ecs_.TagResource(r); !st.ok()) {
      return TargetCallFailed(t, Res(t.name()), "TagResource", st.error(), kStepAct);
    }
    Record(Res(t.name()), "TagResource", kOk, fmt::format("{}={}", key, value));
    return std::nullopt;
  }

  // The marker tag first (naming the flags fleetkeeper turns on), then the suspension: a crash
  // between them re-runs both, and a restore resumes only what fleetkeeper suspended.
  std::optional<StepOutcome> SuspendScaling(v1::EcsServiceTarget& t, const aws::EcsService& svc,
                                            const aws::ScalableTarget& scalable, bool marked) {
    if (scalable.suspended.All()) {
      Record(Res(t.name()), "RegisterScalableTarget", "skipped",
             marked ? "scaling already suspended by fleetkeeper"
                    : "scaling already suspended, not by fleetkeeper: restore leaves it so");
      return std::nullopt;
    }
    if (!marked) {
      if (auto problem = Tag(t, svc, kScalingSuspendedTag, FlagsToSuspend(scalable.suspended))) {
        return problem;
      }
    }
    if (auto st = SetSuspendedState(aas_, scalable, aws::SuspendedState{true, true, true});
        !st.ok()) {
      return TargetCallFailed(t, Res(t.name()), "RegisterScalableTarget", st.error(), kStepAct);
    }
    Record(Res(t.name()), "RegisterScalableTarget", kOk,
           fmt::format("suspended dynamic scaling in and out and scheduled scaling while at zero "
                       "(was {})",
                       DescribeTarget(scalable)));
    return std::nullopt;
  }

  std::optional<StepOutcome> ForceDeployment(v1::EcsServiceTarget& t, const aws::EcsService& svc) {
    const aws::EcsDeployment* primary = PrimaryOf(svc);
    if (primary != nullptr && primary->id != t.primary_before()) {
      // Forced before a crash or redelivery: not again.
      t.set_new_deployment(primary->id);
      Record(Res(t.name()), "UpdateService", "skipped",
             "a new deployment " + primary->id + " is already PRIMARY");
      return std::nullopt;
    }
    aws::UpdateServiceRequest r;
    r.cluster = s_.cluster();
    r.service = svc.name;
    r.force_new_deployment = true;
    auto res = ecs_.UpdateService(r);
    if (!res.ok()) {
      return TargetCallFailed(t, Res(t.name()), "UpdateService", res.error(), kStepAct);
    }
    const aws::EcsDeployment* fresh = PrimaryOf(*res);
    if (fresh != nullptr && fresh->id != t.primary_before()) t.set_new_deployment(fresh->id);
    Record(Res(t.name()), "UpdateService", kOk,
           fmt::format("forceNewDeployment; new deployment {}",
                       t.new_deployment().empty() ? "pending" : t.new_deployment()));
    return std::nullopt;
  }

  // One round of stop_tasks for a whole service: at most max_concurrency of the tasks it had when
  // the command was read, each reserved in the cell's ledger first (checkpointed, then stopped).
  // verify waits for their replacements before the next round.
  std::optional<StepOutcome> StopRound(v1::EcsServiceTarget& t, const aws::EcsService& svc) {
    const std::set<std::string> stopped(t.stopped().begin(), t.stopped().end());
    std::vector<std::string> round;
    for (const auto& task : t.tasks()) {
      if (static_cast<int>(round.size()) >= s_.max_concurrency()) break;
      if (stopped.count(task) != 0) continue;
      std::string why;
      const Claimed c = budget_.Claim(task, {&svc}, &why);
      if (c == Claimed::kRefused) {
        if (std::string fail = CapacityWait(t, now_, s_.verify_timeout_ms(), why); !fail.empty()) {
          Fail(t, Res(t.name()), fail);
          return std::nullopt;
        }
        if (round.empty()) Note(Res(t.name()), t.detail());
        break;
      }
      checkpoint_first_ |= c == Claimed::kGranted;
      round.push_back(task);
    }
    if (checkpoint_first_ || round.empty()) return std::nullopt;
    t.set_capacity_wait_since_ms(0);
    for (const auto& task : round) {
      t.add_stopped(task);
      sent_ = true;
      if (auto problem = StopOne(t, task)) return problem;
      if (Done(t.outcome())) return std::nullopt;
    }
    return std::nullopt;
  }

  // A target the ledger refused: it waits (said once), or fails after verify_timeout.
  template <typename T>
  void Refused(T& target, const std::string& resource, const std::string& why) {
    if (std::string fail = CapacityWait(target, now_, s_.verify_timeout_ms(), why); !fail.empty()) {
      Fail(target, resource, fail);
    } else {
      Note(resource, target.detail());
    }
  }

  // A wait for the ledger, said once in the workflow's actions.
  void Note(const std::string& resource, const std::string& detail) {
    for (const auto& a : ctx_.workflow().actions()) {
      if (a.resource() == resource && a.detail() == detail) return;
    }
    Record(resource, "reserve-capacity", "waiting", detail);
  }

  template <typename T>
  std::optional<StepOutcome> StopOne(T& target, const std::string& task) {
    aws::StopTaskRequest r;
    r.cluster = s_.cluster();
    r.task = task;
    r.reason = ReasonOf();
    auto res = ecs_.StopTask(r);
    if (!res.ok()) {
      return TargetCallFailed(target, TaskResource(s_.cluster(), task), "StopTask", res.error(),
                              kStepAct);
    }
    Record(TaskResource(s_.cluster(), task), "StopTask", kOk,
           fmt::format("last status {}", res->last_status));
    return std::nullopt;
  }

  // Each task of a service reserved in the ledger first (all that it grants, then one
  // checkpoint), then stopped; the others wait for capacity to come back.
  std::optional<StepOutcome> StopNamedTasks() {
    auto found = ReadTasks(ecs_, s_.cluster(), PendingNames(s_.tasks()));
    if (!found.ok()) return CallFailed(ctx_, kStepAct, "DescribeTasks", found.error());
    std::vector<v1::EcsTaskTarget*> ready;
    for (auto& t : *s_.mutable_tasks()) {
      if (Done(t.outcome()) || t.stop_sent()) continue;
      const std::string resource = TaskResource(s_.cluster(), t.arn());
      auto it = found->by_name.find(t.arn());
      if (it != found->by_name.end() && it->second.desired_status == "STOPPED") {
        t.set_stop_sent(true);
        Record(resource, "StopTask", "skipped", "already stopping (desired status STOPPED)");
        continue;
      }
      std::string why;
      auto c = budget_.ClaimServices(
          t.arn(), t.service().empty() ? std::vector<std::string>{} : std::vector{t.service()},
          &why);
      if (!c.ok()) return CallFailed(ctx_, kStepAct, "DescribeServices", c.error());
      if (*c == Claimed::kRefused) {
        Refused(t, resource, why);
        continue;
      }
      checkpoint_first_ |= *c == Claimed::kGranted;
      ready.push_back(&t);
    }
    if (checkpoint_first_) return std::nullopt;
    for (auto* t : ready) {
      t->set_stop_sent(true);
      t->set_capacity_wait_since_ms(0);
      sent_ = true;
      if (auto problem = StopOne(*t, t->arn())) return problem;
    }
    return std::nullopt;
  }

  std::optional<StepOutcome> DrainInstances() {
    auto found = ReadInstances(ecs_, s_.cluster(), PendingNames(s_.instances()));
    if (!found.ok()) return CallFailed(ctx_, kStepAct, "DescribeContainerInstances", found.error());
    std::vector<std::string> to_drain;
    for (auto& i : *s_.mutable_instances()) {
      if (Done(i.outcome()) || i.drain_sent()) continue;
      const std::string resource = InstanceResource(s_.cluster(), i.arn());
      auto it = found->by_name.find(i.arn());
      if (it == found->by_name.end()) {
        Fail(i, resource, "the container instance is gone");
        continue;
      }
      if (it->second.status == "DRAINING") {
        i.set_drain_sent(true);
        continue;
      }
      // Its tasks leave their services: the instance is one unit in each of them.
      std::string why;
      auto c = budget_.ClaimInstance(i.arn(), &why);
      if (!c.ok()) return CallFailed(ctx_, kStepAct, "ListTasks", c.error());
      if (*c == Claimed::kRefused) {
        Refused(i, resource, why);
        continue;
      }
      checkpoint_first_ |= *c == Claimed::kGranted;
      to_drain.push_back(i.arn());
    }
    if (to_drain.empty() || checkpoint_first_) return std::nullopt;
    for (auto& i : *s_.mutable_instances()) {
      if (std::find(to_drain.begin(), to_drain.end(), i.arn()) == to_drain.end()) continue;
      i.set_drain_sent(true);
      i.set_capacity_wait_since_ms(0);
    }
    sent_ = true;
    aws::UpdateContainerInstancesStateRequest r;
    r.cluster = s_.cluster();
    r.container_instances = to_drain;
    r.status = "DRAINING";
    auto res = ecs_.UpdateContainerInstancesState(r);
    if (!res.ok()) {
      return CallFailed(ctx_, kStepAct, "UpdateContainerInstancesState", res.error());
    }
    for (const auto& f : res->failures) {
      for (auto& i : *s_.mutable_instances()) {
        if (NameOf(i.arn()) == NameOf(f.arn)) {
          Fail(i, InstanceResource(s_.cluster(), i.arn()),
               fmt::format("UpdateContainerInstancesState: {} {}", f.reason, f.detail));
        }
      }
    }
    for (const auto& c : res->container_instances) {
      Record(InstanceResource(s_.cluster(), c.arn), "UpdateContainerInstancesState", kOk,
             fmt::format("status {}, {} running tasks", c.status, c.running_tasks));
    }
    return std::nullopt;
  }

  std::string ReasonOf() const {
    const auto& cmd = ctx_.workflow().trigger().ecs_command();
    return fmt::format("fleetkeeper {}{}", cmd.request_id(),
                       cmd.reason().empty() ? "" : ": " + cmd.reason());
  }

  // ---- verify ----

  std::optional<StepOutcome> VerifyServices(bool* next_round) {
    return ForEachPendingService(
        kStepVerify, false,
        [&](v1::EcsServiceTarget& t, const aws::EcsService& svc) -> std::optional<StepOutcome> {
          t.set_desired_after(svc.desired_count);
          t.set_running_after(svc.running_count);
          if (s_.action() == kRestart) {
            VerifyDeployment(t, svc);
          } else if (s_.action() == kStopTasks) {
            return VerifyRound(t, svc, next_round);
          } else if (svc.desired_count == t.target() && svc.running_count == t.target() &&
                     svc.pending_count == 0) {
            const aws::EcsDeployment* primary = PrimaryOf(svc);
            Converged(
                t, fmt::format("desired {} -> {}, running {} -> {}; deployment {}{}",
                               t.desired_before(), svc.desired_count, t.running_before(),
                               svc.running_count,
                               primary != nullptr ? DeploymentOf(*primary) : "none", AboveMax(t)));
          }
          return std::nullopt;
        });
  }

  void Converged(v1::EcsServiceTarget& t, const std::string& detail) {
    t.set_outcome(kOk);
    t.set_detail(detail);
    Record(Res(t.name()), "verify", kOk, detail);
  }

  void VerifyDeployment(v1::EcsServiceTarget& t, const aws::EcsService& svc) {
    const aws::EcsDeployment* primary = PrimaryOf(svc);
    if (primary == nullptr || primary->id == t.primary_before()) return;
    t.set_new_deployment(primary->id);
    if (primary->rollout_state == "FAILED") {
      Fail(t, Res(t.name()),
           fmt::format("deployment {} failed: {}", primary->id, primary->rollout_state_reason));
      return;
    }
    // Without the deployment circuit breaker ECS reports no rolloutState: then the new
    // deployment is done when it is the only one left.
    const bool rolled = primary->rollout_state == "COMPLETED" ||
                        (primary->rollout_state.empty() && svc.deployments.size() == 1);
    if (rolled && primary->running_count >= primary->desired_count &&
        svc.running_count == svc.desired_count) {
      Converged(
          t, fmt::format("deployment {} PRIMARY {} (was {}); {}", primary->id,
                         primary->rollout_state.empty() ? "steady" : primary->rollout_state,
                         t.primary_before().empty() ? "none" : t.primary_before(), CountsOf(svc)));
    }
  }

  // The round's tasks have stopped and the service runs its desired count again: the next round,
  // or done.
  std::optional<StepOutcome> VerifyRound(v1::EcsServiceTarget& t, const aws::EcsService& svc,
                                         bool* next_round) {
    std::vector<std::string> round(t.stopped().begin(), t.stopped().end());
    auto tasks = ReadTasks(ecs_, s_.cluster(), round);
    if (!tasks.ok()) return CallFailed(ctx_, kStepVerify, "DescribeTasks", tasks.error());
    for (const auto& [arn, task] : tasks->by_name) {
      if (task.last_status != "STOPPED") return std::nullopt;
    }
    if (svc.running_count < svc.desired_count) return std::nullopt;
    // The round's capacity is back.
    if (CapacityLedger* ledger = ctx_.capacity()) {
      for (const auto& task : round) {
        if (ledger->Holds(task)) ledger->Release(task);
      }
    }
    if (t.stopped_size() < t.tasks_size()) {
      *next_round = true;
      return std::nullopt;
    }
    Converged(t, fmt::format("stopped {} tasks, at most {} at a time; {}", t.stopped_size(),
                             s_.max_concurrency(), CountsOf(svc)));
    return std::nullopt;
  }

  std::optional<StepOutcome> VerifyTasks() {
    auto found = ReadTasks(ecs_, s_.cluster(), PendingNames(s_.tasks()));
    if (!found.ok()) return CallFailed(ctx_, kStepVerify, "DescribeTasks", found.error());
    for (auto& t : *s_.mutable_tasks()) {
      if (Done(t.outcome()) || !t.stop_sent()) continue;  // unsent: waits for the ledger
      auto it = found->by_name.find(t.arn());
      // ECS forgets stopped tasks after a while: a task it no longer knows has stopped.
      if (it == found->by_name.end() || it->second.last_status == "STOPPED") {
        t.set_outcome(kOk);
        t.set_detail(it == found->by_name.end() ? "stopped (no longer listed)"
                                                : "stopped: " + it->second.stopped_reason);
        Record(TaskResource(s_.cluster(), t.arn()), "verify", kOk, t.detail());
      } else {
        t.set_detail("last status " + it->second.last_status);
      }
    }
    return std::nullopt;
  }

  std::optional<StepOutcome> VerifyInstances() {
    auto found = ReadInstances(ecs_, s_.cluster(), PendingNames(s_.instances()));
    if (!found.ok()) {
      return CallFailed(ctx_, kStepVerify, "DescribeContainerInstances", found.error());
    }
    for (auto& i : *s_.mutable_instances()) {
      if (Done(i.outcome()) || !i.drain_sent()) continue;  // unsent: waits for the ledger
      auto it = found->by_name.find(i.arn());
      if (it == found->by_name.end()) {
        Fail(i, InstanceResource(s_.cluster(), i.arn()), "the container instance is gone");
        continue;
      }
      i.set_running_now(it->second.running_tasks);
      if (it->second.running_tasks == 0) {
        i.set_outcome(kOk);
        i.set_detail(fmt::format("DRAINING; {} tasks moved, none running", i.running_before()));
        Record(InstanceResource(s_.cluster(), i.arn()), "verify", kOk, i.detail());
      } else {
        i.set_detail(fmt::format("DRAINING; {} of {} tasks still running", i.running_now(),
                                 i.running_before()));
      }
    }
    return std::nullopt;
  }

  // verify_timeout passed: what has not converged fails, naming its counts.
  void TimeOut() {
    const std::string after =
        fmt::format("not converged within {} s", s_.verify_timeout_ms() / 1000);
    for (auto& t : *s_.mutable_services()) {
      if (Done(t.outcome())) continue;
      std::string why =
          fmt::format("{}: desired {}, running {}", after, t.desired_after(), t.running_after());
      if (s_.action() == kScale || s_.action() == kRestore) {
        why += fmt::format(" (target {})", t.target());
      } else if (s_.action() == kRestart) {
        why += fmt::format("; deployment {}",
                           t.new_deployment().empty() ? "not started" : t.new_deployment());
      } else if (s_.action() == kStopTasks) {
        why += fmt::format("; {} of {} tasks stopped", t.stopped_size(), t.tasks_size());
      }
      Fail(t, Res(t.name()), why);
    }
    for (auto& t : *s_.mutable_tasks()) {
      if (!Done(t.outcome()))
        Fail(t, TaskResource(s_.cluster(), t.arn()), after + ": " + t.detail());
    }
    for (auto& i : *s_.mutable_instances()) {
      if (!Done(i.outcome())) {
        Fail(i, InstanceResource(s_.cluster(), i.arn()),
             fmt::format("{}: stuck with {} running tasks", after, i.running_now()));
      }
    }
  }

  StepOutcome Finish() {
    std::vector<std::string> ok, failed;
    auto tally = [&](const std::string& name, const std::string& outcome,
                     const std::string& detail) {
      (outcome == kOk ? ok : failed).push_back(fmt::format("{} ({})", name, detail));
    };
    for (const auto& t : s_.services()) tally(t.name(), t.outcome(), t.detail());
    for (const auto& t : s_.tasks()) tally(NameOf(t.arn()), t.outcome(), t.detail());
    for (const auto& i : s_.instances()) tally(NameOf(i.arn()), i.outcome(), i.detail());
    const v1::Result::Status status = failed.empty() ? v1::Result::SUCCEEDED
                                      : ok.empty()   ? v1::Result::FAILED
                                                     : v1::Result::PARTIAL;
    std::string reason = fmt::format("{} in cluster {}: {} of {} verified", s_.action(),
                                     s_.cluster(), ok.size(), ok.size() + failed.size());
    if (!failed.empty()) reason += fmt::format("; not converged: {}", fmt::join(failed, "; "));
    if (!ok.empty()) reason += fmt::format("; verified: {}", fmt::join(ok, "; "));
    StepOutcome o = StepOutcome::Finish(status, std::move(reason));
    o.actions = std::move(actions_);
    return o;
  }

  v1::EcsWorkflowState& s_;
  StepContext& ctx_;
  aws::Ecs& ecs_;
  aws::ApplicationAutoScaling& aas_;
  const int64_t now_;
  EcsCapacity budget_;
  bool checkpoint_first_ = false;  // reserved now: checkpoint before the calls
  bool sent_ = false;              // a call that takes capacity down was made
  std::vector<v1::Action> actions_;
};

}  // namespace

StepOutcome Act(v1::EcsWorkflowState& state, StepContext& ctx) { return Step(state, ctx).Act(); }

StepOutcome Verify(v1::EcsWorkflowState& state, StepContext& ctx) {
  return Step(state, ctx).Verify();
}

std::vector<std::string> LockNames(const v1::EcsWorkflowState& state) {
  std::vector<std::string> out;
  for (const auto& t : state.services()) {
    if (t.name() != kAllServices) out.push_back(ServiceResource(state.cluster(), t.name()));
  }
  for (const auto& t : state.tasks()) {
    out.push_back(TaskResource(state.cluster(), t.arn()));
    if (!t.service().empty()) out.push_back(ServiceResource(state.cluster(), t.service()));
  }
  for (const auto& i : state.instances()) {
    out.push_back(InstanceResource(state.cluster(), i.arn()));
    for (const auto& service : i.services()) {
      out.push_back(ServiceResource(state.cluster(), service));
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace fleetkeeper::handlers::ecs
