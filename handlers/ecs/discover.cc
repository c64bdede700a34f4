// The discover step: what the command names must exist (nothing is touched otherwise), the list
// actions answer here, and a dry run ends here with the calls it would make.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>

#include "awsclient/clients.h"
#include "handlers/authorization.h"
#include "handlers/group_guards.h"
#include "handlers/ecs/intake.h"
#include "handlers/ecs/listing.h"
#include "handlers/ecs/reads.h"
#include "handlers/ecs/scaling.h"
#include "handlers/ecs/schedules.h"
#include "handlers/ecs/steps.h"
#include "handlers/ecs/support.h"

namespace fleetkeeper::handlers::ecs {
namespace {

StepOutcome Rejected(std::string why) {
  return StepOutcome::Finish(v1::Result::REJECTED, std::move(why) + "; nothing was changed");
}

StepOutcome Listed(std::vector<v1::Action> actions, std::string what) {
  StepOutcome o = StepOutcome::Finish(v1::Result::SUCCEEDED, std::move(what));
  o.actions = std::move(actions);
  return o;
}

std::optional<int64_t> ParseCount(const std::string& text) {
  int64_t n = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 0) return std::nullopt;
  return n;
}

class Discovery {
 public:
  Discovery(v1::EcsWorkflowState& state, StepContext& ctx, const v1::CommandsConfig& commands,
            const std::vector<std::string>& group_tag_keys)
      : s_(state),
        ctx_(ctx),
        commands_(commands),
        group_tag_keys_(group_tag_keys),
        ecs_(*ctx.aws().ecs) {}

  StepOutcome Run() {
    const std::string& action = s_.action();
    if (action == kListClusters) {
      auto listed = ListClusters(ecs_);
      if (!listed.ok()) return CallFailed(ctx_, kStepDiscover, "ListClusters", listed.error());
      const size_t n = listed->size();
      return Listed(std::move(*listed), fmt::format("{} clusters", n));
    }
    auto cluster = ReadClusters(ecs_, {s_.cluster()});
    if (!cluster.ok()) return CallFailed(ctx_, kStepDiscover, "DescribeClusters", cluster.error());
    if (!cluster->missing.empty()) {
      return Rejected(
          fmt::format("cluster {} not found in {}", s_.cluster(), ctx_.workflow().cell()));
    }
    if (action == kListServices) {
      auto listed = ListServices(ecs_, s_.cluster());
      if (!listed.ok()) return CallFailed(ctx_, kStepDiscover, "ListServices", listed.error());
      const size_t n = listed->size();
      return Listed(std::move(*listed), fmt::format("{} services in cluster {}", n, s_.cluster()));
    }
    if (action == kListTasks) return ListTasksOf();
    StepOutcome problem;
    bool ok = true;
    if (action == kDrain) {
      ok = Instances(&problem);
    } else if (action == kStopTasks && s_.tasks_size() > 0) {
      ok = Tasks(&problem);
    } else {
      ok = Services(&problem);
    }
    if (!ok) return problem;
    size_t targets =
        static_cast<size_t>(s_.services_size() + s_.tasks_size() + s_.instances_size());
    if (action == kStopTasks && s_.tasks_size() == 0) {
      targets = 0;
      for (const auto& svc : s_.services()) targets += static_cast<size_t>(svc.tasks_size());
    }
    if (auto why = AuthorizeTargetCount(commands_, targets); !why.empty()) {
      return StepOutcome::Finish(v1::Result::REJECTED, why);
    }
    if (ctx_.dry_run()) return Plan();
    if (Status tags = RecordServiceTags(); !tags.ok()) {
      return CallFailed(ctx_, kStepDiscover, "DescribeServices (tags)", tags.error());
    }
    StepOutcome o = StepOutcome::Next(kStepAct);
    o.reason = fmt::format("{}: {} targets in cluster {}", action, targets, s_.cluster());
    return o;
  }

