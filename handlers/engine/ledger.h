// The blast-radius ledger of a cell (docs/safety.md, "Ledger"): capacity out of service per target
// group, Auto Scaling group and ECS service, by which workflow and since when, shared by every
// handler of the cell.
//
// A step claims one unit (an instance, a task) in every group it belongs to, with what it just
// read of each group: its size, its floor (MinSize, an ECS service's configured minimum) and the
// units out of service for any reason. A unit may count for several in a group (`units`: a
// drained ECS container instance counts each of its running tasks of the service). The ledger
// grants the claim when, in every group, the units reserved by any workflow plus those the read
// found out of service and nobody reserved stay within max_unavailable after the claim, and the
// group keeps its floor in service. A unit already out of service takes nothing more when it is
// claimed; a unit another workflow holds is never granted twice (a patch drain of an instance a
// rollout is replacing waits).
//
// The reservations of a workflow are the `reservations` of its checkpoint: the runtime rebuilds
// the ledger from them when it restores a partition, releases them when the workflow finishes,
// and keeps the ledger equal to each checkpoint a step hands back.
//
// Thread-safety: every method may be called from any thread (steps reserve from the executor;
// the runtime restores and releases on the poll thread). No method does I/O or blocks on any.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "fleetkeeper/v1/config.pb.h"
#include "fleetkeeper/v1/workflow.pb.h"
#include "handlers/workflow.h"

namespace fleetkeeper::handlers {

// "2" or "25%" of `size`, rounded down and at least 1 (a budget of 0 would hold every workflow
// forever); an error names what is wrong with `text`.
Result<int> MaxUnavailableOf(const std::string& text, int size);

// Why `safety` is invalid, one entry per key ("safety.max_unavailable.default: ..."), or none.
std::vector<std::pair<std::string, std::string>> LedgerConfigErrors(const v1::SafetyConfig& safety);

inline constexpr int kDefaultSelfHealingMargin = 1;

class BlastRadiusLedger {
 public:
  // `cell` names the ledger in its metrics (fleetkeeper_capacity_reserved{cell, group}); a ledger
  // without a cell (unit tests) reports none.
  explicit BlastRadiusLedger(const v1::SafetyConfig& safety, std::string cell = "")
      : safety_(safety), cell_(std::move(cell)) {}
  ~BlastRadiusLedger();
  BlastRadiusLedger(const BlastRadiusLedger&) = delete;
  BlastRadiusLedger& operator=(const BlastRadiusLedger&) = delete;

  // The partition owning the cell was dropped: the ledger's series go, and it reports no more
  // (a step still running on it writes to a ledger nobody reads; the new owner reports its own).
  void Retire();

  // Grants or refuses `claim` for `workflow_id` (see the header comment). Granted, the reservations
  // are in the ledger and replace those of the same unit in `*held` (the workflow's checkpoint).
  CapacityDecision Reserve(const std::string& workflow_id, const v1::CapacityClaim& claim,
                           int64_t now_ms,
                           google::protobuf::RepeatedPtrField<v1::CapacityReservation>* held);
  // What Reserve would answer, changing nothing.
  CapacityDecision Check(const std::string& workflow_id, const v1::CapacityClaim& claim) const;
  // Removes `unit` of `workflow_id` from the ledger and from `*held`.
  void Release(const std::string& workflow_id, const std::string& unit,
               google::protobuf::RepeatedPtrField<v1::CapacityReservation>* held);
  // Makes the ledger hold exactly `held` for `workflow_id` (a restore, a step's new checkpoint;
  // empty releases everything the workflow held).
  void Set(const std::string& workflow_id,
           const google::protobuf::RepeatedPtrField<v1::CapacityReservation>& held);

  // The reservations of `group` ("tg:<arn>", …), for introspection and tests.
  std::vector<v1::CapacityReservation> ReservationsOf(const std::string& group) const;
  // Every workflow id holding capacity -> its number of reservations.
  std::map<std::string, int> Holders() const;

