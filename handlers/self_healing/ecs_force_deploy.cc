#include "handlers/self_healing/healing_step.h"

namespace fleetkeeper::handlers::self_healing {

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
  RecordGroupTags("ecs:" + action_.ecs_cluster() + "/" + action_.ecs_service(), s->tags);
  const auto* primary = Primary(*s);
  // Recorded before kEcsForce: the verification waits for a PRIMARY deployment other than this
  // one, and a resumed kEcsForce that finds one does not force again.
  action_.set_ecs_primary_before(primary != nullptr ? primary->id : "");
  if (dry_run()) {
    return DryRun(
        fmt::format("force a new deployment of ECS service {} in cluster {} "
                    "(desired {}, running {})",
                    s->name, action_.ecs_cluster(), s->desired_count, s->running_count));
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
    actions.push_back(
        MakeAction(Res(), "UpdateService", "ok",
                   "forceNewDeployment; new deployment " + (action_.ecs_new_deployment().empty()
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
    return Failed(
        fmt::format("deployment {} failed: {}", primary->id, primary->rollout_state_reason),
        {MakeAction(Res(), "verify", "failed", seen)});
  }
  // Services without the deployment circuit breaker report no rolloutState: then the new
  // deployment is done when it is the only one and runs its desired count.
  const bool complete = is_new && (primary->rollout_state == "COMPLETED" ||
                                   (primary->rollout_state.empty() && s->deployments.size() == 1 &&
                                    primary->running_count >= primary->desired_count));
  if (complete) {
    return Done("succeeded",
                fmt::format("forced a new deployment of {}; verified: {}", s->name, seen),
                {MakeAction(Res(), "verify", "ok", seen)});
  }
  if (VerifyExpired()) {
    return Failed(
        fmt::format("verification timed out after {} s: {}", VerifyTimeoutMs() / 1000, seen),
        {MakeAction(Res(), "verify", "failed", seen)});
  }
  return WaitFor(step::kEcsVerify, PollMs());
}

}  // namespace fleetkeeper::handlers::self_healing
