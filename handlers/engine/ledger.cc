#include "handlers/engine/ledger.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "common/clock.h"
#include "common/metrics.h"
#include <spdlog/spdlog.h>

namespace fleetkeeper::handlers {
namespace {

using Reservations = google::protobuf::RepeatedPtrField<v1::CapacityReservation>;

// Units a claim's group or a reservation counts for (CapacityGroup.units): at least 1.
int UnitsOf(int32_t units) { return std::max(1, static_cast<int>(units)); }

bool Mentions(const google::protobuf::RepeatedPtrField<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// A target group's name: the segment after "targetgroup/" in its ARN.
std::string TargetGroupName(const std::string& arn) {
  const std::string marker = "targetgroup/";
  const size_t at = arn.find(marker);
  if (at == std::string::npos) return arn;
  const size_t from = at + marker.size();
  return arn.substr(from, arn.find('/', from) - from);
}

const std::string* Lookup(const google::protobuf::Map<std::string, std::string>& map,
                          const std::string& key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

void RemoveUnit(Reservations* held, const std::string& unit) {
  if (held == nullptr) return;
  for (int i = held->size() - 1; i >= 0; --i) {
    if (held->Get(i).unit() == unit) held->DeleteSubrange(i, 1);
  }
}

}  // namespace

Result<int> MaxUnavailableOf(const std::string& text, int size) {
  std::string_view v(text);
  const bool percent = !v.empty() && v.back() == '%';
  if (percent) v.remove_suffix(1);
  int value = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size()) {
    return InvalidInput(
        fmt::format("\"{}\" is neither a count nor a percentage (\"2\", \"25%\")", text));
  }
  if (percent) {
    if (value < 1 || value > 100) {
      return InvalidInput(fmt::format("\"{}\" is not a percentage from 1% to 100%", text));
    }
    return std::max(1, size * value / 100);
  }
  if (value < 1) return InvalidInput(fmt::format("\"{}\" is below 1", text));
  return value;
}

std::vector<std::pair<std::string, std::string>> LedgerConfigErrors(
    const v1::SafetyConfig& safety) {
  std::vector<std::pair<std::string, std::string>> errors;
  const std::string p = "safety.max_unavailable";
  auto check = [&](const std::string& key, const std::string& text) {
    if (auto r = MaxUnavailableOf(text, 100); !r.ok()) errors.emplace_back(key, r.error().message);
  };
  const auto& mu = safety.max_unavailable();
  if (!mu.default_limit().empty()) check(p + ".default", mu.default_limit());
  for (const auto& [k, v] : mu.per_target_group()) check(p + ".per_target_group[\"" + k + "\"]", v);
  for (const auto& [k, v] : mu.per_asg()) check(p + ".per_asg[\"" + k + "\"]", v);
  for (const auto& [k, v] : mu.per_ecs_service()) {
    if (k.find('/') == std::string::npos) {
      errors.emplace_back(p + ".per_ecs_service[\"" + k + "\"]",
                          "the key must be \"<cluster>/<service>\"");
    }
    check(p + ".per_ecs_service[\"" + k + "\"]", v);
  }
  if (safety.has_self_healing_margin() && safety.self_healing_margin() < 0) {
    errors.emplace_back("safety.self_healing_margin", "must be 0 or more");
  }
  for (const auto& [k, v] : safety.ecs_min_running()) {
    const std::string key = "safety.ecs_min_running[\"" + k + "\"]";
    if (k != "*" && k.find('/') == std::string::npos) {
      errors.emplace_back(key, "the key must be \"<cluster>/<service>\" or \"*\"");
    }
    if (v < 0) errors.emplace_back(key, "must be 0 or more");
  }
  return errors;
}

// ---- BlastRadiusLedger -------------------------------------------------------------------------

std::string BlastRadiusLedger::LimitOf(const v1::CapacityGroup& group) const {
  const auto& mu = safety_.max_unavailable();
  const std::string& g = group.group();
  const std::string* configured = nullptr;
  if (g.rfind("tg:", 0) == 0) {
    configured = Lookup(mu.per_target_group(), g.substr(3));
    if (configured == nullptr) configured = Lookup(mu.per_target_group(), TargetGroupName(g));
  } else if (g.rfind("asg:", 0) == 0) {
    configured = Lookup(mu.per_asg(), g.substr(4));
  } else if (g.rfind("ecs:", 0) == 0) {
    configured = Lookup(mu.per_ecs_service(), g.substr(4));
  }
  if (configured != nullptr) return *configured;
  if (!group.default_max_unavailable().empty()) return group.default_max_unavailable();
  if (!mu.default_limit().empty()) return mu.default_limit();
  return "1";
}

int BlastRadiusLedger::FloorOf(const v1::CapacityGroup& group) const {
  int floor = group.min_in_service();
  const std::string& g = group.group();
  if (g.rfind("ecs:", 0) == 0) {
    const auto& m = safety_.ecs_min_running();
    auto it = m.find(g.substr(4));
    if (it == m.end()) it = m.find("*");
    if (it != m.end()) floor = std::max(floor, it->second);
  }
  return floor;
}

int BlastRadiusLedger::Margin() const {
  return safety_.has_self_healing_margin() ? safety_.self_healing_margin()
                                           : kDefaultSelfHealingMargin;
}

CapacityDecision BlastRadiusLedger::Evaluate(const std::string& workflow_id,
                                             const v1::CapacityClaim& claim,
                                             std::vector<v1::CapacityReservation>* grant) const {
  CapacityDecision d;
  if (claim.unit().empty() || claim.groups().empty()) {
    d.reason = "a capacity claim names no unit or no group";
    return d;
  }
  std::vector<std::string> over;
  for (const auto& cg : claim.groups()) {
    auto git = groups_.find(cg.group());
    static const std::map<std::string, Entry> kNone;
    const auto& units = git == groups_.end() ? kNone : git->second;
    const Entry* mine = nullptr;
    std::set<std::string> covered;
    std::vector<std::string> reserved;
    int reserved_units = 0;
    for (const auto& [unit, e] : units) {
      const auto& r = e.reservation;
      const bool same = unit == claim.unit() || Mentions(r.aliases(), claim.unit()) ||
                        Mentions(claim.aliases(), unit);
      if (same && e.workflow_id != workflow_id) {
        d.reason = fmt::format("{} in {} is held by workflow {} since {}", unit, cg.group(),
                               e.workflow_id, FormatRfc3339(r.since_ms()));
        return d;
      }
      covered.insert(unit);
      covered.insert(r.aliases().begin(), r.aliases().end());
      if (unit == claim.unit() && e.workflow_id == workflow_id) {
        mine = &e;
        continue;
      }
      const int n = UnitsOf(r.units());
      reserved_units += n;
      reserved.push_back(n > 1 ? fmt::format("{} ({} units) by {}", unit, n, e.workflow_id)
                               : fmt::format("{} by {}", unit, e.workflow_id));
    }
    bool self_out = false;
    std::vector<std::string> observed;
    for (const auto& id : cg.out_of_service()) {
      if (id == claim.unit() || Mentions(claim.aliases(), id)) {
        self_out = true;
      } else if (!covered.count(id)) {
        observed.push_back(id + " out of service");
      }
    }
    const std::string limit_text = LimitOf(cg);
    auto limit = MaxUnavailableOf(limit_text, cg.size());
    if (!limit.ok()) {
      d.reason = fmt::format("max_unavailable of {}: {}", cg.group(), limit.error().message);
      return d;
    }
    const int others = reserved_units + static_cast<int>(observed.size());
    const int claimed = UnitsOf(cg.units());
    const int after = others + claimed;
    const std::string takes = claimed > 1 ? fmt::format("; the claim takes {}", claimed) : "";
    const int floor = FloorOf(cg);
    if (mine == nullptr && !self_out) {
      const int allowed = *limit + (claim.self_healing() ? Margin() : 0);
      std::vector<std::string> who = reserved;
      who.insert(who.end(), observed.begin(), observed.end());
      if (after > allowed) {
        d.reason =
            fmt::format("{}: {} of {} out of service ({}); max_unavailable {}{}{}", cg.group(),
                        others, cg.size(), fmt::join(who, ", "), *limit,
                        claim.self_healing() ? fmt::format(" + margin {}", Margin()) : "", takes);
        return d;
      }
      if (floor > 0 && cg.size() - after < floor) {
        d.reason =
            fmt::format("{}: {} of {} in service, and it keeps at least {} ({}){}", cg.group(),
                        cg.size() - others, cg.size(), floor,
                        who.empty() ? "none out" : fmt::format("{}", fmt::join(who, ", ")), takes);
        return d;
      }
      if (after > *limit) {
        over.push_back(
            fmt::format("{}: {} of {} out of service, {} over max_unavailable {} "
                        "under the self-healing margin",
                        cg.group(), after, cg.size(), after - *limit, *limit));
      }
    }
    v1::CapacityReservation r;
    r.set_group(cg.group());
    r.set_unit(claim.unit());
    *r.mutable_aliases() = claim.aliases();
    r.set_since_ms(mine != nullptr ? mine->reservation.since_ms() : 0);
    r.set_size(cg.size() > 0 || mine == nullptr ? cg.size() : mine->reservation.size());
    r.set_min_in_service(floor);
    r.set_max_unavailable(limit_text);
    if (claimed > 1) r.set_units(claimed);
    grant->push_back(std::move(r));
  }
  d.granted = true;
  d.over_budget = !over.empty();
  if (d.over_budget) d.reason = fmt::format("{}", fmt::join(over, "; "));
  return d;
}

CapacityDecision BlastRadiusLedger::Reserve(const std::string& workflow_id,
                                            const v1::CapacityClaim& claim, int64_t now_ms,
                                            Reservations* held) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::CapacityReservation> grant;
  CapacityDecision d = Evaluate(workflow_id, claim, &grant);
  if (!cell_.empty() && !retired_) metrics::CapacityClaims(cell_, d.granted).Increment();
  if (!d.granted) return d;
  std::set<std::string> touched;
  EraseLocked(workflow_id, claim.unit(), &touched);
  RemoveUnit(held, claim.unit());
  for (auto& r : grant) {
    if (r.since_ms() == 0) r.set_since_ms(now_ms);
    // Evaluate granted it: the unit is in no other workflow's hands in this group.
    groups_[r.group()][r.unit()] = Entry{workflow_id, r};
    held_by_[workflow_id].emplace(r.unit(), r.group());
    touched.insert(r.group());
    if (held != nullptr) *held->Add() = r;
  }
  PublishLocked(touched);
  return d;
}

CapacityDecision BlastRadiusLedger::Check(const std::string& workflow_id,
                                          const v1::CapacityClaim& claim) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::CapacityReservation> grant;
  return Evaluate(workflow_id, claim, &grant);
}

