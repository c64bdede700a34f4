#include "handlers/ami_rollout/targets.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "awsclient/aws_error.h"
#include "awsclient/pagination.h"
#include "handlers/group_guards.h"

namespace fleetkeeper::handlers::ami_rollout {
namespace {

constexpr char kResolveSsm[] = "resolve:ssm:";

bool IsExcludedByTag(const aws::Tags& tags) {
  auto it = tags.find(kExcludeTag);
  if (it == tags.end()) return false;
  std::string v = it->second;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  return v == "true";
}

std::string AsgResource(const std::string& name) { return "asg:" + name; }
std::string InstanceResource(const std::string& id) { return "instance:" + id; }

// The launch template a group launches from, directly or through its MixedInstancesPolicy.
std::optional<aws::LaunchTemplateSpec> TemplateOf(const aws::AutoScalingGroup& g) {
  if (g.launch_template) return g.launch_template;
  if (g.mixed_instances_policy) return g.mixed_instances_policy->launch_template;
  return std::nullopt;
}

std::string TemplateKey(const aws::LaunchTemplateSpec& spec) {
  return spec.id.empty() ? "name:" + spec.name : spec.id;
}

std::string VersionOrDefault(const std::string& version) {
  return version.empty() ? "$Default" : version;
}

// Launch template versions looked up during one plan, by (template, version).
class TemplateVersions {
 public:
  explicit TemplateVersions(aws::Ec2& ec2) : ec2_(ec2) {}

  Result<aws::LaunchTemplateVersion> Get(const aws::LaunchTemplateSpec& spec, bool resolve_alias) {
    const std::string key = TemplateKey(spec) + "|" + VersionOrDefault(spec.version) +
                            (resolve_alias ? "|resolved" : "");
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    aws::DescribeLaunchTemplateVersionsRequest req;
    req.launch_template_id = spec.id;
    if (spec.id.empty()) req.launch_template_name = spec.name;
    req.versions = {VersionOrDefault(spec.version)};
    if (resolve_alias) req.resolve_alias = true;
    auto r = ec2_.DescribeLaunchTemplateVersions(req);
    if (!r.ok()) return r.error();
    if (r->versions.empty()) {
      return Error(ErrorCode::kNotFound,
                   fmt::format("launch template {} has no version {}", TemplateKey(spec),
                               VersionOrDefault(spec.version)));
    }
    cache_.emplace(key, r->versions.front());
    return r->versions.front();
  }

