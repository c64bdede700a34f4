// What the steps of every self-healing action share: one step of the current action
// (HealingStep) with its outcome helpers and AWS reads. Internal to handlers/self_healing: the
// steps are defined one file per action type, the step table is in steps.cc.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "awsclient/aws_error.h"
#include "awsclient/clients.h"
#include "common/error.h"
#include "fleetkeeper/v1/self_healing.pb.h"
#include "fleetkeeper/v1/self_healing_state.pb.h"
#include "handlers/self_healing/rules.h"
#include "handlers/self_healing/steps.h"
#include "handlers/self_healing/throttles.h"
#include "handlers/workflow.h"

namespace fleetkeeper::handlers::self_healing {

// Retriable AWS errors (throttling, 5xx, timeouts the client gave up on) in a row on one step
// before the action fails.
inline constexpr int kMaxTransientFailures = 5;
inline constexpr int64_t kDefaultRepeatIntervalMs = 300 * 1000;
// A standalone instance whose status checks still fail this long after a reboot is stopped and
// started (which moves it to other hardware); at most half the verification time.
inline constexpr int64_t kMaxRebootGraceMs = 5 * 60 * 1000;
inline constexpr const char* kExcludeTag = "fleetkeeper:exclude";
inline constexpr const char* kAsgTag = "aws:autoscaling:groupName";

inline v1::Action MakeAction(const std::string& resource, const std::string& action,
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

inline bool Healthy(const aws::AsgInstance& i) {
  return i.lifecycle_state == "InService" && i.health_status != "Unhealthy";
}

inline int64_t CountInService(const aws::AutoScalingGroup& g, const std::string& except = "") {
  return std::count_if(g.instances.begin(), g.instances.end(), [&](const aws::AsgInstance& i) {
    return Healthy(i) && i.instance_id != except;
  });
}

inline const aws::AsgInstance* FindInstance(const aws::AutoScalingGroup& g, const std::string& id) {
  for (const auto& i : g.instances) {
    if (i.instance_id == id) return &i;
  }
  return nullptr;
}

// One step of one action, over the workflow's state (steps.cc unpacks it for the step). Holds
// references for the duration of the step. Its steps are defined one file per action type
// (scale_out.cc, replace_instance.cc, …).
class HealingStep {
 public:
  HealingStep(const v1::SelfHealingConfig& config, const std::vector<std::string>& group_tag_keys,
              v1::HealingWorkflowState& state, StepContext& ctx)
      : config_(config),
        group_tag_keys_(group_tag_keys),
        state_(state),
        ctx_(ctx),
        action_(*state.mutable_actions(state.current())),
        rule_(action_.rule_config()),
        now_(ctx.clock().NowMs()) {}

 private:
  // ---- outcome helpers ----
  // The workflow's own setting (see WorkflowCheckpoint.dry_run); a checkpoint older than that
  // field has the one this handler recorded at admission.
  bool dry_run() const { return ctx_.workflow().has_dry_run() ? ctx_.dry_run() : state_.dry_run(); }
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
    // The instance is back in service, or gone and replaced, or the action gave up on it: the
    // ledger no longer holds it for this action (target reads count it while it stays out).
    if (auto* ledger = ctx_.capacity(); ledger != nullptr && !action_.instance_id().empty()) {
      ledger->Release(action_.instance_id());
    }
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
    return Done("failed", what, {MakeAction(Res(), action_.type(), "failed", what, e.request_id)});
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
    return Error(ErrorCode::kNotFound,
                 fmt::format("ECS service {} not found in cluster {}{}", action_.ecs_service(),
                             action_.ecs_cluster(), why));
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
    return pattern.empty() ? ""
                           : fmt::format(
                                 "excluded: {} matches excluded_resources entry "
                                 "\"{}\"",
                                 Res(), pattern);
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
  StepOutcome ReplaceTerminateOld() { return ReplaceTerminate(true, step::kReplaceTerminateOld); }
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
  // Before `step` takes the action's instance out of service: reserves it in the cell's ledger
  // (its target groups, its Auto Scaling group). Empty when the step may go on; otherwise what it
  // returns: the reservation's checkpoint, a wait for room, or a failure after the verify timeout.
  std::optional<StepOutcome> TakeOutOfService(const std::string& step);
  // The tags of a group the action changes (`lock`: "asg:<name>", "ecs:<cluster>/<service>"),
  // for the guards and blackout windows by tag (handlers/group_guards.h); once per workflow and
  // group, and only when the safety section selects by tag. The step that reads them ends with a
  // checkpoint before the first call on the group, so the engine decides with them.
  void RecordGroupTags(const std::string& lock, const aws::Tags& tags);
  // The same for the groups of the action's instance that no earlier step read (its target
  // groups `target_groups`; its Auto Scaling group): empty when there was nothing new, else the
  // checkpoint of them and `step` again, or the failure of the read.
  std::optional<StepOutcome> RecordInstanceGroupTags(const std::string& step,
                                                     const std::vector<std::string>& target_groups);
  StepOutcome Conclude(std::vector<v1::Action> actions);
  StepOutcome AfterActions(std::vector<v1::Action> actions);

  const v1::SelfHealingConfig& config_;
  const std::vector<std::string>& group_tag_keys_;
  v1::HealingWorkflowState& state_;
  StepContext& ctx_;
  v1::HealingActionState& action_;
  const v1::HealingRule& rule_;
  const int64_t now_;
};

}  // namespace fleetkeeper::handlers::self_healing