void BlastRadiusLedger::DropLocked(const std::string& group, const std::string& unit) {
  auto git = groups_.find(group);
  if (git == groups_.end()) return;
  git->second.erase(unit);
  if (git->second.empty()) groups_.erase(git);
}

void BlastRadiusLedger::EraseLocked(const std::string& workflow_id, const std::string& unit,
                                    std::set<std::string>* touched) {
  auto mine = held_by_.find(workflow_id);
  if (mine == held_by_.end()) return;
  auto& entries = mine->second;
  for (auto it = entries.lower_bound({unit, ""}); it != entries.end() && it->first == unit;) {
    DropLocked(it->second, unit);
    touched->insert(it->second);
    it = entries.erase(it);
  }
  if (entries.empty()) held_by_.erase(mine);
}

void BlastRadiusLedger::Release(const std::string& workflow_id, const std::string& unit,
                                Reservations* held) {
  std::lock_guard<std::mutex> lock(mu_);
  std::set<std::string> touched;
  EraseLocked(workflow_id, unit, &touched);
  RemoveUnit(held, unit);
  PublishLocked(touched);
}

void BlastRadiusLedger::Set(const std::string& workflow_id, const Reservations& held) {
  std::lock_guard<std::mutex> lock(mu_);
  auto mine = held_by_.find(workflow_id);
  // Most workflows hold nothing, step after step: nothing to look at.
  if (held.empty() && mine == held_by_.end()) return;
  std::set<std::string> touched;
  if (mine != held_by_.end()) {
    for (const auto& [unit, group] : mine->second) {
      DropLocked(group, unit);
      touched.insert(group);
    }
    held_by_.erase(mine);
  }
  for (const auto& r : held) {
    auto [it, inserted] = groups_[r.group()].emplace(r.unit(), Entry{workflow_id, r});
    if (inserted) {
      held_by_[workflow_id].emplace(r.unit(), r.group());
      touched.insert(r.group());
    } else if (it->second.workflow_id != workflow_id) {
      // Two checkpoints claim the same unit (a unit is never granted twice, so only a bug or a
      // hand-edited state can do this): the first restored keeps it, and it is said.
      spdlog::error("ledger: {} in {} is held by {} and also restored for {}", r.unit(), r.group(),
                    it->second.workflow_id, workflow_id);
    }
  }
  PublishLocked(touched);
}

