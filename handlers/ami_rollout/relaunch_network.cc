#include "handlers/ami_rollout/replacement_phases.h"

namespace fleetkeeper::handlers::ami_rollout::replacement {

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
      return Fail(t, r,
                  fmt::format("network interface {} was attached to {} meanwhile", id,
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
      if (auto stop =
              SettingFailed(t, r, resource, "modify-network-interface-attribute", m.error())) {
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
      return Fail(
          t, r,
          fmt::format("{} is attached to {} at device {}, not {}", si.network_interface_id(), to,
                      it->second.attachment->device_index, si.device_index()));
    }
  }
  if (restore) {
    if (auto stop = RestoreDeleteOnTermination(t, r, *enis, to)) return *stop;
  }
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
                   fmt::format("{}{} from {}", why, fmt::join(held, ","), eni->id), u->request_id);
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

}  // namespace fleetkeeper::handlers::ami_rollout::replacement