 private:
  aws::Ec2& ec2_;
  std::map<std::string, aws::LaunchTemplateVersion> cache_;
};

Result<std::vector<aws::AutoScalingGroup>> AllGroups(aws::AutoScaling& autoscaling) {
  return aws::CollectAll(
      aws::DescribeAutoScalingGroupsRequest{},
      [&](const auto& req) { return autoscaling.DescribeAutoScalingGroups(req); },
      &aws::DescribeAutoScalingGroupsResponse::groups);
}

Result<std::vector<aws::Instance>> InstancesByFilter(aws::Ec2& ec2, aws::Filters filters) {
  aws::DescribeInstancesRequest req;
  req.filters = std::move(filters);
  return aws::CollectAll(
      std::move(req), [&](const auto& r) { return ec2.DescribeInstances(r); },
      &aws::DescribeInstancesResponse::instances);
}

// The image most InService instances of a group run, and whether all of them run `image`.
struct GroupImages {
  std::string running_image;
  bool all_on_image = true;
  int in_service = 0;
};

Result<GroupImages> ImagesOfGroup(aws::Ec2& ec2, const aws::AutoScalingGroup& g,
                                  const std::string& image) {
  GroupImages out;
  std::vector<std::string> ids;
  for (const auto& i : g.instances) {
    if (i.lifecycle_state == "InService") ids.push_back(i.instance_id);
  }
  out.in_service = static_cast<int>(ids.size());
  if (ids.empty()) return out;
  auto r = DescribeInstancesById(ec2, ids);
  if (!r.ok()) return r.error();
  std::map<std::string, int> count;
  for (const auto& i : *r) {
    ++count[i.image_id];
    if (i.image_id != image) out.all_on_image = false;
  }
  int best = 0;
  for (const auto& [img, n] : count) {
    if (n > best) {
      best = n;
      out.running_image = img;
    }
  }
  return out;
}

// Every group that uses a template at an alias version ($Latest, $Default or unset), by template.
std::multimap<std::string, std::pair<std::string, std::string>> AliasUsers(
    const std::vector<aws::AutoScalingGroup>& groups) {
  std::multimap<std::string, std::pair<std::string, std::string>> users;
  for (const auto& g : groups) {
    auto spec = TemplateOf(g);
    if (spec && IsVersionAlias(spec->version)) {
      users.emplace(TemplateKey(*spec), std::make_pair(g.name, VersionOrDefault(spec->version)));
    }
  }
  return users;
}

std::string PreferencesText(const v1::RefreshPreferences& p) {
  std::vector<std::string> parts;
  if (p.has_min_healthy_percentage()) {
    parts.push_back(fmt::format("MinHealthyPercentage={}", p.min_healthy_percentage()));
  }
  if (p.has_max_healthy_percentage()) {
    parts.push_back(fmt::format("MaxHealthyPercentage={}", p.max_healthy_percentage()));
  }
  if (p.has_instance_warmup())
    parts.push_back(fmt::format("InstanceWarmup={}", p.instance_warmup()));
  if (p.checkpoint_percentages_size() > 0) {
    parts.push_back(
        fmt::format("CheckpointPercentages=[{}]", fmt::join(p.checkpoint_percentages(), ",")));
  }
  if (p.has_checkpoint_delay()) {
    parts.push_back(fmt::format("CheckpointDelay={}", p.checkpoint_delay()));
  }
  if (p.has_skip_matching()) {
    parts.push_back(fmt::format("SkipMatching={}", p.skip_matching() ? "true" : "false"));
  }
  if (p.has_auto_rollback()) {
    parts.push_back(fmt::format("AutoRollback={}", p.auto_rollback() ? "true" : "false"));
  }
  if (!p.scale_in_protected_instances().empty()) {
    parts.push_back("ScaleInProtectedInstances=" + p.scale_in_protected_instances());
  }
  if (!p.standby_instances().empty()) parts.push_back("StandbyInstances=" + p.standby_instances());
  if (p.alarm_specification().alarms_size() > 0) {
    parts.push_back(fmt::format("Alarms=[{}]", fmt::join(p.alarm_specification().alarms(), ",")));
  }
  return fmt::format("{}", fmt::join(parts, " "));
}

void Reject(v1::AsgRollout* a, std::string why) {
  a->set_phase(kPhaseDone);
  a->set_outcome(kRejected);
  a->set_detail(std::move(why));
}

Status PlanGroups(RolloutTick& t) {
  aws::CellClients& aws = t.ctx.aws();
  const std::string& parameter = t.state.parameter();
  auto groups = AllGroups(*aws.autoscaling);
  if (!groups.ok()) return groups.error();
  TemplateVersions versions(*aws.ec2);
  const std::set<std::string> bound_by_config = t.config.BoundAsgs(parameter);

  // 1. Which groups are bound to the parameter, and how.
  std::map<std::string, const aws::AutoScalingGroup*> by_name;
  std::vector<std::pair<const aws::AutoScalingGroup*, std::string>> bound;
  for (const auto& g : *groups) {
    by_name[g.name] = &g;
    std::string how;
    auto spec = TemplateOf(g);
    if (spec) {
      auto v = versions.Get(*spec, false);
      if (!v.ok() && !aws::IsNotFoundAnswer(v.error())) return v.error();
      if (v.ok() && v->image_id == kResolveSsm + parameter) how = "launch template resolve:ssm";
    }
    if (how.empty()) {
      auto tag = g.tags.find(kParameterTag);
      if (tag != g.tags.end() && tag->second == parameter)
        how = std::string("tag ") + kParameterTag;
    }
    if (how.empty() && bound_by_config.count(g.name)) how = "config binding";
    if (!how.empty()) bound.emplace_back(&g, how);
  }
  // Guard alarms a tag on a group names: its tags came with DescribeAutoScalingGroups.
  for (const auto& [g, how] : bound) {
    RecordTaggedGuards(t.ctx, t.config.group_tag_keys, "asg:" + g->name, g->tags);
  }
  for (const auto& name : bound_by_config) {
    if (!by_name.count(name)) {
      t.state.add_skipped()->set_resource(AsgResource(name));
      t.state.mutable_skipped()->rbegin()->set_reason(
          "bound by the config, but no such Auto Scaling group exists");
    }
  }

  // 2. Exclusions win, then the rules that reject a group outright.
  std::set<std::string> targets;
  std::map<std::string, v1::AsgRollout*> rollouts;
  for (const auto& [g, how] : bound) {
    std::string excluded;
    if (t.config.excluded_asgs.count(g->name)) excluded = "excluded by EXCLUDED_ASGS / config";
    if (excluded.empty() && IsExcludedByTag(g->tags)) {
      excluded = std::string("excluded by tag ") + kExcludeTag + "=true";
    }
    if (!excluded.empty()) {
      auto* s = t.state.add_skipped();
      s->set_resource(AsgResource(g->name));
      s->set_reason(excluded);
      continue;
    }
    auto* a = t.state.add_asgs();
    a->set_name(g->name);
    a->set_bound_by(how);
    a->set_phase(kPhasePending);
    rollouts[g->name] = a;
    auto spec = TemplateOf(*g);
    if (!spec) {
      Reject(a, g->launch_configuration_name.empty()
                    ? "the group has no launch template"
                    : fmt::format("the group uses launch configuration {}: launch configurations "
                                  "cannot take a new AMI version; migrate it to a launch template",
                                  g->launch_configuration_name));
      continue;
    }
    if (g->mixed_instances_policy) {
      for (const auto& o : g->mixed_instances_policy->overrides) {
        if (o.launch_template) {
          Reject(a, fmt::format("MixedInstancesPolicy override {} names its own launch template "
                                "{}; per-type templates are not rolled out",
                                o.instance_type, TemplateKey(*o.launch_template)));
          break;
        }
      }
      if (a->outcome() == kRejected) continue;
      a->set_mixed_instances(true);
    }
    a->set_launch_template_id(spec->id);
    a->set_launch_template_name(spec->name);
    a->set_group_version(VersionOrDefault(spec->version));
    targets.insert(g->name);
  }

  // 3. Shared templates: a new version becomes $Latest of the template, so any other group that
  // launches from it at an alias would silently take the new AMI. Rejecting one target can expose
  // another, hence the loop.
  const auto alias_users = AliasUsers(*groups);
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto& name : std::set<std::string>(targets)) {
      v1::AsgRollout* a = rollouts[name];
      aws::LaunchTemplateSpec spec{a->launch_template_id(), a->launch_template_name(), ""};
      auto range = alias_users.equal_range(TemplateKey(spec));
      for (auto it = range.first; it != range.second; ++it) {
        const auto& [other, version] = it->second;
        if (other == name || targets.count(other)) continue;
        Reject(a, fmt::format("launch template {} is also used at {} by group {}, which is not a "
                              "target of this rollout: a new version would leak into it",
                              a->launch_template_name().empty() ? a->launch_template_id()
                                                                : a->launch_template_name(),
                              version, other));
        targets.erase(name);
        changed = true;
        break;
      }
    }
  }

