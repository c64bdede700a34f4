#include "handlers/ami_rollout/replacement.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "awsclient/aws_error.h"
#include "awsclient/clients.h"
#include "handlers/ami_rollout/replacement_phases.h"

namespace fleetkeeper::handlers::ami_rollout {

using namespace replacement;  // the phases this file drives

namespace {

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
  // The forward detach and attach read the volumes only when EC2 refuses them (relaunch.cc).
  static const std::set<std::string> kVolumePhases = {kWaitVolumesDetached, kRbReleaseVolumes,
                                                      kRbAttachVolumes};
  static const std::set<std::string> kInterfacePhases = {
      kDetachInterfaces, kWaitInterfacesDetached, kAttachInterfaces,   kWaitInterfacesAttached,
      kProtectNew,       kRbReleaseInterfaces,    kRbAttachInterfaces, kRbWaitInterfaces};
  static const std::set<std::string> kInstancePhases = {
      kCapture, kWaitOldStopped, kWaitNewRunning, kWaitNewStopped, kMovePrivateIps, kWaitNewStarted,
      kRbTerminateNew, kRbReleaseInterfaces, kRbMovePrivateIps, kRbStartOld, kRbWaitOldRunning,
      // The attachments' waits read the instance's block device mapping (WaitAttached).
      kWaitVolumesAttached, kRbWaitAttached};
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
    if (auto r = ReadInterfaces(*t.ctx.aws().ec2, {interfaces.begin(), interfaces.end()}); r.ok()) {
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
    if (i.image_id == TargetImage(t, *starting[k]) || i.state.name != "running") continue;
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
  if (p == kPrepareTask) {
    // A reversal on a guard alarm replaces the same root again: its own token.
    return PrepareTask(t, r, r.reverses().empty() ? "replace-root" : "guard-rollback-root",
                       kCreateTask);
  }
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
  if (!tgs.empty())
    steps.push_back(fmt::format("deregister-targets from {}", fmt::join(tgs, ", ")));
  if (!Relaunch(r)) {
    steps.push_back(fmt::format("create-replace-root-volume-task with {} (was {})",
                                state.image_id(), c.image_id()));
  } else {
    std::vector<std::string> volumes;
    for (const auto& v : c.data_volumes()) volumes.push_back(v.volume_id() + " at " + v.device());
    const std::string enis = InterfaceList(c);
    if (c.disable_api_stop()) steps.push_back("modify-instance-attribute DisableApiStop off (old)");
    steps.push_back("stop-instances");
    if (!volumes.empty())
      steps.push_back(fmt::format("detach-volume {}", fmt::join(volumes, ", ")));
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
      attach.push_back(
          fmt::format("move secondary private IPs {} (unassign-private-ip-addresses, "
                      "assign-private-ip-addresses)",
                      fmt::join(c.secondary_private_ips(), ",")));
    }
    if (!attach.empty()) {
      steps.push_back(StopsNew(config, r) ? fmt::format("stop the new instance, {}, start it",
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
