// The rollback of an AMI rollout on a guard alarm (docs/safety.md, "Rollback on a guard alarm").
// The runtime sets the workflow's guard_rollback when a guard alarm on its resources goes to ALARM
// and safety.on_guard_alarm says rollback for ami_rollout; from the next roll-out tick on, no
// replacement starts, and each instance this rollout changed goes back, by the machinery that is
// already there:
//  - a replacement under way takes the rollback path of a failed replacement (rollback.cc): the
//    new instance is removed (relaunch) or the old image is put back (replace-root-volume);
//  - a relaunch whose old instance is kept stopped (keep_old_for) takes the same path, once the
//    ledger grants the capacity: the old instance gets its volumes and interfaces back;
//  - a replacement that succeeded is reversed by the forward machine with the image the instance
//    ran before: relaunched again (data volumes, interfaces and addresses move as before) or its
//    root volume replaced again, reserving its capacity in the ledger like any replacement;
//  - a replacement between healthy and done (protect-new, retire-old) finishes first;
//  - an instance not yet started, or about to make its first call, is left untouched.
// Each instance is decided once (guard_handled), and the decision is checkpointed.
#include <fmt/format.h>

#include "handlers/ami_rollout/replacement.h"
#include "handlers/ami_rollout/replacement_phases.h"

namespace fleetkeeper::handlers::ami_rollout {

using namespace replacement;  // NOLINT: the phases this file enters

namespace {

// A replacement that succeeded gets a second one, back to the image it ran before: the same
// entry, now about the instance that runs the rollout's image.
void Reverse(RolloutTick& t, v1::InstanceRollout& r) {
  v1::InstanceRollout back;
  back.set_instance_id(New(r).empty() ? r.instance_id() : New(r));
  back.set_bound_by(r.bound_by());
  back.set_strategy(r.strategy());
  // What the plan knew of the instance (its target groups, for the budget); captured again at
  // its turn.
  *back.mutable_capture() = r.capture();
  back.set_phase(kPhasePending);
  back.set_guard_handled(true);
  back.set_target_image_id(r.capture().image_id());
  back.set_reverses(r.instance_id());
  back.set_detail(r.detail());  // what the rollout did, until the reversal says what it did
  t.notes.push_back(fmt::format("instance {}: back to {} ({})", r.instance_id(),
                                r.capture().image_id(), back.instance_id()));
  r = std::move(back);
}

// A replacement about to deregister the instance (its first call) is stopped before it. The phase
// was checkpointed before that call, so a deregistration is found only after a crash right after
// it: then the instance goes back into the groups it left. False when the read fails (retried at
// the next tick).
bool StopBeforeTheFirstCall(RolloutTick& t, v1::InstanceRollout& r) {
  for (const auto& tg : r.capture().target_groups()) {
    auto h = t.ctx.aws().elbv2->DescribeTargetHealth({tg.arn(), Targets(tg, Old(r)).targets});
    if (!h.ok()) return false;
    bool registered = false;
    for (const auto& d : h->descriptions) {
      registered = registered || (d.target.id == Old(r) && d.state != "draining" &&
                                  d.reason != "Target.NotRegistered");
    }
    if (registered) continue;
    auto s = t.ctx.aws().elbv2->RegisterTargets(Targets(tg, Old(r)));
    if (!s.ok()) return false;
    t.RecordCall(Resource(Old(r)), "register-targets",
                 "guard rollback: back into " + tg.arn() + " (left before a crash)", s->request_id);
  }
  return true;
}

// Enters the rollback path of a failed replacement, with the alarm as its cause.
void TakeRollbackPath(RolloutTick& t, v1::InstanceRollout& r) {
  r.set_failure(t.state.guard_rollback());
  t.Record(Resource(Old(r)), "guard-rollback", kSucceeded,
           fmt::format("{}: rolling back from {}", t.state.guard_rollback(), r.phase()));
  Enter(t, r, Relaunch(r) ? kRbTerminateNew : kRbPrepareTask, Progress::kCheckpoint);
}

}  // namespace

void SettleReversal(RolloutTick& t, v1::InstanceRollout& r, const std::string& outcome,
                    const std::string& detail) {
  const std::string& image = r.target_image_id();
  const std::string& why = t.state.guard_rollback();
  if (outcome == kSucceeded || outcome == kCurrent) {
    r.set_outcome(kRolledBack);
    r.set_detail(outcome == kCurrent ? fmt::format("{}: {} already back on {} ({})", why,
                                                   r.instance_id(), image, detail)
                                     : fmt::format("{}: back on {}: {}", why, image, detail));
    return;
  }
  r.set_outcome(kRollbackFailed);
  r.set_detail(fmt::format("{}: not back on {}, {} stays on {} ({}: {})", why, image,
                           r.instance_id(), t.state.image_id(), outcome, detail));
}

bool ApplyGuardRollback(RolloutTick& t) {
  const std::string& why = t.ctx.workflow().guard_rollback();
  if (why.empty()) return false;
  bool changed = false;
  if (t.state.guard_rollback().empty()) {
    t.state.set_guard_rollback(why);
    t.notes.push_back(why + ": no replacement starts; the replaced instances go back");
    changed = true;
  }
  for (auto& r : *t.state.mutable_instances()) {
    if (r.guard_handled()) continue;
    const std::string& p = r.phase();
    if (p == kProtectNew || p == kRetireOld) continue;  // healthy already: done first, then back
    if (p == kKeepOld) {
      // The old instance is kept stopped: it comes back with its volumes. Its capacity is
      // reserved first; refused, it stays kept until a later tick's reservation.
      if (!ReserveInLedger(t, r).empty()) continue;
      TakeRollbackPath(t, r);
    } else if (p == kPhasePending || p == kCapture ||
               (p == kDeregisterOld && !r.old_deregistered())) {
      if (p == kDeregisterOld && !StopBeforeTheFirstCall(t, r)) continue;
      r.set_phase(kPhaseDone);
      r.set_phase_started_ms(t.now_ms);
      r.set_outcome(kSkipped);
      r.set_detail(why + ": not replaced, left untouched");
    } else if (p == kPhaseDone) {
      if (r.outcome() == kSucceeded) {
        Reverse(t, r);
      } else {
        r.set_detail(fmt::format("{}; nothing to roll back ({})", r.detail(), r.outcome()));
      }
    } else if (!InRollback(r)) {
      TakeRollbackPath(t, r);
    }
    r.set_guard_handled(true);
    changed = true;
  }
  return changed;
}

}  // namespace fleetkeeper::handlers::ami_rollout