BlastRadiusLedger::~BlastRadiusLedger() { Retire(); }

void BlastRadiusLedger::Retire() {
  std::lock_guard<std::mutex> lock(mu_);
  if (retired_) return;
  std::set<std::string> every;
  for (const auto& [group, units] : groups_) every.insert(group);
  groups_.clear();
  held_by_.clear();
  PublishLocked(every);  // every series to none
  retired_ = true;
}

void BlastRadiusLedger::PublishLocked(const std::set<std::string>& touched) {
  if (cell_.empty() || retired_) return;
  for (const auto& group : touched) {
    auto git = groups_.find(group);
    size_t n = 0;  // units, not reservations: a drain may take several tasks of a service
    if (git != groups_.end()) {
      for (const auto& [unit, e] : git->second) {
        n += static_cast<size_t>(UnitsOf(e.reservation.units()));
      }
    }
    metrics::SetCapacityReserved(cell_, group, n);
  }
}

std::vector<v1::CapacityReservation> BlastRadiusLedger::ReservationsOf(
    const std::string& group) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::CapacityReservation> out;
  auto git = groups_.find(group);
  if (git == groups_.end()) return out;
  for (const auto& [unit, e] : git->second) out.push_back(e.reservation);
  return out;
}

std::map<std::string, int> BlastRadiusLedger::Holders() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, int> out;
  for (const auto& [workflow_id, entries] : held_by_) {
    out[workflow_id] = static_cast<int>(entries.size());
  }
  return out;
}

