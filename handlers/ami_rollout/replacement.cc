#include "handlers/ami_rollout/replacement.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "awsclient/aws_error.h"
#include "awsclient/clients.h"
#include "awsclient/pagination.h"
#include "handlers/ami_rollout/targets.h"

namespace fleetkeeper::handlers::ami_rollout {
namespace {

// Released phase names. Forward path:
constexpr char kCapture[] = "capture";
constexpr char kDeregisterOld[] = "deregister-old";
constexpr char kDrainOld[] = "drain-old";
constexpr char kUnprotectOld[] = "unprotect-old";
constexpr char kStopOld[] = "stop-old";
constexpr char kWaitOldStopped[] = "wait-old-stopped";
constexpr char kDetachVolumes[] = "detach-volumes";
constexpr char kWaitVolumesDetached[] = "wait-volumes-detached";
constexpr char kDetachInterfaces[] = "detach-interfaces";
constexpr char kWaitInterfacesDetached[] = "wait-interfaces-detached";
constexpr char kPrepareLaunch[] = "prepare-launch";
constexpr char kLaunch[] = "launch";
constexpr char kWaitNewRunning[] = "wait-new-running";
constexpr char kConfigureNew[] = "configure-new";
constexpr char kStopNew[] = "stop-new";
constexpr char kWaitNewStopped[] = "wait-new-stopped";
constexpr char kAttachVolumes[] = "attach-volumes";
constexpr char kWaitVolumesAttached[] = "wait-volumes-attached";
constexpr char kAttachInterfaces[] = "attach-interfaces";
constexpr char kWaitInterfacesAttached[] = "wait-interfaces-attached";
constexpr char kMovePrivateIps[] = "move-private-ips";
constexpr char kStartNew[] = "start-new";
constexpr char kWaitNewStarted[] = "wait-new-started";
constexpr char kMoveEip[] = "move-eip";
constexpr char kRegisterNew[] = "register-new";
constexpr char kWaitNewHealthy[] = "wait-new-healthy";
constexpr char kProtectNew[] = "protect-new";
constexpr char kRetireOld[] = "retire-old";
constexpr char kKeepOld[] = "keep-old";
constexpr char kPrepareTask[] = "prepare-task";
constexpr char kCreateTask[] = "create-task";
constexpr char kWaitTask[] = "wait-task";
// Rollback path:
constexpr char kRbTerminateNew[] = "rollback-terminate-new";
constexpr char kRbReleaseVolumes[] = "rollback-release-volumes";
constexpr char kRbReleaseInterfaces[] = "rollback-release-interfaces";
constexpr char kRbMoveEip[] = "rollback-move-eip";
constexpr char kRbMovePrivateIps[] = "rollback-move-private-ips";
constexpr char kRbAttachVolumes[] = "rollback-attach-volumes";
constexpr char kRbWaitAttached[] = "rollback-wait-attached";
constexpr char kRbAttachInterfaces[] = "rollback-attach-interfaces";
constexpr char kRbWaitInterfaces[] = "rollback-wait-interfaces";
constexpr char kRbPrepareTask[] = "rollback-prepare-task";
constexpr char kRbCreateTask[] = "rollback-create-task";
constexpr char kRbWaitTask[] = "rollback-wait-task";
constexpr char kRbStartOld[] = "rollback-start-old";
constexpr char kRbWaitOldRunning[] = "rollback-wait-old-running";
constexpr char kRbRegisterOld[] = "rollback-register-old";

bool InRollback(const v1::InstanceRollout& r) { return r.phase().rfind("rollback-", 0) == 0; }
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
  return !config.attach_live && (r.capture().data_volumes_size() > 0 || MovesInterfaces(r) ||
                                 MovesPrivateIps(r));
}
// What the new instance gets only once it is healthy, so that a rollback can still terminate it.
bool ProtectsNew(const v1::InstanceRollout& r) {
  const auto& enis = r.capture().secondary_interfaces();
  return r.capture().disable_api_termination() || r.capture().disable_api_stop() ||
         std::any_of(enis.begin(), enis.end(), [](const auto& e) {
           return e.delete_on_termination();
         });
}

// Phases that wait for AWS to reach a state; the others act as soon as they are entered.
bool Waits(const std::string& phase) {
  static const std::set<std::string> kWaiting = {
      kDrainOld,         kWaitOldStopped,         kWaitVolumesDetached, kWaitInterfacesDetached,
      kWaitNewRunning,   kWaitNewStopped,         kWaitVolumesAttached, kWaitInterfacesAttached,
      kWaitNewStarted,   kWaitNewHealthy,         kWaitTask,            kRbWaitAttached,
      kRbWaitInterfaces, kRbWaitTask,             kRbWaitOldRunning};
  return kWaiting.count(phase) > 0;
}

// The next look at AWS for a waiting replacement: the first point of a grid of poll_interval
// (counted from the epoch, the same for every workflow of the worker) at least half an interval
// away. Waiters of a cell thus look together, and their reads go out as one call; looking at once
// after the call that started a transition would only ever see the transition in progress.
int64_t NextPoll(const RolloutTick& t) {
  const int64_t p = std::max<int64_t>(t.config.poll_interval_ms, 1);
  return ((t.now_ms + p / 2) / p + 1) * p;
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
    return Fail(t, r, fmt::format("timed out after {}s waiting for {}",
                                  t.config.step_timeout_ms / 1000, what));
  }
  r.set_next_poll_ms(NextPoll(t));
  t.wait_signals.insert("instance:" + Old(r));
  if (!New(r).empty()) t.wait_signals.insert("instance:" + New(r));
  return Progress::kWait;
}

