#include "handlers/patch/fanout.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <string_view>
#include <vector>

#include "awsclient/clients.h"
#include "handlers/authorization.h"
#include "handlers/event.h"
#include "handlers/fanout.h"
#include "handlers/patch/config.h"
#include "handlers/patch/steps.h"
#include "handlers/report.h"

namespace fleetkeeper::handlers::patch {
namespace {

// A parent or a child waiting for the other gives up this long before its runtime deadline, so
// that it ends with what it knows rather than a bare "deadline".
constexpr int64_t kDeadlineMarginMs = 60'000;

std::string TargetCell(const v1::PatchTarget& target, const v1::Event& request) {
  return fmt::format("{}/{}", target.account().empty() ? request.account() : target.account(),
                     target.region().empty() ? request.region() : target.region());
}

std::pair<std::string, std::string> SplitCell(const std::string& cell) {
  const size_t slash = cell.find('/');
  return {cell.substr(0, slash), cell.substr(slash + 1)};
}

// When a workflow waiting for the other side of its fan-out gives up; 0: never (no deadline).
int64_t GiveUpAt(const v1::WorkflowCheckpoint& wf) {
  return wf.deadline_ms() > 0 ? wf.deadline_ms() - kDeadlineMarginMs : 0;
}

// Waits for the other side's word (and, woken by one that comes while a step runs, an approval:
// the parent forwards it, a child keeps it for its gate).
StepOutcome WaitForFanOut(PatchTick& t, const char* step) {
  const std::string& id = t.ctx.workflow().workflow_id();
  const int64_t give_up = GiveUpAt(t.ctx.workflow());
  return StepOutcome::Wait(step, give_up > 0 ? std::max<int64_t>(give_up - t.now_ms, 1) : 0,
                           {"fan-out:" + id, "approval:" + id});
}

bool GaveUp(const PatchTick& t) {
  const int64_t give_up = GiveUpAt(t.ctx.workflow());
  return give_up > 0 && t.now_ms >= give_up;
}

v1::PatchChild* ChildNamed(v1::PatchWorkflowState& s, const std::string& workflow_id) {
  for (auto& c : *s.mutable_children()) {
    if (c.workflow_id() == workflow_id) return &c;
  }
  return nullptr;
}

bool AllFinished(const v1::PatchWorkflowState& s) {
  for (const auto& c : s.children()) {
    if (!c.finished()) return false;
  }
  return true;
}

// The children's reports among the step's signals, into the state. A finished child's per-instance
// reports (its `patch` actions) become the parent's, with the cell. Approvals go to `approvals`.
void TakeReports(PatchTick& t, std::vector<const v1::Event*>* approvals) {
  for (const auto& e : t.ctx.signals()) {
    if (e.has_approval()) {
      if (approvals != nullptr) approvals->push_back(&e);
      continue;
    }
    if (!e.has_fan_out()) continue;
    const v1::FanOut& f = e.fan_out();
    v1::PatchChild* c = ChildNamed(t.state, f.child_workflow_id());
    if (c == nullptr || c->finished()) continue;
    if (f.kind() == kFanOutDiscovered) {
      c->set_discovered(true);
      c->set_count(f.discovered());
      continue;
    }
    if (f.kind() != kFanOutResult) continue;
    v1::Result r;
    if (!f.result().UnpackTo(&r)) continue;
    c->set_finished(true);
    c->set_status(r.status());
    c->set_reason(r.reason());
    for (const auto& a : r.actions()) {
      if (a.action() != "patch") continue;
      v1::Action mine = a;
      mine.set_detail(fmt::format("{}: {}", c->cell(), a.detail()));
      t.actions.push_back(std::move(mine));
    }
    t.Record("cell:" + c->cell(), "child", v1::Result::Status_Name(r.status()),
             fmt::format("workflow {}: {}", c->workflow_id(), r.reason()));
    t.notes.push_back(
        fmt::format("cell {} ended {}", c->cell(), v1::Result::Status_Name(r.status())));
  }
}

// Once every child has counted its instances (or ended): the count over all of them against
// commands.max_targets, and the word to every child still running, go or stop. Once.
void Decide(PatchTick& t, const v1::CommandsConfig& commands, std::vector<v1::Event>* emit) {
  auto& s = t.state;
  int total = 0;
  std::vector<std::string> counts;
  std::string refused;
  for (const auto& c : s.children()) {
    if (c.told()) return;  // decided already
    if (!c.discovered() && !c.finished()) return;
    if (c.discovered()) {
      total += c.count();
      counts.push_back(fmt::format("{} {}", c.cell(), c.count()));
    } else if (c.status() == v1::Result::REJECTED && refused.empty()) {
      refused = fmt::format("the child in {} was REJECTED ({}); nothing was changed", c.cell(),
                            c.reason());
    }
  }
  std::string why =
      refused.empty() ? AuthorizeTargetCount(commands, static_cast<size_t>(total)) : refused;
  s.set_fanout_total(total);
  if (!why.empty()) {
    s.set_fanout_stop(fmt::format("over every cell ({}): {}", fmt::join(counts, ", "), why));
  }
  const bool go = s.fanout_stop().empty();
  bool told = false;
  for (auto& c : *s.mutable_children()) {
    if (c.finished()) continue;
    c.set_told(true);
    told = true;
    emit->push_back(WordToChild(t.ctx.workflow(), c.workflow_id(), c.cell(),
                                go ? kFanOutGo : kFanOutStop, s.fanout_stop()));
  }
  if (!told) return;  // every child ended before it could be told
  t.notes.push_back(go ? fmt::format("every cell counted, {} instance(s) ({}): the children go on",
                                     total, fmt::join(counts, ", "))
                       : s.fanout_stop());
}

// An approval the parent has (the runtime checked who gave it), to every child still running.
void ForwardApproval(PatchTick& t, const v1::Event& approval, std::vector<v1::Event>* emit) {
  int n = 0;
  for (const auto& c : t.state.children()) {
    if (c.finished()) continue;
    const auto [account, region] = SplitCell(c.cell());
    v1::Event e =
        WorkItemFrom(t.ctx.workflow(), "fan-out:approval:" + approval.id() + ":" + c.workflow_id(),
                     account, region);
    *e.mutable_approval() = approval.approval();
    e.mutable_approval()->set_workflow_id(c.workflow_id());
    e.mutable_approval()->clear_request_id();
    e.mutable_approval()->set_account(account);
    e.mutable_approval()->set_region(region);
    emit->push_back(std::move(e));
    ++n;
  }
  t.Record("request:" + t.request.request_id(), "approval", "forwarded",
           fmt::format("by {} to {} child workflow(s)", approval.approval().approver(), n));
}

std::string ParentReason(const PatchTick& t, v1::Result::Status status) {
  std::vector<std::string> parts;
  for (const auto& c : t.state.children()) {
    parts.push_back(fmt::format(
        "{} {}", c.cell(),
        c.finished() ? v1::Result::Status_Name(static_cast<v1::Result::Status>(c.status()))
                     : "no result"));
  }
  std::string reason =
      fmt::format("patch {}: {} over {} cell(s): {}", t.request.request_id(),
                  v1::Result::Status_Name(status), t.state.children_size(), fmt::join(parts, ", "));
  if (!t.state.fanout_stop().empty()) reason += "; " + t.state.fanout_stop();
  return reason;
}

// The request's one SNS summary, when it names a topic (its children send none): the parent's
// reason, then a line per instance of every cell, from the children's reports. Best effort, as
// a single cell's (report.cc); nothing in a dry run.
void PublishParentSummary(PatchTick& t, v1::Result::Status status, const std::string& reason) {
  if (t.ctx.dry_run() || t.request.notify_topic_arn().empty()) return;
  std::vector<std::string> lines = {reason};
  auto line = [&](const v1::Action& a) {
    if (a.action() != "patch") return;
    constexpr std::string_view kInstance = "instance:";
    std::string_view id = a.resource();
    if (id.substr(0, kInstance.size()) == kInstance) id.remove_prefix(kInstance.size());
    lines.push_back(fmt::format("{} {}: {}", id, a.status(), a.detail()));
  };
  for (const auto& a : t.ctx.workflow().actions()) line(a);
  for (const auto& a : t.actions) line(a);
  t.actions.push_back(
      PublishSummary(*t.ctx.aws().sns, t.request.notify_topic_arn(),
                     fmt::format("fleetkeeper patch {}", v1::Result::Status_Name(status)), lines));
}

// The parent's end: its children's, or what it knows at its deadline.
StepOutcome EndParent(PatchTick& t, std::optional<v1::Result::Status> status) {
  for (const auto& c : t.state.children()) {
    if (c.finished()) continue;
    t.Record(
        "cell:" + c.cell(), "child", "no-result",
        fmt::format("workflow {}: no final result before the parent's deadline", c.workflow_id()));
  }
  const v1::Result::Status st = status ? *status : ParentStatus(t.state);
  std::string reason = ParentReason(t, st);
  if (st == v1::Result::CANCELLED) {
    const std::string& why = t.ctx.workflow().cancel_reason();
    reason = (why.empty() ? "cancelled" : why) + "; " + reason;
  }
  PublishParentSummary(t, st, reason);
  StepOutcome o = StepOutcome::Finish(st, std::move(reason));
  t.notes.clear();  // a final result says it all
  return WithTick(std::move(o), t);
}

}  // namespace

std::set<std::string> TargetCells(const v1::Event& request) {
  std::set<std::string> cells;
  for (const auto& t : request.patch_request().targets()) cells.insert(TargetCell(t, request));
  return cells;
}

bool SpansCells(const v1::Event& request) {
  const std::set<std::string> cells = TargetCells(request);
  return cells.size() > 1 || (cells.size() == 1 && *cells.begin() != CellOf(request));
}

std::string ChildWorkflowId(const std::string& parent_workflow_id, const std::string& cell) {
  const auto [account, region] = SplitCell(cell);
  return WorkflowId(account, region, kWorkflowKind, "fan-out:" + parent_workflow_id + ":" + cell);
}

v1::Event ChildRequest(const v1::WorkflowCheckpoint& parent, const std::string& cell) {
  const v1::Event& trigger = parent.trigger();
  const auto [account, region] = SplitCell(cell);
  v1::Event e =
      WorkItemFrom(parent, "fan-out:request:" + parent.workflow_id() + ":" + cell, account, region);
  e.set_dedup_key("fan-out:" + parent.workflow_id() + ":" + cell);
  v1::PatchRequest* r = e.mutable_patch_request();
  *r = trigger.patch_request();
  r->set_account(account);
  r->set_region(region);
  r->clear_targets();
  for (const auto& t : trigger.patch_request().targets()) {
    if (TargetCell(t, trigger) != cell) continue;
    v1::PatchTarget* mine = r->add_targets();
    *mine = t;
    mine->set_account(account);
    mine->set_region(region);
  }
  // Admitted dry (the worker's setting or the request's), the children are dry too.
  if (parent.dry_run()) r->set_dry_run(true);
  v1::ParentLink* link = e.mutable_parent();
  link->set_workflow_id(parent.workflow_id());
  link->set_account(trigger.account());
  link->set_region(trigger.region());
  return e;
}

v1::Result::Status ParentStatus(const v1::PatchWorkflowState& s) {
  if (!s.fanout_stop().empty()) return v1::Result::REJECTED;
  std::set<int> statuses;
  bool patched = false;
  for (const auto& c : s.children()) {
    const int st = c.finished() ? c.status() : v1::Result::FAILED;
    if (st == v1::Result::SKIPPED) continue;
    statuses.insert(st);
    patched |= st == v1::Result::SUCCEEDED || st == v1::Result::PARTIAL;
  }
  if (statuses.empty()) return v1::Result::SKIPPED;
  if (statuses.size() == 1) return static_cast<v1::Result::Status>(*statuses.begin());
  return patched ? v1::Result::PARTIAL : v1::Result::FAILED;
}

StepOutcome FanOutStep(PatchTick& t) {
  const v1::WorkflowCheckpoint& wf = t.ctx.workflow();
  t.state.clear_children();
  std::vector<v1::Event> emit;
  std::vector<std::string> started;
  for (const auto& cell : TargetCells(wf.trigger())) {
    v1::PatchChild* c = t.state.add_children();
    c->set_cell(cell);
    c->set_workflow_id(ChildWorkflowId(wf.workflow_id(), cell));
    emit.push_back(ChildRequest(wf, cell));
    t.Record("cell:" + cell, "fan-out", "started", "child workflow " + c->workflow_id());
    started.push_back(fmt::format("{} ({})", cell, c->workflow_id()));
  }
  t.notes.push_back(fmt::format("fanned out to {} cell(s): {}; each counts its instances first",
                                started.size(), fmt::join(started, ", ")));
  // An approval that came already goes after the requests, on the same partitions: each child
  // exists when it arrives (and keeps it for its gate).
  for (const auto& e : t.ctx.signals()) {
    if (e.has_approval()) ForwardApproval(t, e, &emit);
  }
  StepOutcome o = WaitForFanOut(t, kStepChildren);
  o.emit = std::move(emit);
  return WithTick(std::move(o), t);
}

StepOutcome ChildrenStep(PatchTick& t, const v1::CommandsConfig& commands) {
  std::vector<const v1::Event*> approvals;
  TakeReports(t, &approvals);
  std::vector<v1::Event> emit;
  Decide(t, commands, &emit);
  for (const v1::Event* a : approvals) ForwardApproval(t, *a, &emit);
  StepOutcome o = AllFinished(t.state) || GaveUp(t) ? EndParent(t, std::nullopt)
                                                    : WaitForFanOut(t, kStepChildren);
  o.emit = std::move(emit);
  return o.kind == StepOutcome::Kind::kFinish ? o : WithTick(std::move(o), t);
}

StepOutcome ParentCancel(PatchTick& t) {
  TakeReports(t, nullptr);
  const std::string& why = t.ctx.workflow().cancel_reason();
  std::vector<v1::Event> emit;
  int sent = 0;
  for (auto& c : *t.state.mutable_children()) {
    if (c.finished() || c.cancel_sent()) continue;
    const auto [account, region] = SplitCell(c.cell());
    v1::Event e =
        WorkItemFrom(t.ctx.workflow(), "fan-out:cancel:" + c.workflow_id(), account, region);
    v1::Cancel* cancel = e.mutable_cancel();
    cancel->set_workflow_id(c.workflow_id());
    cancel->set_reason(fmt::format("{} (parent workflow {} cancelled)",
                                   why.empty() ? "cancelled" : why,
                                   t.ctx.workflow().workflow_id()));
    cancel->set_account(account);
    cancel->set_region(region);
    cancel->set_requested_by(t.request.requested_by());
    emit.push_back(std::move(e));
    c.set_cancel_sent(true);
    ++sent;
  }
  if (sent > 0) {
    t.notes.push_back(fmt::format("cancel forwarded to {} child workflow(s)", sent));
  }
  if (AllFinished(t.state) || GaveUp(t)) {
    StepOutcome o = EndParent(t, v1::Result::CANCELLED);
    o.emit = std::move(emit);
    return o;
  }
  StepOutcome o = WaitForFanOut(t, kStepCancel);
  o.emit = std::move(emit);
  return WithTick(std::move(o), t);
}

std::optional<StepOutcome> AwaitParent(PatchTick& t) {
  const v1::WorkflowCheckpoint& wf = t.ctx.workflow();
  if (!wf.trigger().has_parent() || t.state.fanout_go()) return std::nullopt;
  v1::Event report = ReportToParent(wf, kFanOutDiscovered);
  report.mutable_fan_out()->set_discovered(t.state.discovered());
  t.notes.push_back(fmt::format(
      "{} instance(s) found in {}: waiting for parent workflow {} to count every cell's "
      "(commands.max_targets) before anything is touched",
      t.state.discovered(), wf.cell(), wf.trigger().parent().workflow_id()));
  StepOutcome o = WaitForFanOut(t, kStepFanOutWait);
  o.emit.push_back(std::move(report));
  return WithTick(std::move(o), t);
}

bool ParentSaidGo(PatchTick& t, std::optional<StepOutcome>* end) {
  const v1::WorkflowCheckpoint& wf = t.ctx.workflow();
  for (const auto& e : t.ctx.signals()) {
    if (!e.has_fan_out() || e.fan_out().child_workflow_id() != wf.workflow_id()) continue;
    if (e.fan_out().kind() == kFanOutGo) {
      t.state.set_fanout_go(true);
      return true;
    }
    if (e.fan_out().kind() == kFanOutStop) {
      *end =
          StepOutcome::Finish(v1::Result::REJECTED, fmt::format("parent workflow {}: {}",
                                                                wf.trigger().parent().workflow_id(),
                                                                e.fan_out().reason()));
      return false;
    }
  }
  if (GaveUp(t)) {
    *end = StepOutcome::Finish(
        v1::Result::FAILED,
        fmt::format("no word from parent workflow {} on max_targets before the deadline; "
                    "nothing touched",
                    wf.trigger().parent().workflow_id()));
  } else {
    *end = WaitForFanOut(t, kStepFanOutWait);
  }
  return false;
}

void KeepEarlyApprovals(PatchTick& t) {
  for (const auto& e : t.ctx.signals()) {
    if (e.has_approval()) *t.state.add_early_approvals() = e;
  }
}

}  // namespace fleetkeeper::handlers::patch
