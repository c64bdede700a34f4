#include "handlers/self_healing/steps.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <vector>

#include "awsclient/aws_error.h"
#include "awsclient/clients.h"
#include "awsclient/pagination.h"
#include "common/clock.h"
#include "handlers/self_healing/handler.h"
#include "handlers/self_healing/rules.h"
#include "handlers/self_healing/throttles.h"

namespace fleetkeeper::handlers::self_healing {
namespace {

// Retriable AWS errors (throttling, 5xx, timeouts the client gave up on) in a row on one step
// before the action fails.
constexpr int kMaxTransientFailures = 5;
constexpr int64_t kDefaultRepeatIntervalMs = 300 * 1000;
// A standalone instance whose status checks still fail this long after a reboot is stopped and
// started (which moves it to other hardware); at most half the verification time.
constexpr int64_t kMaxRebootGraceMs = 5 * 60 * 1000;
constexpr const char* kExcludeTag = "fleetkeeper:exclude";
constexpr const char* kAsgTag = "aws:autoscaling:groupName";

v1::Action MakeAction(const std::string& resource, const std::string& action,
                      const std::string& status, const std::string& detail,
                      const std::string& request_id = "") {
  v1::Action a;
  a.set_resource(resource);
  a.set_action(action);
  a.set_status(status);
  a.set_detail(detail);
  a.set_aws_request_id(request_id);
  return a;
}

bool Healthy(const aws::AsgInstance& i) {
  return i.lifecycle_state == "InService" && i.health_status != "Unhealthy";
}

int64_t CountInService(const aws::AutoScalingGroup& g, const std::string& except = "") {
  return std::count_if(g.instances.begin(), g.instances.end(), [&](const aws::AsgInstance& i) {
    return Healthy(i) && i.instance_id != except;
  });
}

const aws::AsgInstance* FindInstance(const aws::AutoScalingGroup& g, const std::string& id) {
  for (const auto& i : g.instances) {
    if (i.instance_id == id) return &i;
  }
  return nullptr;
}

// One step of one action. Holds references for the duration of RunHealingStep.
class HealingStep {
 public:
  HealingStep(const v1::SelfHealingConfig& config, v1::HealingWorkflowState& state,
              StepContext& ctx)
      : config_(config),
        state_(state),
        ctx_(ctx),
        action_(*state.mutable_actions(state.current())),
        rule_(action_.rule_config()),
        now_(ctx.clock().NowMs()) {}


 private:
  // ---- outcome helpers ----
  // The workflow's own setting (see WorkflowCheckpoint.dry_run); a checkpoint older than that
  // field has the one this handler recorded at admission.
  bool dry_run() const {
    return ctx_.workflow().has_dry_run() ? ctx_.dry_run() : state_.dry_run();
  }
  int64_t VerifyTimeoutMs() const {
    return rule_.has_verify_timeout() ? DurationMs(rule_.verify_timeout())
                                      : kDefaultVerifyTimeoutMs;
  }
  // Verification polls: often enough to notice within a sixtieth of the timeout, 1 to 15 s apart.
  int64_t PollMs() const { return std::clamp<int64_t>(VerifyTimeoutMs() / 60, 1000, 15000); }
  void StartVerifying() {
    if (action_.verify_deadline_ms() == 0) action_.set_verify_deadline_ms(now_ + VerifyTimeoutMs());
  }
  bool VerifyExpired() const {
    return action_.verify_deadline_ms() > 0 && now_ >= action_.verify_deadline_ms();
  }
  std::string Res() const { return action_.resource(); }

  StepOutcome Next(const std::string& step, std::vector<v1::Action> actions = {}) {
    action_.set_transient_failures(0);
    StepOutcome o = StepOutcome::Next(step);
    o.actions = std::move(actions);
    return o;
  }
  StepOutcome WaitFor(const std::string& step, int64_t ms, std::vector<v1::Action> actions = {},
                      std::vector<std::string> signals = {}) {
    action_.set_transient_failures(0);
    StepOutcome o = StepOutcome::Wait(step, ms, std::move(signals));
    o.actions = std::move(actions);
    return o;
  }
  // Ends the current action in the step that verified it (one checkpoint fewer per action):
  // its metric and notification, then a repeat, the next action or the workflow's end.
  StepOutcome Done(const std::string& status, const std::string& detail,
                   std::vector<v1::Action> actions = {}) {
    action_.set_status(status);
    action_.set_detail(detail);
    action_.set_verify_deadline_ms(0);
    action_.set_transient_failures(0);
    StepOutcome o = Conclude(std::move(actions));
    if (o.kind != StepOutcome::Kind::kFinish) {
      if (o.reason.empty()) o.reason = fmt::format("{} {}: {}", action_.type(), Res(), detail);
      o.publish_progress = true;
    }
    return o;
  }
  StepOutcome Failed(const std::string& what, std::vector<v1::Action> actions = {}) {
    actions.push_back(MakeAction(Res(), action_.type(), "failed", what));
    return Done("failed", what, std::move(actions));
  }
  // An AWS error on `call`: retried on this step when transient, else the action fails with it.
  StepOutcome AwsError(const std::string& step, const std::string& call, const Error& e) {
    if (aws::IsTransientFailure(e) && action_.transient_failures() < kMaxTransientFailures) {
      const int n = action_.transient_failures() + 1;
      StepOutcome o = StepOutcome::Wait(step, std::min<int64_t>(1000LL << n, 30000));
      o.retry_same_step = true;
      o.reason = fmt::format("{} failed ({}), retry {} of {}", call, e.ToString(), n,
                             kMaxTransientFailures);
      action_.set_transient_failures(n);
      return o;
    }
    const std::string what = fmt::format("{} failed: {}", call, e.ToString());
    return Done("failed", what,
                {MakeAction(Res(), action_.type(), "failed", what, e.request_id)});
  }
  StepOutcome DryRun(const std::string& would) {
    return Done("dry_run", "dry run: would " + would,
                {MakeAction(Res(), action_.type(), "dry_run", "would " + would)});
  }
  StepOutcome Excluded(const std::string& why) {
    return Done("excluded", why, {MakeAction(Res(), action_.type(), "skipped", why)});
  }

