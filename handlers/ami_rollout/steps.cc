#include "handlers/ami_rollout/steps.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "awsclient/aws_error.h"
#include "awsclient/clients.h"
#include "handlers/ami_rollout/asg_rollout.h"
#include "handlers/ami_rollout/replacement.h"
#include "handlers/ami_rollout/targets.h"
#include "handlers/capacity.h"
#include "handlers/group_guards.h"
#include "handlers/target_health.h"

namespace fleetkeeper::handlers::ami_rollout {

void RolloutTick::Record(const std::string& resource, const std::string& action,
                         const std::string& status, const std::string& detail, const Error* error) {
  actions.push_back(
      ActionOf(resource, action, status, detail, error != nullptr ? error->request_id : ""));
}

void RolloutTick::RecordCall(const std::string& resource, const std::string& action,
                             const std::string& detail, const std::string& request_id) {
  Record(resource, action, kSucceeded, detail);
  actions.back().set_aws_request_id(request_id);
}

void RolloutTick::WakeAt(int64_t at_ms) {
  if (next_wake_ms == 0 || at_ms < next_wake_ms) next_wake_ms = at_ms;
}

std::string VersionedKey(const v1::AmiRolloutState& state) {
  return fmt::format("param:{}:{}", state.parameter(), state.parameter_version());
}

namespace {

constexpr uint32_t kMaxTransientRetries = 20;
// A parameter that keeps moving while we roll it out is rolled out again at most this often by
// one workflow; later versions are left to the next event.
constexpr uint32_t kMaxRestarts = 3;

StepOutcome WithActions(StepOutcome o, RolloutTick& t) {
  o.actions = std::move(t.actions);
  return o;
}

// A read failed: a transient error retries the step (up to a bound), anything else ends the
// workflow FAILED, nothing having been changed by it. Callers reject only what
// aws::ClassifyFailure calls kInput.
StepOutcome ReadFailed(RolloutTick& t, const std::string& step, const std::string& what,
                       const Error& e) {
  if (aws::IsTransientFailure(e) && t.ctx.workflow().attempt() < kMaxTransientRetries) {
    StepOutcome o = StepOutcome::Wait(step, t.config.poll_interval_ms);
    o.retry_same_step = true;
    o.reason = fmt::format("{} will be retried: {}", what, e.ToString());
    return WithActions(o, t);
  }
  t.Record("parameter:" + t.state.parameter(), what, kFailed, e.message, &e);
  return WithActions(
      StepOutcome::Finish(v1::Result::FAILED, fmt::format("{} failed: {}", what, e.ToString())), t);
}

StepOutcome ReadParameter(RolloutTick& t) {
  aws::GetParameterRequest req;
  req.name = t.state.parameter();
  auto p = t.ctx.aws().ssm->GetParameter(req);
  if (!p.ok()) {
    if (aws::IsNotFoundAnswer(p.error())) {
      return StepOutcome::Finish(v1::Result::REJECTED,
                                 "parameter " + t.state.parameter() + " not found: nothing done");
    }
    return ReadFailed(t, kStepReadParameter, "get-parameter", p.error());
  }
  t.state.set_parameter_version(p->version);
  const std::string key = VersionedKey(t.state);
  const std::string value = p->value;
  if (value.rfind("ami-", 0) != 0 || value.find_first_of(" ,\n") != std::string::npos) {
    return StepOutcome::Finish(
        v1::Result::REJECTED,
        fmt::format("{}: value '{}' is not an AMI id: nothing done", key, value.substr(0, 80)));
  }
  aws::DescribeImagesRequest ireq;
  ireq.image_ids = {value};
  auto images = t.ctx.aws().ec2->DescribeImages(ireq);
  if (!images.ok() && aws::ClassifyFailure(images.error()) == aws::FailureKind::kInput) {
    return StepOutcome::Finish(v1::Result::REJECTED,
                               fmt::format("{}: AMI {} cannot be described ({}): nothing done", key,
                                           value, images.error().ToString()));
  }
  if (!images.ok()) return ReadFailed(t, kStepReadParameter, "describe-images", images.error());
  const aws::Image* image = nullptr;
  for (const auto& i : images->images) {
    if (i.id == value) image = &i;
  }
  if (image == nullptr) {
    return StepOutcome::Finish(v1::Result::REJECTED,
                               fmt::format("{}: AMI {} not found: nothing done", key, value));
  }
  if (image->state != "available") {
    return StepOutcome::Finish(
        v1::Result::REJECTED,
        fmt::format(
            "{}: AMI {} is {}, not available{}: nothing done", key, value, image->state,
            image->state_reason_message.empty() ? "" : " (" + image->state_reason_message + ")"));
  }
  t.state.set_image_id(value);
  t.state.set_image_name(image->name);
  StepOutcome o = StepOutcome::Next(kStepPlanTargets);
  o.reason = fmt::format("{}: rolling out {}{}", key, value,
                         image->name.empty() ? "" : " (" + image->name + ")");
  o.publish_progress = true;
  return o;
}

void RecordOutcomes(RolloutTick& t);

StepOutcome DryRunResult(RolloutTick& t) {
  int would = 0;
  for (const auto& a : t.state.asgs()) {
    if (a.phase() == kPhaseDone) continue;
    ++would;
    t.Record("asg:" + a.name(), "instance-refresh", kDryRun, DescribeAsgPlan(t.state, a));
  }
  for (const auto& r : t.state.instances()) {
    if (r.phase() == kPhaseDone) continue;
    ++would;
    t.Record("instance:" + r.instance_id(), r.strategy(), kDryRun,
             DescribeInstancePlan(t.state, t.config, r));
  }
  RecordOutcomes(t);  // targets already decided: current, rejected, skipped
  return WithActions(
      StepOutcome::Finish(v1::Result::DRY_RUN,
                          fmt::format("{} ({}): dry run, {} target(s) would be rolled out, "
                                      "nothing changed",
                                      VersionedKey(t.state), t.state.image_id(), would)),
      t);
}

StepOutcome PlanStep(RolloutTick& t) {
  Status s = PlanTargets(t);
  if (!s.ok()) return ReadFailed(t, kStepPlanTargets, "plan-targets", s.error());
  if (t.ctx.dry_run()) return DryRunResult(t);
  StepOutcome o = StepOutcome::Next(kStepRollOut);
  o.reason = fmt::format("{}: {} ASG(s), {} instance(s), {} skipped", VersionedKey(t.state),
                         t.state.asgs_size(), t.state.instances_size(), t.state.skipped_size());
  o.publish_progress = true;
  return WithActions(o, t);
}

// The targets of `arn` out of service now that are not one of `ours` ("<id> <state>"):
// replacements by other workflows (self-healing included) and failures nobody acts on take from
// the same budget. The group is read once a tick; `ours` differs from candidate to candidate.
Result<std::vector<std::string>> OthersOutOfService(RolloutTick& t, const std::string& arn,
                                                    const std::set<std::string>& ours) {
  auto& cache = t.prefetched.out_of_service;
  auto it = cache.find(arn);
  if (it == cache.end()) {
    auto health = t.ctx.aws().elbv2->DescribeTargetHealth({arn, {}});
    Result<std::map<std::string, std::string>> read = std::map<std::string, std::string>{};
    if (!health.ok()) {
      read = health.error();
    } else {
      for (const auto& d : health->descriptions) {
        if (OutOfService(d)) read->emplace(d.target.id, d.state);
      }
    }
    it = cache.emplace(arn, std::move(read)).first;
  }
  if (!it->second.ok()) return it->second.error();
  std::vector<std::string> out;
  for (const auto& [id, state] : *it->second) {
    if (!ours.count(id)) out.push_back(id + " " + state);
  }
  return out;
}

// Whether `candidate` may start while max_concurrency and each target group's max_unavailable
// allow, counting the replacements under way, those starting in this tick, and the group's other
// targets out of service (DESIGN.md: the budget counts other workflows). When only the others
// hold it back, `why` says so.
bool MayStart(RolloutTick& t, const v1::InstanceRollout& candidate,
              const std::vector<v1::InstanceRollout*>& starting, std::string* why) {
  int active = static_cast<int>(starting.size());
  std::map<std::string, int> unavailable;
  std::set<std::string> ours;
  auto count = [&](const v1::InstanceRollout& r) {
    ours.insert(r.instance_id());
    if (!r.new_instance_id().empty()) ours.insert(r.new_instance_id());
    for (const auto& tg : r.capture().target_groups()) ++unavailable[tg.arn()];
  };
  for (const auto* r : starting) count(*r);
  for (const auto& r : t.state.instances()) {
    if (!ReplacementActive(r)) continue;
    ++active;
    count(r);
  }
  if (active >= t.config.max_concurrency) return false;
  for (const auto& tg : candidate.capture().target_groups()) {
    if (unavailable[tg.arn()] >= t.config.max_unavailable) return false;
  }
  ours.insert(candidate.instance_id());
  for (const auto& tg : candidate.capture().target_groups()) {
    const auto others = OthersOutOfService(t, tg.arn(), ours);
    if (!others.ok()) {
      *why = fmt::format("cannot read the health of target group {}: {}", tg.arn(),
                         others.error().ToString());
      return false;
    }
    if (unavailable[tg.arn()] + static_cast<int>(others->size()) >= t.config.max_unavailable) {
      *why = fmt::format(
          "target group {} has {} other target(s) out of service ({}); "
          "max_unavailable is {}",
          tg.arn(), others->size(), fmt::join(*others, ", "), t.config.max_unavailable);
      return false;
    }
  }
  return true;
}

// A replacement held back by targets out of service elsewhere waits for them up to step_timeout,
// then fails untouched, saying which targets held it. True when it failed.
bool BudgetHeldTooLong(RolloutTick& t, v1::InstanceRollout& r, const std::string& held) {
  if (r.budget_blocked_since_ms() == 0) {
    r.set_budget_blocked_since_ms(t.now_ms);
    t.notes.push_back(fmt::format("instance {} waits: {}", r.instance_id(), held));
  }
  r.set_detail("waiting: " + held);
  if (t.now_ms - r.budget_blocked_since_ms() < t.config.step_timeout_ms) return false;
  r.set_outcome(kFailed);
  r.set_detail(fmt::format("not replaced: waited {}s for the blast-radius budget: {}",
                           t.config.step_timeout_ms / 1000, held));
  if (!r.reverses().empty()) SettleReversal(t, r, kFailed, r.detail());
  r.set_phase(kPhaseDone);
  r.set_phase_started_ms(t.now_ms);
  return true;
}

}  // namespace

// Reserves the candidate in the cell's ledger, with every one of its target groups read now:
// other workflows' replacements, drains and reboots take from the same budget. "" when granted
// (the capture phase checkpoints it before the first call that takes the instance down), else
// what holds it back.
std::string ReserveInLedger(RolloutTick& t, const v1::InstanceRollout& r) {
  CapacityLedger* ledger = t.ctx.capacity();
  if (ledger == nullptr || r.capture().target_groups().empty()) return "";
  std::vector<std::string> arns;
  for (const auto& tg : r.capture().target_groups()) arns.push_back(tg.arn());
  auto claim = ClaimInstance(t.ctx.aws(), r.instance_id(), arns, "",
                             std::to_string(t.config.max_unavailable));
  if (!claim.ok()) return "cannot read its target groups: " + claim.error().ToString();
  CapacityDecision d = ledger->Reserve(*claim);
  return d.granted ? "" : "blast-radius ledger: " + d.reason;
}

namespace {

// A replacement's new instance stands for the old one's capacity (its warm-up is not counted
// twice); a replacement that is over gives its capacity back.
void FollowInLedger(RolloutTick& t) {
  CapacityLedger* ledger = t.ctx.capacity();
  if (ledger == nullptr) return;
  for (const auto& r : t.state.instances()) {
    if (!ledger->Holds(r.instance_id())) continue;
    if (!ReplacementActive(r)) {
      ledger->Release(r.instance_id());
      continue;
    }
    if (r.new_instance_id().empty() || r.new_instance_id() == r.instance_id()) continue;
    bool aliased = false;
    for (const auto& held : t.ctx.workflow().reservations()) {
      if (held.unit() != r.instance_id()) continue;
      for (const auto& a : held.aliases()) aliased = aliased || a == r.new_instance_id();
    }
    if (aliased) continue;
    v1::CapacityClaim claim;
    claim.set_unit(r.instance_id());
    claim.add_aliases(r.new_instance_id());
    for (const auto& held : t.ctx.workflow().reservations()) {
      if (held.unit() != r.instance_id()) continue;
      auto* g = claim.add_groups();
      g->set_group(held.group());
      g->set_default_max_unavailable(held.max_unavailable());
    }
    ledger->Reserve(claim);  // a unit this workflow holds is always granted again
  }
}

template <typename Target, typename Advance>
Progress Drive(RolloutTick& t, Target& target, Advance advance) {
  // Bounded: a phase machine that keeps saying "continue" is a bug, not a reason to spin.
  for (int i = 0; i < 64; ++i) {
    Progress p = advance(t, target);
    if (p != Progress::kContinue) return p;
  }
  return Progress::kCheckpoint;
}

StepOutcome RollOut(RolloutTick& t) {
  // The tags (guard alarms, blackout windows) of the target groups captured so far: each group
  // read once per workflow (handlers/group_guards.h). A capture ends its tick with a checkpoint
  // before the instance's first mutating call, so the groups are read here, at the start of the
  // next tick; when that read recorded new groups, the tick ends with a checkpoint at once, so
  // that the engine's guards decide with those tags before any call on the groups is made.
  if (!t.config.group_tag_keys.empty()) {
    std::vector<std::string> arns;
    for (const auto& r : t.state.instances()) {
      for (const auto& tg : r.capture().target_groups()) arns.push_back(tg.arn());
    }
    auto* recorded = t.ctx.mutable_tagged_guards();
    const int before = recorded == nullptr ? 0 : recorded->size();
    if (Status s = RecordTargetGroupGuards(t.ctx, t.config.group_tag_keys, arns); !s.ok()) {
      return ReadFailed(t, kStepRollOut, "describe-tags", s.error());
    }
    if (recorded != nullptr && recorded->size() > before) {
      return WithActions(StepOutcome::Next(kStepRollOut), t);
    }
  }
  bool checkpoint = false;
  bool waiting = false;
  bool asg_waiting = false;
  auto account = [&](Progress p) {
    if (p == Progress::kCheckpoint) checkpoint = true;
    if (p == Progress::kWait) waiting = true;
  };
  // A guard alarm's rollback (guard_rollback.cc) decides first what each target gets.
  if (ApplyGuardRollback(t)) checkpoint = true;
  for (auto& a : *t.state.mutable_asgs()) {
    account(RollBackAsgOnGuardAlarm(t, a));
    Progress p = Drive(t, a, AdvanceAsg);
    account(p);
    if (p == Progress::kWait) asg_waiting = true;
  }

  // Replacements under way: those whose turn it is act, with their reads and state changes
  // coalesced into one call per kind; the others keep waiting for their next look.
  std::vector<v1::InstanceRollout*> due;
  for (auto& r : *t.state.mutable_instances()) {
    if (r.phase() == kPhasePending || r.phase() == kPhaseDone) continue;
    if (ReplacementDue(t, r)) {
      due.push_back(&r);
      continue;
    }
    waiting = true;
    t.WakeAt(r.next_poll_ms());
    t.wait_signals.insert("instance:" + r.instance_id());
    if (!r.new_instance_id().empty()) t.wait_signals.insert("instance:" + r.new_instance_id());
  }
  PrefetchReplacements(t, due);
  for (auto* r : due) {
    Progress p = Drive(t, *r, AdvanceInstance);
    account(p);
    if (p == Progress::kWait && r->next_poll_ms() > 0) t.WakeAt(r->next_poll_ms());
  }

  // Slots freed above are refilled in the same tick, not at the next look.
  std::vector<v1::InstanceRollout*> starting;
  for (auto& r : *t.state.mutable_instances()) {
    if (r.phase() != kPhasePending) continue;
    std::string held;
    if (!MayStart(t, r, starting, &held)) {
      if (held.empty()) {
        r.set_budget_blocked_since_ms(0);  // its turn comes with this rollout's own progress
      } else if (BudgetHeldTooLong(t, r, held)) {
        checkpoint = true;
        continue;
      }
      waiting = true;
      continue;
    }
    if (std::string refused = ReserveInLedger(t, r); !refused.empty()) {
      if (BudgetHeldTooLong(t, r, refused)) {
        checkpoint = true;
        continue;
      }
      waiting = true;
      continue;
    }
    r.set_budget_blocked_since_ms(0);
    starting.push_back(&r);
  }
  StartReplacements(t, starting);
  for (auto* r : starting) account(Drive(t, *r, AdvanceInstance));
  FollowInLedger(t);

  StepOutcome o;
  if (checkpoint) {
    o = StepOutcome::Next(kStepRollOut);
  } else if (waiting) {
    // Replacements look again at their next grid point (or at a state-change event); a group's
    // refresh is followed every poll interval; keep_old_for sleeps until its time.
    int64_t wait_ms = t.config.poll_interval_ms;
    if (t.next_wake_ms > 0) {
      wait_ms =
          asg_waiting ? std::min(wait_ms, t.next_wake_ms - t.now_ms) : t.next_wake_ms - t.now_ms;
    }
    o = StepOutcome::Wait(kStepRollOut, std::max<int64_t>(wait_ms, 10),
                          {t.wait_signals.begin(), t.wait_signals.end()});
  } else {
    o = StepOutcome::Next(kStepReport);
  }
  if (!t.notes.empty()) {
    o.reason = fmt::format("{}", fmt::join(t.notes, "; "));
    o.publish_progress = true;
  }
  return WithActions(o, t);
}

void RecordOutcomes(RolloutTick& t) {
  const std::string key = VersionedKey(t.state);
  for (const auto& a : t.state.asgs()) {
    if (a.phase() != kPhaseDone) continue;
    t.Record("asg:" + a.name(), "instance-refresh", a.outcome(),
             fmt::format("{}: {}", key, a.detail()));
  }
  for (const auto& r : t.state.instances()) {
    if (r.phase() != kPhaseDone) continue;
    // A reversal on a guard alarm reports under the instance the rollout replaced.
    t.Record("instance:" + (r.reverses().empty() ? r.instance_id() : r.reverses()), r.strategy(),
             r.outcome(), fmt::format("{}: {}", key, r.detail()));
  }
  for (const auto& s : t.state.skipped()) {
    t.Record(s.resource(), "skip", kSkipped, fmt::format("{}: {}", key, s.reason()));
  }
}

void PutMetrics(RolloutTick& t, const std::map<std::string, int>& counts) {
  if (t.config.metrics_namespace.empty() || t.ctx.dry_run()) return;
  aws::PutMetricDataRequest req;
  req.metric_namespace = t.config.metrics_namespace;
  auto datum = [&](const std::string& name, double value, const std::string& unit) {
    aws::MetricDatum d;
    d.metric_name = name;
    d.dimensions = {{"Parameter", t.state.parameter()}};
    d.value = value;
    d.unit = unit;
    d.timestamp_ms = t.now_ms;
    req.metrics.push_back(d);
  };
  auto count = [&](const char* k) {
    auto it = counts.find(k);
    return it == counts.end() ? 0 : it->second;
  };
  datum("TargetsSucceeded", count(kSucceeded), "Count");
  datum("TargetsFailed", count(kFailed) + count(kRollbackFailed), "Count");
  datum("TargetsRolledBack", count(kRolledBack), "Count");
  datum("TargetsRejected", count(kRejected), "Count");
  datum("TargetsSkipped", count(kSkipped) + count(kCurrent), "Count");
  if (t.state.started_ms() > 0) {
    datum("RolloutDuration", static_cast<double>(t.now_ms - t.state.started_ms()) / 1000.0,
          "Seconds");
  }
  Status s = t.ctx.aws().cloudwatch->PutMetricData(req);
  if (!s.ok()) {
    t.Record("cloudwatch:" + t.config.metrics_namespace, "put-metric-data", kFailed,
             s.error().message, &s.error());
  }
}

StepOutcome Report(RolloutTick& t) {
  RecordOutcomes(t);
  std::map<std::string, int> counts;
  for (const auto& a : t.state.asgs()) ++counts[a.outcome()];
  for (const auto& r : t.state.instances()) ++counts[r.outcome()];
  counts[kSkipped] += t.state.skipped_size();
  PutMetrics(t, counts);

  const int ok = counts[kSucceeded] + counts[kCurrent];
  const int rejected = counts[kRejected];
  const int bad = counts[kFailed] + counts[kRolledBack] + counts[kRollbackFailed] + rejected;
  v1::Result::Status status = v1::Result::SUCCEEDED;
  if (ok == 0 && bad == 0) {
    status = v1::Result::SKIPPED;
  } else if (bad > 0 && ok > 0) {
    status = v1::Result::PARTIAL;
  } else if (bad > 0) {
    status = bad == rejected ? v1::Result::REJECTED : v1::Result::FAILED;
  }
  std::vector<std::string> parts;
  for (const auto& [outcome, n] : counts) {
    if (n > 0) parts.push_back(fmt::format("{} {}", n, outcome));
  }
  std::string reason;
  if (ok == 0 && bad == 0 && t.state.skipped_size() == 0) {
    reason = fmt::format("{} ({}): no Auto Scaling group or instance is bound to the parameter",
                         VersionedKey(t.state), t.state.image_id());
  } else {
    reason = fmt::format("{} ({}): {}", VersionedKey(t.state), t.state.image_id(),
                         fmt::join(parts, ", "));
  }
  if (t.state.superseded_size() > 0) {
    reason += fmt::format(" (after {})", fmt::join(t.state.superseded(), ", "));
  }
  // The result schema has no rolled-back status: FAILED, the reason naming the alarm.
  if (!t.state.guard_rollback().empty()) {
    status = v1::Result::FAILED;
    reason = t.state.guard_rollback() + ": " + reason;
  }
  t.state.set_reported(true);
  t.state.set_report_status(status);
  t.state.set_report_reason(reason);
  return WithActions(StepOutcome::Next(kStepCheckVersion), t);
}

// The last step: the parameter is read once more after the report, so that a put made during the
// rollout is rolled out too. Its event, a duplicate of this workflow's key, is held as a signal
// until a read that began after it (the runtime runs this step again if one arrives meanwhile).
StepOutcome CheckVersion(RolloutTick& t) {
  // A checkpoint written before the report came first reports now, then comes back.
  if (!t.state.reported()) return StepOutcome::Next(kStepReport);
  const StepOutcome finish = StepOutcome::Finish(t.state.report_status(), t.state.report_reason());
  // A rollout rolled back on a guard alarm does not go on to a newer version.
  if (!t.state.guard_rollback().empty()) return finish;
  auto p = t.ctx.aws().ssm->GetParameter({t.state.parameter(), false});
  if (!p.ok() || p->version <= t.state.parameter_version()) return finish;
  if (t.state.restarts() >= kMaxRestarts) {
    return StepOutcome::Finish(
        t.state.report_status(),
        fmt::format("{}; the parameter is now at version {}, not rolled out by this workflow "
                    "after {} newer versions: put it again to roll it out",
                    t.state.report_reason(), p->version, kMaxRestarts));
  }
  t.Record("parameter:" + t.state.parameter(), "restart", kSucceeded,
           fmt::format("{} was rolled out; the parameter is now at version {}: rolling that "
                       "out too",
                       VersionedKey(t.state), p->version));
  t.state.add_superseded(VersionedKey(t.state));
  t.state.set_restarts(t.state.restarts() + 1);
  t.state.clear_asgs();
  t.state.clear_instances();
  t.state.clear_skipped();
  t.state.set_reported(false);
  t.state.clear_report_status();
  t.state.clear_report_reason();
  StepOutcome o = StepOutcome::Next(kStepReadParameter);
  o.reason = fmt::format("parameter {} moved to version {} during the rollout", t.state.parameter(),
                         p->version);
  o.publish_progress = true;
  return WithActions(o, t);
}

}  // namespace

namespace {

// A step over the AmiRolloutState packed in the context: unpacked for the step, packed back after.
std::function<StepOutcome(StepContext&)> OverState(const RolloutConfig& config,
                                                   const ReadsOfCell& reads,
                                                   StepOutcome (*step)(RolloutTick&)) {
  return [&config, reads, step](StepContext& ctx) {
    v1::AmiRolloutState state;
    if (!ctx.mutable_state()->UnpackTo(&state)) {
      return StepOutcome::Finish(
          v1::Result::FAILED,
          "the workflow state is not an AmiRolloutState: " + ctx.mutable_state()->type_url());
    }
    RolloutTick t(ctx, config, state, reads(*ctx.aws().ec2));
    StepOutcome o = step(t);
    ctx.mutable_state()->PackFrom(state);
    return o;
  };
}

}  // namespace

StepTable RolloutSteps(const RolloutConfig& config, ReadsOfCell reads) {
  // Only roll-out changes AWS; the rest read (report's PutMetricData changes no fleet resource).
  return StepTable("ami_rollout",
                   {
                       {kStepReadParameter, false, OverState(config, reads, ReadParameter)},
                       {kStepPlanTargets, false, OverState(config, reads, PlanStep)},
                       {kStepRollOut, true, OverState(config, reads, RollOut)},
                       {kStepCheckVersion, false, OverState(config, reads, CheckVersion)},
                       {kStepReport, false, OverState(config, reads, Report)},
                   });
}

}  // namespace fleetkeeper::handlers::ami_rollout
