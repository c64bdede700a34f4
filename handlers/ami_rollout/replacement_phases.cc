#include "handlers/ami_rollout/replacement_phases.h"

#include "awsclient/pagination.h"
#include "handlers/poll_grid.h"
#include "handlers/target_health.h"

namespace fleetkeeper::handlers::ami_rollout::replacement {

bool InRollback(const v1::InstanceRollout& r) { return r.phase().rfind("rollback-", 0) == 0; }
const std::string& TargetImage(const RolloutTick& t, const v1::InstanceRollout& r) {
  return r.target_image_id().empty() ? t.state.image_id() : r.target_image_id();
}
bool Relaunch(const v1::InstanceRollout& r) {
  return StrategyOf(r) == ReplacementStrategy::kRelaunch;
}
std::string Resource(const std::string& id) { return "instance:" + id; }
std::string Old(const v1::InstanceRollout& r) { return r.instance_id(); }
// The instance that runs the new image: a new one for relaunch, the same one otherwise.
std::string New(const v1::InstanceRollout& r) {
  return Relaunch(r) ? r.new_instance_id() : r.instance_id();
}

bool MovesInterfaces(const v1::InstanceRollout& r) {
  return r.capture().secondary_interfaces_size() > 0;
}
// The secondary private IPv4 addresses of the primary interface move with the instance.
bool MovesPrivateIps(const v1::InstanceRollout& r) {
  return r.capture().secondary_private_ips_size() > 0;
}
// Whether the new instance is stopped for its attachments (DESIGN.md: stop, attach, start), so
// that it boots with its volumes, interfaces and addresses in place.
bool StopsNew(const RolloutConfig& config, const v1::InstanceRollout& r) {
  return !config.attach_live &&
         (r.capture().data_volumes_size() > 0 || MovesInterfaces(r) || MovesPrivateIps(r));
}
// What the new instance gets only once it is healthy, so that a rollback can still terminate it.
bool ProtectsNew(const v1::InstanceRollout& r) {
  const auto& enis = r.capture().secondary_interfaces();
  return r.capture().disable_api_termination() || r.capture().disable_api_stop() ||
         std::any_of(enis.begin(), enis.end(),
                     [](const auto& e) { return e.delete_on_termination(); });
}

// Phases that wait for AWS to reach a state; the others act as soon as they are entered.
bool Waits(const std::string& phase) {
  static const std::set<std::string> kWaiting = {kDrainOld,
                                                 kWaitOldStopped,
                                                 kWaitVolumesDetached,
                                                 kWaitInterfacesDetached,
                                                 kWaitNewRunning,
                                                 kWaitNewStopped,
                                                 kWaitVolumesAttached,
                                                 kWaitInterfacesAttached,
                                                 kWaitNewStarted,
                                                 kWaitNewHealthy,
                                                 kWaitTask,
                                                 kRbWaitAttached,
                                                 kRbWaitInterfaces,
                                                 kRbWaitTask,
                                                 kRbWaitOldRunning};
  return kWaiting.count(phase) > 0;
}

// The next look at AWS for a waiting replacement, on the worker's poll grid (handlers/poll_grid.h):
// waiters of a cell look together, and their reads go out as one call.
int64_t NextPoll(const RolloutTick& t) {
  return NextPollOnGrid(t.now_ms, t.config.poll_interval_ms);
}

// Every phase change is checkpointed before the next phase runs (callers pass kCheckpoint): a
// phase that waits for a state must never be re-run after the call that moves AWS past that
// state, or it would mistake our own progress for a failure.
Progress Enter(RolloutTick& t, v1::InstanceRollout& r, const char* phase, Progress p) {
  r.set_phase(phase);
  r.set_phase_started_ms(t.now_ms);
  r.set_next_poll_ms(Waits(phase) ? NextPoll(t) : 0);
  return p;
}

Progress Done(RolloutTick& t, v1::InstanceRollout& r, const std::string& outcome,
              const std::string& detail) {
  if (!r.reverses().empty()) {
    SettleReversal(t, r, outcome, detail);
    return Enter(t, r, kPhaseDone, Progress::kDone);
  }
  r.set_outcome(outcome);
  r.set_detail(detail);
  return Enter(t, r, kPhaseDone, Progress::kDone);
}

// A step failed for good: before anything changed the instance simply failed; after, the rollback
// starts; during the rollback, the instance needs an operator and the detail says where it stopped.
Progress Fail(RolloutTick& t, v1::InstanceRollout& r, const std::string& why) {
  if (InRollback(r)) {
    return Done(t, r, kRollbackFailed,
                fmt::format("{}; rollback failed at {}: {}", r.failure(), r.phase(), why));
  }
  if (r.phase() == kCapture) return Done(t, r, kFailed, why);
  r.set_failure(fmt::format("{} failed: {}", r.phase(), why));
  t.Record(Resource(Old(r)), r.phase(), kFailed, why);
  return Enter(t, r, Relaunch(r) ? kRbTerminateNew : kRbPrepareTask, Progress::kCheckpoint);
}

bool TimedOut(const RolloutTick& t, const v1::InstanceRollout& r) {
  return t.now_ms - r.phase_started_ms() > t.config.step_timeout_ms;
}

// Waits for `what`, woken by state-change events of the instances involved, until step_timeout.
Progress WaitFor(RolloutTick& t, v1::InstanceRollout& r, const std::string& what) {
  if (TimedOut(t, r)) {
    return Fail(
        t, r,
        fmt::format("timed out after {}s waiting for {}", t.config.step_timeout_ms / 1000, what));
  }
  r.set_next_poll_ms(NextPoll(t));
  t.wait_signals.insert("instance:" + Old(r));
  if (!New(r).empty()) t.wait_signals.insert("instance:" + New(r));
  return Progress::kWait;
}

Progress OnError(RolloutTick& t, v1::InstanceRollout& r, const std::string& what, const Error& e) {
  if (aws::IsTransientFailure(e)) {
    t.notes.push_back(
        fmt::format("instance {}: {} will be retried: {}", Old(r), what, e.ToString()));
    return WaitFor(t, r, what + " (retrying)");
  }
  t.Record(Resource(Old(r)), what, kFailed, e.message, &e);
  return Fail(t, r, fmt::format("{}: {}", what, e.ToString()));
}

// The items of `ids` as this tick read them (`known`, for the ids in `asked`); the others are read
// now, in one call.
template <typename Item, typename Read>
Result<std::map<std::string, Item>> ReadThrough(std::set<std::string>& asked,
                                                std::map<std::string, Item>& known,
                                                const std::vector<std::string>& ids, Read read) {
  std::vector<std::string> missing;
  for (const auto& id : ids) {
    if (!asked.count(id)) missing.push_back(id);
  }
  if (!missing.empty()) {
    auto fresh = read(missing);
    if (!fresh.ok()) return fresh.error();
    asked.insert(missing.begin(), missing.end());
    known.merge(*fresh);
  }
  std::map<std::string, Item> out;
  for (const auto& id : ids) {
    auto it = known.find(id);
    if (it != known.end()) out.emplace(it->first, it->second);
  }
  return out;
}

// The instance as this tick read it for every due replacement, or read now (coalesced with the
// cell's other readers) when the tick did not ask for it.
Result<aws::Instance> Describe(RolloutTick& t, const std::string& id) {
  TickReads& p = t.prefetched;
  auto read =
      ReadThrough(p.asked_instances, p.instances, {id},
                  [&](const std::vector<std::string>& ids) { return t.reads.Instances(ids); });
  if (!read.ok()) return read.error();
  auto it = read->find(id);
  if (it == read->end()) return Error(ErrorCode::kNotFound, "instance " + id + " not found");
  return it->second;
}

Result<std::map<std::string, aws::Volume>> DataVolumes(RolloutTick& t,
                                                       const v1::InstanceRollout& r) {
  std::vector<std::string> ids;
  for (const auto& v : r.capture().data_volumes()) ids.push_back(v.volume_id());
  TickReads& p = t.prefetched;
  return ReadThrough(p.asked_volumes, p.volumes, ids, [&](const std::vector<std::string>& missing) {
    return t.reads.Volumes(missing);
  });
}

// DescribeNetworkInterfaces by id (an unknown id fails the call, as in EC2).
Result<std::map<std::string, aws::NetworkInterface>> ReadInterfaces(
    aws::Ec2& ec2, const std::vector<std::string>& ids) {
  std::map<std::string, aws::NetworkInterface> out;
  aws::DescribeNetworkInterfacesRequest req;
  req.network_interface_ids = ids;
  Status paged = aws::ForEachPage(
      std::move(req),
      [&](const auto& page_request) { return ec2.DescribeNetworkInterfaces(page_request); },
      [&](auto& page) -> Status {
        for (auto& n : page.network_interfaces) out.insert_or_assign(n.id, std::move(n));
        return Ok{};
      });
  if (!paged.ok()) return std::move(paged).take_error();
  return out;
}

Result<std::map<std::string, aws::NetworkInterface>> SecondaryInterfaces(
    RolloutTick& t, const v1::InstanceRollout& r) {
  std::vector<std::string> ids;
  for (const auto& e : r.capture().secondary_interfaces()) ids.push_back(e.network_interface_id());
  TickReads& p = t.prefetched;
  return ReadThrough(p.asked_interfaces, p.interfaces, ids,
                     [&](const std::vector<std::string>& missing) {
                       return ReadInterfaces(*t.ctx.aws().ec2, missing);
                     });
}

// The outcome of a state change this tick sent for many instances in one call, else of a call for
// `id` alone.
CallOutcome ChangeState(const std::map<std::string, CallOutcome>& batched, const std::string& id,
                        const std::function<CallOutcome()>& alone) {
  auto it = batched.find(id);
  return it != batched.end() ? it->second : alone();
}

// Instances launched with any of `tokens` (one DescribeInstances, the client-token filter's values
// are alternatives), kept in the tick by token; terminated ones do not count.
Status FindByClientTokens(RolloutTick& t, const std::vector<std::string>& tokens) {
  constexpr size_t kMaxFilterValues = 200;  // EC2's limit per filter
  for (size_t at = 0; at < tokens.size(); at += kMaxFilterValues) {
    aws::DescribeInstancesRequest find;
    find.filters = {
        {"client-token",
         {tokens.begin() + at, tokens.begin() + std::min(tokens.size(), at + kMaxFilterValues)}}};
    Status paged = aws::ForEachPage(
        std::move(find),
        [&](const auto& page_request) { return t.ctx.aws().ec2->DescribeInstances(page_request); },
        [&](auto& page) -> Status {
          for (auto& i : page.instances) {
            if (i.state.name == "terminated" || i.state.name == "shutting-down") continue;
            // Asked for one token, the answer is its instance even if it does not echo the token.
            const std::string token = tokens.size() == 1 ? tokens.front() : i.client_token;
            t.prefetched.by_client_token.insert_or_assign(token, std::move(i));
          }
          return Ok{};
        });
    if (!paged.ok()) return paged;
  }
  t.prefetched.client_tokens_asked = true;
  return Ok{};
}

CallOutcome StopNow(RolloutTick& t, const std::string& id) {
  return ChangeState(t.prefetched.stopped, id, [&] {
    return RequestIdOf(t.ctx.aws().ec2->StopInstances({{id}, std::nullopt, std::nullopt}));
  });
}

// An attachment on its way out (detaching) no longer counts: the volume is about to be free, and
// whoever attaches it next waits for it to be available.
const aws::VolumeAttachment* AttachmentTo(const aws::Volume& v, const std::string& instance) {
  for (const auto& a : v.attachments) {
    if (a.instance_id == instance && a.state != "detached" && a.state != "detaching") return &a;
  }
  return nullptr;
}

aws::TargetsRequest Targets(const v1::TargetGroupMembership& tg, const std::string& instance) {
  return TargetsOf(tg.arn(), tg.port(), instance);
}

// ---- shared phases -----------------------------------------------------------------------

Progress Capture(RolloutTick& t, v1::InstanceRollout& r) {
  auto i = Describe(t, Old(r));
  if (!i.ok()) return OnError(t, r, "describe-instances", i.error());
  if (i->image_id == TargetImage(t, r)) {
    return Done(t, r, kCurrent, "already runs " + TargetImage(t, r));
  }
  if (i->state.name != "running") {
    return Done(t, r, kFailed, "the instance is " + i->state.name + ", not running: not replaced");
  }
  // Captured again at the instance's turn: the plan may be minutes old. The replacements that
  // start together were captured together (StartReplacements); one alone is captured here.
  auto pre = t.prefetched.captures.find(Old(r));
  if (pre != t.prefetched.captures.end()) {
    *r.mutable_capture() = pre->second;
  } else {
    Status s = CaptureInstances(t.ctx.aws(), {&*i}, {r.mutable_capture()}, true);
    if (!s.ok()) return OnError(t, r, "capture", s.error());
  }
  r.set_captured(true);
  const std::string blocker = ReplacementBlocker(r.capture(), StrategyOf(r));
  if (!blocker.empty()) return Done(t, r, kRejected, blocker);
  if (!Relaunch(r)) r.set_new_instance_id(Old(r));
  return Enter(t, r, kDeregisterOld, Progress::kCheckpoint);
}

Progress DeregisterOld(RolloutTick& t, v1::InstanceRollout& r) {
  for (const auto& tg : r.capture().target_groups()) {
    auto s = t.ctx.aws().elbv2->DeregisterTargets(Targets(tg, Old(r)));
    if (!s.ok()) return OnError(t, r, "deregister-targets", s.error());
    r.set_old_deregistered(true);
    t.RecordCall(Resource(Old(r)), "deregister-targets", tg.arn(), s->request_id);
  }
  return Enter(t, r, kDrainOld, Progress::kCheckpoint);
}

Progress DrainOld(RolloutTick& t, v1::InstanceRollout& r) {
  for (const auto& tg : r.capture().target_groups()) {
    auto h = t.ctx.aws().elbv2->DescribeTargetHealth({tg.arn(), Targets(tg, Old(r)).targets});
    if (!h.ok()) return OnError(t, r, "describe-target-health", h.error());
    for (const auto& d : h->descriptions) {
      if (d.target.id == Old(r) && d.state == "draining") {
        return WaitFor(t, r, "connection draining in " + tg.arn());
      }
    }
  }
  if (!Relaunch(r)) return Enter(t, r, kPrepareTask, Progress::kCheckpoint);
  return Enter(t, r, r.capture().disable_api_stop() ? kUnprotectOld : kStopOld,
               Progress::kCheckpoint);
}

Progress RegisterNew(RolloutTick& t, v1::InstanceRollout& r) {
  for (const auto& tg : r.capture().target_groups()) {
    auto s = t.ctx.aws().elbv2->RegisterTargets(Targets(tg, New(r)));
    if (!s.ok()) return OnError(t, r, "register-targets", s.error());
    r.set_new_registered(true);
    t.RecordCall(Resource(New(r)), "register-targets", tg.arn(), s->request_id);
  }
  return Enter(t, r, kWaitNewHealthy, Progress::kCheckpoint);
}

// "eni-1 at device 1, eni-2 at device 2"
std::string InterfaceList(const v1::InstanceCapture& c) {
  std::vector<std::string> out;
  for (const auto& e : c.secondary_interfaces()) {
    out.push_back(fmt::format("{} at device {}", e.network_interface_id(), e.device_index()));
  }
  return fmt::format("{}", fmt::join(out, ", "));
}

std::string SuccessDetail(const RolloutTick& t, const v1::InstanceRollout& r,
                          const std::string& retired) {
  const auto& c = r.capture();
  std::vector<std::string> parts;
  if (Relaunch(r)) {
    parts.push_back(fmt::format("replaced by {} ({})", r.new_instance_id(), TargetImage(t, r)));
    for (const auto& v : c.data_volumes()) {
      parts.push_back(fmt::format("{} attached at {}", v.volume_id(), v.device()));
    }
    if (MovesInterfaces(r)) parts.push_back("network interface(s) " + InterfaceList(c) + " moved");
    if (!c.cpu_credits().empty()) parts.push_back("CPU credits " + c.cpu_credits());
    if (!r.new_private_ip().empty() && r.new_private_ip() != c.private_ip()) {
      parts.push_back(fmt::format("private IP {} -> {}", c.private_ip(), r.new_private_ip()));
    }
    if (MovesPrivateIps(r)) {
      parts.push_back(
          fmt::format("secondary private IPs {} moved", fmt::join(c.secondary_private_ips(), ",")));
    }
  } else {
    parts.push_back(
        fmt::format("root volume replaced with {} (was {})", TargetImage(t, r), c.image_id()));
  }
  if (!c.eip_public_ip().empty() && Relaunch(r)) {
    parts.push_back("Elastic IP " + c.eip_public_ip() + " moved");
  }
  if (c.target_groups_size() > 0) {
    parts.push_back(fmt::format("healthy in {} target group(s)", c.target_groups_size()));
  }
  if (!retired.empty()) parts.push_back(retired);
  return fmt::format("{}", fmt::join(parts, "; "));
}

Progress WaitNewHealthy(RolloutTick& t, v1::InstanceRollout& r) {
  TickReads& p = t.prefetched;
  if (!p.asked_statuses.count(New(r))) {
    auto s = t.reads.Statuses({New(r)});
    if (!s.ok()) return OnError(t, r, "describe-instance-status", s.error());
    p.asked_statuses.insert(New(r));
    p.statuses.merge(*s);
  }
  std::string status = "no status yet";
  bool ok = false;
  if (auto found = p.statuses.find(New(r)); found != p.statuses.end()) {
    const aws::InstanceStatus& st = found->second;
    if (st.instance_status == "impaired" || st.system_status == "impaired") {
      return Fail(t, r,
                  fmt::format("{} status checks impaired (instance {}, system {})", New(r),
                              st.instance_status, st.system_status));
    }
    ok = st.state.name == "running" && st.instance_status == "ok" &&
         (st.system_status == "ok" || st.system_status == "not-applicable");
    status = fmt::format("{} instance {} system {}", st.state.name, st.instance_status,
                         st.system_status);
  }
  if (!ok) return WaitFor(t, r, "status checks of " + New(r) + " (" + status + ")");
  for (const auto& tg : r.capture().target_groups()) {
    auto h = t.ctx.aws().elbv2->DescribeTargetHealth({tg.arn(), Targets(tg, New(r)).targets});
    if (!h.ok()) return OnError(t, r, "describe-target-health", h.error());
    std::string state = "not registered";
    for (const auto& d : h->descriptions) {
      if (d.target.id == New(r)) state = d.state + (d.reason.empty() ? "" : " " + d.reason);
    }
    if (state != "healthy") {
      return WaitFor(t, r, fmt::format("{} healthy in {} (now {})", New(r), tg.arn(), state));
    }
  }
  if (!Relaunch(r)) {
    return Done(t, r, kSucceeded, SuccessDetail(t, r, ""));
  }
  return Enter(t, r, ProtectsNew(r) ? kProtectNew : kRetireOld, Progress::kCheckpoint);
}

// One setting of `id` (ModifyInstanceAttribute takes one per call), recorded as `what`.
Status ModifyInstance(RolloutTick& t, const std::string& id,
                      aws::ModifyInstanceAttributeRequest req, const std::string& what) {
  req.instance_id = id;
  auto m = t.ctx.aws().ec2->ModifyInstanceAttribute(req);
  if (!m.ok()) return m.error();
  t.RecordCall(Resource(id), "modify-instance-attribute", what, m->request_id);
  return Ok{};
}

}  // namespace fleetkeeper::handlers::ami_rollout::replacement