  // ---- AWS reads ----
  Result<aws::AutoScalingGroup> Group(const std::string& name) {
    aws::DescribeAutoScalingGroupsRequest r;
    r.names = {name};
    auto res = ctx_.aws().autoscaling->DescribeAutoScalingGroups(r);
    if (!res.ok()) return std::move(res).take_error();
    for (auto& g : res->groups) {
      if (g.name == name) return std::move(g);
    }
    return Error(ErrorCode::kNotFound, fmt::format("Auto Scaling group {} not found", name));
  }
  Result<aws::Instance> Ec2Instance(const std::string& id) {
    aws::DescribeInstancesRequest r;
    r.instance_ids = {id};
    auto res = ctx_.aws().ec2->DescribeInstances(r);
    if (!res.ok()) return std::move(res).take_error();
    for (auto& i : res->instances) {
      if (i.id == id) return std::move(i);
    }
    return Error(ErrorCode::kNotFound, fmt::format("instance {} not found", id));
  }
  // "" when both status checks pass; otherwise what is wrong ("instance impaired", "stopped").
  Result<std::string> StatusProblem(const std::string& id) {
    aws::DescribeInstanceStatusRequest r;
    r.instance_ids = {id};
    r.include_all_instances = true;
    auto res = ctx_.aws().ec2->DescribeInstanceStatus(r);
    if (!res.ok()) return std::move(res).take_error();
    for (const auto& s : res->statuses) {
      if (s.instance_id != id) continue;
      if (s.state.name != "running") return "instance is " + s.state.name;
      if (s.system_status == "ok" && s.instance_status == "ok") return std::string();
      return fmt::format("system status {}, instance status {}", s.system_status,
                         s.instance_status);
    }
    return std::string("no status reported yet");
  }
  Result<aws::EcsService> Service() {
    aws::DescribeServicesRequest r;
    r.cluster = action_.ecs_cluster();
    r.services = {action_.ecs_service()};
    r.include_tags = true;
    auto res = ctx_.aws().ecs->DescribeServices(r);
    if (!res.ok()) return std::move(res).take_error();
    for (auto& s : res->services) {
      if (s.name == action_.ecs_service() || s.arn == action_.ecs_service()) return std::move(s);
    }
    std::string why = res->failures.empty() ? "" : ": " + res->failures.front().reason;
    return Error(ErrorCode::kNotFound, fmt::format("ECS service {} not found in cluster {}{}",
                                                   action_.ecs_service(), action_.ecs_cluster(),
                                                   why));
  }
  static const aws::EcsDeployment* Primary(const aws::EcsService& s) {
    for (const auto& d : s.deployments) {
      if (d.status == "PRIMARY") return &d;
    }
    return nullptr;
  }
  std::string ExclusionOf(const aws::Tags& tags, const std::string& what) const {
    auto it = tags.find(kExcludeTag);
    if (it != tags.end() && it->second == "true") {
      return fmt::format("excluded: {} has tag {}=true", what, kExcludeTag);
    }
    return "";
  }
  std::string ConfigExclusion() const {
    const std::string pattern = ExcludedBy(config_, action_);
    return pattern.empty() ? "" : fmt::format("excluded: {} matches excluded_resources entry "
                                              "\"{}\"", Res(), pattern);
  }

  // ---- steps (public: the step table names them) ----
 public:
  StepOutcome ScaleOutPlan();
  StepOutcome ScaleOutSet();
  StepOutcome ScaleOutVerifyStep() { return ScaleOutVerify(); }
  StepOutcome ReplaceInspect();
  StepOutcome ReplaceTerminateInstance() {
    return ReplaceTerminate(false, step::kReplaceTerminate);
  }
  StepOutcome ReplaceTerminateOld() {
    return ReplaceTerminate(true, step::kReplaceTerminateOld);
  }
  StepOutcome ReplaceSurge();
  StepOutcome ReplaceWaitNew();
  StepOutcome ReplaceVerifyGroup();
  StepOutcome ReplaceReboot();
  StepOutcome ReplaceCheckReboot();
  StepOutcome ReplaceStop();
  StepOutcome ReplaceWaitStopped();
  StepOutcome ReplaceStart();
  StepOutcome ReplaceVerifyStarted();
  StepOutcome RebootSend();
  StepOutcome RebootVerify();
  StepOutcome EcsPlan();
  StepOutcome EcsForce();
  StepOutcome EcsVerify();
  Result<std::vector<aws::DeploymentGroupInfo>> GuardedGroups();
  StepOutcome DeployFind();
  StepOutcome DeployStop();
  StepOutcome DeployVerify();
  StepOutcome NotifyPublish();
  StepOutcome RepeatCheck();

 private:
  StepOutcome ScaleOutVerify(std::vector<v1::Action> actions = {});
  StepOutcome ReplaceTerminate(bool decrement, const std::string& step);
  StepOutcome Conclude(std::vector<v1::Action> actions);
  StepOutcome AfterActions(std::vector<v1::Action> actions);