 private:
  struct Entry {
    std::string workflow_id;
    v1::CapacityReservation reservation;
  };
  // group -> unit -> entry
  using Groups = std::map<std::string, std::map<std::string, Entry>>;

  CapacityDecision Evaluate(const std::string& workflow_id, const v1::CapacityClaim& claim,
                            std::vector<v1::CapacityReservation>* grant) const;
  // The configured limit of `group` ("2", "25%"), else the claim's handler default, else "1".
  std::string LimitOf(const v1::CapacityGroup& group) const;
  int FloorOf(const v1::CapacityGroup& group) const;
  int Margin() const;
  // Removes the entry of `unit` in `group` (held_by_ is the caller's), and the group once empty.
  void DropLocked(const std::string& group, const std::string& unit);
  // Removes the entries of `unit` held by `workflow_id`, adding their groups to `*touched`.
  void EraseLocked(const std::string& workflow_id, const std::string& unit,
                   std::set<std::string>* touched);
  // Sets fleetkeeper_capacity_reserved of each group in `touched` to its units now (none: no
  // series); the other groups' series are left as they are.
  void PublishLocked(const std::set<std::string>& touched);

  const v1::SafetyConfig& safety_;
  const std::string cell_;
  mutable std::mutex mu_;
  Groups groups_;
  // workflow id -> (unit, group) of each entry it holds in groups_: a workflow's entries without a
  // scan of every group, and a workflow holding nothing is not in it.
  std::map<std::string, std::set<std::pair<std::string, std::string>>> held_by_;
  bool retired_ = false;
};

// The ledgers of the cells one work partition owns, by cell ("<account>/<region>"). Ledgers are
// shared with the steps running on the executor: a step of a dropped partition writes to a ledger
// nobody reads any more.
class CellLedgers {
 public:
  explicit CellLedgers(const v1::SafetyConfig& safety) : safety_(safety) {}
  ~CellLedgers();  // retires its ledgers
  CellLedgers(const CellLedgers&) = delete;
  CellLedgers& operator=(const CellLedgers&) = delete;
  std::shared_ptr<BlastRadiusLedger> For(const std::string& cell);
  // Restores a workflow's reservations (Install) or follows its new checkpoint.
  void Follow(const v1::WorkflowCheckpoint& wf);
  // The workflow finished: releases everything it held and clears its reservations.
  void ReleaseAll(v1::WorkflowCheckpoint& wf);

 private:
  const v1::SafetyConfig& safety_;
  std::map<std::string, std::shared_ptr<BlastRadiusLedger>> cells_;
};

// The hold of a mutating step whose workflow waits for capacity (`capacity_wanted`) while other
// workflows' reservations leave no room: "waiting for capacity: …", or "" to let the step run
// (it reads the groups again and reserves, or, past the claim's wait, times out as it says).
std::string CapacityHold(CellLedgers& ledgers, const v1::WorkflowCheckpoint& wf, int64_t now_ms);

// A workflow's final reason with the budgets it exceeded under the self-healing margin.
std::string WithCapacityNotes(const std::string& reason, const v1::WorkflowCheckpoint& wf);

// The StepContext side: a step's view of its cell's ledger over its copy of the checkpoint.
class StepCapacity final : public CapacityLedger {
 public:
  StepCapacity(std::shared_ptr<BlastRadiusLedger> ledger, v1::WorkflowCheckpoint* cp,
               const Clock& clock);
  CapacityDecision Reserve(const v1::CapacityClaim& claim) override;
  void Release(const std::string& unit) override;
  bool Holds(const std::string& unit) const override;

 private:
  std::shared_ptr<BlastRadiusLedger> ledger_;
  v1::WorkflowCheckpoint* cp_;
  const Clock& clock_;
  v1::CapacityClaim wanted_before_;  // the claim waiting when the step started
};

}  // namespace fleetkeeper::handlers
