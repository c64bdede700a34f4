#include "handlers/ami_rollout/replacement_phases.h"

namespace fleetkeeper::handlers::ami_rollout::replacement {

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

// No read first: each data volume's DetachVolume is sent, and only a refusal asks where the volume
// is (a re-run after a crash finds it detaching or detached already, which is what was wanted).
Progress DetachVolumes(RolloutTick& t, v1::InstanceRollout& r) {
  for (const auto& dv : r.capture().data_volumes()) {
    aws::DetachVolumeRequest req;
    req.volume_id = dv.volume_id();
    req.instance_id = Old(r);
    req.device = dv.device();
    auto d = t.ctx.aws().ec2->DetachVolume(req);
    if (!d.ok()) {
      if (aws::IsTransientFailure(d.error())) return OnError(t, r, "detach-volume", d.error());
      auto volumes = DataVolumes(t, r);
      if (!volumes.ok()) return OnError(t, r, "describe-volumes", volumes.error());
      auto it = volumes->find(dv.volume_id());
      if (it == volumes->end()) return Fail(t, r, "data volume " + dv.volume_id() + " is gone");
      if (AttachmentTo(it->second, Old(r)) == nullptr) continue;
      return OnError(t, r, "detach-volume", d.error());
    }
    t.RecordCall("volume:" + dv.volume_id(), "detach-volume",
                 fmt::format("from {} at {}", Old(r), dv.device()), d->request_id);
  }
  // The detach is not waited for here: the launch does not need the volumes, and attach-volumes
  // waits for each to be available before it attaches it. So the volumes detach while the new
  // instance launches and boots, and no look of its own is spent on them.
  return Enter(t, r, MovesInterfaces(r) ? kDetachInterfaces : kPrepareLaunch,
               Progress::kCheckpoint);
}

// Only a replacement checkpointed in this phase by an earlier version still comes here (this
// version detaches without waiting, and the attach waits for `available`). Removable, with the
// phase, one release after: by then every workflow a worker of the earlier version started has
// ended, at the latest by its deadline (workflow_deadline_ms, 24 h by default; docs/workflows.md).
Progress WaitVolumesDetached(RolloutTick& t, v1::InstanceRollout& r) {
  auto volumes = DataVolumes(t, r);
  if (!volumes.ok()) return OnError(t, r, "describe-volumes", volumes.error());
  for (const auto& [id, v] : *volumes) {
    if (v.state != "available") return WaitFor(t, r, id + " to detach (now " + v.state + ")");
  }
  return Enter(t, r, MovesInterfaces(r) ? kDetachInterfaces : kPrepareLaunch,
               Progress::kCheckpoint);
}

// Only the healthy new instance takes the old one's termination and stop protection and its
// interfaces' DeleteOnTermination: a rollback before this point terminates it, and must neither be
// refused nor take the interfaces with it (and the new instance is stopped for its attachments).
Progress ProtectNew(RolloutTick& t, v1::InstanceRollout& r) {
  if (r.capture().disable_api_termination()) {
    aws::ModifyInstanceAttributeRequest req;
    req.disable_api_termination = true;
    if (auto held =
            ApplySetting(t, r, New(r), req, "DisableApiTermination on, as on the old instance")) {
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
  req.image_id = TargetImage(t, r);
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
  t.RecordCall(
      Resource(r.new_instance_id()), "run-instances",
      fmt::format(
          "replacement for {} from {} ({}{})", Old(r), TargetImage(t, r),
          r.capture().instance_type(),
          r.capture().cpu_credits().empty() ? "" : ", CPU credits " + r.capture().cpu_credits()),
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
  t.RecordCall(
      Resource(New(r)), "stop-instances",
      "stopped to attach the data volumes, network interfaces and addresses (attach_live is off)",
      *s);
  return Enter(t, r, kWaitNewStopped, Progress::kCheckpoint);
}

namespace {

// Where the volume is, when an attach without a look was refused: attached to `to` by an earlier
// run (done), not available yet (wait), or neither (the refusal stands).
std::optional<Progress> AfterRefusedAttach(RolloutTick& t, v1::InstanceRollout& r,
                                           const v1::DataVolume& dv, const std::string& to,
                                           const Error& refused) {
  auto volumes = DataVolumes(t, r);
  if (!volumes.ok()) return OnError(t, r, "describe-volumes", volumes.error());
  auto it = volumes->find(dv.volume_id());
  if (it == volumes->end()) return Fail(t, r, "data volume " + dv.volume_id() + " is gone");
  if (AttachmentTo(it->second, to) != nullptr) return std::nullopt;
  if (it->second.state != "available") {
    return WaitFor(t, r, dv.volume_id() + " to be available (now " + it->second.state + ")");
  }
  return OnError(t, r, "attach-volume", refused);
}

}  // namespace

// Forward, the attach comes after the detach was sent and the new instance launched, ran and
// stopped: the volumes are as good as certainly available, so they are attached without a look,
// and read only when EC2 refuses (still detaching: wait; attached by a run before a crash: done).
// The rollback does not know where the volumes are and reads first.
Progress AttachVolumes(RolloutTick& t, v1::InstanceRollout& r, const std::string& to,
                       const char* next) {
  std::optional<std::map<std::string, aws::Volume>> known;
  if (InRollback(r)) {
    auto volumes = DataVolumes(t, r);
    if (!volumes.ok()) return OnError(t, r, "describe-volumes", volumes.error());
    known = std::move(*volumes);
  }
  for (const auto& dv : r.capture().data_volumes()) {
    if (known) {
      auto it = known->find(dv.volume_id());
      if (it == known->end()) return Fail(t, r, "data volume " + dv.volume_id() + " is gone");
      if (AttachmentTo(it->second, to) != nullptr) continue;
      if (it->second.state != "available") {
        return WaitFor(t, r, dv.volume_id() + " to be available (now " + it->second.state + ")");
      }
    }
    auto a = t.ctx.aws().ec2->AttachVolume({dv.volume_id(), to, dv.device()});
    if (!a.ok()) {
      if (known || aws::IsTransientFailure(a.error())) {
        return OnError(t, r, "attach-volume", a.error());
      }
      if (auto held = AfterRefusedAttach(t, r, dv, to, a.error())) return *held;
      continue;
    }
    t.RecordCall("volume:" + dv.volume_id(), "attach-volume",
                 fmt::format("to {} at {}", to, dv.device()), a->request_id);
  }
  return Enter(t, r, next, Progress::kCheckpoint);
}

// Read from `to`'s block device mapping, where DescribeInstances shows each attachment's state
// (attaching | attached): the look rides on the instance reads that the cell's other waiting
// replacements make at the same grid point, instead of a DescribeVolumes call of its own.
Progress WaitAttached(RolloutTick& t, v1::InstanceRollout& r, const std::string& to,
                      const char* next) {
  auto i = Describe(t, to);
  if (!i.ok()) return OnError(t, r, "describe-instances", i.error());
  for (const auto& dv : r.capture().data_volumes()) {
    auto bd = std::find_if(i->block_devices.begin(), i->block_devices.end(),
                           [&](const auto& d) { return d.volume_id == dv.volume_id(); });
    if (bd == i->block_devices.end() || bd->status != "attached") {
      return WaitFor(t, r,
                     fmt::format("{} attached to {} (now {})", dv.volume_id(), to,
                                 bd == i->block_devices.end() ? "not attached" : bd->status));
    }
    if (bd->device_name != dv.device()) {
      return Fail(t, r,
                  fmt::format("{} is attached to {} at {}, not {}", dv.volume_id(), to,
                              bd->device_name, dv.device()));
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
    const std::string kept =
        "old instance " + Old(r) + " not terminated: " + term.error().ToString();
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

}  // namespace fleetkeeper::handlers::ami_rollout::replacement