 private:
  StepOutcome ListTasksOf() {
    std::vector<std::string> services;
    for (const auto& svc : s_.services()) services.push_back(svc.name());
    if (!services.empty()) {
      auto found = ReadServices(ecs_, s_.cluster(), services, false);
      if (!found.ok()) return CallFailed(ctx_, kStepDiscover, "DescribeServices", found.error());
      if (!found->missing.empty()) {
        return Rejected(fmt::format("service {} not found in cluster {}",
                                    fmt::join(found->missing, ", "), s_.cluster()));
      }
    }
    auto listed = ListTasks(ecs_, s_.cluster(), services);
    if (!listed.ok()) return CallFailed(ctx_, kStepDiscover, "ListTasks", listed.error());
    const size_t n = listed->size();
    return Listed(std::move(*listed),
                  fmt::format("{} running tasks in cluster {}", n, s_.cluster()));
  }

  // scale, restore, restart and stop_tasks of whole services.
  bool Services(StepOutcome* problem) {
    std::vector<std::string> names;
    if (s_.services_size() == 1 && s_.services(0).name() == kAllServices) {
      auto arns = AllServiceArns(ecs_, s_.cluster());
      if (!arns.ok()) {
        *problem = CallFailed(ctx_, kStepDiscover, "ListServices", arns.error());
        return false;
      }
      s_.clear_services();
      for (const auto& arn : *arns) {
        if (NameSelected(s_, NameOf(arn))) s_.add_services()->set_name(NameOf(arn));
      }
    }
    for (const auto& svc : s_.services()) names.push_back(svc.name());
    // Before reading every service: a request above the limit reads nothing more.
    if (auto why = AuthorizeTargetCount(commands_, names.size()); !why.empty()) {
      *problem = StepOutcome::Finish(v1::Result::REJECTED, why);
      return false;
    }
    auto found = ReadServices(ecs_, s_.cluster(), names, true);
    if (!found.ok()) {
      *problem = CallFailed(ctx_, kStepDiscover, "DescribeServices", found.error());
      return false;
    }
    for (const auto& [name, svc] : found->by_name) service_tags_[name] = svc.tags;
    if (!found->missing.empty()) {
      *problem = Rejected(fmt::format("service {} not found in cluster {}",
                                      fmt::join(found->missing, ", "), s_.cluster()));
      return false;
    }
    if (!s_.schedule().empty()) {
      KeepScheduled(*found);
      names.clear();
      for (const auto& svc : s_.services()) names.push_back(svc.name());
      if (names.empty()) {
        *problem = StepOutcome::Finish(
            v1::Result::SUCCEEDED,
            fmt::format("schedule {}: no service of cluster {} is selected{}", s_.schedule(),
                        s_.cluster(), s_.action() == kRestore ? " with something to restore" : ""));
        return false;
      }
    }
    std::vector<std::string> untagged;
    for (auto& target : *s_.mutable_services()) {
      const aws::EcsService& svc = found->by_name.at(target.name());
      target.set_arn(svc.arn);
      target.set_desired_before(svc.desired_count);
      target.set_running_before(svc.running_count);
      if (s_.action() == kScale) {
        target.set_target(s_.desired_count());
      } else if (s_.action() == kRestore) {
        auto tag = svc.tags.find(kPreviousCountTag);
        std::optional<int64_t> count;
        if (tag != svc.tags.end()) count = ParseCount(tag->second);
        if (!count) {
          untagged.push_back(tag == svc.tags.end()
                                 ? target.name()
                                 : fmt::format("{} (tag value \"{}\" is not a count)",
                                               target.name(), tag->second));
          continue;
        }
        target.set_target(*count);
      } else if (s_.action() == kRestart) {
        const aws::EcsDeployment* primary = PrimaryOf(svc);
        target.set_primary_before(primary != nullptr ? primary->id : "");
      } else if (s_.action() == kStopTasks) {
        auto tasks = AllTaskArns(ecs_, s_.cluster(), svc.name);
        if (!tasks.ok()) {
          *problem = CallFailed(ctx_, kStepDiscover, "ListTasks", tasks.error());
          return false;
        }
        for (const auto& t : *tasks) target.add_tasks(t);
      }
    }
    if (!untagged.empty()) {
      *problem =
          Rejected(fmt::format("nothing to restore: service {} in cluster {} has no {} tag "
                               "(it was not scaled to zero by fleetkeeper)",
                               fmt::join(untagged, ", "), s_.cluster(), kPreviousCountTag));
      return false;
    }
    if (s_.action() == kScale || s_.action() == kRestore) return ScalableTargets(names, problem);
    return true;
  }

