#include "handlers/patch/report.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>

#include "awsclient/clients.h"
#include "handlers/patch/instance.h"
#include "handlers/report.h"

namespace fleetkeeper::handlers::patch {
namespace {

std::string Counts(const v1::PatchWorkflowState& s) {
  std::map<std::string, int> by;
  for (const auto& i : s.instances()) ++by[i.outcome().empty() ? "unfinished" : i.outcome()];
  std::vector<std::string> parts;
  for (const auto& [outcome, n] : by) parts.push_back(fmt::format("{} {}", n, outcome));
  return fmt::format("{}", fmt::join(parts, ", "));
}

// The campaign's CloudWatch metrics and, when the request names a topic, its SNS summary (the
// reason, then a line per instance). Best effort: a failed publish is an action in the result,
// it does not change the outcome. Nothing in a dry run. A fan-out's child publishes its cell's
// metrics but no summary: its parent sends the request's one summary, over every cell
// (fanout.cc).
void PublishReport(PatchTick& t, v1::Result::Status status, const std::string& reason) {
  if (t.ctx.dry_run()) return;
  const auto& s = t.state;
  int patched = 0, failed = 0;
  int64_t total_ms = 0;
  for (const auto& i : s.instances()) {
    if (i.outcome() == kPatched) {
      ++patched;
      total_ms += i.finished_ms() - i.started_ms();
    }
    if (i.outcome() == kFailed) ++failed;
  }
  aws::PutMetricDataRequest m;
  m.metric_namespace = t.plan.metrics_namespace;
  const std::vector<aws::MetricDimension> dims = {{"RequestId", t.request.request_id()}};
  m.metrics.push_back({"InstancesPatched", dims, static_cast<double>(patched), "Count", 0, {}});
  m.metrics.push_back({"PatchFailures", dims, static_cast<double>(failed), "Count", 0, {}});
  m.metrics.push_back({"PatchDuration",
                       dims,
                       patched > 0 ? static_cast<double>(total_ms) / 1000.0 / patched : 0.0,
                       "Seconds",
                       0,
                       {}});
  t.actions.push_back(
      PutMetrics(*t.ctx.aws().cloudwatch, m,
                 fmt::format("InstancesPatched {}, PatchFailures {}", patched, failed)));
  if (t.request.notify_topic_arn().empty() || t.ctx.workflow().trigger().has_parent()) return;
  std::vector<std::string> lines = {reason};
  for (const auto& i : s.instances()) {
    lines.push_back(fmt::format("{} {}: {}", i.instance_id(), i.outcome(), InstanceSummary(i)));
  }
  t.actions.push_back(
      PublishSummary(*t.ctx.aws().sns, t.request.notify_topic_arn(),
                     fmt::format("fleetkeeper patch {}", v1::Result::Status_Name(status)), lines));
}

StepOutcome FinishCampaign(PatchTick& t, v1::Result::Status status, std::string reason) {
  StepOutcome o = StepOutcome::Finish(status, std::move(reason));
  for (auto& a : t.actions) o.actions.push_back(std::move(a));
  t.actions.clear();
  return o;
}

}  // namespace

std::string InstanceSummary(const v1::PatchInstanceState& i) {
  std::vector<std::string> parts;
  if (!i.detail().empty() && i.outcome() != kPatched) parts.push_back(i.detail());
  if (i.has_before() || i.has_after()) {
    parts.push_back(fmt::format("missing {} -> {}",
                                i.has_before() ? std::to_string(i.missing_before()) : "?",
                                i.has_after() ? std::to_string(i.missing_after()) : "?"));
  }
  if (!i.command_id().empty()) {
    parts.push_back(fmt::format("command {} {}", i.command_id(), i.command_status()));
  }
  if (i.outcome() == kPatched || i.rebooted()) {
    parts.push_back(i.rebooted() ? "rebooted" : "not rebooted");
  }
  if (!i.baseline().empty()) parts.push_back("baseline: " + i.baseline());
  if (!i.backup_image_id().empty()) parts.push_back("backup " + i.backup_image_id());
  if (!i.rollback().empty()) parts.push_back(i.rollback());
  if (i.started_ms() > 0 && i.finished_ms() >= i.started_ms()) {
    parts.push_back(fmt::format("{}s", (i.finished_ms() - i.started_ms()) / 1000));
  }
  return fmt::format("{}", fmt::join(parts, "; "));
}

v1::Result::Status CampaignStatus(const v1::PatchWorkflowState& s) {
  // The result schema has no rolled-back status: FAILED, the reason naming the alarm.
  if (!s.guard_rollback().empty()) return v1::Result::FAILED;
  int patched = 0, unpatched = 0;
  for (const auto& i : s.instances()) {
    if (i.outcome() == kPatched) ++patched;
    if (i.outcome() == kFailed || i.outcome() == kNotStarted) ++unpatched;
  }
  if (unpatched == 0) return v1::Result::SUCCEEDED;
  return patched > 0 ? v1::Result::PARTIAL : v1::Result::FAILED;
}

StepOutcome ReportStep(PatchTick& t) {
  const auto& s = t.state;
  for (const auto& i : s.instances()) {
    t.Record(Resource(i.instance_id()), "patch", i.outcome(), InstanceSummary(i));
  }
  const v1::Result::Status status = CampaignStatus(s);
  std::string reason = fmt::format("patch {}: {} of {} instance(s): {}", t.request.request_id(),
                                   v1::Result::Status_Name(status), s.instances_size(), Counts(s));
  if (!s.guard_rollback().empty()) {
    // docs/safety.md, "The result": a rollback on a guard alarm leads with the alarm (its stop
    // reason says the same).
    reason = s.guard_rollback() + ": " + reason;
  } else if (!s.stopped_reason().empty()) {
    reason += "; " + s.stopped_reason();
  }
  PublishReport(t, status, reason);
  return FinishCampaign(t, status, std::move(reason));
}

StepOutcome CancelCampaign(PatchTick& t) {
  const std::string& why = t.ctx.workflow().cancel_reason();
  for (auto& i : *t.state.mutable_instances()) {
    if (i.phase() == kPhaseDone) continue;
    std::string detail = fmt::format("cancelled ({}) ", why);
    if (i.phase() == kPhasePending || i.phase() == kPhaseStart) {
      detail += "before it started";
    } else {
      detail += "during " + i.phase();
      if (!i.command_id().empty() && i.command_status() != "Success") {
        detail += fmt::format(", command {} left running", i.command_id());
      }
    }
    if (i.deregistered()) {
      // RegisterTargets of a registered target changes nothing: safe to send again after a crash.
      if (Status s = ChangeMembership(t, i, true); !s.ok()) {
        if (s.error().retriable && t.ctx.workflow().attempt() + 1 < 5) {
          StepOutcome o = StepOutcome::Wait(kStepCancel, t.plan.poll_interval_ms);
          o.retry_same_step = true;
          o.reason = "cancel: registering " + i.instance_id() + " again: " + s.error().ToString();
          o.actions = std::move(t.actions);
          return o;
        }
        detail += "; NOT registered again: " + s.error().ToString();
      } else {
        i.set_deregistered(false);
        detail += "; registered in its target groups again";
      }
    }
    if (i.outcome().empty()) {
      i.set_outcome(i.phase() == kPhasePending || i.phase() == kPhaseStart ? kNotStarted
                                                                           : kCancelled);
      i.set_detail(detail);
    } else {
      i.set_detail(i.detail() + "; " + detail);
    }
    if (i.finished_ms() == 0 && i.started_ms() > 0) i.set_finished_ms(t.now_ms);
    i.set_phase(kPhaseDone);
  }
  for (const auto& i : t.state.instances()) {
    t.Record(Resource(i.instance_id()), "patch", i.outcome(), InstanceSummary(i));
  }
  // The same report as a campaign that ran to its end: what was patched before the cancel.
  PublishReport(t, v1::Result::CANCELLED,
                fmt::format("patch {}: CANCELLED ({}) with {} instance(s): {}",
                            t.request.request_id(), why.empty() ? "no reason given" : why,
                            t.state.instances_size(), Counts(t.state)));
  return FinishCampaign(t, v1::Result::CANCELLED, why.empty() ? "cancelled" : why);
}

}  // namespace fleetkeeper::handlers::patch
