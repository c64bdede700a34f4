#include "handlers/patch/discovery.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>

#include "awsclient/clients.h"
#include "awsclient/pagination.h"
#include "handlers/capacity.h"
#include "handlers/patch/instance.h"
#include "handlers/target_health.h"

namespace fleetkeeper::handlers::patch {

std::vector<std::vector<std::string>> Chunks(const std::vector<std::string>& ids, size_t n) {
  std::vector<std::vector<std::string>> out;
  for (size_t at = 0; at < ids.size(); at += n) {
    out.emplace_back(ids.begin() + static_cast<long>(at),
                     ids.begin() + static_cast<long>(std::min(ids.size(), at + n)));
  }
  return out;
}

namespace {

// The DescribeInstances requests one target stands for.
std::vector<aws::DescribeInstancesRequest> RequestsOf(const v1::PatchTarget& target) {
  std::vector<aws::DescribeInstancesRequest> out;
  aws::Filters filters;
  for (const auto& [key, value] : target.tags()) filters["tag:" + key] = {value};
  if (!target.landing_zone().empty()) filters["tag:Environment"] = {target.landing_zone()};
  if (!target.instance_ids().empty()) {
    // Ids and filters together: the instances with those ids that also match.
    for (size_t at = 0; at < static_cast<size_t>(target.instance_ids_size()); at += 1000) {
      aws::DescribeInstancesRequest r;
      for (size_t k = at; k < std::min<size_t>(target.instance_ids_size(), at + 1000); ++k) {
        r.instance_ids.push_back(target.instance_ids(static_cast<int>(k)));
      }
      r.filters = filters;
      out.push_back(std::move(r));
    }
    return out;
  }
  aws::DescribeInstancesRequest r;
  r.filters = std::move(filters);
  r.max_results = 1000;
  out.push_back(std::move(r));
  return out;
}

v1::PatchInstanceState* Find(v1::PatchWorkflowState& s, const std::string& id) {
  for (auto& i : *s.mutable_instances()) {
    if (i.instance_id() == id) return &i;
  }
  return nullptr;
}

// Reads the target groups of `ids`; each one's health in them goes into `unhealthy` (instance ->
// "<state> in <group>") when the load balancer counts it out of service.
Status ReadTargetGroups(PatchTick& t, const std::vector<std::string>& ids,
                        std::map<std::string, std::string>& unhealthy) {
  std::set<std::string> wanted(ids.begin(), ids.end());
  return ForEachInstanceTargetGroup(*t.ctx.aws().elbv2, [&](const auto& tg, const auto& health) {
    const int size = static_cast<int>(health.descriptions.size());
    for (const auto& h : health.descriptions) {
      if (!wanted.count(h.target.id)) continue;
      auto* m = Find(t.state, h.target.id)->add_target_groups();
      m->set_arn(tg.arn);
      m->set_port(h.target.port.value_or(0));
      m->set_size(size);
      if (OutOfService(h)) {
        unhealthy[h.target.id] = fmt::format("{}{} in {}", h.state,
                                             h.reason.empty() ? "" : " (" + h.reason + ")", tg.arn);
      }
    }
  });
}

// Baseline health of the instances that can be patched now: target health in each of their
// groups and the HTTP check, once each. An instance unhealthy before the patch is skipped: its
// checks after the patch could not tell the patch's harm from what was already wrong (and would
// roll back a good patch).
void RecordBaseline(PatchTick& t, const std::map<std::string, std::string>& unhealthy) {
  const bool http = t.request.has_health_check() && !t.request.health_check().url().empty();
  for (auto& i : *t.state.mutable_instances()) {
    if (i.phase() != kPhasePending) continue;  // skipped, or stopped: no baseline to read
    if (auto it = unhealthy.find(i.instance_id()); it != unhealthy.end()) {
      Skip(i, "unhealthy before the patch: " + it->second);
      continue;
    }
    std::vector<std::string> parts;
    if (!i.target_groups().empty()) {
      parts.push_back(fmt::format("healthy in {} target group(s)", i.target_groups_size()));
    }
    if (http) {
      const HealthProbe probe = ProbeHealth(t, i);
      if (!probe.ok) {
        Skip(i, fmt::format("unhealthy before the patch: health check {} answered {} (expected "
                            "HTTP {})",
                            probe.url, probe.got, t.plan.health_expect_status));
        continue;
      }
      parts.push_back("health check " + probe.got);
    }
    i.set_baseline(parts.empty() ? "no health check" : fmt::format("{}", fmt::join(parts, ", ")));
  }
}

}  // namespace

void Skip(v1::PatchInstanceState& i, const std::string& why) {
  i.set_phase(kPhaseDone);
  i.set_outcome(kSkipped);
  i.set_detail(why);
  i.set_batch(-1);
}

Status Discover(PatchTick& t) {
  std::map<std::string, aws::Instance> found;
  for (const auto& target : t.request.targets()) {
    for (auto& req : RequestsOf(target)) {
      Status s = aws::ForEachPage(
          std::move(req), [&](const auto& r) { return t.ctx.aws().ec2->DescribeInstances(r); },
          [&](auto& page) -> Status {
            for (auto& i : page.instances) found.emplace(i.id, std::move(i));
            return Ok{};
          });
      if (!s.ok()) return s;
    }
  }
  t.state.clear_instances();
  t.state.set_discovered(static_cast<int>(found.size()));
  std::vector<std::string> running;
  for (const auto& [id, inst] : found) {
    auto* i = t.state.add_instances();
    i->set_instance_id(id);
    i->set_initial_state(inst.state.name);
    i->set_private_ip(inst.private_ip);
    i->set_phase(kPhasePending);
    i->set_batch(-1);
    // Deterministic per request and instance: a re-run finds the image it made by this name.
    i->set_backup_name(
        fmt::format("fleetkeeper-patch-{}-{}", t.request.request_id().substr(0, 64), id));
    const std::string& state = inst.state.name;
    if (state == "running") {
      running.push_back(id);
    } else if (state == "stopped" && t.plan.start_stopped) {
      i->set_phase(kPhaseStart);
    } else if (state == "stopped") {
      Skip(*i, "stopped, and start_stopped is not set");
    } else if (state == "terminated" || state == "shutting-down") {
      Skip(*i, state);
    } else {
      Skip(*i, state + ": neither running nor stopped");
    }
  }
  auto waiting = CheckSsmOnline(t, running, false);
  if (!waiting.ok()) return waiting.error();
  std::vector<std::string> eligible;
  for (const auto& i : t.state.instances()) {
    if (i.phase() != kPhaseDone) eligible.push_back(i.instance_id());
  }
  if (eligible.empty()) return Ok{};
  std::map<std::string, std::string> unhealthy;
  if (Status s = ReadTargetGroups(t, eligible, unhealthy); !s.ok()) return s;
  RecordBaseline(t, unhealthy);
  std::vector<std::string> ready;
  for (const auto& i : t.state.instances()) {
    if (i.phase() == kPhasePending) ready.push_back(i.instance_id());
  }
  return ReadPatchStatesBefore(t, ready);
}

Result<std::vector<std::string>> CheckSsmOnline(PatchTick& t, const std::vector<std::string>& ids,
                                                bool wait) {
  std::map<std::string, std::string> ping;
  for (const auto& chunk : Chunks(ids, kSsmIdsPerCall)) {
    aws::DescribeInstanceInformationRequest req;
    req.filters = {{"InstanceIds", chunk}};
    Status s = aws::ForEachPage(
        std::move(req),
        [&](const auto& r) { return t.ctx.aws().ssm->DescribeInstanceInformation(r); },
        [&](auto& page) -> Status {
          for (const auto& info : page.instances) ping[info.instance_id] = info.ping_status;
          return Ok{};
        });
    if (!s.ok()) return s.error();
  }
  std::vector<std::string> pending;
  for (const auto& id : ids) {
    auto* i = Find(t.state, id);
    auto it = ping.find(id);
    if (it != ping.end() && it->second == "Online") continue;
    if (wait) {
      pending.push_back(id);
      continue;
    }
    Skip(*i, it == ping.end() ? "not an SSM managed instance (DescribeInstanceInformation)"
                              : "SSM agent " + it->second + ", not Online");
  }
  return pending;
}

Status ReadPatchStatesBefore(PatchTick& t, const std::vector<std::string>& ids) {
  for (const auto& chunk : Chunks(ids, kSsmIdsPerCall)) {
    aws::DescribeInstancePatchStatesRequest req;
    req.instance_ids = chunk;
    Status s = aws::ForEachPage(
        std::move(req),
        [&](const auto& r) { return t.ctx.aws().ssm->DescribeInstancePatchStates(r); },
        [&](auto& page) -> Status {
          for (const auto& st : page.states) {
            auto* i = Find(t.state, st.instance_id);
            if (i == nullptr) continue;
            i->set_has_before(true);
            i->set_missing_before(st.missing);
            i->set_failed_before(st.failed);
            i->set_installed_before(st.installed);
          }
          return Ok{};
        });
    if (!s.ok()) return s;
  }
  return Ok{};
}

void AssignBatches(v1::PatchWorkflowState& state, const PatchPlan& plan) {
  int eligible = 0;
  for (const auto& i : state.instances()) eligible += i.phase() == kPhasePending ? 1 : 0;
  const int size = static_cast<int>(std::max<int64_t>(1, plan.max_concurrency.Of(eligible)));
  state.set_batch_size(size);
  int n = 0;
  for (auto& i : *state.mutable_instances()) {
    if (i.phase() != kPhasePending) continue;
    i.set_batch(n / size);
    ++n;
  }
  state.set_batches((n + size - 1) / size);
  state.set_current_batch(-1);
  state.set_max_errors(static_cast<int>(plan.max_errors.percent ? plan.max_errors.Of(eligible)
                                                                : plan.max_errors.value));
}

}  // namespace fleetkeeper::handlers::patch
