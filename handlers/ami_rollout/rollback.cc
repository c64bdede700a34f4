#include "handlers/ami_rollout/replacement_phases.h"

namespace fleetkeeper::handlers::ami_rollout::replacement {

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
        t.RecordCall(Resource(r.new_instance_id()), "deregister-targets", "rollback: " + tg.arn(),
                     s->request_id);
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
      t.RecordCall(Resource(Old(r)), "register-targets", "rollback: " + tg.arn(), s->request_id);
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

}  // namespace fleetkeeper::handlers::ami_rollout::replacement
