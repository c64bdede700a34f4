#include "handlers/patch/steps.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <thread>

#include "awsclient/clients.h"
#include "handlers/authorization.h"
#include "handlers/group_guards.h"
#include "handlers/patch/discovery.h"
#include "handlers/patch/fanout.h"
#include "handlers/patch/instance.h"
#include "handlers/patch/report.h"
#include "handlers/patch/window.h"
#include "handlers/target_health.h"

namespace fleetkeeper::handlers::patch {
namespace {

// Discovery errors that may pass (throttling, a network blip) are tried again this many times.
constexpr int kReadAttempts = 5;

StepOutcome Progressing(StepOutcome o, std::string note) {
  o.reason = std::move(note);
  o.publish_progress = true;
  return o;
}

StepOutcome ReadFailed(PatchTick& t, const char* step, const Error& e) {
  if (e.retriable && t.ctx.workflow().attempt() + 1 < kReadAttempts) {
    StepOutcome o = StepOutcome::Wait(step, t.plan.poll_interval_ms);
    o.retry_same_step = true;
    o.reason = fmt::format("{}: {} (trying again)", step, e.ToString());
    return o;
  }
  return StepOutcome::Finish(v1::Result::FAILED, fmt::format("{}: {}", step, e.ToString()));
}

std::string EligibilityReport(const v1::PatchWorkflowState& s) {
  int eligible = 0, to_start = 0;
  std::vector<std::string> skipped;
  for (const auto& i : s.instances()) {
    if (i.outcome() == kSkipped) {
      skipped.push_back(fmt::format("{} ({})", i.instance_id(), i.detail()));
    } else if (i.phase() == kPhaseStart) {
      ++to_start;
    } else {
      ++eligible;
    }
  }
  return fmt::format("{} instance(s) found: {} eligible, {} to start, {} skipped{}{}",
                     s.discovered(), eligible, to_start, skipped.size(),
                     skipped.empty() ? "" : ": ", fmt::join(skipped, ", "));
}

// ---- discover --------------------------------------------------------------------------------

StepOutcome DryRunPlan(PatchTick& t) {
  for (const auto& i : t.state.instances()) {
    if (i.outcome() == kSkipped) {
      t.Record(Resource(i.instance_id()), "patch", kSkipped, i.detail());
      continue;
    }
    std::vector<std::string> would;
    if (i.phase() == kPhaseStart) would.push_back("start it (stopped)");
    if (t.plan.backup_ami) would.push_back("back it up to an AMI (" + i.backup_name() + ")");
    for (const auto& tg : i.target_groups()) would.push_back("drain it from " + tg.arn());
    would.push_back(fmt::format("run {} Operation={} RebootOption={}", kDocument, t.plan.operation,
                                t.plan.reboot_option));
    if (!i.target_groups().empty()) would.push_back("register it again and wait healthy");
    t.Record(Resource(i.instance_id()), "patch", kDryRun,
             fmt::format("batch {}/{}: would {}{}", i.batch() + 1, t.state.batches(),
                         fmt::join(would, ", "),
                         i.baseline().empty() ? "" : "; baseline: " + i.baseline()));
  }
  return WithTick(
      StepOutcome::Finish(
          v1::Result::DRY_RUN,
          fmt::format("dry run: {}; {} batch(es) of up to {}; nothing changed",
                      EligibilityReport(t.state), t.state.batches(), t.state.batch_size())),
      t);
}

// Guard alarms named by a tag on the target groups the campaign drains from, and the tags blackout
// windows select by: read once, at discovery, into the checkpoint (handlers/group_guards.h), like
// the AMI rollout's.
Status RecordGuardTags(PatchTick& t, const std::vector<std::string>& guard_tags) {
  std::vector<std::string> arns;
  for (const auto& i : t.state.instances()) {
    for (const auto& tg : i.target_groups()) arns.push_back(tg.arn());
  }
  Status s = RecordTargetGroupGuards(t.ctx, guard_tags, arns);
  if (s.ok()) return s;
  Error e = s.error();
  e.message = "describe-tags of the target groups (guard alarms by tag): " + e.message;
  return e;
}

// Discovery is done (and, for a fan-out's child, the parent said go): a dry run's plan, or the
// eligibility report and on to the gate.
StepOutcome AfterDiscovery(PatchTick& t) {
  if (t.ctx.dry_run()) return DryRunPlan(t);
  for (const auto& i : t.state.instances()) {
    if (i.outcome() == kSkipped) {
      t.Record(Resource(i.instance_id()), "eligibility", kSkipped, i.detail());
    } else {
      t.Record(
          Resource(i.instance_id()), "eligibility", "eligible",
          i.baseline().empty() ? "stopped: started before its batch" : "baseline: " + i.baseline());
    }
  }
  bool any = false;
  for (const auto& i : t.state.instances()) any |= i.outcome().empty();
  if (!any) {
    return WithTick(StepOutcome::Finish(v1::Result::SKIPPED,
                                        "no instance to patch: " + EligibilityReport(t.state)),
                    t);
  }
  t.state.set_gate_since_ms(t.now_ms);
  return WithTick(Progressing(StepOutcome::Next(kStepGate), EligibilityReport(t.state)), t);
}

StepOutcome DiscoverStep(PatchTick& t, const v1::CommandsConfig& commands,
                         const std::vector<std::string>& guard_tags) {
  KeepEarlyApprovals(t);
  Status s = Discover(t);
  if (!s.ok()) return ReadFailed(t, kStepDiscover, s.error());
  if (std::string why = AuthorizeTargetCount(commands, t.state.discovered()); !why.empty()) {
    return StepOutcome::Finish(v1::Result::REJECTED, why);
  }
  if (s = RecordGuardTags(t, guard_tags); !s.ok()) return ReadFailed(t, kStepDiscover, s.error());
  // Batches are planned over the instances that can be patched now plus those to be started (a
  // dry run's plan); start-stopped plans them again over the ones that came up.
  for (auto& i : *t.state.mutable_instances()) {
    if (i.phase() == kPhaseStart) i.set_phase(kPhasePending);
  }
  AssignBatches(t.state, t.plan);
  for (auto& i : *t.state.mutable_instances()) {
    if (i.initial_state() == "stopped" && i.outcome().empty()) i.set_phase(kPhaseStart);
  }
  // A fan-out's child: nothing more before its parent has every cell's count.
  if (auto wait = AwaitParent(t)) return *wait;
  return AfterDiscovery(t);
}

// A fan-out's child, counted: waits for its parent's go (every cell's count within max_targets).
StepOutcome FanOutWaitStep(PatchTick& t) {
  KeepEarlyApprovals(t);
  std::optional<StepOutcome> end;
  if (!ParentSaidGo(t, &end)) return WithTick(std::move(*end), t);
  return AfterDiscovery(t);
}

// ---- gate ------------------------------------------------------------------------------------

// The first approval among `early` (kept from before the gate) and the step's signals that counts,
// or null; approvals that do not count (the runtime refuses them already; a checkpoint from before
// it may hold one) are noted and recorded.
const v1::Approval* FirstValidApproval(PatchTick& t, const std::string& gate,
                                       const std::vector<v1::Event>& early = {}) {
  std::vector<const v1::Event*> approvals;
  for (const auto& e : early) approvals.push_back(&e);
  for (const auto& e : t.ctx.signals()) approvals.push_back(&e);
  for (const v1::Event* ep : approvals) {
    const v1::Event& e = *ep;
    if (e.body_case() != v1::Event::kApproval) continue;
    const auto& a = e.approval();
    if (std::string why = AuthorizeApproval(t.request.requested_by(), a); !why.empty()) {
      t.notes.push_back(fmt::format("approval by \"{}\" ignored: {}", a.approver(), why));
      t.Record("request:" + t.request.request_id(), "approval", "rejected", why);
      continue;
    }
    t.Record("request:" + t.request.request_id(), "approval",
             a.has_approved() && !a.approved() ? "denied" : "succeeded",
             fmt::format("{} by {}{}", gate, a.approver(),
                         a.comment().empty() ? "" : ": " + a.comment()));
    return &a;
  }
  return nullptr;
}

// Still waiting at a gate opened at `since_ms`: the wait (the note said once), or nullopt when the
// approval timeout has passed.
std::optional<StepOutcome> AwaitApproval(PatchTick& t, const char* step, int64_t since_ms,
                                         const std::string& gate) {
  const int64_t deadline = since_ms + t.plan.approval_timeout_ms;
  if (t.now_ms >= deadline) return std::nullopt;
  StepOutcome o =
      StepOutcome::Wait(step, deadline - t.now_ms, {"approval:" + t.ctx.workflow().workflow_id()});
  if (since_ms == t.now_ms || (t.ctx.signals().empty() && t.notes.empty())) {
    t.notes.push_back(
        fmt::format("waiting for an approval {} of workflow {} by someone other than {}", gate,
                    t.ctx.workflow().workflow_id(), t.request.requested_by()));
  }
  return o;
}

StepOutcome GateStep(PatchTick& t) {
  // Approvals kept from before the gate decide it now or never: a valid one opens it, the others
  // do not count.
  const std::vector<v1::Event> early(t.state.early_approvals().begin(),
                                     t.state.early_approvals().end());
  t.state.clear_early_approvals();
  if (!t.plan.approval_required || t.state.approved()) return StepOutcome::Next(kStepStartStopped);
  constexpr char kGate[] = "before the first batch";
  if (const v1::Approval* a = FirstValidApproval(t, kGate, early)) {
    if (a->has_approved() && !a->approved()) {
      return WithTick(
          StepOutcome::Finish(v1::Result::CANCELLED,
                              fmt::format("approval denied by {}{}; nothing patched", a->approver(),
                                          a->comment().empty() ? "" : ": " + a->comment())),
          t);
    }
    t.state.set_approved(true);
    t.state.set_approved_by(a->approver());
    return WithTick(
        Progressing(StepOutcome::Next(kStepStartStopped), "approved by " + a->approver()), t);
  }
  if (auto wait = AwaitApproval(t, kStepGate, t.state.gate_since_ms(), kGate)) {
    return WithTick(std::move(*wait), t);
  }
  return WithTick(
      StepOutcome::Finish(v1::Result::FAILED,
                          fmt::format("approval_required: no approval within {}s; nothing patched",
                                      t.plan.approval_timeout_ms / 1000)),
      t);
}

// approval_after_first_batch: once the first batch is done, the rest wait for an approval. A
// denial or the timeout stops new batches (the first batch's outcome stands). The wait, or nullopt
// to go on.
std::optional<StepOutcome> ContinueGate(PatchTick& t) {
  auto& s = t.state;
  constexpr char kGate[] = "after the first batch";
  if (s.continue_gate_since_ms() == 0) {
    s.set_continue_gate_since_ms(t.now_ms);
  } else if (const v1::Approval* a = FirstValidApproval(t, kGate)) {
    if (a->has_approved() && !a->approved()) {
      s.set_stopped_reason(
          fmt::format("approval after the first batch denied by {}{}: no new batch "
                      "starts",
                      a->approver(), a->comment().empty() ? "" : ": " + a->comment()));
      return std::nullopt;
    }
    s.set_continue_approved(true);
    s.set_continue_approved_by(a->approver());
    t.notes.push_back("the remaining batches approved by " + a->approver());
    return std::nullopt;
  }
  if (auto wait = AwaitApproval(t, kStepPatch, s.continue_gate_since_ms(), kGate)) return wait;
  s.set_stopped_reason(
      fmt::format("no approval after the first batch within {}s: no new batch "
                  "starts",
                  t.plan.approval_timeout_ms / 1000));
  return std::nullopt;
}

// Outside the request's maintenance window: a wait for its next opening (said once), else none.
std::optional<StepOutcome> WaitForWindow(PatchTick& t, const char* step, const std::string& what) {
  if (!t.request.has_maintenance_window()) return std::nullopt;
  const Window w = *ParseWindow(t.request.maintenance_window());  // checked at admission
  if (InsideWindow(w, t.now_ms)) {
    t.state.set_window_waiting(false);
    return std::nullopt;
  }
  const int64_t opens = NextOpening(w, t.now_ms);
  StepOutcome o = StepOutcome::Wait(step, opens - t.now_ms);
  if (t.state.window_waiting()) return o;
  t.state.set_window_waiting(true);
  return Progressing(o, fmt::format("outside the maintenance window: {} waits {}s for it to open "
                                    "at {}",
                                    what, (opens - t.now_ms) / 1000,
                                    w.recurring.schedule().zone().FormatLocal(opens)));
}

// ---- start-stopped ---------------------------------------------------------------------------

StepOutcome StartStoppedStep(PatchTick& t) {
  std::vector<v1::PatchInstanceState*> starting;
  for (auto& i : *t.state.mutable_instances()) {
    if (i.phase() == kPhaseStart) starting.push_back(&i);
  }
  if (!starting.empty()) {
    if (auto wait = WaitForWindow(t, kStepStartStopped, "starting the stopped instances")) {
      return *wait;
    }
    std::vector<std::string> unsent;
    for (auto* i : starting) {
      if (!i->started_by_us()) unsent.push_back(i->instance_id());
    }
    if (!unsent.empty()) {
      // StartInstances on a running instance changes nothing: sending again after a crash is safe.
      auto r = t.ctx.aws().ec2->StartInstances({unsent});
      if (!r.ok()) return ReadFailed(t, kStepStartStopped, r.error());
      for (auto* i : starting) {
        i->set_started_by_us(true);
        i->set_phase_started_ms(t.now_ms);
      }
      t.Record("instances:" + fmt::format("{}", fmt::join(unsent, ",")), "start-instances",
               "succeeded", "start_stopped: started to be patched");
      t.actions.back().set_aws_request_id(r->request_id);
      return WithTick(StepOutcome::Wait(kStepStartStopped, t.plan.poll_interval_ms), t);
    }
    std::vector<std::string> ids;
    for (auto* i : starting) ids.push_back(i->instance_id());
    aws::DescribeInstancesRequest req;
    req.instance_ids = ids;
    auto st = t.ctx.aws().ec2->DescribeInstances(req);
    if (!st.ok()) return ReadFailed(t, kStepStartStopped, st.error());
    std::vector<std::string> running;
    for (const auto& i : st->instances) {
      if (i.state.name == "running") running.push_back(i.id);
    }
    auto offline = CheckSsmOnline(t, running, true);
    if (!offline.ok()) return ReadFailed(t, kStepStartStopped, offline.error());
    const std::set<std::string> not_online(offline->begin(), offline->end());
    const std::set<std::string> up(running.begin(), running.end());
    bool waiting = false;
    std::vector<std::string> ready;
    for (auto* i : starting) {
      const bool online = up.count(i->instance_id()) && !not_online.count(i->instance_id());
      if (online) {
        i->set_phase(kPhasePending);
        ready.push_back(i->instance_id());
      } else if (t.now_ms - i->phase_started_ms() >= t.plan.status_ok_timeout_ms) {
        Skip(*i, fmt::format("started, but not running with SSM Online within {}s",
                             t.plan.status_ok_timeout_ms / 1000));
        t.Record(Resource(i->instance_id()), "eligibility", kSkipped, i->detail());
      } else {
        waiting = true;
      }
    }
    if (!ready.empty()) {
      if (Status s = ReadPatchStatesBefore(t, ready); !s.ok()) {
        return ReadFailed(t, kStepStartStopped, s.error());
      }
    }
    if (waiting) return WithTick(StepOutcome::Wait(kStepStartStopped, t.plan.poll_interval_ms), t);
  }
  AssignBatches(t.state, t.plan);
  t.state.set_started_ms(t.now_ms);
  int scheduled = 0;
  for (const auto& i : t.state.instances()) scheduled += i.batch() >= 0 ? 1 : 0;
  return WithTick(Progressing(StepOutcome::Next(kStepPatch),
                              fmt::format("{} instance(s) in {} batch(es) of up to {}", scheduled,
                                          t.state.batches(), t.state.batch_size())),
                  t);
}

// ---- patch -----------------------------------------------------------------------------------

bool BatchDone(const v1::PatchWorkflowState& s, int batch) {
  for (const auto& i : s.instances()) {
    if (i.batch() == batch && i.phase() != kPhaseDone) return false;
  }
  return true;
}

std::string BatchSummary(const v1::PatchWorkflowState& s, int batch) {
  std::vector<std::string> parts;
  for (const auto& i : s.instances()) {
    if (i.batch() == batch) parts.push_back(i.instance_id() + " " + i.outcome());
  }
  return fmt::format("batch {}/{} done: {}", batch + 1, s.batches(), fmt::join(parts, ", "));
}

// Starts the next batch, or says why none starts: the error budget, the end, or the window.
std::optional<StepOutcome> NextBatch(PatchTick& t) {
  auto& s = t.state;
  if (s.stopped_reason().empty() && s.failures() > s.max_errors()) {
    s.set_stopped_reason(fmt::format("{} failure(s) exceed max_errors {}: no new batch starts",
                                     s.failures(), s.max_errors()));
  }
  if (s.stopped_reason().empty() && s.current_batch() == 0 && s.batches() > 1 &&
      t.request.approval_after_first_batch() && !s.continue_approved()) {
    if (auto wait = ContinueGate(t)) return wait;
  }
  if (!s.stopped_reason().empty() || s.current_batch() + 1 >= s.batches()) {
    for (auto& i : *s.mutable_instances()) {
      if (i.batch() > s.current_batch() && i.phase() != kPhaseDone) {
        i.set_phase(kPhaseDone);
        i.set_outcome(kNotStarted);
        i.set_detail(s.stopped_reason());
      }
    }
    return Progressing(StepOutcome::Next(kStepReport),
                       s.stopped_reason().empty() ? "every batch done" : s.stopped_reason());
  }
  if (auto wait = WaitForWindow(t, kStepPatch,
                                fmt::format("batch {}/{}", s.current_batch() + 2, s.batches()))) {
    return wait;
  }
  s.set_current_batch(s.current_batch() + 1);
  std::vector<std::string> ids;
  for (const auto& i : s.instances()) {
    if (i.batch() == s.current_batch()) ids.push_back(i.instance_id());
  }
  t.notes.push_back(fmt::format("batch {}/{} starts: {}", s.current_batch() + 1, s.batches(),
                                fmt::join(ids, ", ")));
  return std::nullopt;
}

// Advances the instance as far as it goes without waiting; whether a checkpoint is due.
bool Advance(PatchTick& t, v1::PatchInstanceState& i) {
  for (int step = 0; step < 32; ++step) {
    const Progress p = AdvanceInstance(t, i);
    if (p == Progress::kContinue) continue;
    return p == Progress::kCheckpoint;
  }
  return false;
}

// Advances the instances, up to parallel_instances at once (a batch waits for its slowest
// instance: one instance's calls need not wait for another's). Their actions and notes come out
// in the instances' order, as when they advance one after another. Whether a checkpoint is due.
bool AdvanceAll(PatchTick& t, const std::vector<v1::PatchInstanceState*>& moving) {
  const size_t lanes =
      std::min<size_t>(static_cast<size_t>(std::max(t.plan.parallel_instances, 1)), moving.size());
  bool checkpoint = false;
  if (lanes <= 1) {
    for (auto* i : moving) checkpoint |= Advance(t, *i);
    return checkpoint;
  }
  std::vector<PatchTick> ticks;
  ticks.reserve(moving.size());
  for (size_t k = 0; k < moving.size(); ++k) ticks.push_back(t.Lane());
  std::vector<char> checkpoints(moving.size(), 0);
  RunShared& shared = *t.shared;
  shared.parallel = true;
  size_t next = 0;
  auto work = [&] {
    std::lock_guard<std::mutex> turn(shared.turn);
    while (next < moving.size()) {
      const size_t k = next++;
      checkpoints[k] = Advance(ticks[k], *moving[k]) ? 1 : 0;
    }
  };
  std::vector<std::thread> threads;
  for (size_t k = 1; k < lanes; ++k) threads.emplace_back(work);
  work();
  for (auto& thread : threads) thread.join();
  shared.parallel = false;
  for (size_t k = 0; k < ticks.size(); ++k) {
    t.Absorb(ticks[k]);
    checkpoint |= checkpoints[k] != 0;
  }
  return checkpoint;
}

StepOutcome PatchStep(PatchTick& t) {
  auto& s = t.state;
  // A guard alarm's rollback (guard_rollback.cc) decides first, and ends before the report.
  bool checkpoint = ApplyGuardRollback(t);
  const bool guard = GuardRollbackUnderWay(s);
  if (!guard && (s.current_batch() < 0 || BatchDone(s, s.current_batch()))) {
    if (s.current_batch() >= 0 && s.batch_reported() <= s.current_batch()) {
      s.set_batch_reported(s.current_batch() + 1);
      t.notes.push_back(BatchSummary(s, s.current_batch()));
    }
    if (auto o = NextBatch(t)) return WithTick(std::move(*o), t);
  }
  std::vector<v1::PatchInstanceState*> moving;
  for (auto& i : *s.mutable_instances()) {
    if (i.phase() == kPhaseDone) continue;
    // Instances of other batches move only when the rollback on a guard alarm restores them.
    if (i.batch() != s.current_batch() && !(guard && i.guard_handled())) continue;
    moving.push_back(&i);
  }
  checkpoint |= AdvanceAll(t, moving);
  // Instances back in service (or given up on) give their capacity back to the cell's ledger.
  if (CapacityLedger* ledger = t.ctx.capacity()) {
    for (const auto& i : s.instances()) {
      if (i.phase() == kPhaseDone && ledger->Holds(i.instance_id()))
        ledger->Release(i.instance_id());
    }
  }
  if (checkpoint || (BatchDone(s, s.current_batch()) && !GuardRollbackUnderWay(s))) {
    return WithTick(StepOutcome::Next(kStepPatch), t);
  }
  const int64_t wake = t.next_wake_ms > 0 ? std::max<int64_t>(t.next_wake_ms - t.now_ms, 1)
                                          : t.plan.poll_interval_ms;
  return WithTick(
      StepOutcome::Wait(kStepPatch, wake, {t.wait_signals.begin(), t.wait_signals.end()}), t);
}

}  // namespace

StepOutcome WithTick(StepOutcome o, PatchTick& t) {
  for (auto& a : t.actions) o.actions.push_back(std::move(a));
  t.actions.clear();
  if (!t.notes.empty()) {
    const std::string notes = fmt::format("{}", fmt::join(t.notes, "; "));
    o.reason = o.reason.empty() ? notes : o.reason + "; " + notes;
    o.publish_progress = true;
  }
  return o;
}

void PatchTick::Record(const std::string& resource, const std::string& action,
                       const std::string& status, const std::string& detail, const Error* error) {
  actions.push_back(
      ActionOf(resource, action, status, detail, error == nullptr ? "" : error->request_id));
}

void PatchTick::WakeAt(int64_t at_ms) {
  if (next_wake_ms == 0 || at_ms < next_wake_ms) next_wake_ms = at_ms;
}

PatchTick PatchTick::Lane() const {
  PatchTick lane(ctx, request, plan, state);
  lane.now_ms = now_ms;
  lane.shared = shared;
  return lane;
}

void PatchTick::Absorb(PatchTick& lane) {
  for (auto& a : lane.actions) actions.push_back(std::move(a));
  for (auto& n : lane.notes) notes.push_back(std::move(n));
  wait_signals.insert(lane.wait_signals.begin(), lane.wait_signals.end());
  if (lane.next_wake_ms > 0) WakeAt(lane.next_wake_ms);
  lane.actions.clear();
  lane.notes.clear();
}

Status PatchTick::ShareRead(const std::string& key, const std::function<bool()>& have,
                            const std::function<Status()>& read) {
  if (shared->parallel) {
    shared->read_done.wait(shared->turn, [&] { return shared->reading.count(key) == 0; });
  }
  if (have()) return Ok{};
  shared->reading.insert(key);
  Status s = read();
  shared->reading.erase(key);
  if (shared->parallel) shared->read_done.notify_all();
  return s;
}

std::string Resource(const std::string& instance_id) { return "instance:" + instance_id; }

namespace {

// Runs `run` over the workflow's unpacked state and the request's plan, and packs the state back.
StepOutcome WithState(StepContext& ctx, const v1::PatchConfig& config,
                      const std::function<StepOutcome(PatchTick&)>& run) {
  const v1::PatchRequest& request = ctx.workflow().trigger().patch_request();
  auto plan = ResolvePlan(request, config);
  if (!plan.ok()) return StepOutcome::Finish(v1::Result::FAILED, plan.error().message);
  v1::PatchWorkflowState state;
  if (!ctx.mutable_state()->UnpackTo(&state)) {
    return StepOutcome::Finish(v1::Result::FAILED, "patch workflow has no readable state (type " +
                                                       ctx.mutable_state()->type_url() + ")");
  }
  PatchTick t(ctx, request, *plan, state);
  StepOutcome out = run(t);
  ctx.mutable_state()->PackFrom(state);
  return out;
}

}  // namespace

StepTable PatchSteps(const v1::PatchConfig& config, const v1::CommandsConfig& commands,
                     const std::vector<std::string>& guard_tags) {
  auto def = [&config](const char* name, bool mutates, std::function<StepOutcome(PatchTick&)> run) {
    return StepDef{name, mutates, [&config, run = std::move(run)](StepContext& ctx) {
                     return WithState(ctx, config, run);
                   }};
  };
  return StepTable(
      kHandlerName,
      {def(kStepDiscover, false,
           [&commands, &guard_tags](PatchTick& t) {
             return DiscoverStep(t, commands, guard_tags);
           }),
       def(kStepGate, false, GateStep), def(kStepStartStopped, true, StartStoppedStep),
       // A request over several cells: the parent's steps, and a child's wait for
       // its parent's word (handlers/patch/fanout.h). They change nothing in AWS.
       def(kStepFanOut, false, FanOutStep),
       def(kStepChildren, false, [&commands](PatchTick& t) { return ChildrenStep(t, commands); }),
       def(kStepFanOutWait, false, FanOutWaitStep), def(kStepPatch, true, PatchStep),
       // SNS and CloudWatch only: a freeze does not hold the report.
       def(kStepReport, false, ReportStep),
       // Registers drained instances again: held by a freeze like any mutating step.
       // A parent forwards the cancel to its children and waits for their ends.
       def(kStepCancel, true, [](PatchTick& t) {
         return SpansCells(t.ctx.workflow().trigger()) ? ParentCancel(t) : CancelCampaign(t);
       })});
}

}  // namespace fleetkeeper::handlers::patch