Progress OnError(RolloutTick& t, v1::InstanceRollout& r, const std::string& what,
                 const Error& e) {
  if (aws::IsTransientFailure(e)) {
    t.notes.push_back(fmt::format("instance {}: {} will be retried: {}", Old(r), what,
                                  e.ToString()));
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
  auto read = ReadThrough(p.asked_instances, p.instances, {id},
                          [&](const std::vector<std::string>& ids) {
                            return t.reads.Instances(ids);
                          });
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
  return ReadThrough(p.asked_volumes, p.volumes, ids,
                     [&](const std::vector<std::string>& missing) {
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

// The request id of a call's answer, or its error.
template <typename Answer>
CallOutcome RequestIdOf(const Result<Answer>& answer) {
  if (!answer.ok()) return answer.error();
  return CallOutcome(answer->request_id);
}

// Instances launched with any of `tokens` (one DescribeInstances, the client-token filter's values
// are alternatives), kept in the tick by token; terminated ones do not count.
Status FindByClientTokens(RolloutTick& t, const std::vector<std::string>& tokens) {
  constexpr size_t kMaxFilterValues = 200;  // EC2's limit per filter
  for (size_t at = 0; at < tokens.size(); at += kMaxFilterValues) {
    aws::DescribeInstancesRequest find;
    find.filters = {{"client-token",
                     {tokens.begin() + at,
                      tokens.begin() + std::min(tokens.size(), at + kMaxFilterValues)}}};
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

const aws::VolumeAttachment* AttachmentTo(const aws::Volume& v, const std::string& instance) {
  for (const auto& a : v.attachments) {
    if (a.instance_id == instance && a.state != "detached") return &a;
  }
  return nullptr;
}

aws::TargetsRequest Targets(const v1::TargetGroupMembership& tg, const std::string& instance) {
  aws::TargetDescription d;
  d.id = instance;
  if (tg.port() > 0) d.port = tg.port();
  return {tg.arn(), {d}};
}

// ---- shared phases -----------------------------------------------------------------------

Progress Capture(RolloutTick& t, v1::InstanceRollout& r) {
  auto i = Describe(t, Old(r));
  if (!i.ok()) return OnError(t, r, "describe-instances", i.error());
  if (i->image_id == t.state.image_id()) {
    return Done(t, r, kCurrent, "already runs " + t.state.image_id());
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
    parts.push_back(fmt::format("replaced by {} ({})", r.new_instance_id(), t.state.image_id()));
    for (const auto& v : c.data_volumes()) {
      parts.push_back(fmt::format("{} attached at {}", v.volume_id(), v.device()));
    }
    if (MovesInterfaces(r)) parts.push_back("network interface(s) " + InterfaceList(c) + " moved");
    if (!c.cpu_credits().empty()) parts.push_back("CPU credits " + c.cpu_credits());
    if (!r.new_private_ip().empty() && r.new_private_ip() != c.private_ip()) {
      parts.push_back(fmt::format("private IP {} -> {}", c.private_ip(), r.new_private_ip()));
    }
    if (MovesPrivateIps(r)) {
      parts.push_back(fmt::format("secondary private IPs {} moved",
                                  fmt::join(c.secondary_private_ips(), ",")));
    }
  } else {
    parts.push_back(fmt::format("root volume replaced with {} (was {})", t.state.image_id(),
                                c.image_id()));
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
      return Fail(t, r, fmt::format("{} status checks impaired (instance {}, system {})", New(r),
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

// ---- relaunch --------------------------------------------------------------------------------

// A stop-protected instance cannot be stopped: its protection is lifted (the new instance gets it
// once healthy; a rollback gives it back to this one). Repeatable as it is.
Progress UnprotectOld(RolloutTick& t, v1::InstanceRollout& r) {
  aws::ModifyInstanceAttributeRequest req;
  req.disable_api_stop = false;
  Status m = ModifyInstance(t, Old(r), req,
                            "DisableApiStop off, to stop it (carried over to the new instance)");
  if (!m.ok()) return OnError(t, r, "modify-instance-attribute", m.error());
  r.set_old_stop_protection_lifted(true);
  return Enter(t, r, kStopOld, Progress::kCheckpoint);
}

// No describe first: StopInstances of a stopping or stopped instance succeeds and changes
// nothing, so a re-run after a crash is harmless, and wait-old-stopped reads the state anyway.
Progress StopOld(RolloutTick& t, v1::InstanceRollout& r) {
  CallOutcome s = StopNow(t, Old(r));
  if (!s.ok()) return OnError(t, r, "stop-instances", s.error());
  t.RecordCall(Resource(Old(r)), "stop-instances", "stopping the old instance", *s);
  return Enter(t, r, kWaitOldStopped, Progress::kCheckpoint);
}

Progress WaitStopped(RolloutTick& t, v1::InstanceRollout& r, const std::string& id,
                     const char* next) {
  auto i = Describe(t, id);
  if (!i.ok()) return OnError(t, r, "describe-instances", i.error());
  if (i->state.name == "stopped") return Enter(t, r, next, Progress::kCheckpoint);
  if (i->state.name == "stopping" || i->state.name == "running" || i->state.name == "pending") {
    return WaitFor(t, r, id + " to stop (now " + i->state.name + ")");
  }
  return Fail(t, r, id + " is " + i->state.name + " while waiting for it to stop");
}

Progress DetachVolumes(RolloutTick& t, v1::InstanceRollout& r) {
  auto volumes = DataVolumes(t, r);
  if (!volumes.ok()) return OnError(t, r, "describe-volumes", volumes.error());
  for (const auto& dv : r.capture().data_volumes()) {
    auto it = volumes->find(dv.volume_id());
    if (it == volumes->end()) return Fail(t, r, "data volume " + dv.volume_id() + " is gone");
    const auto* att = AttachmentTo(it->second, Old(r));
    if (att == nullptr || att->state == "detaching") continue;
    aws::DetachVolumeRequest req;
    req.volume_id = dv.volume_id();
    req.instance_id = Old(r);
    req.device = dv.device();
    auto d = t.ctx.aws().ec2->DetachVolume(req);
    if (!d.ok()) return OnError(t, r, "detach-volume", d.error());
    t.RecordCall("volume:" + dv.volume_id(), "detach-volume",
                 fmt::format("from {} at {}", Old(r), dv.device()), d->request_id);
  }
  return Enter(t, r, kWaitVolumesDetached, Progress::kCheckpoint);
}

Progress WaitVolumesDetached(RolloutTick& t, v1::InstanceRollout& r) {
  auto volumes = DataVolumes(t, r);
  if (!volumes.ok()) return OnError(t, r, "describe-volumes", volumes.error());
  for (const auto& [id, v] : *volumes) {
    if (v.state != "available") return WaitFor(t, r, id + " to detach (now " + v.state + ")");
  }
  return Enter(t, r, MovesInterfaces(r) ? kDetachInterfaces : kPrepareLaunch,
               Progress::kCheckpoint);
}

// ---- secondary network interfaces ----------------------------------------------------------

v1::InterfaceMove& MoveOf(v1::InstanceRollout& r, const std::string& eni) {
  for (auto& m : *r.mutable_interface_moves()) {
    if (m.network_interface_id() == eni) return m;
  }
  auto* m = r.add_interface_moves();
  m->set_network_interface_id(eni);
  return *m;
}

// Whether the interface is attached to (or attaching to) `instance`.
bool OnInstance(const aws::NetworkInterface& n, const std::string& instance) {
  return n.attachment && n.attachment->instance_id == instance &&
         n.attachment->status != "detached";
}

// After a call that failed for good: whether a fresh read of the interface shows what the call
// was to achieve (an earlier call of ours, made before a restart, got there first).
bool AlreadyDone(RolloutTick& t, const std::string& eni,
                 const std::function<bool(const aws::NetworkInterface&)>& done) {
  auto fresh = ReadInterfaces(*t.ctx.aws().ec2, {eni});
  if (!fresh.ok() || !fresh->count(eni)) return false;
  t.prefetched.interfaces.insert_or_assign(eni, fresh->at(eni));
  return done(fresh->at(eni));
}

// Sends a detach for each captured interface still attached to `from` that this workflow has not
// detached from it already; an error ends the phase.
std::optional<Progress> DetachInterfacesFrom(
    RolloutTick& t, v1::InstanceRollout& r,
    const std::map<std::string, aws::NetworkInterface>& enis, const std::string& from) {
  for (const auto& si : r.capture().secondary_interfaces()) {
    const std::string& id = si.network_interface_id();
    auto it = enis.find(id);
    if (it == enis.end()) return Fail(t, r, "network interface " + id + " is gone");
    const aws::NetworkInterface& n = it->second;
    if (!OnInstance(n, from) || n.attachment->status == "detaching") continue;
    v1::InterfaceMove& m = MoveOf(r, id);
    if (m.detached_from() == from) continue;  // sent before: EC2's read lags behind it
    auto d = t.ctx.aws().ec2->DetachNetworkInterface({n.attachment->attachment_id, std::nullopt});
    if (!d.ok() && (aws::IsTransientFailure(d.error()) ||
                    !AlreadyDone(t, id, [&](const auto& x) { return !OnInstance(x, from); }))) {
      return OnError(t, r, "detach-network-interface", d.error());
    }
    m.set_detached_from(from);
    if (d.ok()) {
      t.RecordCall("eni:" + id, "detach-network-interface",
                   fmt::format("from {} at device {}", from, n.attachment->device_index),
                   d->request_id);
    }
  }
  return std::nullopt;
}

Progress DetachInterfaces(RolloutTick& t, v1::InstanceRollout& r) {
  auto enis = SecondaryInterfaces(t, r);
  if (!enis.ok()) return OnError(t, r, "describe-network-interfaces", enis.error());
  if (auto stop = DetachInterfacesFrom(t, r, *enis, Old(r))) return *stop;
  return Enter(t, r, kWaitInterfacesDetached, Progress::kCheckpoint);
}

Progress WaitInterfacesDetached(RolloutTick& t, v1::InstanceRollout& r) {
  auto enis = SecondaryInterfaces(t, r);
  if (!enis.ok()) return OnError(t, r, "describe-network-interfaces", enis.error());
  for (const auto& [id, n] : *enis) {
    if (OnInstance(n, Old(r))) {
      return WaitFor(t, r, fmt::format("{} to detach (now {})", id, n.attachment->status));
    }
    if (n.attachment) {
      return Fail(t, r, fmt::format("network interface {} was attached to {} meanwhile", id,
                                    n.attachment->instance_id));
    }
  }
  return Enter(t, r, kPrepareLaunch, Progress::kCheckpoint);
}

// Attaches every captured interface to `to` at its device index, once: an interface this
// workflow attached there already is left to the wait that follows.
Progress AttachInterfaces(RolloutTick& t, v1::InstanceRollout& r, const std::string& to,
                          const char* next) {
  auto enis = SecondaryInterfaces(t, r);
  if (!enis.ok()) return OnError(t, r, "describe-network-interfaces", enis.error());
  for (const auto& si : r.capture().secondary_interfaces()) {
    const std::string& id = si.network_interface_id();
    auto it = enis->find(id);
    if (it == enis->end()) return Fail(t, r, "network interface " + id + " is gone");
    const aws::NetworkInterface& n = it->second;
    v1::InterfaceMove& m = MoveOf(r, id);
    const bool leaving = n.attachment && n.attachment->status == "detaching";
    if ((OnInstance(n, to) && !leaving) || m.attached_to() == to) continue;
    if (n.attachment || n.status != "available") {
      return WaitFor(t, r, fmt::format("{} to be available (now {})", id, n.status));
    }
    aws::AttachNetworkInterfaceRequest req;
    req.network_interface_id = id;
    req.instance_id = to;
    req.device_index = si.device_index();
    if (si.network_card_index() > 0) req.network_card_index = si.network_card_index();
    auto a = t.ctx.aws().ec2->AttachNetworkInterface(req);
    if (!a.ok() && (aws::IsTransientFailure(a.error()) ||
                    !AlreadyDone(t, id, [&](const auto& x) { return OnInstance(x, to); }))) {
      return OnError(t, r, "attach-network-interface", a.error());
    }
    m.set_attached_to(to);
    if (!a.ok()) {
      m.set_attachment_id(t.prefetched.interfaces.at(id).attachment->attachment_id);
    } else {
      m.set_attachment_id(a->attachment_id);
      t.RecordCall("eni:" + id, "attach-network-interface",
                   fmt::format("to {} at device {}", to, si.device_index()), a->request_id);
    }
  }
  return Enter(t, r, next, Progress::kCheckpoint);
}

// A setting the instance works without could not be carried over: retried when the error is
// transient, else reported and the replacement goes on (undoing a healthy replacement for it would
// cost more than it saves). nullopt when the replacement goes on.
std::optional<Progress> SettingFailed(RolloutTick& t, v1::InstanceRollout& r,
                                      const std::string& resource, const std::string& what,
                                      const Error& e) {
  if (aws::IsTransientFailure(e)) return OnError(t, r, what, e);
  t.Record(resource, what, kFailed, "not carried over: " + e.message, &e);
  t.notes.push_back(fmt::format("instance {}: {} failed: {}", Old(r), what, e.ToString()));
  return std::nullopt;
}

// One setting an instance works without (a protection carried over or given back): a transient
// failure retries the step, any other is recorded as not carried over.
std::optional<Progress> ApplySetting(RolloutTick& t, v1::InstanceRollout& r, const std::string& id,
                                     const aws::ModifyInstanceAttributeRequest& req,
                                     const std::string& what) {
  Status m = ModifyInstance(t, id, req, what);
  if (m.ok()) return std::nullopt;
  return SettingFailed(t, r, Resource(id), "modify-instance-attribute", m.error());
}

// Gives each interface attached to `instance` the DeleteOnTermination it had on the old instance
// (AttachNetworkInterface always attaches without); repeatable as it is.
std::optional<Progress> RestoreDeleteOnTermination(
    RolloutTick& t, v1::InstanceRollout& r,
    const std::map<std::string, aws::NetworkInterface>& enis, const std::string& instance) {
  for (const auto& si : r.capture().secondary_interfaces()) {
    auto it = enis.find(si.network_interface_id());
    if (!si.delete_on_termination() || it == enis.end() || !OnInstance(it->second, instance) ||
        it->second.attachment->delete_on_termination) {
      continue;
    }
    const std::string resource = "eni:" + si.network_interface_id();
    auto m = t.ctx.aws().ec2->ModifyNetworkInterfaceAttribute(
        {si.network_interface_id(), it->second.attachment->attachment_id, true});
    if (!m.ok()) {
      if (auto stop = SettingFailed(t, r, resource, "modify-network-interface-attribute",
                                    m.error())) {
        return stop;
      }
      continue;
    }
    t.RecordCall(resource, "modify-network-interface-attribute",
                 "DeleteOnTermination on at " + instance + ", as it was on the old instance",
                 m->request_id);
  }
  return std::nullopt;
}

// With `restore`, the attachments then get their DeleteOnTermination back (the rollback's
// attachments to the old instance; the new one's wait for protect-new).
Progress WaitInterfacesAttached(RolloutTick& t, v1::InstanceRollout& r, const std::string& to,
                                const char* next, bool restore) {
  auto enis = SecondaryInterfaces(t, r);
  if (!enis.ok()) return OnError(t, r, "describe-network-interfaces", enis.error());
  for (const auto& si : r.capture().secondary_interfaces()) {
    auto it = enis->find(si.network_interface_id());
    if (it == enis->end() || !OnInstance(it->second, to) ||
        it->second.attachment->status != "attached") {
      return WaitFor(t, r, si.network_interface_id() + " attached to " + to);
    }
    if (it->second.attachment->device_index != si.device_index()) {
      return Fail(t, r, fmt::format("{} is attached to {} at device {}, not {}",
                                    si.network_interface_id(), to,
                                    it->second.attachment->device_index, si.device_index()));
    }
  }
  if (restore) {
    if (auto stop = RestoreDeleteOnTermination(t, r, *enis, to)) return *stop;
  }
  return Enter(t, r, next, Progress::kCheckpoint);
}

// Only the healthy new instance takes the old one's termination and stop protection and its
// interfaces' DeleteOnTermination: a rollback before this point terminates it, and must neither be
// refused nor take the interfaces with it (and the new instance is stopped for its attachments).
Progress ProtectNew(RolloutTick& t, v1::InstanceRollout& r) {
  if (r.capture().disable_api_termination()) {
    aws::ModifyInstanceAttributeRequest req;
    req.disable_api_termination = true;
    if (auto held = ApplySetting(t, r, New(r), req,
                                 "DisableApiTermination on, as on the old instance")) {
      return *held;
    }
  }
  if (r.capture().disable_api_stop()) {
    aws::ModifyInstanceAttributeRequest req;
    req.disable_api_stop = true;
    if (auto held = ApplySetting(t, r, New(r), req, "DisableApiStop on, as on the old instance")) {
      return *held;
    }
  }
  auto enis = SecondaryInterfaces(t, r);
  if (!enis.ok()) return OnError(t, r, "describe-network-interfaces", enis.error());
  if (auto stop = RestoreDeleteOnTermination(t, r, *enis, New(r))) return *stop;
  return Enter(t, r, kRetireOld, Progress::kCheckpoint);
}

Progress PrepareLaunch(RolloutTick& t, v1::InstanceRollout& r) {
  // The attempt and its token are checkpointed before RunInstances, so that a re-run after a
  // crash presents the same token and finds the instance the first call launched.
  r.set_launch_attempt(r.launch_attempt() + 1);
  r.set_launch_token(
      t.ctx.IdempotencyToken(fmt::format("launch:{}:{}", Old(r), r.launch_attempt())));
  return Enter(t, r, kLaunch, Progress::kCheckpoint);
}

aws::RunInstancesRequest LaunchRequest(const RolloutTick& t, const v1::InstanceRollout& r) {
  const auto& c = r.capture();
  aws::RunInstancesRequest req;
  req.image_id = t.state.image_id();
  req.instance_type = c.instance_type();
  req.client_token = r.launch_token();
  req.subnet_id = c.subnet_id();
  req.security_group_ids.assign(c.security_group_ids().begin(), c.security_group_ids().end());
  req.key_name = c.key_name();
  req.iam_instance_profile_arn = c.iam_instance_profile_arn();
  req.user_data_base64 = c.user_data_base64();
  if (!c.metadata_http_tokens().empty() || !c.metadata_http_endpoint().empty()) {
    aws::MetadataOptions m;
    m.http_tokens = c.metadata_http_tokens();
    if (c.metadata_hop_limit() > 0) m.http_put_response_hop_limit = c.metadata_hop_limit();
    m.http_endpoint = c.metadata_http_endpoint();
    m.instance_metadata_tags = c.metadata_instance_tags();
    req.metadata_options = m;
  }
  aws::BlockDeviceMappingSpec root;
  root.device_name = c.root_device_name();
  aws::EbsBlockDeviceSpec ebs;
  if (c.root_size_gib() > 0) ebs.volume_size_gib = static_cast<int>(c.root_size_gib());
  ebs.volume_type = c.root_volume_type();
  const bool provisioned = c.root_volume_type() == "io1" || c.root_volume_type() == "io2" ||
                           c.root_volume_type() == "gp3";
  if (provisioned && c.root_iops() > 0) ebs.iops = static_cast<int>(c.root_iops());
  if (c.root_volume_type() == "gp3" && c.root_throughput() > 0) {
    ebs.throughput_mibps = static_cast<int>(c.root_throughput());
  }
  ebs.kms_key_id = c.root_kms_key_id();
  if (c.root_encrypted()) ebs.encrypted = true;
  ebs.delete_on_termination = c.root_delete_on_termination();
  root.ebs = ebs;
  req.block_device_mappings.push_back(root);
  aws::Placement placement;
  placement.availability_zone = c.availability_zone();
  placement.tenancy = c.tenancy();
  placement.group_name = c.placement_group();
  req.placement = placement;
  // Termination protection comes once the new instance is healthy (protect-new), so that a
  // rollback can still terminate it.
  req.instance_initiated_shutdown_behavior = c.shutdown_behavior();
  req.cpu_credits = c.cpu_credits();
  if (c.ebs_optimized()) req.ebs_optimized = true;
  aws::TagSpecification tags{"instance", {}};
  for (const auto& [k, v] : c.tags()) tags.tags[k] = v;
  tags.tags[kReplacesTag] = Old(r);
  tags.tags[kTokenTag] = r.launch_token();
  req.tag_specifications.push_back(tags);
  return req;
}

Progress Launch(RolloutTick& t, v1::InstanceRollout& r) {
  if (!t.prefetched.client_tokens_asked) {
    Status s = FindByClientTokens(t, {r.launch_token()});
    if (!s.ok()) return OnError(t, r, "describe-instances (client-token)", s.error());
  }
  auto launched = t.prefetched.by_client_token.find(r.launch_token());
  if (launched != t.prefetched.by_client_token.end()) {
    const aws::Instance& i = launched->second;
    r.set_new_instance_id(i.id);
    r.set_new_private_ip(i.private_ip);
    t.notes.push_back(fmt::format("instance {}: found {} launched before a restart", Old(r), i.id));
    return Enter(t, r, kWaitNewRunning, Progress::kCheckpoint);
  }
  auto run = t.ctx.aws().ec2->RunInstances(LaunchRequest(t, r));
  if (!run.ok()) return OnError(t, r, "run-instances", run.error());
  if (run->instances.empty()) return Fail(t, r, "run-instances returned no instance");
  r.set_new_instance_id(run->instances.front().id);
  r.set_new_private_ip(run->instances.front().private_ip);
  t.RecordCall(Resource(r.new_instance_id()), "run-instances",
               fmt::format("replacement for {} from {} ({}{})", Old(r), t.state.image_id(),
                           r.capture().instance_type(),
                           r.capture().cpu_credits().empty()
                               ? ""
                               : ", CPU credits " + r.capture().cpu_credits()),
               run->request_id);
  return Enter(t, r, kWaitNewRunning, Progress::kCheckpoint);
}

Progress WaitRunning(RolloutTick& t, v1::InstanceRollout& r, const std::string& id,
                     const char* next) {
  auto i = Describe(t, id);
  if (!i.ok()) return OnError(t, r, "describe-instances", i.error());
  if (i->state.name == "running") {
    if (!i->private_ip.empty() && id == r.new_instance_id()) r.set_new_private_ip(i->private_ip);
    return Enter(t, r, next, Progress::kCheckpoint);
  }
  if (i->state.name == "pending") return WaitFor(t, r, id + " to run (now pending)");
  return Fail(t, r,
              fmt::format("{} is {}{}", id, i->state.name,
                          i->state_reason_code.empty() ? "" : " (" + i->state_reason_code + ")"));
}

// What follows the new instance's first run: the attachments, live or while it is stopped.
const char* AfterNewRunning(const RolloutTick& t) {
  return t.config.attach_live ? kAttachVolumes : kStopNew;
}

// The settings RunInstances has no parameter for, as soon as the new instance runs.
Progress ConfigureNew(RolloutTick& t, v1::InstanceRollout& r) {
  if (r.capture().source_dest_check_disabled()) {
    aws::ModifyInstanceAttributeRequest req;
    req.source_dest_check = false;
    Status m = ModifyInstance(t, New(r), req, "SourceDestCheck off, as on the old instance");
    if (!m.ok()) return OnError(t, r, "modify-instance-attribute", m.error());
  }
  return Enter(t, r, AfterNewRunning(t), Progress::kCheckpoint);
}

// As StopOld: wait-new-running saw it running, and a repeated stop changes nothing.
Progress StopNew(RolloutTick& t, v1::InstanceRollout& r) {
  if (!StopsNew(t.config, r)) return Enter(t, r, kMoveEip, Progress::kCheckpoint);
  CallOutcome s = StopNow(t, New(r));
  if (!s.ok()) return OnError(t, r, "stop-instances", s.error());
  t.RecordCall(Resource(New(r)), "stop-instances",
               "stopped to attach the data volumes, network interfaces and addresses (attach_live is off)",
               *s);
  return Enter(t, r, kWaitNewStopped, Progress::kCheckpoint);
}

Progress AttachVolumes(RolloutTick& t, v1::InstanceRollout& r, const std::string& to,
                       const char* next) {
  auto volumes = DataVolumes(t, r);
  if (!volumes.ok()) return OnError(t, r, "describe-volumes", volumes.error());
  for (const auto& dv : r.capture().data_volumes()) {
    auto it = volumes->find(dv.volume_id());
    if (it == volumes->end()) return Fail(t, r, "data volume " + dv.volume_id() + " is gone");
    if (AttachmentTo(it->second, to) != nullptr) continue;
    if (it->second.state != "available") {
      return WaitFor(t, r, dv.volume_id() + " to be available (now " + it->second.state + ")");
    }
    auto a = t.ctx.aws().ec2->AttachVolume({dv.volume_id(), to, dv.device()});
    if (!a.ok()) return OnError(t, r, "attach-volume", a.error());
    t.RecordCall("volume:" + dv.volume_id(), "attach-volume",
                 fmt::format("to {} at {}", to, dv.device()), a->request_id);
  }
  return Enter(t, r, next, Progress::kCheckpoint);
}

Progress WaitAttached(RolloutTick& t, v1::InstanceRollout& r, const std::string& to,
                      const char* next) {
  auto volumes = DataVolumes(t, r);
  if (!volumes.ok()) return OnError(t, r, "describe-volumes", volumes.error());
  for (const auto& dv : r.capture().data_volumes()) {
    auto it = volumes->find(dv.volume_id());
    const auto* att = it == volumes->end() ? nullptr : AttachmentTo(it->second, to);
    if (att == nullptr || att->state != "attached") {
      return WaitFor(t, r, dv.volume_id() + " attached to " + to);
    }
    if (att->device != dv.device()) {
      return Fail(t, r, fmt::format("{} is attached to {} at {}, not {}", dv.volume_id(), to,
                                    att->device, dv.device()));
    }
  }
  return Enter(t, r, next, Progress::kCheckpoint);
}

Progress StartInstance(RolloutTick& t, v1::InstanceRollout& r, const std::string& id,
                       const char* next, const std::string& why) {
  auto i = Describe(t, id);
  if (!i.ok()) return OnError(t, r, "describe-instances", i.error());
  if (i->state.name == "stopping") return WaitFor(t, r, id + " to stop before starting it");
  if (i->state.name == "stopped") {
    auto s = t.ctx.aws().ec2->StartInstances({{id}});
    if (!s.ok()) return OnError(t, r, "start-instances", s.error());
    t.RecordCall(Resource(id), "start-instances", why, s->request_id);
  } else if (i->state.name != "running" && i->state.name != "pending") {
    return Fail(t, r, id + " is " + i->state.name + " and cannot be started");
  }
  return Enter(t, r, next, Progress::kCheckpoint);
}

// wait-new-stopped saw the new instance stopped and only attachments happened since, so it is
// started without a describe; StartInstances of a pending or running instance changes nothing.
Progress StartNew(RolloutTick& t, v1::InstanceRollout& r) {
  CallOutcome s = ChangeState(t.prefetched.started, New(r), [&] {
    return RequestIdOf(t.ctx.aws().ec2->StartInstances({{New(r)}}));
  });
  if (!s.ok()) return OnError(t, r, "start-instances", s.error());
  t.RecordCall(Resource(New(r)), "start-instances",
               "started with its data volumes, network interfaces and addresses", *s);
  return Enter(t, r, kWaitNewStarted, Progress::kCheckpoint);
}

Progress MoveEip(RolloutTick& t, v1::InstanceRollout& r, const std::string& to, bool moved,
                 const char* next) {
  const auto& c = r.capture();
  if (c.eip_allocation_id().empty() && c.eip_public_ip().empty()) {
    return Enter(t, r, next, Progress::kCheckpoint);
  }
  aws::AssociateAddressRequest req;
  req.allocation_id = c.eip_allocation_id();
  if (req.allocation_id.empty()) req.public_ip = c.eip_public_ip();
  req.instance_id = to;
  // On a secondary address, the address it is on (moved before this, both ways); else the primary.
  if (!c.eip_private_ip().empty() && c.eip_private_ip() != c.private_ip()) {
    req.private_ip = c.eip_private_ip();
  }
  req.allow_reassociation = true;
  auto a = t.ctx.aws().ec2->AssociateAddress(req);
  if (!a.ok()) return OnError(t, r, "associate-address", a.error());
  r.set_eip_moved(moved);
  t.RecordCall("eip:" + c.eip_public_ip(), "associate-address", "to " + to, a->request_id);
  return Enter(t, r, next, Progress::kCheckpoint);
}

const aws::InstanceNetworkInterface* PrimaryInterface(const aws::Instance& i) {
  for (const auto& n : i.network_interfaces) {
    if (n.device_index == 0) return &n;
  }
  return nullptr;
}

// The captured secondary addresses `n` holds (with `holds`) or lacks (without).
std::vector<std::string> CapturedIps(const v1::InstanceRollout& r,
                                     const aws::InstanceNetworkInterface* n, bool holds) {
  std::set<std::string> on;
  if (n != nullptr) {
    for (const auto& ip : n->private_ips) on.insert(ip.address);
  }
  std::vector<std::string> out;
  for (const auto& ip : r.capture().secondary_private_ips()) {
    if (on.count(ip) == static_cast<size_t>(holds)) out.push_back(ip);
  }
  return out;
}

// Moves the captured secondary private addresses from the primary interface of `from` to that of
// `to`: released where they are, then assigned (a subnet address belongs to one interface at a
// time). Each call is made only for the addresses a fresh read shows still to move, so a re-run
// after a restart repeats nothing; AllowReassignment covers a release EC2 does not show yet.
// `from` may be empty or gone (a terminated instance holds no addresses).
Progress MovePrivateIps(RolloutTick& t, v1::InstanceRollout& r, const std::string& from,
                        const std::string& to, const char* next) {
  if (!MovesPrivateIps(r)) return Enter(t, r, next, Progress::kCheckpoint);
  const bool rollback = InRollback(r);
  const std::string why = rollback ? "rollback: " : "";
  if (!from.empty()) {
    auto src = Describe(t, from);
    if (!src.ok() && !aws::IsNotFoundAnswer(src.error())) {
      return OnError(t, r, "describe-instances", src.error());
    }
    const auto* eni = src.ok() ? PrimaryInterface(*src) : nullptr;
    std::vector<std::string> held = CapturedIps(r, eni, true);
    if (!held.empty()) {
      auto u = t.ctx.aws().ec2->UnassignPrivateIpAddresses({eni->id, held});
      if (!u.ok()) return OnError(t, r, "unassign-private-ip-addresses", u.error());
      t.RecordCall(Resource(from), "unassign-private-ip-addresses",
                   fmt::format("{}{} from {}", why, fmt::join(held, ","), eni->id),
                   u->request_id);
    }
  }
  auto dst = Describe(t, to);
  if (!dst.ok()) return OnError(t, r, "describe-instances", dst.error());
  const auto* eni = PrimaryInterface(*dst);
  if (eni == nullptr) return Fail(t, r, to + " has no primary network interface");
  std::vector<std::string> missing = CapturedIps(r, eni, false);
  if (!missing.empty()) {
    aws::AssignPrivateIpAddressesRequest req;
    req.network_interface_id = eni->id;
    req.private_ips = missing;
    req.allow_reassignment = true;
    auto a = t.ctx.aws().ec2->AssignPrivateIpAddresses(req);
    if (!a.ok()) return OnError(t, r, "assign-private-ip-addresses", a.error());
    t.RecordCall(Resource(to), "assign-private-ip-addresses",
                 fmt::format("{}{} to {}", why, fmt::join(missing, ","), eni->id), a->request_id);
  }
  return Enter(t, r, next, Progress::kCheckpoint);
}

Progress TerminateOld(RolloutTick& t, v1::InstanceRollout& r) {
  CallOutcome term = ChangeState(t.prefetched.terminated, Old(r), [&] {
    return RequestIdOf(t.ctx.aws().ec2->TerminateInstances({{Old(r)}}));
  });
  if (!term.ok()) {
    if (term.error().aws_code == "OperationNotPermitted") {
      const std::string kept =
          "old instance " + Old(r) + " kept stopped: termination protection is on";
      t.Record(Resource(Old(r)), "terminate-instances", kSkipped, kept, &term.error());
      return Done(t, r, kSucceeded, SuccessDetail(t, r, kept));
    }
    if (aws::IsTransientFailure(term.error())) {
      return OnError(t, r, "terminate-instances", term.error());
    }
    // The new instance serves already: a failed clean-up is reported, not rolled back.
    const std::string kept = "old instance " + Old(r) + " not terminated: " +
                             term.error().ToString();
    t.Record(Resource(Old(r)), "terminate-instances", kFailed, kept, &term.error());
    return Done(t, r, kSucceeded, SuccessDetail(t, r, kept));
  }
  t.RecordCall(Resource(Old(r)), "terminate-instances", "old instance retired", *term);
  const std::string retired = "old instance terminated";
  return Done(t, r, kSucceeded, SuccessDetail(t, r, retired));
}

Progress RetireOld(RolloutTick& t, v1::InstanceRollout& r) {
  if (t.config.keep_old_for_ms <= 0) return TerminateOld(t, r);
  if (r.retire_at_ms() == 0) {
    r.set_retire_at_ms(t.now_ms + t.config.keep_old_for_ms);
    auto s = t.ctx.aws().ec2->CreateTags(
        {{Old(r)}, {{kRetireAfterTag, FormatRfc3339(r.retire_at_ms())}}});
    if (!s.ok() && aws::IsTransientFailure(s.error())) {
      return OnError(t, r, "create-tags", s.error());
    }
    if (s.ok()) {
      t.RecordCall(Resource(Old(r)), "create-tags",
                   std::string(kRetireAfterTag) + "=" + FormatRfc3339(r.retire_at_ms()),
                   s->request_id);
    }
    t.Record(Resource(Old(r)), "keep-stopped", kSucceeded,
             "kept stopped until " + FormatRfc3339(r.retire_at_ms()) + " (keep_old_for)");
    return Enter(t, r, kKeepOld, Progress::kCheckpoint);
  }
  return Enter(t, r, kKeepOld, Progress::kCheckpoint);
}

Progress KeepOld(RolloutTick& t, v1::InstanceRollout& r) {
  if (t.now_ms >= r.retire_at_ms()) return TerminateOld(t, r);
  t.WakeAt(r.retire_at_ms());
  return Progress::kWait;
}

// ---- replace-root-volume ---------------------------------------------------------------------

Progress PrepareTask(RolloutTick& t, v1::InstanceRollout& r, const char* purpose,
                     const char* next) {
  r.set_task_token(t.ctx.IdempotencyToken(fmt::format("{}:{}", purpose, Old(r))));
  return Enter(t, r, next, Progress::kCheckpoint);
}

// Starts a root volume replacement with `image`, or finds the one an earlier run started.
Result<std::string> EnsureTask(RolloutTick& t, v1::InstanceRollout& r, const std::string& image) {
  aws::DescribeReplaceRootVolumeTasksRequest find;
  find.filters = {{"instance-id", {Old(r)}}};
  auto tasks = t.ctx.aws().ec2->DescribeReplaceRootVolumeTasks(find);
  if (!tasks.ok()) return tasks.error();
  for (const auto& task : tasks->tasks) {
    auto tag = task.tags.find(kTokenTag);
    if (tag != task.tags.end() && tag->second == r.task_token()) return task.id;
  }
  aws::CreateReplaceRootVolumeTaskRequest req;
  req.instance_id = Old(r);
  req.image_id = image;
  req.delete_replaced_root_volume = false;  // the old root stays as a way back
  req.client_token = r.task_token();
  req.tag_specifications.push_back({"replace-root-volume-task", {{kTokenTag, r.task_token()}}});
  auto task = t.ctx.aws().ec2->CreateReplaceRootVolumeTask(req);
  if (!task.ok()) return task.error();
  t.RecordCall(Resource(Old(r)), "create-replace-root-volume-task",
               fmt::format("task {} with {}", task->id, image), task->request_id);
  return task->id;
}

Result<aws::ReplaceRootVolumeTask> DescribeTask(RolloutTick& t, const std::string& id) {
  aws::DescribeReplaceRootVolumeTasksRequest req;
  req.task_ids = {id};
  auto tasks = t.ctx.aws().ec2->DescribeReplaceRootVolumeTasks(req);
  if (!tasks.ok()) return tasks.error();
  if (tasks->tasks.empty()) return Error(ErrorCode::kNotFound, "replace task " + id + " is gone");
  return tasks->tasks.front();
}

Progress CreateTask(RolloutTick& t, v1::InstanceRollout& r, bool rollback) {
  auto id = EnsureTask(t, r, rollback ? r.capture().image_id() : t.state.image_id());
  if (!id.ok()) return OnError(t, r, "create-replace-root-volume-task", id.error());
  (rollback ? r.mutable_rollback_task_id() : r.mutable_replace_task_id())->assign(*id);
  return Enter(t, r, rollback ? kRbWaitTask : kWaitTask, Progress::kCheckpoint);
}

Progress WaitTask(RolloutTick& t, v1::InstanceRollout& r, bool rollback) {
  const std::string& id = rollback ? r.rollback_task_id() : r.replace_task_id();
  auto task = DescribeTask(t, id);
  if (!task.ok()) return OnError(t, r, "describe-replace-root-volume-tasks", task.error());
  if (task->state == "succeeded") {
    return Enter(t, r, rollback ? kRbStartOld : kWaitNewRunning, Progress::kCheckpoint);
  }
  if (task->state == "failed" || task->state == "failed-detached") {
    // "failed": EC2 put the original root volume back; "failed-detached": it could not.
    return Fail(t, r, fmt::format("replace root volume task {} {}", id, task->state));
  }
  return WaitFor(t, r, fmt::format("replace root volume task {} ({})", id, task->state));
}

// ---- rollback --------------------------------------------------------------------------------

Progress RbTerminateNew(RolloutTick& t, v1::InstanceRollout& r) {
  if (r.new_instance_id().empty()) return Enter(t, r, kRbReleaseVolumes, Progress::kCheckpoint);
  if (r.new_registered()) {
    for (const auto& tg : r.capture().target_groups()) {
      auto s = t.ctx.aws().elbv2->DeregisterTargets(Targets(tg, r.new_instance_id()));
      if (!s.ok() && aws::IsTransientFailure(s.error())) {
        return OnError(t, r, "deregister-targets", s.error());
      }
      if (s.ok()) {
        t.RecordCall(Resource(r.new_instance_id()), "deregister-targets",
                     "rollback: " + tg.arn(), s->request_id);
      }
    }
    r.set_new_registered(false);
  }
  auto i = Describe(t, r.new_instance_id());
  if (!i.ok()) return OnError(t, r, "describe-instances", i.error());
  if (i->state.name != "terminated" && i->state.name != "shutting-down") {
    auto term = t.ctx.aws().ec2->TerminateInstances({{r.new_instance_id()}});
    if (!term.ok() && term.error().aws_code == "OperationNotPermitted") {
      // Protected by someone else meanwhile (this workflow protects it only once it is healthy):
      // stop it instead, and say so.
      auto s = t.ctx.aws().ec2->StopInstances({{r.new_instance_id()}, std::nullopt, std::nullopt});
      if (!s.ok()) return OnError(t, r, "stop-instances", s.error());
      t.RecordCall(Resource(r.new_instance_id()), "stop-instances",
                   "rollback: termination protection is on, so the new instance is left stopped",
                   s->request_id);
    } else if (!term.ok()) {
      return OnError(t, r, "terminate-instances", term.error());
    } else {
      t.RecordCall(Resource(r.new_instance_id()), "terminate-instances",
                   "rollback: the replacement is removed", term->request_id);
    }
  }
  return Enter(t, r, kRbReleaseVolumes, Progress::kCheckpoint);
}

Progress RbReleaseVolumes(RolloutTick& t, v1::InstanceRollout& r) {
  auto volumes = DataVolumes(t, r);
  if (!volumes.ok()) return OnError(t, r, "describe-volumes", volumes.error());
  for (const auto& dv : r.capture().data_volumes()) {
    auto it = volumes->find(dv.volume_id());
    if (it == volumes->end()) return Fail(t, r, "data volume " + dv.volume_id() + " is gone");
    const aws::Volume& v = it->second;
    if (v.state == "available" || AttachmentTo(v, Old(r)) != nullptr) continue;
    const auto* on_new =
        r.new_instance_id().empty() ? nullptr : AttachmentTo(v, r.new_instance_id());
    if (on_new != nullptr && on_new->state == "attached") {
      aws::DetachVolumeRequest req;
      req.volume_id = dv.volume_id();
      req.instance_id = r.new_instance_id();
      auto d = t.ctx.aws().ec2->DetachVolume(req);
      if (!d.ok() && aws::IsTransientFailure(d.error())) {
        return OnError(t, r, "detach-volume", d.error());
      }
    }
    return WaitFor(t, r, dv.volume_id() + " to be released (now " + v.state + ")");
  }
  return Enter(t, r, MovesInterfaces(r) ? kRbReleaseInterfaces : kRbMovePrivateIps,
               Progress::kCheckpoint);
}

// The interfaces leave the new instance (terminating it detaches them in EC2; a new instance
// kept stopped by its termination protection still holds them).
Progress RbReleaseInterfaces(RolloutTick& t, v1::InstanceRollout& r) {
  auto enis = SecondaryInterfaces(t, r);
  if (!enis.ok()) return OnError(t, r, "describe-network-interfaces", enis.error());
  if (!r.new_instance_id().empty()) {
    auto i = Describe(t, r.new_instance_id());
    if (!i.ok()) return OnError(t, r, "describe-instances", i.error());
    if (i->state.name == "shutting-down") {
      return WaitFor(t, r, r.new_instance_id() + " to terminate (it holds the interfaces)");
    }
    if (auto stop = DetachInterfacesFrom(t, r, *enis, r.new_instance_id())) return *stop;
    for (const auto& [id, n] : *enis) {
      if (OnInstance(n, r.new_instance_id())) {
        return WaitFor(t, r, fmt::format("{} to be released (now {})", id, n.attachment->status));
      }
    }
  }
  return Enter(t, r, kRbMovePrivateIps, Progress::kCheckpoint);
}

Progress RbRegisterOld(RolloutTick& t, v1::InstanceRollout& r) {
  if (r.old_deregistered()) {
    for (const auto& tg : r.capture().target_groups()) {
      auto s = t.ctx.aws().elbv2->RegisterTargets(Targets(tg, Old(r)));
      if (!s.ok()) return OnError(t, r, "register-targets", s.error());
      t.RecordCall(Resource(Old(r)), "register-targets", "rollback: " + tg.arn(),
                   s->request_id);
    }
  }
  if (r.old_stop_protection_lifted()) {
    aws::ModifyInstanceAttributeRequest req;
    req.disable_api_stop = true;
    if (auto held = ApplySetting(t, r, Old(r), req, "rollback: DisableApiStop on")) return *held;
  }
  const std::string detail = r.failure() + "; rolled back: " + Old(r) + " serves again";
  return Done(t, r, kRolledBack, detail);
}

Progress RbPrepareTask(RolloutTick& t, v1::InstanceRollout& r) {
  if (!r.replace_task_id().empty()) {
    auto task = DescribeTask(t, r.replace_task_id());
    if (!task.ok()) return OnError(t, r, "describe-replace-root-volume-tasks", task.error());
    if (task->state == "pending" || task->state == "in-progress" || task->state == "failing") {
      return WaitFor(t, r, "replace root volume task " + task->id + " to end");
    }
    if (task->state == "succeeded") {
      return PrepareTask(t, r, "rollback-root", kRbCreateTask);
    }
  }
  // The root was never replaced (or EC2 restored it): only the instance's service is restored.
  return Enter(t, r, kRbStartOld, Progress::kCheckpoint);
}

// Sends one state change for all `ids` and gives each id its outcome. When the call fails for a
// reason other than throttling or the network (one instance in the wrong state fails the whole
// call in EC2), each instance is asked alone, so only the one at fault gets the error.
void ChangeStates(const std::vector<std::string>& ids,
                  const std::function<CallOutcome(const std::vector<std::string>&)>& call,
                  std::map<std::string, CallOutcome>* out) {
  if (ids.size() < 2) return;  // one instance calls for itself in its phase
  CallOutcome all = call(ids);
  for (const auto& id : ids) {
    if (all.ok() || aws::IsTransientFailure(all.error())) {
      out->emplace(id, all);
    } else {
      out->emplace(id, call({id}));
    }
  }
}

template <typename Call>
std::function<CallOutcome(const std::vector<std::string>&)> AsRequestId(Call call) {
  return [call](const std::vector<std::string>& ids) { return RequestIdOf(call(ids)); };
}

}  // namespace

bool ReplacementDue(const RolloutTick& t, const v1::InstanceRollout& r) {
  if (r.phase() == kPhasePending || r.phase() == kPhaseDone) return false;
  if (r.next_poll_ms() <= t.now_ms) return true;
  // A state-change event of one of its instances wakes it before its next look.
  for (const auto& e : t.ctx.signals()) {
    if (e.body_case() != v1::Event::kInstanceState) continue;
    const std::string& id = e.instance_state().instance_id();
    if (id == Old(r) || (!New(r).empty() && id == New(r))) return true;
  }
  return false;
}

void PrefetchReplacements(RolloutTick& t, const std::vector<v1::InstanceRollout*>& due) {
  std::set<std::string> instances, volumes, statuses, interfaces;
  std::vector<std::string> tokens, stop, start, terminate;
  static const std::set<std::string> kVolumePhases = {
      kDetachVolumes,   kWaitVolumesDetached, kAttachVolumes, kWaitVolumesAttached,
      kRbReleaseVolumes, kRbAttachVolumes,    kRbWaitAttached};
  static const std::set<std::string> kInterfacePhases = {
      kDetachInterfaces,    kWaitInterfacesDetached, kAttachInterfaces,
      kWaitInterfacesAttached, kProtectNew,          kRbReleaseInterfaces,
      kRbAttachInterfaces,  kRbWaitInterfaces};
  static const std::set<std::string> kInstancePhases = {
      kCapture,        kWaitOldStopped,   kWaitNewRunning,      kWaitNewStopped,
      kMovePrivateIps, kWaitNewStarted,   kRbTerminateNew,      kRbReleaseInterfaces,
      kRbMovePrivateIps, kRbStartOld,     kRbWaitOldRunning};
  for (const v1::InstanceRollout* r : due) {
    const std::string& p = r->phase();
    if (kInstancePhases.count(p)) {
      instances.insert(Old(*r));
      if (!New(*r).empty()) instances.insert(New(*r));
    }
    if (kVolumePhases.count(p)) {
      for (const auto& v : r->capture().data_volumes()) volumes.insert(v.volume_id());
    }
    if (kInterfacePhases.count(p)) {
      for (const auto& e : r->capture().secondary_interfaces()) {
        interfaces.insert(e.network_interface_id());
      }
    }
    if (p == kWaitNewHealthy) statuses.insert(New(*r));
    if (p == kLaunch) tokens.push_back(r->launch_token());
    if (p == kStopOld) stop.push_back(Old(*r));
    if (p == kStopNew && StopsNew(t.config, *r)) stop.push_back(New(*r));
    if (p == kStartNew) start.push_back(New(*r));
    if ((p == kRetireOld && t.config.keep_old_for_ms <= 0) ||
        (p == kKeepOld && t.now_ms >= r->retire_at_ms())) {
      terminate.push_back(Old(*r));
    }
  }
  // A failed read is left to the phases: each reads again alone and handles its own error.
  TickReads& p = t.prefetched;
  if (!instances.empty()) {
    if (auto r = t.reads.Instances({instances.begin(), instances.end()}); r.ok()) {
      p.instances = std::move(*r);
      p.asked_instances = std::move(instances);
    }
  }
  if (!volumes.empty()) {
    if (auto r = t.reads.Volumes({volumes.begin(), volumes.end()}); r.ok()) {
      p.volumes = std::move(*r);
      p.asked_volumes = std::move(volumes);
    }
  }
  if (!statuses.empty()) {
    if (auto r = t.reads.Statuses({statuses.begin(), statuses.end()}); r.ok()) {
      p.statuses = std::move(*r);
      p.asked_statuses = std::move(statuses);
    }
  }
  if (!interfaces.empty()) {
    if (auto r = ReadInterfaces(*t.ctx.aws().ec2, {interfaces.begin(), interfaces.end()});
        r.ok()) {
      p.interfaces = std::move(*r);
      p.asked_interfaces = std::move(interfaces);
    }
  }
  if (tokens.size() > 1 && !FindByClientTokens(t, tokens).ok()) {
    p.by_client_token.clear();
    p.client_tokens_asked = false;
  }
  aws::Ec2& ec2 = *t.ctx.aws().ec2;
  ChangeStates(stop, AsRequestId([&ec2](const std::vector<std::string>& ids) {
                 return ec2.StopInstances({ids, std::nullopt, std::nullopt});
               }),
               &p.stopped);
  ChangeStates(start, AsRequestId([&ec2](const std::vector<std::string>& ids) {
                 return ec2.StartInstances({ids});
               }),
               &p.started);
  ChangeStates(terminate, AsRequestId([&ec2](const std::vector<std::string>& ids) {
                 return ec2.TerminateInstances({ids});
               }),
               &p.terminated);
}

void StartReplacements(RolloutTick& t, const std::vector<v1::InstanceRollout*>& starting) {
  if (starting.size() < 2) return;
  std::vector<std::string> ids;
  for (const auto* r : starting) ids.push_back(Old(*r));
  auto read = t.reads.Instances(ids);
  if (!read.ok()) return;  // each capture phase reads again alone
  TickReads& p = t.prefetched;
  p.asked_instances.insert(ids.begin(), ids.end());
  std::vector<const aws::Instance*> to_capture;
  std::vector<v1::InstanceCapture*> captures;
  std::vector<v1::InstanceCapture> out(ids.size());
  for (size_t k = 0; k < ids.size(); ++k) {
    auto it = read->find(ids[k]);
    if (it == read->end()) continue;
    const aws::Instance& i = p.instances.insert_or_assign(it->first, it->second).first->second;
    if (i.image_id == t.state.image_id() || i.state.name != "running") continue;
    to_capture.push_back(&i);
    captures.push_back(&out[k]);
  }
  if (to_capture.empty() || !CaptureInstances(t.ctx.aws(), to_capture, captures, true).ok()) {
    return;
  }
  for (size_t k = 0; k < ids.size(); ++k) {
    if (!out[k].instance_type().empty()) p.captures.emplace(ids[k], std::move(out[k]));
  }
}

bool ReplacementActive(const v1::InstanceRollout& r) {
  return r.phase() != kPhasePending && r.phase() != kPhaseDone && r.phase() != kKeepOld;
}

Progress AdvanceInstance(RolloutTick& t, v1::InstanceRollout& r) {
  const std::string& p = r.phase();
  const std::string old = Old(r);
  if (p == kPhaseDone) return Progress::kDone;
  if (p == kPhasePending) return Enter(t, r, kCapture, Progress::kContinue);
  if (p == kCapture) return Capture(t, r);
  if (p == kDeregisterOld) return DeregisterOld(t, r);
  if (p == kDrainOld) return DrainOld(t, r);
  if (p == kUnprotectOld) return UnprotectOld(t, r);
  if (p == kStopOld) return StopOld(t, r);
  if (p == kWaitOldStopped) return WaitStopped(t, r, old, kDetachVolumes);
  if (p == kDetachVolumes) return DetachVolumes(t, r);
  if (p == kWaitVolumesDetached) return WaitVolumesDetached(t, r);
  if (p == kDetachInterfaces) return DetachInterfaces(t, r);
  if (p == kWaitInterfacesDetached) return WaitInterfacesDetached(t, r);
  if (p == kPrepareLaunch) return PrepareLaunch(t, r);
  if (p == kLaunch) return Launch(t, r);
  if (p == kWaitNewRunning) {
    const char* next = !Relaunch(r)                               ? kRegisterNew
                       : r.capture().source_dest_check_disabled() ? kConfigureNew
                                                                  : AfterNewRunning(t);
    return WaitRunning(t, r, New(r), next);
  }
  if (p == kConfigureNew) return ConfigureNew(t, r);
  if (p == kStopNew) return StopNew(t, r);
  if (p == kWaitNewStopped) return WaitStopped(t, r, New(r), kAttachVolumes);
  if (p == kAttachVolumes) return AttachVolumes(t, r, New(r), kWaitVolumesAttached);
  const char* after_ips = StopsNew(t.config, r) ? kStartNew : kMoveEip;
  const char* after_attach = MovesPrivateIps(r) ? kMovePrivateIps : after_ips;
  if (p == kWaitVolumesAttached) {
    return WaitAttached(t, r, New(r), MovesInterfaces(r) ? kAttachInterfaces : after_attach);
  }
  if (p == kAttachInterfaces) return AttachInterfaces(t, r, New(r), kWaitInterfacesAttached);
  if (p == kWaitInterfacesAttached) {
    return WaitInterfacesAttached(t, r, New(r), after_attach, false);
  }
  if (p == kMovePrivateIps) return MovePrivateIps(t, r, Old(r), New(r), after_ips);
  if (p == kStartNew) return StartNew(t, r);
  if (p == kWaitNewStarted) return WaitRunning(t, r, New(r), kMoveEip);
  if (p == kMoveEip) return MoveEip(t, r, New(r), true, kRegisterNew);
  if (p == kRegisterNew) return RegisterNew(t, r);
  if (p == kWaitNewHealthy) return WaitNewHealthy(t, r);
  if (p == kProtectNew) return ProtectNew(t, r);
  if (p == kRetireOld) return RetireOld(t, r);
  if (p == kKeepOld) return KeepOld(t, r);
  if (p == kPrepareTask) return PrepareTask(t, r, "replace-root", kCreateTask);
  if (p == kCreateTask) return CreateTask(t, r, false);
  if (p == kWaitTask) return WaitTask(t, r, false);
  if (p == kRbTerminateNew) return RbTerminateNew(t, r);
  if (p == kRbReleaseVolumes) return RbReleaseVolumes(t, r);
  if (p == kRbReleaseInterfaces) return RbReleaseInterfaces(t, r);
  // The addresses go back first: an Elastic IP on a secondary address needs it on the old
  // instance again.
  if (p == kRbMovePrivateIps) return MovePrivateIps(t, r, r.new_instance_id(), old, kRbMoveEip);
  if (p == kRbMoveEip) {
    if (!r.eip_moved()) return Enter(t, r, kRbAttachVolumes, Progress::kCheckpoint);
    return MoveEip(t, r, old, false, kRbAttachVolumes);
  }
  if (p == kRbAttachVolumes) return AttachVolumes(t, r, old, kRbWaitAttached);
  if (p == kRbWaitAttached) {
    return WaitAttached(t, r, old, MovesInterfaces(r) ? kRbAttachInterfaces : kRbStartOld);
  }
  if (p == kRbAttachInterfaces) return AttachInterfaces(t, r, old, kRbWaitInterfaces);
  if (p == kRbWaitInterfaces) return WaitInterfacesAttached(t, r, old, kRbStartOld, true);
  if (p == kRbPrepareTask) return RbPrepareTask(t, r);
  if (p == kRbCreateTask) return CreateTask(t, r, true);
  if (p == kRbWaitTask) return WaitTask(t, r, true);
  if (p == kRbStartOld) {
    return StartInstance(t, r, old, kRbWaitOldRunning, "rollback: the old instance serves again");
  }
  if (p == kRbWaitOldRunning) return WaitRunning(t, r, old, kRbRegisterOld);
  if (p == kRbRegisterOld) return RbRegisterOld(t, r);
  return Done(t, r, kFailed, "unknown phase " + p + " (a checkpoint of a newer version?)");
}

std::string DescribeInstancePlan(const v1::AmiRolloutState& state, const RolloutConfig& config,
                                 const v1::InstanceRollout& r) {
  const auto& c = r.capture();
  std::vector<std::string> steps;
  std::vector<std::string> tgs;
  for (const auto& tg : c.target_groups()) tgs.push_back(tg.arn());
  if (!tgs.empty()) steps.push_back(fmt::format("deregister-targets from {}", fmt::join(tgs, ", ")));
  if (!Relaunch(r)) {
    steps.push_back(fmt::format("create-replace-root-volume-task with {} (was {})",
                                state.image_id(), c.image_id()));
  } else {
    std::vector<std::string> volumes;
    for (const auto& v : c.data_volumes()) volumes.push_back(v.volume_id() + " at " + v.device());
    const std::string enis = InterfaceList(c);
    if (c.disable_api_stop()) steps.push_back("modify-instance-attribute DisableApiStop off (old)");
    steps.push_back("stop-instances");
    if (!volumes.empty()) steps.push_back(fmt::format("detach-volume {}", fmt::join(volumes, ", ")));
    if (!enis.empty()) steps.push_back("detach-network-interface " + enis);
    steps.push_back(fmt::format("run-instances {} {} in {} with ClientToken{}", state.image_id(),
                                c.instance_type(), c.subnet_id(),
                                c.cpu_credits().empty() ? "" : ", CPU credits " + c.cpu_credits()));
    if (c.source_dest_check_disabled()) {
      steps.push_back("modify-instance-attribute SourceDestCheck off");
    }
    std::vector<std::string> attach;
    if (!volumes.empty()) {
      attach.push_back(fmt::format("attach-volume {}", fmt::join(volumes, ", ")));
    }
    if (!enis.empty()) attach.push_back("attach-network-interface " + enis);
    if (MovesPrivateIps(r)) {
      attach.push_back(fmt::format("move secondary private IPs {} (unassign-private-ip-addresses, "
                                   "assign-private-ip-addresses)",
                                   fmt::join(c.secondary_private_ips(), ",")));
    }
    if (!attach.empty()) {
      steps.push_back(StopsNew(config, r)
                          ? fmt::format("stop the new instance, {}, start it",
                                        fmt::join(attach, ", "))
                          : fmt::format("{}", fmt::join(attach, ", ")));
    }
    if (!c.eip_public_ip().empty()) steps.push_back("associate-address " + c.eip_public_ip());
  }
  if (!tgs.empty()) steps.push_back("register-targets and wait healthy");
  if (Relaunch(r) && c.disable_api_termination()) {
    steps.push_back("modify-instance-attribute DisableApiTermination on (new)");
  }
  if (Relaunch(r) && c.disable_api_stop()) {
    steps.push_back("modify-instance-attribute DisableApiStop on (new)");
  }
  for (const auto& e : c.secondary_interfaces()) {
    if (Relaunch(r) && e.delete_on_termination()) {
      steps.push_back("modify-network-interface-attribute DeleteOnTermination on " +
                      e.network_interface_id());
    }
  }
  if (Relaunch(r)) {
    steps.push_back(config.keep_old_for_ms > 0
                        ? fmt::format("keep the old instance stopped for {}s, then terminate it",
                                      config.keep_old_for_ms / 1000)
                        : std::string("terminate-instances (old)"));
  }
  return fmt::format("{}", fmt::join(steps, "; "));
}

}  // namespace fleetkeeper::handlers::ami_rollout
