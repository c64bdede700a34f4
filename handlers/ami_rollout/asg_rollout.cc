#include "handlers/ami_rollout/asg_rollout.h"

#include <fmt/format.h>

#include "awsclient/aws_error.h"
#include "awsclient/clients.h"

namespace fleetkeeper::handlers::ami_rollout {
namespace {

// Released phase names.
constexpr char kPinVersion[] = "pin-version";
constexpr char kPinGroup[] = "pin-group";
constexpr char kCreateVersion[] = "create-version";
constexpr char kCheckRefresh[] = "check-refresh";
constexpr char kStartRefresh[] = "start-refresh";
constexpr char kFollowRefresh[] = "follow-refresh";

std::string Resource(const v1::AsgRollout& a) { return "asg:" + a.name(); }

std::string TemplateLabel(const v1::AsgRollout& a) {
  return a.launch_template_name().empty() ? a.launch_template_id() : a.launch_template_name();
}

Progress EnterPhase(RolloutTick& t, v1::AsgRollout& a, const char* phase, Progress p) {
  a.set_phase(phase);
  a.set_phase_started_ms(t.now_ms);
  return p;
}

Progress Finish(RolloutTick& t, v1::AsgRollout& a, const std::string& outcome,
                const std::string& detail) {
  a.set_phase(kPhaseDone);
  a.set_outcome(outcome);
  a.set_detail(a.plan().empty() ? detail : detail + " [" + a.plan() + "]");
  a.set_phase_started_ms(t.now_ms);
  return Progress::kDone;
}

// A failed call: transient errors are retried at the next poll, others end the group's rollout.
Progress OnError(RolloutTick& t, v1::AsgRollout& a, const std::string& what, const Error& e) {
  if (aws::IsTransientFailure(e)) {
    t.notes.push_back(fmt::format("asg {}: {} will be retried: {}", a.name(), what, e.ToString()));
    return Progress::kWait;
  }
  t.Record(Resource(a), what, kFailed, e.message, &e);
  return Finish(t, a, kFailed, fmt::format("{} failed: {}", what, e.ToString()));
}

aws::InstanceRefreshPreferences ToAws(const v1::RefreshPreferences& p) {
  aws::InstanceRefreshPreferences out;
  if (p.has_min_healthy_percentage()) out.min_healthy_percentage = p.min_healthy_percentage();
  if (p.has_max_healthy_percentage()) out.max_healthy_percentage = p.max_healthy_percentage();
  if (p.has_instance_warmup()) out.instance_warmup = p.instance_warmup();
  out.checkpoint_percentages.assign(p.checkpoint_percentages().begin(),
                                    p.checkpoint_percentages().end());
  if (p.has_checkpoint_delay()) out.checkpoint_delay = p.checkpoint_delay();
  if (p.has_skip_matching()) out.skip_matching = p.skip_matching();
  if (p.has_auto_rollback()) out.auto_rollback = p.auto_rollback();
  out.scale_in_protected_instances = p.scale_in_protected_instances();
  out.standby_instances = p.standby_instances();
  out.alarms.assign(p.alarm_specification().alarms().begin(),
                    p.alarm_specification().alarms().end());
  return out;
}

// The description that marks a version as this workflow's, so that a re-run finds it.
std::string VersionDescription(const std::string& purpose, const std::string& image,
                               const std::string& token) {
  return fmt::format("fleetkeeper {} {} [{}]", purpose, image, token);
}

// Creates a version of the group's template from `source` with `image`, or finds the one an
// earlier run of this phase created (AWS honours the ClientToken; the marker in the description
// also covers endpoints that do not).
Result<int64_t> EnsureVersion(RolloutTick& t, const v1::AsgRollout& a, int64_t source,
                              const std::string& image, const std::string& purpose,
                              const std::string& token) {
  aws::Ec2& ec2 = *t.ctx.aws().ec2;
  const std::string description = VersionDescription(purpose, image, token);
  aws::DescribeLaunchTemplateVersionsRequest latest;
  latest.launch_template_id = a.launch_template_id();
  if (latest.launch_template_id.empty()) latest.launch_template_name = a.launch_template_name();
  latest.versions = {"$Latest"};
  auto existing = ec2.DescribeLaunchTemplateVersions(latest);
  if (!existing.ok()) return existing.error();
  for (const auto& v : existing->versions) {
    if (v.version_description == description) return v.version_number;
  }
  aws::CreateLaunchTemplateVersionRequest req;
  req.launch_template_id = a.launch_template_id();
  if (req.launch_template_id.empty()) req.launch_template_name = a.launch_template_name();
  req.source_version = std::to_string(source);
  req.version_description = description;
  req.image_id = image;
  req.client_token = token;
  auto created = ec2.CreateLaunchTemplateVersion(req);
  if (!created.ok()) return created.error();
  t.RecordCall(Resource(a), "create-launch-template-version",
               fmt::format("{} version {} from version {} with ImageId {} ({})", TemplateLabel(a),
                           created->version_number, source, image, purpose),
               created->request_id);
  return created->version_number;
}

Result<aws::AutoScalingGroup> DescribeGroup(RolloutTick& t, const std::string& name) {
  aws::DescribeAutoScalingGroupsRequest req;
  req.names = {name};
  auto r = t.ctx.aws().autoscaling->DescribeAutoScalingGroups(req);
  if (!r.ok()) return r.error();
  if (r->groups.empty()) {
    return Error(ErrorCode::kNotFound, "Auto Scaling group " + name + " no longer exists");
  }
  return r->groups.front();
}

aws::LaunchTemplateSpec SpecAt(const v1::AsgRollout& a, int64_t version) {
  aws::LaunchTemplateSpec spec;
  spec.id = a.launch_template_id();
  if (spec.id.empty()) spec.name = a.launch_template_name();
  spec.version = std::to_string(version);
  return spec;
}

// The group's MixedInstancesPolicy with its launch template moved to `version`; overrides and the
// instances distribution are kept as they are (Auto Scaling replaces the policy whole).
aws::MixedInstancesPolicy PolicyAt(const aws::AutoScalingGroup& g, const v1::AsgRollout& a,
                                   int64_t version) {
  aws::MixedInstancesPolicy policy = *g.mixed_instances_policy;
  policy.launch_template = SpecAt(a, version);
  return policy;
}

std::string DesiredVersionOf(const aws::InstanceRefresh& r) {
  if (!r.desired_configuration) return "";
  const auto& d = *r.desired_configuration;
  if (d.launch_template) return d.launch_template->version;
  if (d.mixed_instances_policy) return d.mixed_instances_policy->launch_template.version;
  return "";
}

Progress PinVersion(RolloutTick& t, v1::AsgRollout& a) {
  auto v = EnsureVersion(t, a, a.source_version(), a.running_image_id(), "pin", a.pin_token());
  if (!v.ok()) return OnError(t, a, "create-launch-template-version (pin)", v.error());
  a.set_pinned_version(*v);
  return EnterPhase(t, a, kPinGroup, Progress::kCheckpoint);
}

Progress PinGroup(RolloutTick& t, v1::AsgRollout& a) {
  auto g = DescribeGroup(t, a.name());
  if (!g.ok()) return OnError(t, a, "describe-auto-scaling-groups", g.error());
  aws::UpdateAutoScalingGroupRequest req;
  req.asg_name = a.name();
  if (a.mixed_instances()) {
    if (!g->mixed_instances_policy) {
      return Finish(t, a, kFailed, "the group no longer has a MixedInstancesPolicy");
    }
    req.mixed_instances_policy = PolicyAt(*g, a, a.pinned_version());
  } else {
    req.launch_template = SpecAt(a, a.pinned_version());
  }
  auto s = t.ctx.aws().autoscaling->UpdateAutoScalingGroup(req);
  if (!s.ok()) return OnError(t, a, "update-auto-scaling-group (pin)", s.error());
  t.RecordCall(Resource(a), "update-auto-scaling-group",
               fmt::format("pinned to {} version {} ({}) so that AutoRollback is allowed",
                           TemplateLabel(a), a.pinned_version(), a.running_image_id()),
               s->request_id);
  a.set_group_version(std::to_string(a.pinned_version()));
  a.set_source_version(a.pinned_version());
  return EnterPhase(t, a, kCreateVersion, Progress::kContinue);
}

Progress CreateVersion(RolloutTick& t, v1::AsgRollout& a) {
  auto v =
      EnsureVersion(t, a, a.source_version(), t.state.image_id(), "rollout", a.version_token());
  if (!v.ok()) return OnError(t, a, "create-launch-template-version", v.error());
  a.set_new_version(*v);
  return EnterPhase(t, a, kCheckRefresh, Progress::kCheckpoint);
}

Progress CheckRefresh(RolloutTick& t, v1::AsgRollout& a) {
  aws::DescribeInstanceRefreshesRequest req;
  req.asg_name = a.name();
  req.max_records = 10;
  auto r = t.ctx.aws().autoscaling->DescribeInstanceRefreshes(req);
  if (!r.ok()) return OnError(t, a, "describe-instance-refreshes", r.error());
  const std::string ours = std::to_string(a.new_version());
  for (const auto& refresh : r->refreshes) {
    // The version is new and this workflow's, so any refresh to it is ours: one started by an
    // earlier run of start-refresh whose checkpoint was lost.
    if (DesiredVersionOf(refresh) == ours) {
      a.set_refresh_id(refresh.id);
      return EnterPhase(t, a, kFollowRefresh, Progress::kContinue);
    }
  }
  const aws::InstanceRefresh* active = nullptr;
  for (const auto& refresh : r->refreshes) {
    if (RefreshActive(refresh.status)) {
      active = &refresh;
      break;
    }
  }
  if (active == nullptr) return EnterPhase(t, a, kStartRefresh, Progress::kContinue);

  const std::string other = fmt::format(
      "instance refresh {} ({}, desired version {}) is already running", active->id, active->status,
      DesiredVersionOf(*active).empty() ? "unspecified" : DesiredVersionOf(*active));
  switch (t.config.refresh_in_progress) {
    case RefreshInProgressPolicy::kReject:
      t.Record(Resource(a), "instance-refresh", kRejected, other);
      return Finish(t, a, kRejected, other + "; refresh_in_progress is reject");
    case RefreshInProgressPolicy::kCancelAndRestart:
      if (active->status != "Cancelling" && a.foreign_refresh_id() != active->id) {
        auto c = t.ctx.aws().autoscaling->CancelInstanceRefresh({a.name()});
        if (!c.ok() && !aws::IsNotFoundAnswer(c.error())) {
          return OnError(t, a, "cancel-instance-refresh", c.error());
        }
        t.RecordCall(Resource(a), "cancel-instance-refresh",
                     other + "; cancelled (refresh_in_progress is cancel-and-restart)",
                     c.ok() ? c->request_id : c.error().request_id);
        a.set_foreign_refresh_id(active->id);
        return Progress::kCheckpoint;
      }
      break;
    case RefreshInProgressPolicy::kWait:
      if (a.foreign_refresh_id() != active->id) {
        a.set_foreign_refresh_id(active->id);
        t.notes.push_back(fmt::format("asg {}: waiting: {}", a.name(), other));
      }
      break;
  }
  t.wait_signals.insert("refresh:" + a.name());
  return Progress::kWait;
}

Progress StartRefresh(RolloutTick& t, v1::AsgRollout& a) {
  aws::StartInstanceRefreshRequest req;
  req.asg_name = a.name();
  aws::RefreshDesiredConfiguration desired;
  if (a.mixed_instances()) {
    auto g = DescribeGroup(t, a.name());
    if (!g.ok()) return OnError(t, a, "describe-auto-scaling-groups", g.error());
    if (!g->mixed_instances_policy) {
      return Finish(t, a, kFailed, "the group no longer has a MixedInstancesPolicy");
    }
    desired.mixed_instances_policy = PolicyAt(*g, a, a.new_version());
  } else {
    desired.launch_template = SpecAt(a, a.new_version());
  }
  req.desired_configuration = desired;
  req.preferences = ToAws(a.preferences());
  auto r = t.ctx.aws().autoscaling->StartInstanceRefresh(req);
  if (!r.ok()) {
    // Someone started one between our look and our call: decide again.
    if (r.error().code == ErrorCode::kInProgress) {
      return EnterPhase(t, a, kCheckRefresh, Progress::kWait);
    }
    return OnError(t, a, "start-instance-refresh", r.error());
  }
  a.set_refresh_id(r->instance_refresh_id);
  t.RecordCall(Resource(a), "start-instance-refresh",
               fmt::format("refresh {} to {} version {} ({})", r->instance_refresh_id,
                           TemplateLabel(a), a.new_version(), t.state.image_id()),
               r->request_id);
  return EnterPhase(t, a, kFollowRefresh, Progress::kCheckpoint);
}

Progress FollowRefresh(RolloutTick& t, v1::AsgRollout& a) {
  aws::DescribeInstanceRefreshesRequest req;
  req.asg_name = a.name();
  req.instance_refresh_ids = {a.refresh_id()};
  auto r = t.ctx.aws().autoscaling->DescribeInstanceRefreshes(req);
  if (!r.ok()) return OnError(t, a, "describe-instance-refreshes", r.error());
  if (r->refreshes.empty()) {
    return Finish(t, a, kFailed, "instance refresh " + a.refresh_id() + " is gone");
  }
  const aws::InstanceRefresh& refresh = r->refreshes.front();
  const std::string where = fmt::format("refresh {} to version {}", refresh.id, a.new_version());
  const std::string reason = refresh.status_reason.empty() ? "" : ": " + refresh.status_reason;
  if (refresh.status == "Successful") {
    return Finish(t, a, kSucceeded, where + " succeeded (" + t.state.image_id() + ")");
  }
  if (refresh.status == "RollbackSuccessful" && a.guard_handled() && !a.guard_cancelled()) {
    return Finish(
        t, a, kRolledBack,
        fmt::format("{}: {} rolled back by Auto Scaling", t.state.guard_rollback(), where));
  }
  if (refresh.status == "RollbackSuccessful") {
    return Finish(t, a, kRolledBack,
                  where + " failed and was rolled back" +
                      (refresh.rollback_reason.empty() ? reason : ": " + refresh.rollback_reason));
  }
  if (refresh.status == "Failed" || refresh.status == "RollbackFailed") {
    return Finish(t, a, kFailed, where + " " + refresh.status + reason);
  }
  if (refresh.status == "Cancelled") {
    if (a.guard_cancelled()) {
      return Finish(t, a, kFailed,
                    fmt::format("{}: {} was cancelled (Auto Scaling refused to roll it back); the "
                                "instances it had replaced keep {}",
                                t.state.guard_rollback(), where, t.state.image_id()));
    }
    return Finish(t, a, kFailed, where + " was cancelled outside this workflow" + reason);
  }
  if (refresh.percentage_complete && *refresh.percentage_complete != a.percentage_complete()) {
    a.set_percentage_complete(*refresh.percentage_complete);
    t.notes.push_back(fmt::format("asg {}: {} {}% complete ({})", a.name(), where,
                                  *refresh.percentage_complete, refresh.status));
  }
  t.wait_signals.insert("refresh:" + a.name());
  return Progress::kWait;
}

}  // namespace

Progress RollBackAsgOnGuardAlarm(RolloutTick& t, v1::AsgRollout& a) {
  const std::string& why = t.state.guard_rollback();
  if (a.guard_handled() || why.empty()) return Progress::kContinue;
  const std::string& phase = a.phase();
  if (phase == kPhaseDone) {
    a.set_guard_handled(true);
    a.set_detail(a.detail() + "; not rolled back: the refresh had ended");
    return Progress::kCheckpoint;
  }
  if (phase == kStartRefresh) return Progress::kContinue;  // started or not: known once it ran
  if (phase != kFollowRefresh) {
    a.set_guard_handled(true);
    return Finish(t, a, kSkipped, why + ": the instance refresh was not started");
  }
  auto rolled = t.ctx.aws().autoscaling->RollbackInstanceRefresh({a.name()});
  if (rolled.ok()) {
    t.RecordCall(Resource(a), "rollback-instance-refresh",
                 fmt::format("{}: refresh {}", why, rolled->instance_refresh_id),
                 rolled->request_id);
  } else if (aws::IsTransientFailure(rolled.error())) {
    return OnError(t, a, "rollback-instance-refresh", rolled.error());
  } else {
    // Auto Scaling rolls back only a refresh it can (a desired configuration, no AutoRollback
    // in the way, ...): otherwise the refresh is stopped where it is.
    t.Record(Resource(a), "rollback-instance-refresh", kFailed, rolled.error().message,
             &rolled.error());
    auto cancelled = t.ctx.aws().autoscaling->CancelInstanceRefresh({a.name()});
    if (!cancelled.ok() && aws::IsTransientFailure(cancelled.error())) {
      return OnError(t, a, "cancel-instance-refresh", cancelled.error());
    }
    if (!cancelled.ok()) {
      t.Record(Resource(a), "cancel-instance-refresh", kFailed, cancelled.error().message,
               &cancelled.error());
    } else {
      t.RecordCall(Resource(a), "cancel-instance-refresh",
                   fmt::format("{}: refresh {}", why, cancelled->instance_refresh_id),
                   cancelled->request_id);
      a.set_guard_cancelled(true);
    }
  }
  a.set_guard_handled(true);
  return Progress::kCheckpoint;
}

bool RefreshActive(const std::string& status) {
  return status == "Pending" || status == "InProgress" || status == "Cancelling" ||
         status == "RollbackInProgress" || status == "Baking";
}

Progress AdvanceAsg(RolloutTick& t, v1::AsgRollout& a) {
  const std::string& phase = a.phase();
  if (phase == kPhaseDone) return Progress::kDone;
  if (phase == kPhasePending) {
    // Tokens are checkpointed before the calls that carry them.
    a.set_pin_token(t.ctx.IdempotencyToken("pin:" + a.name()));
    a.set_version_token(t.ctx.IdempotencyToken("version:" + a.name()));
    return EnterPhase(t, a, a.needs_pin() ? kPinVersion : kCreateVersion, Progress::kCheckpoint);
  }
  if (phase == kPinVersion) return PinVersion(t, a);
  if (phase == kPinGroup) return PinGroup(t, a);
  if (phase == kCreateVersion) return CreateVersion(t, a);
  if (phase == kCheckRefresh) return CheckRefresh(t, a);
  if (phase == kStartRefresh) return StartRefresh(t, a);
  if (phase == kFollowRefresh) return FollowRefresh(t, a);
  return Finish(t, a, kFailed, "unknown phase " + phase + " (a checkpoint of a newer version?)");
}

std::string DescribeAsgPlan(const v1::AmiRolloutState& state, const v1::AsgRollout& a) {
  std::string plan;
  if (a.needs_pin()) {
    plan += fmt::format(
        "create-launch-template-version {} from version {} with ImageId {} and "
        "update-auto-scaling-group to it (pin); ",
        TemplateLabel(a), a.source_version(), a.running_image_id());
  }
  plan += fmt::format(
      "create-launch-template-version {} from version {} with ImageId {}; "
      "start-instance-refresh with DesiredConfiguration.{} at that version",
      TemplateLabel(a), a.source_version(), state.image_id(),
      a.mixed_instances() ? "MixedInstancesPolicy" : "LaunchTemplate");
  return plan + " [" + a.plan() + "]";
}

}  // namespace fleetkeeper::handlers::ami_rollout
