// The rollback of a patch workflow on a guard alarm (docs/safety.md, "Rollback on a guard
// alarm"). The runtime sets the workflow's guard_rollback when a guard alarm on its instances goes
// to ALARM and safety.on_guard_alarm says rollback for patch; from the next patch run on, no batch
// and no instance starts, and each instance this campaign patched is restored from its AMI backup
// by the rollback a failed instance takes (instance.cc): out of its target groups, its root volume
// replaced by the backup's, back in and healthy.
//  - patched in an earlier batch: its capacity is reserved in the ledger first, then restored;
//  - patched in the current batch (after its command): restored, holding its reservation;
//  - its command running: the command ends first, then this decides;
//  - drained but not yet patched: back into its target groups, not patched;
//  - not yet drained (pending, backup): left untouched, not patched;
//  - failed, skipped, already rolled back: left as it is.
// Each instance is decided once (guard_handled), and the decision is checkpointed.
#include <fmt/format.h>

#include "handlers/patch/instance.h"

namespace fleetkeeper::handlers::patch {
namespace {

void EnterPhase(PatchTick& t, v1::PatchInstanceState& i, const char* phase) {
  i.set_phase(phase);
  i.set_phase_started_ms(t.now_ms);
  i.set_next_poll_ms(0);
}

bool Patched(const v1::PatchInstanceState& i) { return !i.command_id().empty(); }

// Restores a patched instance from its backup, or says why it cannot.
void Restore(PatchTick& t, v1::PatchInstanceState& i, const char* first_phase) {
  const std::string& why = t.state.guard_rollback();
  if (i.backup_image_id().empty()) {
    i.set_rollback(why + "; not rolled back: no AMI backup (backup_ami is off)");
    t.Record(Resource(i.instance_id()), "rollback", kFailed, i.rollback());
    return;
  }
  i.set_outcome(kRolledBack);
  i.set_detail(why);
  i.set_rollback("to be rolled back from backup " + i.backup_image_id());
  i.set_health_attempts(0);
  t.notes.push_back(
      fmt::format("{}: restoring from backup {}", i.instance_id(), i.backup_image_id()));
  EnterPhase(t, i, first_phase);
}

}  // namespace

bool ApplyGuardRollback(PatchTick& t) {
  const std::string& why = t.ctx.workflow().guard_rollback();
  if (why.empty()) return false;
  auto& s = t.state;
  bool changed = false;
  if (s.guard_rollback().empty()) {
    s.set_guard_rollback(why);
    s.set_stopped_reason(why + ": no new batch starts");
    t.notes.push_back(why + ": the patched instances are restored from their backups");
    changed = true;
  }
  for (auto& i : *s.mutable_instances()) {
    if (i.guard_handled()) continue;
    const std::string& p = i.phase();
    if (p == kCommand || p == kCommandWait) continue;  // its command ends first
    if (p == kPhasePending || p == kBackup || p == kBackupWait) {
      i.set_outcome(kNotStarted);
      i.set_detail(why + ": not patched, left untouched");
      i.set_phase(kPhaseDone);
    } else if (p == kDrain || p == kDraining) {
      i.set_outcome(kNotStarted);
      i.set_detail(why + ": not patched");
      if (i.deregistered()) {
        EnterPhase(t, i, kRegister);  // back into its target groups, then done
      } else {
        i.set_phase(kPhaseDone);
      }
    } else if (p == kStatusOk || p == kVerify || p == kRegister || p == kHealthyWait ||
               p == kHealthCheck) {
      if (Patched(i) && i.outcome().empty()) Restore(t, i, kRollbackDrain);
    } else if (p == kPhaseDone) {
      if (i.outcome() == kPatched) {
        Restore(t, i, kGuardReserve);
      } else {
        i.set_detail(fmt::format("{}; nothing to roll back ({})", i.detail(), i.outcome()));
      }
    }
    // Rolling back already (a failure): it goes on as it is.
    i.set_guard_handled(true);
    changed = true;
  }
  return changed;
}

bool GuardRollbackUnderWay(const v1::PatchWorkflowState& s) {
  if (s.guard_rollback().empty()) return false;
  for (const auto& i : s.instances()) {
    if (!i.guard_handled() || i.phase() != kPhaseDone) return true;
  }
  return false;
}

}  // namespace fleetkeeper::handlers::patch