// ---- CellLedgers -------------------------------------------------------------------------------

std::shared_ptr<BlastRadiusLedger> CellLedgers::For(const std::string& cell) {
  auto& l = cells_[cell];
  if (!l) l = std::make_shared<BlastRadiusLedger>(safety_, cell);
  return l;
}

CellLedgers::~CellLedgers() {
  for (auto& [cell, ledger] : cells_) ledger->Retire();
}

void CellLedgers::Follow(const v1::WorkflowCheckpoint& wf) {
  static const Reservations kNone;
  const Reservations& held = wf.has_final_result() ? kNone : wf.reservations();
  // No ledger yet: the workflow holds nothing there. A workflow that holds nothing and is to hold
  // nothing costs Set one lookup.
  if (held.empty() && cells_.count(wf.cell()) == 0) return;
  For(wf.cell())->Set(wf.workflow_id(), held);
}

void CellLedgers::ReleaseAll(v1::WorkflowCheckpoint& wf) {
  wf.clear_reservations();
  wf.clear_capacity_wanted();
  Follow(wf);
}

std::string CapacityHold(CellLedgers& ledgers, const v1::WorkflowCheckpoint& wf, int64_t now_ms) {
  if (!wf.has_capacity_wanted()) return "";
  const v1::CapacityClaim& wanted = wf.capacity_wanted();
  if (!wanted.hold_steps() || wanted.unit().empty()) return "";
  if (wanted.wait_until_ms() > 0 && now_ms >= wanted.wait_until_ms()) return "";
  // Only the reservations count here: what the step read out of service may have recovered since,
  // which only the step's next read can tell.
  v1::CapacityClaim claim = wanted;
  for (int i = 0; i < claim.groups_size(); ++i) {
    auto* g = claim.mutable_groups(i);
    g->clear_out_of_service();
    for (const auto& id : wanted.groups(i).out_of_service()) {
      if (id == claim.unit() || Mentions(claim.aliases(), id)) g->add_out_of_service(id);
    }
  }
  CapacityDecision d = ledgers.For(wf.cell())->Check(wf.workflow_id(), claim);
  return d.granted ? "" : "waiting for capacity to take " + claim.unit() + " out: " + d.reason;
}

