#include "handlers/patch/instance.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "awsclient/clients.h"
#include "awsclient/http.h"
#include "awsclient/pagination.h"
#include "handlers/capacity.h"
#include "handlers/patch/discovery.h"
#include "handlers/poll_grid.h"
#include "handlers/root_volume.h"
#include "handlers/target_health.h"

namespace fleetkeeper::handlers::patch {

Progress Enter(PatchTick& t, v1::PatchInstanceState& i, const char* phase, Progress p) {
  i.set_phase(phase);
  i.set_phase_started_ms(t.now_ms);
  i.set_next_poll_ms(0);
  return p;
}

Progress WaitFor(PatchTick& t, v1::PatchInstanceState& i, const std::string& what) {
  if (i.outcome().empty()) i.set_detail("waiting: " + what);
  i.set_next_poll_ms(NextPollOnGrid(t.now_ms, t.plan.poll_interval_ms));
  t.WakeAt(i.next_poll_ms());
  return Progress::kWait;
}

bool TimedOut(const PatchTick& t, const v1::PatchInstanceState& i, int64_t timeout_ms) {
  return t.now_ms - i.phase_started_ms() >= timeout_ms;
}

Progress Finish(PatchTick& t, v1::PatchInstanceState& i) {
  if (i.outcome().empty()) i.set_outcome(kPatched);
  i.set_finished_ms(t.now_ms);
  i.set_phase(kPhaseDone);
  return Progress::kDone;
}

bool RollsBack(const PatchTick& t, const v1::PatchInstanceState& i) {
  return t.plan.rollback_policy == "instance" && !i.backup_image_id().empty() &&
         !i.command_id().empty();
}

Progress Return(PatchTick& t, v1::PatchInstanceState& i) {
  if (i.deregistered()) return Enter(t, i, kRegister, Progress::kContinue);
  return Finish(t, i);
}

Progress Fail(PatchTick& t, v1::PatchInstanceState& i, const std::string& why) {
  // A failure on the way back (after a rollback, too) does not roll back.
  const bool first = i.outcome() != kFailed && !i.rolled_back();
  FailInstance(t, i, why);
  if (first && RollsBack(t, i)) {
    return Enter(t, i, kRollbackDrain, Progress::kContinue);
  }
  return Return(t, i);
}

Progress OnError(PatchTick& t, v1::PatchInstanceState& i, const std::string& call, const Error& e,
                 int64_t timeout_ms) {
  if (e.retriable && !TimedOut(t, i, timeout_ms)) {
    return WaitFor(t, i, fmt::format("{} failed ({}), trying again", call, e.ToString()));
  }
  t.Record(Resource(i.instance_id()), call, kFailed, e.message, &e);
  return Fail(t, i, fmt::format("{}: {}", call, e.ToString()));
}

namespace {

aws::TargetsRequest Targets(const v1::PatchTargetGroup& tg, const std::string& instance) {
  return TargetsOf(tg.arn(), tg.port(), instance);
}

// The health of every target of the group, read once for every instance of the run. The pointer
// is good until the caller's next Io.
Result<const std::vector<aws::TargetHealthDescription>*> GroupHealth(PatchTick& t,
                                                                     const std::string& arn) {
  RunShared& run = *t.shared;
  Status read = t.ShareRead(
      "target-health " + arn, [&] { return run.budget_health.count(arn) > 0; },
      [&]() -> Status {
        auto& elb = *t.ctx.aws().elbv2;
        auto h = t.Io([&] { return elb.DescribeTargetHealth({arn, {}}); });
        if (!h.ok()) return h.error();
        run.budget_health[arn] = h->descriptions;
        run.member_health[arn] = {true, {}, std::move(h->descriptions)};
        return Ok{};
      });
  if (!read.ok()) return read.error();
  return &run.budget_health[arn];
}

bool InGroup(const v1::PatchInstanceState& i, const std::string& arn) {
  return std::any_of(i.target_groups().begin(), i.target_groups().end(),
                     [&](const auto& tg) { return tg.arn() == arn; });
}

// The state of `i` in the group as the load balancer reports it (read since this run last changed
// the group), or "not registered". One read a run serves the batch's instances in the group: it
// names their targets (DescribeTargetHealth's Targets) rather than listing the whole group.
Result<std::string> StateIn(PatchTick& t, const v1::PatchTargetGroup& tg,
                            const v1::PatchInstanceState& i) {
  RunShared& run = *t.shared;
  const std::string& id = i.instance_id();
  auto covered = [&] {
    auto m = run.member_health.find(tg.arn());
    return m != run.member_health.end() && (m->second.whole || m->second.ids.count(id) > 0);
  };
  Status read = t.ShareRead("target-health " + tg.arn(), covered, [&]() -> Status {
    RunShared::MemberHealth read;
    read.ids.insert(id);
    for (const auto& other : t.state.instances()) {
      if (other.batch() == i.batch() && other.phase() != kPhaseDone && InGroup(other, tg.arn())) {
        read.ids.insert(other.instance_id());
      }
    }
    aws::DescribeTargetHealthRequest req{tg.arn(), {}};
    for (const auto& target : read.ids) {
      req.targets.push_back(std::move(Targets(tg, target).targets.front()));
    }
    auto& elb = *t.ctx.aws().elbv2;
    auto h = t.Io([&] { return elb.DescribeTargetHealth(req); });
    if (!h.ok()) return h.error();
    read.health = std::move(h->descriptions);
    run.member_health[tg.arn()] = std::move(read);
    return Ok{};
  });
  if (!read.ok()) return read.error();
  for (const auto& d : run.member_health[tg.arn()].health) {
    if (d.target.id != id) continue;
    // Named in the request, a target the group does not have is reported unused.
    if (d.state == "unused" && d.reason == "Target.NotRegistered") break;
    // A group no load balancer uses reports its targets unused: nothing to wait for.
    return d.state == "unused" && d.reason == "Target.NotInUse" ? std::string("healthy") : d.state;
  }
  return std::string("not registered");
}

// ---- backup ----------------------------------------------------------------------------------

Progress Backup(PatchTick& t, v1::PatchInstanceState& i) {
  if (i.started_ms() == 0) i.set_started_ms(t.now_ms);
  auto& ec2 = *t.ctx.aws().ec2;
  // A run that crashed after CreateImage finds its image by the name it gave it.
  aws::DescribeImagesRequest find;
  find.owners = {"self"};
  find.filters = {{"name", {i.backup_name()}}};
  auto found = t.Io([&] { return ec2.DescribeImages(find); });
  if (!found.ok()) return OnError(t, i, "describe-images", found.error(), t.plan.backup_timeout_ms);
  if (!found->images.empty()) {
    i.set_backup_image_id(found->images.front().id);
    return Enter(t, i, kBackupWait, Progress::kCheckpoint);
  }
  aws::CreateImageRequest req;
  req.instance_id = i.instance_id();
  req.name = i.backup_name();
  req.description =
      fmt::format("fleetkeeper patch {} backup of {}", t.request.request_id(), i.instance_id());
  req.no_reboot = true;
  aws::Tags tags = {{kRequestTag, t.request.request_id()}, {kBackupOfTag, i.instance_id()}};
  req.tag_specifications = {{"image", std::move(tags)}};
  auto made = t.Io([&] { return ec2.CreateImage(req); });
  if (!made.ok()) return OnError(t, i, "create-image", made.error(), t.plan.backup_timeout_ms);
  i.set_backup_image_id(made->image_id);
  t.Record(Resource(i.instance_id()), "create-image", "succeeded",
           fmt::format("backup {} ({}, no reboot)", made->image_id, req.name));
  return Enter(t, i, kBackupWait, Progress::kCheckpoint);
}

Progress BackupWait(PatchTick& t, v1::PatchInstanceState& i) {
  aws::DescribeImagesRequest req;
  req.image_ids = {i.backup_image_id()};
  auto& ec2 = *t.ctx.aws().ec2;
  auto r = t.Io([&] { return ec2.DescribeImages(req); });
  if (!r.ok()) return OnError(t, i, "describe-images", r.error(), t.plan.backup_timeout_ms);
  const std::string state = r->images.empty() ? "missing" : r->images.front().state;
  if (state == "available") return Enter(t, i, kDrain, Progress::kContinue);
  if (state == "pending") {
    if (TimedOut(t, i, t.plan.backup_timeout_ms)) {
      return Fail(t, i,
                  fmt::format("AMI backup {} not available within {}s: not patched",
                              i.backup_image_id(), t.plan.backup_timeout_ms / 1000));
    }
    return WaitFor(t, i, "AMI backup " + i.backup_image_id() + " pending");
  }
  return Fail(t, i, fmt::format("AMI backup {} is {}: not patched", i.backup_image_id(), state));
}

// ---- drain -----------------------------------------------------------------------------------

// Whether draining `i` keeps every one of its groups within max_unavailable, counting this
// campaign's drained instances and the group's other targets out of service (other workflows,
// failures nobody acts on). `why` says what holds it back.
bool WithinBudget(PatchTick& t, const v1::PatchInstanceState& i, std::string* why) {
  // Every read first: from the count on, no other instance of the run moves until the drain is
  // marked (Drain), so that two instances advancing at once never both take the last place.
  for (const auto& tg : i.target_groups()) {
    if (auto health = GroupHealth(t, tg.arn()); !health.ok()) {
      *why = fmt::format("cannot read the health of {}: {}", tg.arn(), health.error().ToString());
      return false;
    }
  }
  for (const auto& tg : i.target_groups()) {
    int ours = 0;
    std::set<std::string> mine;
    for (const auto& other : t.state.instances()) {
      for (const auto& g : other.target_groups()) {
        if (g.arn() != tg.arn()) continue;
        mine.insert(other.instance_id());
        if (Drained(other)) ++ours;
      }
    }
    auto health = GroupHealth(t, tg.arn());  // read above: no I/O
    if (!health.ok()) return false;
    int others = 0;
    for (const auto& d : **health) {
      if (!mine.count(d.target.id) && OutOfService(d)) ++others;
    }
    const int64_t budget = t.plan.max_unavailable.Of(tg.size());
    if (ours + others >= budget) {
      *why = fmt::format(
          "target group {} has {} target(s) out of service ({} of this campaign); "
          "max_unavailable allows {}",
          tg.arn(), ours + others, ours, budget);
      return false;
    }
  }
  return true;
}

// A drain held back by the budget waits, and says why each time the reason changes.
Progress DrainWaits(PatchTick& t, v1::PatchInstanceState& i, const std::string& why) {
  if (i.detail() != "waiting: " + why) {
    t.notes.push_back(fmt::format("instance {} waits: {}", i.instance_id(), why));
  }
  return WaitFor(t, i, why);
}

// Reserves the instance in each of its target groups, as this run read them (one read of a group
// for the claims of every instance of the batch in it).
Result<CapacityDecision> ReserveInLedger(PatchTick& t, const v1::PatchInstanceState& i,
                                         CapacityLedger& ledger) {
  const auto& mu = t.plan.max_unavailable;
  const std::string share = fmt::format("{}{}", mu.value, mu.percent ? "%" : "");
  v1::CapacityClaim claim;
  claim.set_unit(i.instance_id());
  for (const auto& tg : i.target_groups()) {
    auto health = GroupHealth(t, tg.arn());
    if (!health.ok()) return health.error();
    *claim.add_groups() = TargetGroupCapacity(tg.arn(), **health, share);
  }
  return ledger.Reserve(claim);
}

Progress Drain(PatchTick& t, v1::PatchInstanceState& i) {
  if (i.started_ms() == 0) i.set_started_ms(t.now_ms);
  if (i.target_groups().empty()) return Enter(t, i, kCommand, Progress::kContinue);
  std::string why;
  if (!WithinBudget(t, i, &why)) {
    if (TimedOut(t, i, t.plan.drain_timeout_ms)) {
      return Fail(t, i, "not patched: waited for the blast-radius budget: " + why);
    }
    return DrainWaits(t, i, why);
  }
  if (CapacityLedger* ledger = t.ctx.capacity();
      ledger != nullptr && !ledger->Holds(i.instance_id())) {
    // The cell's ledger: another workflow may be replacing, rebooting or draining this instance
    // or others of its groups. The reservation is checkpointed before the drain.
    auto d = ReserveInLedger(t, i, *ledger);
    if (!d.ok()) return OnError(t, i, "describe-target-health", d.error(), t.plan.drain_timeout_ms);
    if (!d->granted) {
      if (TimedOut(t, i, t.plan.drain_timeout_ms)) {
        return Fail(t, i, "not patched: waited for the blast-radius budget: " + d->reason);
      }
      return DrainWaits(t, i, "blast-radius ledger: " + d->reason);
    }
    return Progress::kCheckpoint;
  }
  // Marked before the calls: a crash in between re-registers rather than forgets.
  i.set_deregistered(true);
  if (Status s = ChangeMembership(t, i, false); !s.ok()) {
    return OnError(t, i, "deregister-targets", s.error(), t.plan.drain_timeout_ms);
  }
  return Enter(t, i, kDraining, Progress::kCheckpoint);
}

Progress Draining(PatchTick& t, v1::PatchInstanceState& i) {
  for (const auto& tg : i.target_groups()) {
    auto state = StateIn(t, tg, i);
    if (!state.ok()) {
      return OnError(t, i, "describe-target-health", state.error(), t.plan.drain_timeout_ms);
    }
    if (*state == "draining" && !TimedOut(t, i, t.plan.drain_timeout_ms)) {
      return WaitFor(t, i, "connection draining in " + tg.arn());
    }
  }
  return Enter(t, i, kCommand, Progress::kContinue);
}

// Reads the status of `i` and of every other instance of the batch due for the same look, once a
// run (DescribeInstanceStatus takes many ids).
Status ReadStatuses(PatchTick& t, const v1::PatchInstanceState& i) {
  auto& known = t.shared->instance_status;
  return t.ShareRead(
      "instance-status", [&] { return known.count(i.instance_id()) > 0; },
      [&]() -> Status {
        aws::DescribeInstanceStatusRequest req;
        req.instance_ids = {i.instance_id()};
        for (const auto& other : t.state.instances()) {
          if (other.instance_id() != i.instance_id() && other.phase() == kStatusOk &&
              other.batch() == i.batch() && other.next_poll_ms() <= t.now_ms &&
              !known.count(other.instance_id())) {
            req.instance_ids.push_back(other.instance_id());
          }
        }
        req.include_all_instances = true;
        auto& ec2 = *t.ctx.aws().ec2;
        auto r = t.Io([&] { return ec2.DescribeInstanceStatus(req); });
        if (!r.ok()) return r.error();
        for (auto& s : r->statuses) known[s.instance_id] = std::move(s);
        for (const auto& id : req.instance_ids) known.try_emplace(id);  // no status yet
        return Ok{};
      });
}

bool ChecksOk(const aws::InstanceStatus& s) {
  return !s.instance_id.empty() && s.state.name == "running" && s.instance_status == "ok" &&
         (s.system_status == "ok" || s.system_status == "not-applicable");
}

Progress StatusOk(PatchTick& t, v1::PatchInstanceState& i) {
  if (Status read = ReadStatuses(t, i); !read.ok()) {
    return OnError(t, i, "describe-instance-status", read.error(), t.plan.status_ok_timeout_ms);
  }
  std::string now = "no status yet";
  if (const auto& s = t.shared->instance_status.at(i.instance_id()); !s.instance_id.empty()) {
    if (ChecksOk(s)) return Enter(t, i, kVerify, Progress::kContinue);
    now =
        fmt::format("{}, instance {}, system {}", s.state.name, s.instance_status, s.system_status);
  }
  if (TimedOut(t, i, t.plan.status_ok_timeout_ms)) {
    return Fail(t, i,
                fmt::format("status checks not OK within {}s after the patch ({})",
                            t.plan.status_ok_timeout_ms / 1000, now));
  }
  return WaitFor(t, i, "status checks (" + now + ")");
}

// Whether `other` verifies its patch in this run, as `i` does: due in verify, or in status-ok with
// its checks passing in this run's read (it moves on to verify now).
bool VerifiesNow(const PatchTick& t, const v1::PatchInstanceState& i,
                 const v1::PatchInstanceState& other) {
  if (other.batch() != i.batch() || other.next_poll_ms() > t.now_ms) return false;
  if (other.phase() == kVerify) return true;
  if (other.phase() != kStatusOk) return false;
  const auto& read = t.shared->instance_status;
  const auto s = read.find(other.instance_id());
  return s != read.end() && ChecksOk(s->second);
}

// Reads the patch state of `i` and of every other instance of the batch that verifies now, once a
// run (DescribeInstancePatchStates takes many ids).
Status ReadPatchStates(PatchTick& t, const v1::PatchInstanceState& i) {
  auto& known = t.shared->patch_states;
  return t.ShareRead(
      "patch-states", [&] { return known.count(i.instance_id()) > 0; },
      [&]() -> Status {
        std::vector<std::string> ids = {i.instance_id()};
        for (const auto& other : t.state.instances()) {
          if (other.instance_id() != i.instance_id() && !known.count(other.instance_id()) &&
              VerifiesNow(t, i, other)) {
            ids.push_back(other.instance_id());
          }
        }
        auto& ssm = *t.ctx.aws().ssm;
        for (const auto& chunk : Chunks(ids, kSsmIdsPerCall)) {
          aws::DescribeInstancePatchStatesRequest req;
          req.instance_ids = chunk;
          std::vector<aws::InstancePatchState> states;
          Status read = t.Io([&] {
            return aws::ForEachPage(
                std::move(req), [&](const auto& r) { return ssm.DescribeInstancePatchStates(r); },
                [&](auto& page) -> Status {
                  for (auto& s : page.states) states.push_back(std::move(s));
                  return Ok{};
                });
          });
          if (!read.ok()) return read;
          for (auto& s : states) known[s.instance_id] = std::move(s);
          for (const auto& id : chunk) known.try_emplace(id);  // none reported
        }
        return Ok{};
      });
}

Progress Verify(PatchTick& t, v1::PatchInstanceState& i) {
  if (Status read = ReadPatchStates(t, i); !read.ok()) {
    return OnError(t, i, "describe-instance-patch-states", read.error(),
                   t.plan.status_ok_timeout_ms);
  }
  if (const auto& s = t.shared->patch_states.at(i.instance_id()); !s.instance_id.empty()) {
    i.set_has_after(true);
    i.set_missing_after(s.missing);
    i.set_failed_after(s.failed);
    i.set_installed_after(s.installed);
  }
  if (i.has_after()) {
    // RebootIfNeeded reboots when the command installed something.
    i.set_rebooted(t.plan.operation == "Install" && t.plan.reboot_option == "RebootIfNeeded" &&
                   i.has_before() && i.installed_after() > i.installed_before());
    if (i.failed_after() > 0) {
      return Fail(t, i, fmt::format("patch state reports {} failed patch(es)", i.failed_after()));
    }
    if (t.plan.operation == "Install" && i.missing_after() > 0) {
      return Fail(t, i, fmt::format("{} patch(es) still missing after Install", i.missing_after()));
    }
  }
  return Enter(t, i, i.deregistered() ? kRegister : kHealthCheck, Progress::kContinue);
}

// ---- back into service -----------------------------------------------------------------------

Progress Register(PatchTick& t, v1::PatchInstanceState& i) {
  if (Status s = ChangeMembership(t, i, true); !s.ok()) {
    return OnError(t, i, "register-targets", s.error(), t.plan.status_ok_timeout_ms);
  }
  return Enter(t, i, kHealthyWait, Progress::kCheckpoint);
}

Progress HealthyWait(PatchTick& t, v1::PatchInstanceState& i) {
  for (const auto& tg : i.target_groups()) {
    auto read = StateIn(t, tg, i);
    if (!read.ok()) {
      return OnError(t, i, "describe-target-health", read.error(), t.plan.status_ok_timeout_ms);
    }
    const std::string& state = *read;
    if (state == "healthy") continue;
    if (TimedOut(t, i, t.plan.status_ok_timeout_ms)) {
      i.set_deregistered(false);
      if (i.outcome() == kFailed) return Finish(t, i);
      return Fail(t, i,
                  fmt::format("not healthy in {} within {}s after re-registering (now {})",
                              tg.arn(), t.plan.status_ok_timeout_ms / 1000, state));
    }
    return WaitFor(t, i, fmt::format("healthy in {} (now {})", tg.arn(), state));
  }
  i.set_deregistered(false);
  if (i.outcome() == kFailed) return Finish(t, i);
  return Enter(t, i, kHealthCheck, Progress::kContinue);
}

std::string Substitute(std::string url, const v1::PatchInstanceState& i) {
  for (const auto& [key, value] : std::map<std::string, std::string>{
           {"{private_ip}", i.private_ip()}, {"{instance_id}", i.instance_id()}}) {
    for (size_t at = url.find(key); at != std::string::npos; at = url.find(key, at)) {
      url.replace(at, key.size(), value);
    }
  }
  return url;
}

Progress HealthCheck(PatchTick& t, v1::PatchInstanceState& i) {
  if (!t.request.has_health_check() || t.request.health_check().url().empty()) return Finish(t, i);
  const HealthProbe probe = t.Io([&] { return ProbeHealth(t, i); });
  if (probe.ok) {
    t.Record(Resource(i.instance_id()), "health-check", "succeeded", probe.url + ": " + probe.got);
    return Finish(t, i);
  }
  i.set_health_attempts(i.health_attempts() + 1);
  if (i.health_attempts() <= t.plan.health_retries) {
    return WaitFor(
        t, i,
        fmt::format("health check {} ({}), attempt {}", probe.url, probe.got, i.health_attempts()));
  }
  return Fail(t, i,
              fmt::format("health check {} answered {} (expected HTTP {}) after {} attempts",
                          probe.url, probe.got, t.plan.health_expect_status, i.health_attempts()));
}

// ---- rollback from the AMI backup ------------------------------------------------------------
// The instance's root volume is replaced by its backup's in place (handlers/root_volume.h, the
// AMI rollout's replace-root-volume machinery): it keeps its id, addresses and data volumes.

// A rollback that cannot go on: the result says so, and the instance goes back into service.
Progress RollbackFailed(PatchTick& t, v1::PatchInstanceState& i, const std::string& why) {
  i.set_rollback(fmt::format("rollback from backup {} failed: {}", i.backup_image_id(), why));
  if (i.outcome() == kRolledBack) i.set_outcome(kRollbackFailed);
  t.Record(Resource(i.instance_id()), "rollback", kFailed, i.rollback());
  t.notes.push_back(fmt::format("{}: {}", i.instance_id(), i.rollback()));
  return Return(t, i);
}

Progress OnRollbackError(PatchTick& t, v1::PatchInstanceState& i, const std::string& call,
                         const Error& e) {
  if (e.retriable && !TimedOut(t, i, t.plan.status_ok_timeout_ms)) {
    return WaitFor(t, i, fmt::format("{} failed ({}), trying again", call, e.ToString()));
  }
  return RollbackFailed(t, i, fmt::format("{}: {}", call, e.ToString()));
}

// The root volume is replaced with a reboot: out of its target groups first, as for the patch.
Progress RollbackDrain(PatchTick& t, v1::PatchInstanceState& i) {
  if (!i.deregistered() && !i.target_groups().empty()) {
    i.set_deregistered(true);  // before the calls: a crash in between re-registers
    if (Status s = ChangeMembership(t, i, false); !s.ok()) {
      return OnRollbackError(t, i, "deregister-targets", s.error());
    }
  }
  return Enter(t, i, kRollbackPrepare, Progress::kContinue);
}

Progress RollbackPrepare(PatchTick& t, v1::PatchInstanceState& i) {
  // Checkpointed before the task is created: a run after a crash finds the task by this token.
  i.set_rollback_token(t.ctx.IdempotencyToken("patch-rollback:" + i.instance_id()));
  return Enter(t, i, kRollbackTask, Progress::kCheckpoint);
}

Progress RollbackTask(PatchTick& t, v1::PatchInstanceState& i) {
  auto& ec2 = *t.ctx.aws().ec2;
  auto task = t.Io([&] {
    return EnsureRootVolumeTask(ec2, i.instance_id(), i.backup_image_id(), i.rollback_token());
  });
  if (!task.ok()) return OnRollbackError(t, i, "create-replace-root-volume-task", task.error());
  i.set_rollback_task_id(task->task_id);
  if (!task->request_id.empty()) {
    t.Record(
        Resource(i.instance_id()), "create-replace-root-volume-task", "succeeded",
        fmt::format("rollback: task {} restores backup {}", task->task_id, i.backup_image_id()));
    t.actions.back().set_aws_request_id(task->request_id);
  }
  i.set_rollback(
      fmt::format("rolling back from backup {} (task {})", i.backup_image_id(), task->task_id));
  return Enter(t, i, kRollbackWait, Progress::kCheckpoint);
}

// An instance patched in an earlier batch, to be restored on a guard alarm: its capacity is
// reserved first, as for its drain, within drain_timeout.
Progress GuardReserve(PatchTick& t, v1::PatchInstanceState& i) {
  CapacityLedger* ledger = t.ctx.capacity();
  if (ledger == nullptr || i.target_groups().empty() || ledger->Holds(i.instance_id())) {
    return Enter(t, i, kRollbackDrain, Progress::kCheckpoint);
  }
  auto d = ReserveInLedger(t, i, *ledger);
  if (!d.ok()) return OnRollbackError(t, i, "describe-target-health", d.error());
  if (d->granted) return Enter(t, i, kRollbackDrain, Progress::kCheckpoint);
  if (TimedOut(t, i, t.plan.drain_timeout_ms)) {
    i.set_outcome(kRollbackFailed);
    i.set_rollback(
        fmt::format("not rolled back from backup {}: waited {}s for the blast-radius "
                    "budget: {}",
                    i.backup_image_id(), t.plan.drain_timeout_ms / 1000, d->reason));
    t.Record(Resource(i.instance_id()), "rollback", kFailed, i.rollback());
    return Finish(t, i);
  }
  return WaitFor(t, i, "blast-radius ledger: " + d->reason);
}

Progress RollbackWait(PatchTick& t, v1::PatchInstanceState& i) {
  auto& ec2 = *t.ctx.aws().ec2;
  auto task = t.Io([&] { return DescribeRootVolumeTask(ec2, i.rollback_task_id()); });
  if (!task.ok()) return OnRollbackError(t, i, "describe-replace-root-volume-tasks", task.error());
  if (task->state == "succeeded") {
    i.set_rolled_back(true);
    i.set_rollback(fmt::format("rolled back: root volume restored from backup {} (task {})",
                               i.backup_image_id(), i.rollback_task_id()));
    t.Record(Resource(i.instance_id()), "rollback", "succeeded", i.rollback());
    return Return(t, i);
  }
  if (RootVolumeTaskFailed(task->state)) {
    return RollbackFailed(t, i, "task " + i.rollback_task_id() + " " + task->state);
  }
  if (TimedOut(t, i, t.plan.status_ok_timeout_ms)) {
    return RollbackFailed(t, i,
                          fmt::format("task {} still {} after {}s", i.rollback_task_id(),
                                      task->state, t.plan.status_ok_timeout_ms / 1000));
  }
  return WaitFor(t, i, fmt::format("rollback task {} {}", i.rollback_task_id(), task->state));
}

}  // namespace

HealthProbe ProbeHealth(const PatchTick& t, const v1::PatchInstanceState& i) {
  aws::HttpOptions options;
  options.request_timeout_ms = t.plan.health_timeout_ms;
  options.connect_timeout_ms = std::min<int64_t>(t.plan.health_timeout_ms, 3'000);
  aws::HttpClient http(options);
  aws::HttpRequest req;
  req.url = Substitute(t.request.health_check().url(), i);
  auto r = http.Send(req);
  HealthProbe probe;
  probe.url = req.url;
  probe.got = r.ok() ? fmt::format("HTTP {}", r->status) : r.error().message;
  probe.ok = r.ok() && r->status == t.plan.health_expect_status;
  return probe;
}

Status ChangeMembership(PatchTick& t, const v1::PatchInstanceState& i, bool into) {
  auto& elb = *t.ctx.aws().elbv2;
  for (const auto& tg : i.target_groups()) {
    const auto req = Targets(tg, i.instance_id());
    t.shared->member_health.erase(tg.arn());
    auto r = t.Io([&] { return into ? elb.RegisterTargets(req) : elb.DeregisterTargets(req); });
    if (!r.ok()) return r.error();
    t.Record(Resource(i.instance_id()), into ? "register-targets" : "deregister-targets",
             "succeeded", tg.arn());
    t.actions.back().set_aws_request_id(r->request_id);
  }
  return Ok{};
}

bool Drained(const v1::PatchInstanceState& i) { return i.deregistered(); }

void FailInstance(PatchTick& t, v1::PatchInstanceState& i, const std::string& why) {
  if (i.outcome() == kFailed) return;
  i.set_outcome(kFailed);
  i.set_detail(why);
  t.state.set_failures(t.state.failures() + 1);
  if (RollsBack(t, i)) {
    i.set_rollback("to be rolled back from backup " + i.backup_image_id());
  } else if (t.plan.rollback_policy == "instance" && !i.backup_image_id().empty()) {
    i.set_rollback("not rolled back: it failed before its patch command, nothing changed");
  } else if (t.plan.rollback_policy == "instance") {
    i.set_rollback("not rolled back: no AMI backup");
  } else if (t.plan.rollback_policy == "abort") {
    t.state.set_stopped_reason(fmt::format("rollback_policy abort: {} failed", i.instance_id()));
  }
  t.Record(Resource(i.instance_id()), "patch", kFailed,
           why + (i.rollback().empty() ? "" : "; " + i.rollback()));
  t.notes.push_back(fmt::format("{} failed: {}", i.instance_id(), why));
}

Progress AdvanceInstance(PatchTick& t, v1::PatchInstanceState& i) {
  const std::string& p = i.phase();
  if (p == kPhasePending) {
    return Enter(t, i, t.plan.backup_ami ? kBackup : kDrain, Progress::kContinue);
  }
  if (p != kPhaseDone && i.next_poll_ms() > t.now_ms && p != kCommandWait) {
    t.WakeAt(i.next_poll_ms());
    return Progress::kWait;
  }
  if (p == kBackup) return Backup(t, i);
  if (p == kBackupWait) return BackupWait(t, i);
  if (p == kDrain) return Drain(t, i);
  if (p == kDraining) return Draining(t, i);
  if (p == kCommand) return Command(t, i);
  if (p == kCommandWait) return CommandWait(t, i);
  if (p == kStatusOk) return StatusOk(t, i);
  if (p == kVerify) return Verify(t, i);
  if (p == kRegister) return Register(t, i);
  if (p == kHealthyWait) return HealthyWait(t, i);
  if (p == kHealthCheck) return HealthCheck(t, i);
  if (p == kRollbackDrain) return RollbackDrain(t, i);
  if (p == kRollbackPrepare) return RollbackPrepare(t, i);
  if (p == kRollbackTask) return RollbackTask(t, i);
  if (p == kRollbackWait) return RollbackWait(t, i);
  if (p == kGuardReserve) return GuardReserve(t, i);
  if (p == kPhaseDone) return Progress::kDone;
  FailInstance(t, i, "unknown phase \"" + p + "\" (a checkpoint of a newer version?)");
  return Finish(t, i);
}

}  // namespace fleetkeeper::handlers::patch