  // 4. Per target: the version to copy, AutoRollback, already current.
  for (const auto& name : targets) {
    v1::AsgRollout* a = rollouts[name];
    const aws::AutoScalingGroup& g = *by_name[name];
    aws::LaunchTemplateSpec spec = *TemplateOf(g);
    auto v = versions.Get(spec, false);
    if (!v.ok()) {
      Reject(a, "cannot read its launch template: " + v.error().ToString());
      continue;
    }
    a->set_source_version(v->version_number);
    if (a->launch_template_id().empty()) a->set_launch_template_id(v->launch_template_id);
    if (a->launch_template_name().empty()) a->set_launch_template_name(v->launch_template_name);
    const bool ssm_image = v->image_id.rfind(kResolveSsm, 0) == 0;
    std::string resolved_image = v->image_id;
    if (ssm_image) {
      auto rv = versions.Get(spec, true);
      if (rv.ok()) resolved_image = rv->image_id;
    }
    auto images = ImagesOfGroup(*aws.ec2, g, t.state.image_id());
    if (!images.ok()) return images.error();
    a->set_running_image_id(images->running_image);
    if (resolved_image == t.state.image_id() && images->all_on_image) {
      a->set_phase(kPhaseDone);
      a->set_outcome(kCurrent);
      a->set_detail(
          fmt::format("already current: version {} resolves to {} and all {} InService "
                      "instances run it",
                      v->version_number, t.state.image_id(), images->in_service));
      continue;
    }

    v1::RefreshPreferences prefs = t.config.EffectivePreferences(name);
    if (!prefs.has_skip_matching()) prefs.set_skip_matching(true);
    std::string note;
    const bool alias = IsVersionAlias(a->group_version());
    if (prefs.has_auto_rollback() && prefs.auto_rollback() && (alias || ssm_image)) {
      const std::string why = alias ? "the group launches from " + a->group_version()
                                    : "its launch template takes the image from an SSM parameter";
      const std::string pin_image = ssm_image ? images->running_image : v->image_id;
      if (t.config.pin_before_refresh && !pin_image.empty() &&
          pin_image.rfind(kResolveSsm, 0) != 0) {
        a->set_needs_pin(true);
        a->set_running_image_id(pin_image);
        note = fmt::format(
            "AutoRollback needs a pinned version ({}): pinning a copy of version "
            "{} with {} first",
            why, v->version_number, pin_image);
      } else {
        prefs.set_auto_rollback(false);
        note = fmt::format("AutoRollback off: Auto Scaling refuses it because {}; {}", why,
                           t.config.pin_before_refresh
                               ? "no running image to pin (no InService instance)"
                               : "set pin_before_refresh to pin a version first");
      }
    }
    *a->mutable_preferences() = prefs;
    a->set_plan(fmt::format(
        "{}version {} of {} -> new version with {}; {}{}",
        a->mixed_instances() ? "mixed instances; " : "", v->version_number,
        a->launch_template_name().empty() ? a->launch_template_id() : a->launch_template_name(),
        t.state.image_id(), PreferencesText(prefs), note.empty() ? "" : "; " + note));
  }
  return Ok{};
}