std::string WithCapacityNotes(const std::string& reason, const v1::WorkflowCheckpoint& wf) {
  if (wf.capacity_notes().empty()) return reason;
  return fmt::format(
      "{}; took capacity beyond the blast-radius budget under the self-healing "
      "margin: {}",
      reason, fmt::join(wf.capacity_notes(), "; "));
}

// ---- StepCapacity ------------------------------------------------------------------------------

StepCapacity::StepCapacity(std::shared_ptr<BlastRadiusLedger> ledger, v1::WorkflowCheckpoint* cp,
                           const Clock& clock)
    : ledger_(std::move(ledger)), cp_(cp), clock_(clock) {
  // A wanted claim lasts one step: the step asks again or has moved on.
  wanted_before_ = cp_->capacity_wanted();
  cp_->clear_capacity_wanted();
}

CapacityDecision StepCapacity::Reserve(const v1::CapacityClaim& claim) {
  const int64_t now = clock_.NowMs();
  CapacityDecision d =
      ledger_->Reserve(cp_->workflow_id(), claim, now, cp_->mutable_reservations());
  if (d.granted) {
    if (d.over_budget && !Mentions(cp_->capacity_notes(), d.reason)) {
      cp_->add_capacity_notes(d.reason);
    }
    return d;
  }
  v1::CapacityClaim wanted = claim;
  // The same unit wanted again: its wait began with the first ask.
  const bool again = wanted_before_.unit() == claim.unit() && wanted_before_.first_wanted_ms() > 0;
  wanted.set_first_wanted_ms(again ? wanted_before_.first_wanted_ms() : now);
  if (again && wanted_before_.wait_until_ms() > 0) {
    wanted.set_wait_until_ms(wanted_before_.wait_until_ms());
  }
  wanted.set_held_by(d.reason);
  d.waiting_since_ms = wanted.first_wanted_ms();
  if (claim.hold_steps()) *cp_->mutable_capacity_wanted() = std::move(wanted);
  return d;
}

void StepCapacity::Release(const std::string& unit) {
  ledger_->Release(cp_->workflow_id(), unit, cp_->mutable_reservations());
}

bool StepCapacity::Holds(const std::string& unit) const {
  for (const auto& r : cp_->reservations()) {
    if (r.unit() == unit) return true;
  }
  return false;
}

}  // namespace fleetkeeper::handlers