  // A scheduled occurrence keeps the services its tag selects and, for a restore, those that have
  // something to restore (a schedule's "*" is not an order to restore each service).
  void KeepScheduled(const Found<aws::EcsService>& found) {
    google::protobuf::RepeatedPtrField<v1::EcsServiceTarget> kept;
    for (auto& target : *s_.mutable_services()) {
      const aws::EcsService& svc = found.by_name.at(target.name());
      if (!TagSelected(s_, svc.tags)) continue;
      if (s_.action() == kRestore && svc.tags.count(kPreviousCountTag) == 0) continue;
      *kept.Add() = std::move(target);
    }
    s_.mutable_services()->Swap(&kept);
  }

  // Which services are under Application Auto Scaling, and their max (a target above it is said
  // in the result).
  bool ScalableTargets(const std::vector<std::string>& names, StepOutcome* problem) {
    auto targets = ReadScalableTargets(*ctx_.aws().application_autoscaling, s_.cluster(), names);
    if (!targets.ok()) {
      *problem = CallFailed(ctx_, kStepDiscover, "DescribeScalableTargets", targets.error());
      return false;
    }
    for (auto& target : *s_.mutable_services()) {
      auto it = targets->find(target.name());
      if (it == targets->end()) continue;
      target.set_scalable(true);
      target.set_scalable_max(it->second.max_capacity);
      target.set_scaling_before(DescribeTarget(it->second));
    }
    return true;
  }

  bool Tasks(StepOutcome* problem) {
    std::vector<std::string> arns;
    for (const auto& t : s_.tasks()) arns.push_back(t.arn());
    auto found = ReadTasks(ecs_, s_.cluster(), arns);
    if (!found.ok()) {
      *problem = CallFailed(ctx_, kStepDiscover, "DescribeTasks", found.error());
      return false;
    }
    if (!found->missing.empty()) {
      *problem = Rejected(fmt::format("task {} not found in cluster {}",
                                      fmt::join(found->missing, ", "), s_.cluster()));
      return false;
    }
    for (auto& target : *s_.mutable_tasks()) {
      const aws::EcsTask& t = found->by_name.at(target.arn());
      target.set_arn(t.arn);
      target.set_service(ServiceOfGroup(t.group));
    }
    return true;
  }

  bool Instances(StepOutcome* problem) {
    std::vector<std::string> arns;
    for (const auto& i : s_.instances()) arns.push_back(i.arn());
    auto found = ReadInstances(ecs_, s_.cluster(), arns);
    if (!found.ok()) {
      *problem = CallFailed(ctx_, kStepDiscover, "DescribeContainerInstances", found.error());
      return false;
    }
    if (!found->missing.empty()) {
      *problem = Rejected(fmt::format("container instance {} not found in cluster {}",
                                      fmt::join(found->missing, ", "), s_.cluster()));
      return false;
    }
    for (auto& target : *s_.mutable_instances()) {
      const aws::ContainerInstance& c = found->by_name.at(target.arn());
      target.set_arn(c.arn);
      target.set_ec2_instance_id(c.ec2_instance_id);
      target.set_status_before(c.status);
      target.set_running_before(c.running_tasks);
      // Draining stops the instance's tasks: their services are locked with it (LockNames).
      auto services = ServiceTasksOn(ecs_, s_.cluster(), c.arn);
      if (!services.ok()) {
        *problem = CallFailed(ctx_, kStepDiscover, "ListTasks", services.error());
        return false;
      }
      target.clear_services();
      for (const auto& [service, n] : *services) target.add_services(service);
    }
    return true;
  }