  const v1::SelfHealingConfig& config_;
  v1::HealingWorkflowState& state_;
  StepContext& ctx_;
  v1::HealingActionState& action_;
  const v1::HealingRule& rule_;
  const int64_t now_;
};

// ---------------------------------------------------------------------------------------------
// scale_out

StepOutcome HealingStep::ScaleOutPlan() {
  if (auto why = ConfigExclusion(); !why.empty()) return Excluded(why);
  auto g = Group(action_.asg_name());
  if (!g.ok()) return AwsError(step::kScaleOutPlan, "DescribeAutoScalingGroups", g.error());
  if (auto why = ExclusionOf(g->tags, "Auto Scaling group " + g->name); !why.empty()) {
    return Excluded(why);
  }
  const auto& a = rule_.action();
  const int64_t desired = g->desired_capacity;
  int64_t target = a.has_to() ? a.to() : desired + (a.has_by() ? a.by() : 1);
  target = std::max(desired, std::min(target, g->max_size));
  if (target <= desired) {
    const std::string why =
        desired >= g->max_size
            ? fmt::format("no change: desired capacity {} is already at MaxSize {}", desired,
                          g->max_size)
            : fmt::format("no change: desired capacity {} is already at least {}", desired,
                          a.has_to() ? a.to() : target);
    return Done("succeeded", why,
                {MakeAction(Res(), "SetDesiredCapacity", "skipped", why)});
  }
  const std::string plan = fmt::format("set desired capacity of {} from {} to {} (MaxSize {})",
                                       g->name, desired, target, g->max_size);
  if (dry_run()) return DryRun(plan);
  // Checkpointed before kScaleOutSet runs: a redelivered or resumed workflow sets this same
  // absolute value instead of adding `by` again.
  action_.set_target_capacity(target);
  action_.set_capacity_before(desired);
  action_.set_max_size(g->max_size);
  return Next(step::kScaleOutSet);
}

StepOutcome HealingStep::ScaleOutSet() {
  if (!action_.has_target_capacity()) {
    return Failed("internal: scale_out.set without a planned target (checkpoint damaged)");
  }
  const int64_t target = action_.target_capacity();
  // Re-read before acting: never lower a capacity that someone (or this step, before a crash)
  // already raised to the target or beyond.
  auto g = Group(action_.asg_name());
  if (!g.ok()) return AwsError(step::kScaleOutSet, "DescribeAutoScalingGroups", g.error());
  std::vector<v1::Action> actions;
  if (g->desired_capacity >= target) {
    actions.push_back(MakeAction(Res(), "SetDesiredCapacity", "skipped",
                                 fmt::format("desired capacity is already {} (target {})",
                                             g->desired_capacity, target)));
  } else {
    aws::SetDesiredCapacityRequest r;
    r.asg_name = action_.asg_name();
    r.desired_capacity = target;
    r.honor_cooldown = false;
    if (auto st = ctx_.aws().autoscaling->SetDesiredCapacity(r); !st.ok()) {
      return AwsError(step::kScaleOutSet, "SetDesiredCapacity", st.error());
    }
    actions.push_back(MakeAction(Res(), "SetDesiredCapacity", "ok",
                                 fmt::format("desired capacity {} -> {}", g->desired_capacity,
                                             target)));
  }
  StartVerifying();
  // Verify at once: a group that is already there needs no further checkpoint.
  return ScaleOutVerify(std::move(actions));
}

StepOutcome HealingStep::ScaleOutVerify(std::vector<v1::Action> actions) {
  auto g = Group(action_.asg_name());
  if (!g.ok()) {
    if (!actions.empty()) return WaitFor(step::kScaleOutVerify, PollMs(), std::move(actions));
    return AwsError(step::kScaleOutVerify, "DescribeAutoScalingGroups", g.error());
  }
  const int64_t target = action_.target_capacity();
  const int64_t in_service = CountInService(*g);
  const std::string seen = fmt::format("desired {}, {} InService (target {})",
                                       g->desired_capacity, in_service, target);
  if (g->desired_capacity >= target && in_service >= target) {
    const std::string detail =
        fmt::format("scaled {} from {} to {}; verified: {} instances InService", g->name,
                    action_.capacity_before(), target, in_service);
    actions.push_back(MakeAction(Res(), "verify", "ok", seen));
    return Done("succeeded", detail, std::move(actions));
  }
  if (VerifyExpired()) {
    actions.push_back(MakeAction(Res(), "verify", "failed", seen));
    return Failed(fmt::format("verification timed out after {} s: {}",
                              VerifyTimeoutMs() / 1000, seen),
                  std::move(actions));
  }
  return WaitFor(step::kScaleOutVerify, PollMs(), std::move(actions));
}

// ---------------------------------------------------------------------------------------------
// replace_instance

StepOutcome HealingStep::ReplaceInspect() {
  if (auto why = ConfigExclusion(); !why.empty()) return Excluded(why);
  if (action_.instance_id().empty()) {
    // The alarm names only the group: replace its unhealthy instance, if it has one.
    auto g = Group(action_.asg_name());
    if (!g.ok()) return AwsError(step::kReplaceInspect, "DescribeAutoScalingGroups", g.error());
    for (const auto& i : g->instances) {
      if (i.lifecycle_state == "InService" && i.health_status == "Unhealthy") {
        action_.set_instance_id(i.instance_id);
        break;
      }
    }
    for (const auto& i : g->instances) {
      if (!action_.instance_id().empty()) break;
      auto problem = StatusProblem(i.instance_id);
      if (!problem.ok()) {
        return AwsError(step::kReplaceInspect, "DescribeInstanceStatus", problem.error());
      }
      if (!problem->empty() && i.lifecycle_state == "InService") {
        action_.set_instance_id(i.instance_id);
      }
    }
    if (action_.instance_id().empty()) {
      return Done("succeeded",
                  fmt::format("no unhealthy instance in {}: nothing to replace", g->name),
                  {MakeAction(Res(), "inspect", "ok", "every instance is healthy")});
    }
  }
  const std::string id = action_.instance_id();
  auto inst = Ec2Instance(id);
  if (!inst.ok()) {
    if (aws::IsNotFoundAnswer(inst.error())) {
      return Done("succeeded", fmt::format("instance {} no longer exists: nothing to replace", id));
    }
    return AwsError(step::kReplaceInspect, "DescribeInstances", inst.error());
  }
  if (inst->state.name == "terminated" || inst->state.name == "shutting-down") {
    return Done("succeeded", fmt::format("instance {} is already {}: nothing to replace", id,
                                         inst->state.name));
  }
  if (auto why = ExclusionOf(inst->tags, "instance " + id); !why.empty()) return Excluded(why);
  if (action_.asg_name().empty()) {
    auto it = inst->tags.find(kAsgTag);
    if (it != inst->tags.end()) action_.set_asg_name(it->second);
  }
  // Exclusions always win, the group's included.
  if (auto why = ConfigExclusion(); !why.empty()) return Excluded(why);

  if (action_.asg_name().empty()) {
    action_.set_mode("reboot");
    if (dry_run()) {
      return DryRun(fmt::format("reboot standalone instance {}, then stop and start it if its "
                                "status checks still fail",
                                id));
    }
    return Next(step::kReplaceReboot);
  }
  auto g = Group(action_.asg_name());
  if (!g.ok()) return AwsError(step::kReplaceInspect, "DescribeAutoScalingGroups", g.error());
  if (auto why = ExclusionOf(g->tags, "Auto Scaling group " + g->name); !why.empty()) {
    return Excluded(why);
  }
  if (FindInstance(*g, id) == nullptr) {
    return Done("succeeded", fmt::format("instance {} is no longer in {}: nothing to replace",
                                         id, g->name));
  }
  action_.clear_instances_before();
  for (const auto& i : g->instances) action_.add_instances_before(i.instance_id);
  action_.set_capacity_before(g->desired_capacity);
  action_.set_max_size(g->max_size);
  // Terminating an instance while the others are already at the group's minimum would leave
  // fewer than MinSize healthy: launch the replacement first.
  const bool at_minimum = CountInService(*g, id) < g->min_size;
  if (at_minimum && g->desired_capacity < g->max_size) {
    action_.set_mode("surge");
    action_.set_target_capacity(g->desired_capacity + 1);
    if (dry_run()) {
      return DryRun(fmt::format("raise desired capacity of {} from {} to {}, wait for the new "
                                "instance InService, then terminate {} with decrement",
                                g->name, g->desired_capacity, g->desired_capacity + 1, id));
    }
    return Next(step::kReplaceSurge);
  }
  action_.set_mode("terminate");
  if (dry_run()) {
    return DryRun(fmt::format("terminate {} in {} without decrementing desired capacity {} "
                              "(the group launches its replacement)",
                              id, g->name, g->desired_capacity));
  }
  return Next(step::kReplaceTerminate);
}

StepOutcome HealingStep::ReplaceTerminate(bool decrement, const std::string& step_name) {
  const std::string id = action_.instance_id();
  std::vector<v1::Action> actions;
  // Re-read: a resumed step finds the instance already on its way out and does not ask again.
  auto inst = Ec2Instance(id);
  const bool gone = !inst.ok()
                        ? aws::IsNotFoundAnswer(inst.error())
                        : inst->state.name == "terminated" || inst->state.name == "shutting-down";
  if (!inst.ok() && !gone) return AwsError(step_name, "DescribeInstances", inst.error());
  if (gone) {
    actions.push_back(MakeAction("instance:" + id, "TerminateInstanceInAutoScalingGroup",
                                 "skipped", "already terminating"));
  } else {
    aws::TerminateInstanceInAutoScalingGroupRequest r;
    r.instance_id = id;
    r.should_decrement_desired_capacity = decrement;
    auto res = ctx_.aws().autoscaling->TerminateInstanceInAutoScalingGroup(r);
    if (!res.ok()) return AwsError(step_name, "TerminateInstanceInAutoScalingGroup", res.error());
    actions.push_back(MakeAction(
        "instance:" + id, "TerminateInstanceInAutoScalingGroup", "ok",
        fmt::format("{} desired capacity; activity {}", decrement ? "decrementing" : "keeping",
                    res->activity_id)));
  }
  StartVerifying();
  return WaitFor(step::kReplaceVerifyGroup, PollMs(), std::move(actions));
}

StepOutcome HealingStep::ReplaceSurge() {
  const int64_t target = action_.target_capacity();
  auto g = Group(action_.asg_name());
  if (!g.ok()) return AwsError(step::kReplaceSurge, "DescribeAutoScalingGroups", g.error());
  std::vector<v1::Action> actions;
  if (g->desired_capacity >= target) {
    actions.push_back(MakeAction("asg:" + g->name, "SetDesiredCapacity", "skipped",
                                 fmt::format("desired capacity is already {}",
                                             g->desired_capacity)));
  } else {
    aws::SetDesiredCapacityRequest r;
    r.asg_name = g->name;
    r.desired_capacity = target;
    r.honor_cooldown = false;
    if (auto st = ctx_.aws().autoscaling->SetDesiredCapacity(r); !st.ok()) {
      return AwsError(step::kReplaceSurge, "SetDesiredCapacity", st.error());
    }
    actions.push_back(MakeAction("asg:" + g->name, "SetDesiredCapacity", "ok",
                                 fmt::format("desired capacity {} -> {} to launch a replacement "
                                             "for {} first (group at its minimum healthy)",
                                             g->desired_capacity, target,
                                             action_.instance_id())));
  }
  StartVerifying();
  return WaitFor(step::kReplaceWaitNew, PollMs(), std::move(actions));
}

StepOutcome HealingStep::ReplaceWaitNew() {
  auto g = Group(action_.asg_name());
  if (!g.ok()) return AwsError(step::kReplaceWaitNew, "DescribeAutoScalingGroups", g.error());
  const std::set<std::string> before(action_.instances_before().begin(),
                                     action_.instances_before().end());
  for (const auto& i : g->instances) {
    if (before.count(i.instance_id) == 0 && Healthy(i)) {
      action_.set_new_instance_id(i.instance_id);
      action_.set_verify_deadline_ms(0);
      return Next(step::kReplaceTerminateOld,
                  {MakeAction("instance:" + i.instance_id, "wait InService", "ok",
                              "replacement InService before terminating " +
                                  action_.instance_id())});
    }
  }
  if (VerifyExpired()) {
    return Failed(fmt::format("no new instance of {} reached InService within {} s; desired "
                              "capacity left at {}, {} not terminated",
                              g->name, VerifyTimeoutMs() / 1000, g->desired_capacity,
                              action_.instance_id()));
  }
  return WaitFor(step::kReplaceWaitNew, PollMs());
}

StepOutcome HealingStep::ReplaceVerifyGroup() {
  auto g = Group(action_.asg_name());
  if (!g.ok()) return AwsError(step::kReplaceVerifyGroup, "DescribeAutoScalingGroups", g.error());
  const std::string old_id = action_.instance_id();
  const aws::AsgInstance* old = FindInstance(*g, old_id);
  const bool old_out = old == nullptr || old->lifecycle_state.rfind("Terminat", 0) == 0;
  const std::set<std::string> before(action_.instances_before().begin(),
                                     action_.instances_before().end());
  std::vector<std::string> fresh;
  for (const auto& i : g->instances) {
    if (before.count(i.instance_id) == 0 && Healthy(i)) fresh.push_back(i.instance_id);
  }
  const int64_t in_service = CountInService(*g, old_id);
  const std::string seen =
      fmt::format("{} {}; desired {}, {} InService; new: {}", old_id,
                  old_out ? "out of the group" : "still " + old->lifecycle_state,
                  g->desired_capacity, in_service, fresh.empty() ? "none" : fmt::format(
                      "{}", fmt::join(fresh, ",")));
  if (old_out && !fresh.empty() && in_service >= g->desired_capacity) {
    if (action_.new_instance_id().empty()) action_.set_new_instance_id(fresh.front());
    return Done("succeeded",
                fmt::format("replaced {} with {} in {}; verified: {} of {} InService", old_id,
                            action_.new_instance_id(), g->name, in_service,
                            g->desired_capacity),
                {MakeAction(Res(), "verify", "ok", seen)});
  }
  if (VerifyExpired()) {
    return Failed(fmt::format("verification timed out after {} s: {}", VerifyTimeoutMs() / 1000,
                              seen),
                  {MakeAction(Res(), "verify", "failed", seen)});
  }
  return WaitFor(step::kReplaceVerifyGroup, PollMs());
}

StepOutcome HealingStep::ReplaceReboot() {
  aws::InstanceIdsRequest r;
  r.instance_ids = {action_.instance_id()};
  if (auto st = ctx_.aws().ec2->RebootInstances(r); !st.ok()) {
    return AwsError(step::kReplaceReboot, "RebootInstances", st.error());
  }
  action_.set_phase_started_ms(now_);
  StartVerifying();
  return WaitFor(step::kReplaceCheckReboot, PollMs(),
                 {MakeAction(Res(), "RebootInstances", "ok", "standalone instance rebooted")},
                 {"instance:" + action_.instance_id()});
}

StepOutcome HealingStep::ReplaceCheckReboot() {
  auto problem = StatusProblem(action_.instance_id());
  if (!problem.ok()) {
    return AwsError(step::kReplaceCheckReboot, "DescribeInstanceStatus", problem.error());
  }
  if (problem->empty()) {
    return Done("succeeded",
                fmt::format("rebooted {}; verified: status checks ok", action_.instance_id()),
                {MakeAction(Res(), "verify", "ok", "system and instance status checks ok")});
  }
  const int64_t grace = std::min(kMaxRebootGraceMs, VerifyTimeoutMs() / 2);
  if (now_ - action_.phase_started_ms() < grace) {
    return WaitFor(step::kReplaceCheckReboot, PollMs(), {},
                   {"instance:" + action_.instance_id()});
  }
  action_.set_stop_started(true);
  return Next(step::kReplaceStop,
              {MakeAction(Res(), "verify", "failed",
                          fmt::format("still failing {} s after the reboot ({}): stop and start",
                                      grace / 1000, *problem))});
}

StepOutcome HealingStep::ReplaceStop() {
  auto inst = Ec2Instance(action_.instance_id());
  if (!inst.ok()) return AwsError(step::kReplaceStop, "DescribeInstances", inst.error());
  std::vector<v1::Action> actions;
  if (inst->state.name == "stopped" || inst->state.name == "stopping") {
    actions.push_back(MakeAction(Res(), "StopInstances", "skipped", "already " + inst->state.name));
  } else {
    aws::StopInstancesRequest r;
    r.instance_ids = {action_.instance_id()};
    auto res = ctx_.aws().ec2->StopInstances(r);
    if (!res.ok()) return AwsError(step::kReplaceStop, "StopInstances", res.error());
    actions.push_back(MakeAction(Res(), "StopInstances", "ok", "stopping to move to new hardware"));
  }
  action_.set_phase_started_ms(now_);
  return WaitFor(step::kReplaceWaitStopped, PollMs(), std::move(actions),
                 {"instance:" + action_.instance_id()});
}

StepOutcome HealingStep::ReplaceWaitStopped() {
  auto inst = Ec2Instance(action_.instance_id());
  if (!inst.ok()) return AwsError(step::kReplaceWaitStopped, "DescribeInstances", inst.error());
  if (inst->state.name == "stopped") return Next(step::kReplaceStart);
  if (VerifyExpired()) {
    return Failed(fmt::format("{} did not stop within {} s (state {})", action_.instance_id(),
                              VerifyTimeoutMs() / 1000, inst->state.name));
  }
  return WaitFor(step::kReplaceWaitStopped, PollMs(), {}, {"instance:" + action_.instance_id()});
}

StepOutcome HealingStep::ReplaceStart() {
  auto inst = Ec2Instance(action_.instance_id());
  if (!inst.ok()) return AwsError(step::kReplaceStart, "DescribeInstances", inst.error());
  std::vector<v1::Action> actions;
  if (inst->state.name == "stopped") {
    aws::InstanceIdsRequest r;
    r.instance_ids = {action_.instance_id()};
    auto res = ctx_.aws().ec2->StartInstances(r);
    if (!res.ok()) return AwsError(step::kReplaceStart, "StartInstances", res.error());
    actions.push_back(MakeAction(Res(), "StartInstances", "ok", "started"));
  } else {
    actions.push_back(
        MakeAction(Res(), "StartInstances", "skipped", "already " + inst->state.name));
  }
  return WaitFor(step::kReplaceVerifyStarted, PollMs(), std::move(actions),
                 {"instance:" + action_.instance_id()});
}

StepOutcome HealingStep::ReplaceVerifyStarted() {
  auto problem = StatusProblem(action_.instance_id());
  if (!problem.ok()) {
    return AwsError(step::kReplaceVerifyStarted, "DescribeInstanceStatus", problem.error());
  }
  if (problem->empty()) {
    return Done("succeeded",
                fmt::format("rebooted, then stopped and started {}; verified: status checks ok",
                            action_.instance_id()),
                {MakeAction(Res(), "verify", "ok", "system and instance status checks ok")});
  }
  if (VerifyExpired()) {
    return Failed(fmt::format("status checks of {} still failing after stop/start: {}",
                              action_.instance_id(), *problem),
                  {MakeAction(Res(), "verify", "failed", *problem)});
  }
  return WaitFor(step::kReplaceVerifyStarted, PollMs(), {},
                 {"instance:" + action_.instance_id()});
}

// ---------------------------------------------------------------------------------------------
// reboot_instance

StepOutcome HealingStep::RebootSend() {
  if (auto why = ConfigExclusion(); !why.empty()) return Excluded(why);
  const std::string id = action_.instance_id();
  auto inst = Ec2Instance(id);
  if (!inst.ok()) return AwsError(step::kRebootSend, "DescribeInstances", inst.error());
  if (auto why = ExclusionOf(inst->tags, "instance " + id); !why.empty()) return Excluded(why);
  if (auto it = inst->tags.find(kAsgTag); it != inst->tags.end()) {
    action_.set_asg_name(it->second);
    if (auto why = ConfigExclusion(); !why.empty()) return Excluded(why);
  }
  if (inst->state.name != "running") {
    return Failed(fmt::format("instance {} is {}: only a running instance can be rebooted", id,
                              inst->state.name));
  }
  if (dry_run()) return DryRun(fmt::format("reboot instance {}", id));
  aws::InstanceIdsRequest r;
  r.instance_ids = {id};
  if (auto st = ctx_.aws().ec2->RebootInstances(r); !st.ok()) {
    return AwsError(step::kRebootSend, "RebootInstances", st.error());
  }
  StartVerifying();
  return WaitFor(step::kRebootVerify, PollMs(),
                 {MakeAction(Res(), "RebootInstances", "ok", "reboot requested")},
                 {"instance:" + id});
}

StepOutcome HealingStep::RebootVerify() {
  auto problem = StatusProblem(action_.instance_id());
  if (!problem.ok()) {
    return AwsError(step::kRebootVerify, "DescribeInstanceStatus", problem.error());
  }
  if (problem->empty()) {
    return Done("succeeded",
                fmt::format("rebooted {}; verified: status checks ok", action_.instance_id()),
                {MakeAction(Res(), "verify", "ok", "system and instance status checks ok")});
  }
  if (VerifyExpired()) {
    return Failed(fmt::format("status checks of {} still failing {} s after the reboot: {}",
                              action_.instance_id(), VerifyTimeoutMs() / 1000, *problem),
                  {MakeAction(Res(), "verify", "failed", *problem)});
  }
  return WaitFor(step::kRebootVerify, PollMs(), {}, {"instance:" + action_.instance_id()});
}

// ---------------------------------------------------------------------------------------------
// ecs_force_deploy

StepOutcome HealingStep::EcsPlan() {
  if (auto why = ConfigExclusion(); !why.empty()) return Excluded(why);
  auto s = Service();
  if (!s.ok()) {
    if (aws::IsNotFoundAnswer(s.error())) return Failed(s.error().message);
    return AwsError(step::kEcsPlan, "DescribeServices", s.error());
  }
  if (auto why = ExclusionOf(s->tags, "ECS service " + s->name); !why.empty()) {
    return Excluded(why);
  }
  const auto* primary = Primary(*s);
  // Recorded before kEcsForce: the verification waits for a PRIMARY deployment other than this
  // one, and a resumed kEcsForce that finds one does not force again.
  action_.set_ecs_primary_before(primary != nullptr ? primary->id : "");
  if (dry_run()) {
    return DryRun(fmt::format("force a new deployment of ECS service {} in cluster {} "
                              "(desired {}, running {})",
                              s->name, action_.ecs_cluster(), s->desired_count,
                              s->running_count));
  }
  return Next(step::kEcsForce);
}

StepOutcome HealingStep::EcsForce() {
  auto s = Service();
  if (!s.ok()) return AwsError(step::kEcsForce, "DescribeServices", s.error());
  const auto* primary = Primary(*s);
  std::vector<v1::Action> actions;
  if (primary != nullptr && primary->id != action_.ecs_primary_before()) {
    action_.set_ecs_new_deployment(primary->id);
    actions.push_back(MakeAction(Res(), "UpdateService", "skipped",
                                 "a new deployment " + primary->id + " is already PRIMARY"));
  } else {
    aws::UpdateServiceRequest r;
    r.cluster = action_.ecs_cluster();
    r.service = action_.ecs_service();
    r.force_new_deployment = true;
    auto res = ctx_.aws().ecs->UpdateService(r);
    if (!res.ok()) return AwsError(step::kEcsForce, "UpdateService", res.error());
    if (const auto* p = Primary(*res); p != nullptr) action_.set_ecs_new_deployment(p->id);
    actions.push_back(MakeAction(Res(), "UpdateService", "ok",
                                 "forceNewDeployment; new deployment " +
                                     (action_.ecs_new_deployment().empty()
                                          ? std::string("pending")
                                          : action_.ecs_new_deployment())));
  }
  StartVerifying();
  return WaitFor(step::kEcsVerify, PollMs(), std::move(actions));
}

StepOutcome HealingStep::EcsVerify() {
  auto s = Service();
  if (!s.ok()) return AwsError(step::kEcsVerify, "DescribeServices", s.error());
  const auto* primary = Primary(*s);
  const bool is_new = primary != nullptr && primary->id != action_.ecs_primary_before();
  std::string seen = "no PRIMARY deployment";
  if (primary != nullptr) {
    seen = fmt::format("PRIMARY {} rolloutState {}, running {} of {}", primary->id,
                       primary->rollout_state.empty() ? "-" : primary->rollout_state,
                       primary->running_count, primary->desired_count);
  }
  if (is_new && primary->rollout_state == "FAILED") {
    return Failed(fmt::format("deployment {} failed: {}", primary->id,
                              primary->rollout_state_reason),
                  {MakeAction(Res(), "verify", "failed", seen)});
  }
  // Services without the deployment circuit breaker report no rolloutState: then the new
  // deployment is done when it is the only one and runs its desired count.
  const bool complete =
      is_new && (primary->rollout_state == "COMPLETED" ||
                 (primary->rollout_state.empty() && s->deployments.size() == 1 &&
                  primary->running_count >= primary->desired_count));
  if (complete) {
    return Done("succeeded",
                fmt::format("forced a new deployment of {}; verified: {}", s->name, seen),
                {MakeAction(Res(), "verify", "ok", seen)});
  }
  if (VerifyExpired()) {
    return Failed(fmt::format("verification timed out after {} s: {}", VerifyTimeoutMs() / 1000,
                              seen),
                  {MakeAction(Res(), "verify", "failed", seen)});
  }
  return WaitFor(step::kEcsVerify, PollMs());
}

// ---------------------------------------------------------------------------------------------
// stop_deployment

// The deployments an alarm guards, when the alarm does not name one: the rule's deployment group,
// or the groups (of the rule's application, else of every application) whose alarm configuration
// lists the alarm; with `application` alone and no group of it listing the alarm, all of its groups.
Result<std::vector<aws::DeploymentGroupInfo>> HealingStep::GuardedGroups() {
  aws::CodeDeploy& cd = *ctx_.aws().codedeploy;
  const auto& act = rule_.action();
  if (!act.application().empty() && !act.deployment_group().empty()) {
    aws::DeploymentGroupInfo g;
    g.application_name = act.application();
    g.deployment_group_name = act.deployment_group();
    return std::vector<aws::DeploymentGroupInfo>{g};
  }
  std::vector<std::string> apps;
  if (!act.application().empty()) {
    apps.push_back(act.application());
  } else {
    auto listed = aws::CollectAll(
        aws::ListApplicationsRequest{},
        [&](const aws::ListApplicationsRequest& r) { return cd.ListApplications(r); },
        &aws::ListApplicationsResponse::applications);
    if (!listed.ok()) return std::move(listed).take_error();
    apps = std::move(*listed);
  }
  std::vector<aws::DeploymentGroupInfo> listing, all;
  for (const auto& app : apps) {
    aws::ListDeploymentGroupsRequest req;
    req.application_name = app;
    auto names = aws::CollectAll(
        req, [&](const aws::ListDeploymentGroupsRequest& r) { return cd.ListDeploymentGroups(r); },
        &aws::ListDeploymentGroupsResponse::deployment_groups);
    if (!names.ok()) return std::move(names).take_error();
    for (size_t i = 0; i < names->size(); i += aws::kMaxBatchGetDeploymentGroups) {
      aws::BatchGetDeploymentGroupsRequest batch;
      batch.application_name = app;
      batch.deployment_group_names.assign(
          names->begin() + static_cast<std::ptrdiff_t>(i),
          names->begin() + static_cast<std::ptrdiff_t>(
                               std::min(names->size(), i + aws::kMaxBatchGetDeploymentGroups)));
      auto infos = cd.BatchGetDeploymentGroups(batch);
      if (!infos.ok()) return std::move(infos).take_error();
      for (auto& g : infos->deployment_groups) {
        if (g.application_name.empty()) g.application_name = app;
        const auto& alarms = g.alarm_names;
        if (std::find(alarms.begin(), alarms.end(), state_.alarm_name()) != alarms.end()) {
          listing.push_back(g);
        }
        all.push_back(std::move(g));
      }
    }
  }
  if (listing.empty() && !act.application().empty()) return all;
  return listing;
}

StepOutcome HealingStep::DeployFind() {
  if (auto why = ConfigExclusion(); !why.empty()) return Excluded(why);
  if (!action_.deployment_id().empty()) {
    action_.clear_deployment_ids();
    action_.add_deployment_ids(action_.deployment_id());
    return Next(step::kDeployStop);
  }
  auto groups = GuardedGroups();
  if (!groups.ok()) {
    return AwsError(step::kDeployFind, "CodeDeploy lookup of the deployment groups",
                    groups.error());
  }
  if (groups->empty()) {
    return Failed(fmt::format(
        "no CodeDeploy deployment group {} lists alarm {} in its alarm configuration; name the "
        "group in the rule (action.application, action.deployment_group)",
        rule_.action().application().empty()
            ? std::string("in this account and region")
            : "of application " + rule_.action().application(),
        state_.alarm_name()));
  }
  // Created and Queued ones are about to roll out the same revision; Baking and the finished
  // states have nothing left to stop.
  const std::vector<std::string> active = {"Created", "Queued", "InProgress", "Ready"};
  std::vector<std::string> searched;
  std::vector<v1::Action> actions;
  action_.clear_deployment_ids();
  for (const auto& g : *groups) {
    const std::string group = g.application_name + "/" + g.deployment_group_name;
    searched.push_back(group);
    aws::ListDeploymentsRequest req;
    req.application_name = g.application_name;
    req.deployment_group_name = g.deployment_group_name;
    req.include_only_statuses = active;
    auto ids = aws::CollectAll(
        req,
        [&](const aws::ListDeploymentsRequest& r) {
          return ctx_.aws().codedeploy->ListDeployments(r);
        },
        &aws::ListDeploymentsResponse::deployments);
    if (!ids.ok()) return AwsError(step::kDeployFind, "ListDeployments", ids.error());
    for (const auto& id : *ids) {
      const std::string pattern =
          ExcludedByAny(config_, {id, group, "deployment-group:" + group});
      if (!pattern.empty()) {
        actions.push_back(MakeAction("deployment:" + id, "StopDeployment", "skipped",
                                     fmt::format("excluded: deployment {} of {} matches "
                                                 "excluded_resources entry \"{}\"",
                                                 id, group, pattern)));
        continue;
      }
      action_.add_deployment_ids(id);
    }
  }
  if (action_.deployment_ids_size() == 0) {
    const std::string why = fmt::format("no active deployment in {}: nothing to stop",
                                        fmt::join(searched, ", "));
    actions.push_back(MakeAction(Res(), "ListDeployments", "ok", why));
    return Done("succeeded", why, std::move(actions));
  }
  actions.push_back(MakeAction(Res(), "ListDeployments", "ok",
                               fmt::format("active in {}: {}", fmt::join(searched, ", "),
                                           fmt::join(action_.deployment_ids(), ", "))));
  // Checkpointed before deploy.stop: a resumed workflow stops these, not a later deployment.
  return Next(step::kDeployStop, std::move(actions));
}

StepOutcome HealingStep::DeployStop() {
  if (auto why = ConfigExclusion(); !why.empty()) return Excluded(why);
  // A workflow checkpointed by a version without deploy.find resumes here with deployment_id.
  if (action_.deployment_ids_size() == 0 && !action_.deployment_id().empty()) {
    action_.add_deployment_ids(action_.deployment_id());
  }
  std::vector<v1::Action> actions;
  std::vector<std::string> stopping, would;
  for (const auto& id : action_.deployment_ids()) {
    // Re-read: a resumed step does not stop (or roll back) twice.
    auto d = ctx_.aws().codedeploy->GetDeployment({id});
    if (!d.ok()) return AwsError(step::kDeployStop, "GetDeployment", d.error());
    const std::string where = d->application_name + "/" + d->deployment_group_name;
    const std::string& st = d->status;
    if (st == "Succeeded" || st == "Failed") {
      actions.push_back(MakeAction("deployment:" + id, "StopDeployment", "skipped",
                                   fmt::format("{} is already {}", where, st)));
      continue;
    }
    if (st == "Stopped") {
      stopping.push_back(id);  // by this step before a restart, or by someone else
      actions.push_back(MakeAction("deployment:" + id, "StopDeployment", "skipped",
                                   "already Stopped" + (d->rollback_deployment_id.empty()
                                                            ? std::string()
                                                            : ", rolled back by " +
                                                                  d->rollback_deployment_id)));
      continue;
    }
    if (dry_run()) {
      would.push_back(fmt::format("{} ({}, {})", id, where, st));
      continue;
    }
    aws::StopDeploymentRequest r;
    r.deployment_id = id;
    r.auto_rollback_enabled = true;
    auto res = ctx_.aws().codedeploy->StopDeployment(r);
    if (!res.ok() && res.error().aws_code == "DeploymentAlreadyCompletedException") {
      actions.push_back(MakeAction("deployment:" + id, "StopDeployment", "skipped",
                                   "completed before it could be stopped"));
      continue;
    }
    if (!res.ok()) return AwsError(step::kDeployStop, "StopDeployment", res.error());
    stopping.push_back(id);
    actions.push_back(MakeAction("deployment:" + id, "StopDeployment", "ok",
                                 fmt::format("{}: autoRollbackEnabled; {} {}", where, res->status,
                                             res->status_message)));
  }
  if (!would.empty()) {
    return DryRun(fmt::format("stop {} with automatic rollback", fmt::join(would, ", ")));
  }
  action_.clear_deployment_ids();
  for (const auto& id : stopping) action_.add_deployment_ids(id);
  if (stopping.empty()) {
    return Done("succeeded", "every deployment found had already finished: nothing to stop",
                std::move(actions));
  }
  StartVerifying();
  return WaitFor(step::kDeployVerify, PollMs(), std::move(actions));
}

StepOutcome HealingStep::DeployVerify() {
  std::vector<std::string> seen, pending, finished;
  for (const auto& id : action_.deployment_ids()) {
    auto d = ctx_.aws().codedeploy->GetDeployment({id});
    if (!d.ok()) return AwsError(step::kDeployVerify, "GetDeployment", d.error());
    seen.push_back(fmt::format("deployment {} {}{}", id, d->status,
                               d->rollback_deployment_id.empty()
                                   ? ""
                                   : ", rolled back by " + d->rollback_deployment_id));
    if (d->status == "Succeeded") finished.push_back(id);
    if (d->status != "Stopped" && d->status != "Failed" && d->status != "Succeeded") {
      pending.push_back(id);
    }
  }
  const std::string all = fmt::format("{}", fmt::join(seen, "; "));
  if (!finished.empty()) {
    return Failed("the deployment finished before it could be stopped: " + all,
                  {MakeAction(Res(), "verify", "failed", all)});
  }
  if (pending.empty()) {
    return Done("succeeded", "stopped with automatic rollback; verified: " + all,
                {MakeAction(Res(), "verify", "ok", all)});
  }
  if (VerifyExpired()) {
    return Failed(fmt::format("verification timed out after {} s: {}", VerifyTimeoutMs() / 1000,
                              all),
                  {MakeAction(Res(), "verify", "failed", all)});
  }
  return WaitFor(step::kDeployVerify, PollMs());
}

// ---------------------------------------------------------------------------------------------
// notify

StepOutcome HealingStep::NotifyPublish() {
  const std::string& topic = config_.notify_topic_arn();
  if (topic.empty()) return Failed("notify needs handlers.self_healing.notify_topic_arn");
  const v1::Event& trigger = ctx_.workflow().trigger();
  aws::PublishRequest r;
  r.topic_arn = topic;
  r.subject = fmt::format("fleetkeeper: alarm {} is {}", state_.alarm_name(),
                          trigger.alarm().state()).substr(0, 100);
  r.message = fmt::format("Alarm {} ({}) changed to {} at {}: {}\nRule: {}\nWorkflow: {}",
                          state_.alarm_name(), state_.alarm_arn(), trigger.alarm().state(),
                          trigger.alarm().state_time(), trigger.alarm().reason(), action_.rule(),
                          ctx_.workflow().workflow_id());
  if (dry_run()) return DryRun("publish to " + topic + ": " + r.subject);
  auto res = ctx_.aws().sns->Publish(r);
  if (!res.ok()) return AwsError(step::kNotifyPublish, "Publish", res.error());
  return Done("succeeded", "notified " + topic,
              {MakeAction(Res(), "Publish", "ok", "SNS message " + res->message_id)});
}

// ---------------------------------------------------------------------------------------------
// after each action

StepOutcome HealingStep::Conclude(std::vector<v1::Action> actions) {
  const bool counted = action_.status() == "succeeded" || action_.status() == "failed";
  if (counted && !dry_run()) {
    const std::string metric =
        action_.status() == "succeeded" ? "RecoveryActions" : "RecoveryFailures";
    aws::PutMetricDataRequest put;
    put.metric_namespace = config_.metrics().namespace_().empty()
                               ? std::string(kDefaultMetricsNamespace)
                               : config_.metrics().namespace_();
    aws::MetricDatum datum;
    datum.metric_name = metric;
    datum.value = 1;
    datum.unit = "Count";
    const std::map<std::string, std::string> vars = {
        {"{rule}", action_.rule()},
        {"{action}", action_.type()},
        {"{resource}", action_.resource()},
        {"{alarm}", state_.alarm_name()}};
    for (const auto& [name, value] : config_.metrics().dimensions()) {
      auto it = vars.find(value);
      datum.dimensions.push_back({name, it != vars.end() ? it->second : value});
    }
    put.metrics.push_back(std::move(datum));
    // Metrics and notifications report on the action; their failure does not undo it.
    if (auto st = ctx_.aws().cloudwatch->PutMetricData(put); !st.ok()) {
      actions.push_back(MakeAction("cloudwatch:" + put.metric_namespace, "PutMetricData",
                                   "failed", metric + ": " + st.error().ToString(),
                                   st.error().request_id));
    } else {
      actions.push_back(MakeAction("cloudwatch:" + put.metric_namespace, "PutMetricData", "ok",
                                   metric + " +1"));
    }
    if (!config_.notify_topic_arn().empty() && action_.type() != "notify") {
      aws::PublishRequest r;
      r.topic_arn = config_.notify_topic_arn();
      r.subject = fmt::format("fleetkeeper self-healing {}: {} on {}", action_.status(),
                              action_.type(), action_.resource()).substr(0, 100);
      r.message = fmt::format("Alarm {}: rule {} {} {} on {}.\n{}\nWorkflow: {}",
                              state_.alarm_name(), action_.rule(), action_.status(),
                              action_.type(), action_.resource(), action_.detail(),
                              ctx_.workflow().workflow_id());
      auto res = ctx_.aws().sns->Publish(r);
      actions.push_back(res.ok() ? MakeAction(r.topic_arn, "Publish", "ok",
                                              "SNS message " + res->message_id)
                                 : MakeAction(r.topic_arn, "Publish", "failed",
                                              res.error().ToString(), res.error().request_id));
    }
  }
  if (action_.status() == "succeeded" && !dry_run() && rule_.repeat_while_alarm()) {
    // Whether a repeat may act is the cell's circuit breaker's call, made when the re-read finds
    // the alarm still in ALARM (SelfHealingHandler::OnStepOutcome).
    const int64_t wait =
        std::max<int64_t>(rule_.has_cooldown() ? DurationMs(rule_.cooldown())
                                               : kDefaultRepeatIntervalMs,
                          1000);
    StepOutcome o = WaitFor(step::kRepeatCheck, wait, actions);
    o.reason = fmt::format("re-reading alarm {} in {} s (repeat_while_alarm)",
                           state_.alarm_name(), wait / 1000);
    return o;
  }
  return AfterActions(std::move(actions));
}

StepOutcome HealingStep::RepeatCheck() {
  aws::DescribeAlarmsRequest r;
  r.alarm_names = {state_.alarm_name()};
  r.alarm_types = {"MetricAlarm", "CompositeAlarm"};
  auto res = ctx_.aws().cloudwatch->DescribeAlarms(r);
  if (!res.ok()) return AwsError(step::kRepeatCheck, "DescribeAlarms", res.error());
  std::string now_state;
  for (const auto& a : res->metric_alarms) {
    if (a.name == state_.alarm_name()) now_state = a.state_value;
  }
  for (const auto& a : res->composite_alarms) {
    if (a.name == state_.alarm_name()) now_state = a.state_value;
  }
  std::vector<v1::Action> actions = {MakeAction(
      "alarm:" + state_.alarm_name(), "DescribeAlarms", "ok",
      now_state.empty() ? std::string("alarm no longer exists") : "state " + now_state)};
  if (now_state != "ALARM") return AfterActions(std::move(actions));
  // Still in ALARM: act again, as the rule was admitted, in a new round.
  v1::HealingActionState again;
  for (const auto& a : state_.admitted()) {
    if (a.rule() == action_.rule()) again = a;
  }
  if (again.rule().empty()) again = action_;
  again.set_round(action_.round() + 1);
  again.set_status("pending");
  state_.add_repeat_times_ms(now_);
  *state_.add_actions() = again;
  state_.set_current(state_.actions_size() - 1);
  StepOutcome o = StepOutcome::Next(FirstStepOf(again.type()));
  o.actions = std::move(actions);
  o.reason = fmt::format("alarm {} still in ALARM: {} again (round {})", state_.alarm_name(),
                         again.type(), again.round() + 1);
  o.publish_progress = true;
  return o;
}

StepOutcome HealingStep::AfterActions(std::vector<v1::Action> actions) {
  return NextActionOrFinish(state_, std::move(actions));
}

// A step of the current action over the HealingWorkflowState packed in the context: unpacked for
// the step, packed back after.
std::function<StepOutcome(StepContext&)> OverState(const v1::SelfHealingConfig& config,
                                                   StepOutcome (HealingStep::*run)()) {
  return [&config, run](StepContext& ctx) {
    v1::HealingWorkflowState state;
    if (!ctx.mutable_state()->UnpackTo(&state)) {
      return StepOutcome::Finish(
          v1::Result::FAILED,
          fmt::format("self-healing workflow {} has no readable state (type {})",
                      ctx.workflow().workflow_id(), ctx.mutable_state()->type_url()));
    }
    if (state.actions_size() == 0 || state.current() < 0 ||
        state.current() >= state.actions_size()) {
      return StepOutcome::Finish(v1::Result::FAILED,
                                 fmt::format("self-healing workflow state has no action {} of {}",
                                             state.current(), state.actions_size()));
    }
    StepOutcome out = (HealingStep(config, state, ctx).*run)();
    ctx.mutable_state()->PackFrom(state);
    return out;
  };
}

}  // namespace

std::string FirstStepOf(const std::string& action_type) {
  if (action_type == "scale_out") return step::kScaleOutPlan;
  if (action_type == "replace_instance") return step::kReplaceInspect;
  if (action_type == "reboot_instance") return step::kRebootSend;
  if (action_type == "ecs_force_deploy") return step::kEcsPlan;
  if (action_type == "stop_deployment") return step::kDeployFind;
  if (action_type == "notify") return step::kNotifyPublish;
  return "";
}

StepOutcome NextActionOrFinish(v1::HealingWorkflowState& state,
                               std::vector<v1::Action> actions) {
  for (int i = 0; i < state.actions_size(); ++i) {
    if (state.actions(i).status() == "pending") {
      state.set_current(i);
      StepOutcome o = StepOutcome::Next(FirstStepOf(state.actions(i).type()));
      o.actions = std::move(actions);
      return o;
    }
  }
  int succeeded = 0, failed = 0, dry = 0, excluded = 0;
  std::vector<std::string> parts;
  for (const auto& a : state.actions()) {
    if (a.status() == "succeeded") ++succeeded;
    if (a.status() == "failed") ++failed;
    if (a.status() == "dry_run") ++dry;
    if (a.status() == "excluded") ++excluded;
    parts.push_back(fmt::format("{} {}: {}", a.type(), a.resource(), a.detail()));
  }
  v1::Result::Status status = v1::Result::SUCCEEDED;
  if (failed > 0) {
    status = succeeded + dry > 0 ? v1::Result::PARTIAL : v1::Result::FAILED;
  } else if (dry > 0) {
    status = v1::Result::DRY_RUN;
  } else if (succeeded == 0 && excluded > 0) {
    status = v1::Result::REJECTED;
  }
  StepOutcome o = StepOutcome::Finish(status, fmt::format("{}", fmt::join(parts, "; ")));
  o.actions = std::move(actions);
  return o;
}

StepTable HealingSteps(const v1::SelfHealingConfig& config) {
  using namespace step;
  const auto over = [&config](StepOutcome (HealingStep::*run)()) {
    return OverState(config, run);
  };
  // Mutating: the steps that make the call a decision drove (a freeze holds them back).
  return StepTable(kHandlerName,
                   {
                       {kScaleOutPlan, false, over(&HealingStep::ScaleOutPlan)},
                       {kScaleOutSet, true, over(&HealingStep::ScaleOutSet)},
                       {kScaleOutVerify, false, over(&HealingStep::ScaleOutVerifyStep)},
                       {kReplaceInspect, false, over(&HealingStep::ReplaceInspect)},
                       {kReplaceTerminate, true, over(&HealingStep::ReplaceTerminateInstance)},
                       {kReplaceSurge, true, over(&HealingStep::ReplaceSurge)},
                       {kReplaceWaitNew, false, over(&HealingStep::ReplaceWaitNew)},
                       {kReplaceTerminateOld, true, over(&HealingStep::ReplaceTerminateOld)},
                       {kReplaceVerifyGroup, false, over(&HealingStep::ReplaceVerifyGroup)},
                       {kReplaceReboot, true, over(&HealingStep::ReplaceReboot)},
                       {kReplaceCheckReboot, false, over(&HealingStep::ReplaceCheckReboot)},
                       {kReplaceStop, true, over(&HealingStep::ReplaceStop)},
                       {kReplaceWaitStopped, false, over(&HealingStep::ReplaceWaitStopped)},
                       {kReplaceStart, true, over(&HealingStep::ReplaceStart)},
                       {kReplaceVerifyStarted, false, over(&HealingStep::ReplaceVerifyStarted)},
                       {kRebootSend, true, over(&HealingStep::RebootSend)},
                       {kRebootVerify, false, over(&HealingStep::RebootVerify)},
                       {kEcsPlan, false, over(&HealingStep::EcsPlan)},
                       {kEcsForce, true, over(&HealingStep::EcsForce)},
                       {kEcsVerify, false, over(&HealingStep::EcsVerify)},
                       {kDeployFind, false, over(&HealingStep::DeployFind)},
                       {kDeployStop, true, over(&HealingStep::DeployStop)},
                       {kDeployVerify, false, over(&HealingStep::DeployVerify)},
                       {kNotifyPublish, false, over(&HealingStep::NotifyPublish)},
                       {kRepeatCheck, false, over(&HealingStep::RepeatCheck)},
                   });
}

}  // namespace fleetkeeper::handlers::self_healing