// An instance the plan decides at once: nothing to replace, with the reason.
void Settle(v1::InstanceRollout& r, const std::string& outcome, const std::string& detail) {
  r.set_phase(kPhaseDone);
  r.set_outcome(outcome);
  r.set_detail(detail);
}

Status PlanInstances(RolloutTick& t) {
  aws::CellClients& aws = t.ctx.aws();
  const std::string& parameter = t.state.parameter();
  std::map<std::string, std::pair<aws::Instance, std::string>> found;  // id -> (instance, how)

  auto tagged = InstancesByFilter(*aws.ec2, {{std::string("tag:") + kParameterTag, {parameter}}});
  if (!tagged.ok()) return tagged.error();
  for (auto& i : *tagged) {
    std::string id = i.id;
    found.emplace(id, std::make_pair(std::move(i), std::string("tag ") + kParameterTag));
  }
  for (const auto& id : t.config.BoundInstances(parameter)) {
    if (found.count(id)) continue;
    auto r = DescribeInstancesById(*aws.ec2, {id});
    if (!r.ok() || r->empty()) {
      if (r.ok() || aws::IsNotFoundAnswer(r.error()) ||
          r.error().aws_code.rfind("InvalidInstanceID", 0) == 0) {
        auto* s = t.state.add_skipped();
        s->set_resource(InstanceResource(id));
        s->set_reason("bound by the config, but no such instance exists");
        continue;
      }
      return r.error();
    }
    found.emplace(id, std::make_pair(std::move(r->front()), std::string("config binding")));
  }

  std::vector<std::pair<const aws::Instance*, v1::InstanceRollout*>> to_capture;
  for (auto& [id, entry] : found) {
    const aws::Instance& i = entry.first;
    // Members of a group are rolled out by the group's instance refresh.
    if (i.tags.count("aws:autoscaling:groupName")) continue;
    if (i.state.name == "terminated" || i.state.name == "shutting-down") continue;
    std::string skip;
    if (t.config.excluded_instances.count(id)) skip = "excluded by EXCLUDED_INSTANCES / config";
    if (skip.empty() && IsExcludedByTag(i.tags)) {
      skip = std::string("excluded by tag ") + kExcludeTag + "=true";
    }
    if (skip.empty() && i.state.name != "running") {
      skip = "the instance is " + i.state.name + ": only running instances are replaced";
    }
    ReplacementStrategy strategy = t.config.strategy;
    std::string rejected;
    if (auto tag = i.tags.find(kStrategyTag); tag != i.tags.end()) {
      if (auto parsed = ParseStrategy(tag->second)) {
        strategy = *parsed;
      } else {
        rejected =
            fmt::format("tag {}=\"{}\": the strategy must be relaunch or replace-root-volume",
                        kStrategyTag, tag->second);
      }
    }
    if (!skip.empty()) {
      auto* s = t.state.add_skipped();
      s->set_resource(InstanceResource(id));
      s->set_reason(skip);
      continue;
    }
    auto* r = t.state.add_instances();
    r->set_instance_id(id);
    r->set_bound_by(entry.second);
    r->set_strategy(ToString(strategy));
    if (!rejected.empty()) {
      Settle(*r, kRejected, rejected);
      continue;
    }
    if (i.image_id == t.state.image_id()) {
      Settle(*r, kCurrent, "already runs " + t.state.image_id());
      continue;
    }
    to_capture.emplace_back(&i, r);
  }
  // One pass for all: the attributes (four calls per instance) only for a dry run, which reports
  // the plan; a real rollout reads them at each instance's turn, when they are used.
  std::vector<const aws::Instance*> described;
  std::vector<v1::InstanceCapture*> captures;
  for (const auto& [i, r] : to_capture) {
    described.push_back(i);
    captures.push_back(r->mutable_capture());
  }
  Status captured = CaptureInstances(aws, described, captures, t.ctx.dry_run());
  if (!captured.ok()) return captured;
  for (const auto& [i, r] : to_capture) {
    r->set_captured(true);
    std::string blocker = ReplacementBlocker(r->capture(), StrategyOf(*r));
    if (!blocker.empty()) {
      Settle(*r, kRejected, blocker);
      continue;
    }
    r->set_phase(kPhasePending);
  }
  return Ok{};
}

}  // namespace