  // The tags of every service the command changes (its "ecs:" lock names), for the guards and
  // blackout windows by tag (handlers/group_guards.h): from the services' read when discovery
  // made one, else read here. Recorded before `act`, in discover's checkpoint.
  Status RecordServiceTags() {
    if (group_tag_keys_.empty() || ctx_.mutable_tagged_guards() == nullptr) return Ok{};
    const std::string prefix = ServiceResource(s_.cluster(), "");
    std::vector<std::string> unread;
    for (const auto& lock : LockNames(s_)) {
      if (lock.rfind(prefix, 0) != 0 || TaggedGuardsKnown(ctx_, lock)) continue;
      const std::string name = lock.substr(prefix.size());
      if (auto it = service_tags_.find(name); it != service_tags_.end()) {
        RecordTaggedGuards(ctx_, group_tag_keys_, lock, it->second);
      } else {
        unread.push_back(name);
      }
    }
    if (unread.empty()) return Ok{};
    auto found = ReadServices(ecs_, s_.cluster(), unread, true);
    if (!found.ok()) return std::move(found).take_error();
    for (const auto& name : unread) {
      auto it = found->by_name.find(name);
      // A service that is gone has no tags: recorded without them, not read again.
      RecordTaggedGuards(ctx_, group_tag_keys_, ServiceResource(s_.cluster(), name),
                         it == found->by_name.end() ? aws::Tags{} : it->second.tags);
    }
    return Ok{};
  }

  // A dry run: each call the action would make, and none made.
  StepOutcome Plan() {
    std::vector<v1::Action> plan;
    const std::string& action = s_.action();
    auto would = [&](const std::string& resource, const std::string& call, std::string detail) {
      plan.push_back(MakeAction(resource, call, "dry-run", "would call " + call + ": " + detail));
    };
    for (const auto& t : s_.services()) {
      const std::string res = ServiceResource(s_.cluster(), t.name());
      const std::string counts =
          fmt::format("desired {}, running {}", t.desired_before(), t.running_before());
      if (action == kScale) {
        if (t.target() == 0 && t.desired_before() > 0) {
          would(res, "TagResource", fmt::format("{}={}", kPreviousCountTag, t.desired_before()));
        }
        if (t.target() == 0 && t.scalable()) {
          would(res, "RegisterScalableTarget",
                fmt::format("suspend dynamic and scheduled scaling while at zero (now {})",
                            t.scaling_before()));
        }
        would(res, "UpdateService",
              fmt::format("desiredCount {} -> {} ({}){}", t.desired_before(), t.target(), counts,
                          AboveMax(t)));
      } else if (action == kRestore) {
        would(res, "UpdateService",
              fmt::format("desiredCount {} -> {} ({}){}", t.desired_before(), t.target(), counts,
                          AboveMax(t)));
        if (t.scalable()) {
          would(res, "RegisterScalableTarget",
                fmt::format("resume scaling if fleetkeeper suspended it (now {})",
                            t.scaling_before()));
        }
        would(res, "UntagResource", kPreviousCountTag);
      } else if (action == kRestart) {
        would(res, "UpdateService",
              fmt::format("forceNewDeployment (PRIMARY deployment now {}; {})",
                          t.primary_before().empty() ? "none" : t.primary_before(), counts));
      } else if (action == kStopTasks) {
        for (const auto& task : t.tasks()) {
          would(TaskResource(s_.cluster(), task), "StopTask",
                fmt::format("task of service {}, at most {} at a time", t.name(),
                            s_.max_concurrency()));
        }
      }
    }
    for (const auto& t : s_.tasks()) {
      would(TaskResource(s_.cluster(), t.arn()), "StopTask",
            t.service().empty() ? "standalone task" : "task of service " + t.service());
    }
    for (const auto& i : s_.instances()) {
      would(InstanceResource(s_.cluster(), i.arn()), "UpdateContainerInstancesState",
            fmt::format("DRAINING (now {}, {} running tasks, EC2 instance {})", i.status_before(),
                        i.running_before(), i.ec2_instance_id()));
    }
    StepOutcome o = StepOutcome::Finish(
        v1::Result::DRY_RUN,
        fmt::format("dry run: {} in cluster {} would make {} calls; none was made", action,
                    s_.cluster(), plan.size()));
    o.actions = std::move(plan);
    return o;
  }

  v1::EcsWorkflowState& s_;
  StepContext& ctx_;
  const v1::CommandsConfig& commands_;
  const std::vector<std::string>& group_tag_keys_;
  aws::Ecs& ecs_;
  std::map<std::string, aws::Tags> service_tags_;  // by service name, from Services()
};

}  // namespace

StepOutcome Discover(v1::EcsWorkflowState& state, StepContext& ctx,
                     const v1::CommandsConfig& commands,
                     const std::vector<std::string>& group_tag_keys) {
  return Discovery(state, ctx, commands, group_tag_keys).Run();
}

}  // namespace fleetkeeper::handlers::ecs
