#include "handlers/ecs/capacity.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "handlers/ecs/reads.h"
#include "handlers/ecs/steps.h"
#include "handlers/ecs/support.h"

namespace fleetkeeper::handlers::ecs {

v1::CapacityGroup ServiceGroup(const std::string& cluster, const aws::EcsService& service,
                               const std::string& default_max_unavailable) {
  v1::CapacityGroup g;
  g.set_group(ServiceResource(cluster, service.name));
  g.set_size(static_cast<int32_t>(service.desired_count));
  g.set_default_max_unavailable(default_max_unavailable);
  for (int64_t i = service.running_count; i < service.desired_count; ++i) {
    g.add_out_of_service(fmt::format("{}#missing-{}", service.name, i - service.running_count + 1));
  }
  return g;
}

Claimed EcsCapacity::Claim(const std::string& unit,
                           const std::vector<const aws::EcsService*>& services, std::string* why,
                           const std::map<std::string, int>& tasks_of) {
  CapacityLedger* ledger = ctx_.capacity();
  if (ledger == nullptr || services.empty()) return Claimed::kNothing;
  if (ledger->Holds(unit)) return Claimed::kHeld;
  v1::CapacityClaim claim;
  claim.set_unit(unit);
  for (const auto* svc : services) {
    v1::CapacityGroup* g = claim.add_groups();
    *g = ServiceGroup(cluster_, *svc, limit_);
    if (auto n = tasks_of.find(svc->name); n != tasks_of.end() && n->second > 1) {
      g->set_units(n->second);
    }
  }
  CapacityDecision d = ledger->Reserve(claim);
  if (d.granted) return Claimed::kGranted;
  *why = d.reason;
  return Claimed::kRefused;
}

Result<Claimed> EcsCapacity::ClaimServices(const std::string& unit,
                                           const std::vector<std::string>& services,
                                           std::string* why,
                                           const std::map<std::string, int>& tasks_of) {
  if (ctx_.capacity() == nullptr || services.empty()) return Claimed::kNothing;
  if (ctx_.capacity()->Holds(unit)) return Claimed::kHeld;
  auto found = ReadServices(ecs_, cluster_, services, false);
  if (!found.ok()) return std::move(found).take_error();
  std::vector<const aws::EcsService*> read;
  for (const auto& [name, svc] : found->by_name) read.push_back(&svc);
  return Claim(unit, read, why, tasks_of);
}

Result<Claimed> EcsCapacity::ClaimInstance(const std::string& instance_arn, std::string* why) {
  if (ctx_.capacity() == nullptr) return Claimed::kNothing;
  if (ctx_.capacity()->Holds(instance_arn)) return Claimed::kHeld;
  // Draining stops every task on the instance: each counts against its service's budget.
  auto tasks_of = ServiceTasksOn(ecs_, cluster_, instance_arn);
  if (!tasks_of.ok()) return std::move(tasks_of).take_error();
  std::vector<std::string> services;
  for (const auto& [service, n] : *tasks_of) services.push_back(service);
  return ClaimServices(instance_arn, services, why, *tasks_of);
}

bool EcsCapacity::Holds(const std::string& unit) const {
  return ctx_.capacity() != nullptr && ctx_.capacity()->Holds(unit);
}

Status EcsCapacity::ReleaseWhenBack(const std::vector<std::string>& units) {
  CapacityLedger* ledger = ctx_.capacity();
  if (ledger == nullptr) return Ok{};
  const std::string prefix = ServiceResource(cluster_, "");
  std::map<std::string, std::vector<std::string>> services_of;  // unit -> services
  std::set<std::string> services;
  for (const auto& r : ctx_.workflow().reservations()) {
    if (std::find(units.begin(), units.end(), r.unit()) == units.end()) continue;
    if (r.group().rfind(prefix, 0) != 0) continue;
    services_of[r.unit()].push_back(r.group().substr(prefix.size()));
    services.insert(r.group().substr(prefix.size()));
  }
  if (services.empty()) return Ok{};
  auto found = ReadServices(ecs_, cluster_, {services.begin(), services.end()}, false);
  if (!found.ok()) return std::move(found).take_error();
  for (const auto& [unit, names] : services_of) {
    bool back = true;
    for (const auto& name : names) {
      auto it = found->by_name.find(name);
      // A service that is gone has no capacity left to wait for.
      if (it != found->by_name.end() && it->second.running_count < it->second.desired_count) {
        back = false;
      }
    }
    if (back) ledger->Release(unit);
  }
  return Ok{};
}

Status EcsCapacity::ReleaseDone(const v1::EcsWorkflowState& state) {
  // "ok": stopped, or drained; the replacements may still be starting, which ReleaseWhenBack
  // reads. A workflow that finishes releases the rest.
  std::vector<std::string> units;
  for (const auto& t : state.tasks()) {
    if (t.outcome() == kOk && Holds(t.arn())) units.push_back(t.arn());
  }
  for (const auto& i : state.instances()) {
    if (i.outcome() == kOk && Holds(i.arn())) units.push_back(i.arn());
  }
  if (units.empty()) return Ok{};
  return ReleaseWhenBack(units);
}

bool WaitingForCapacity(const v1::EcsWorkflowState& state) {
  for (const auto& t : state.tasks()) {
    if (t.outcome().empty() && !t.stop_sent()) return true;
  }
  for (const auto& i : state.instances()) {
    if (i.outcome().empty() && !i.drain_sent()) return true;
  }
  return false;
}

}  // namespace fleetkeeper::handlers::ecs