bool IsVersionAlias(const std::string& version) {
  return version.empty() || version == "$Latest" || version == "$Default";
}

Result<std::vector<aws::Instance>> DescribeInstancesById(aws::Ec2& ec2,
                                                         const std::vector<std::string>& ids) {
  aws::DescribeInstancesRequest req;
  req.instance_ids = ids;
  return aws::CollectAll(
      std::move(req), [&](const auto& r) { return ec2.DescribeInstances(r); },
      &aws::DescribeInstancesResponse::instances);
}

ReplacementStrategy StrategyOf(const v1::InstanceRollout& r) {
  return ParseStrategy(r.strategy()).value_or(ReplacementStrategy::kRelaunch);
}

constexpr char kUseReplaceRootVolume[] =
    "use strategy replace-root-volume (replacement.strategy, or the instance's tag "
    "fleetkeeper:replacement-strategy)";

std::string ReplacementBlocker(const v1::InstanceCapture& c, ReplacementStrategy strategy) {
  if (c.disable_api_stop() && strategy != ReplacementStrategy::kRelaunch) {
    return "stop protection is on (DisableApiStop) and replace-root-volume restarts the "
           "instance; strategy relaunch lifts the protection and carries it to the new instance "
           "(replacement.strategy, or the instance's tag fleetkeeper:replacement-strategy)";
  }
  if (strategy == ReplacementStrategy::kRelaunch && c.other_eips_size() > 0) {
    return fmt::format("it has {} Elastic IPs ({}, {}); relaunch moves one; {}",
                       c.other_eips_size() + 1, c.eip_public_ip(), fmt::join(c.other_eips(), ", "),
                       kUseReplaceRootVolume);
  }
  for (const auto& eni : c.secondary_interfaces()) {
    if (strategy != ReplacementStrategy::kRelaunch) break;
    if (eni.requester_managed() ||
        (!eni.interface_type().empty() && eni.interface_type() != "interface")) {
      return fmt::format(
          "its network interface {} at device {} ({}) cannot be moved to another "
          "instance; {}",
          eni.network_interface_id(), eni.device_index(),
          eni.requester_managed() ? "managed by an AWS service" : "type " + eni.interface_type(),
          kUseReplaceRootVolume);
    }
  }
  if (c.root_device_name().empty()) return "it has no EBS root device";
  return "";
}

Status PlanTargets(RolloutTick& t) {
  t.state.clear_asgs();
  t.state.clear_instances();
  t.state.clear_skipped();
  Status groups = PlanGroups(t);
  if (!groups.ok()) return groups;
  return PlanInstances(t);
}

}  // namespace fleetkeeper::handlers::ami_rollout
