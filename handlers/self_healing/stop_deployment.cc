#include "handlers/self_healing/healing_step.h"

#include <fmt/ranges.h>

#include "awsclient/pagination.h"

namespace fleetkeeper::handlers::self_healing {

// ---------------------------------------------------------------------------------------------
// stop_deployment

// The deployments an alarm guards, when the alarm does not name one: the rule's deployment group,
// or the groups (of the rule's application, else of every application) whose alarm configuration
// lists the alarm; with `application` alone and no group of it listing the alarm, all of its
// groups.
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
        rule_.action().application().empty() ? std::string("in this account and region")
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
      const std::string pattern = ExcludedByAny(config_, {id, group, "deployment-group:" + group});
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
    const std::string why =
        fmt::format("no active deployment in {}: nothing to stop", fmt::join(searched, ", "));
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
      actions.push_back(
          MakeAction("deployment:" + id, "StopDeployment", "skipped",
                     "already Stopped" + (d->rollback_deployment_id.empty()
                                              ? std::string()
                                              : ", rolled back by " + d->rollback_deployment_id)));
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
    actions.push_back(MakeAction(
        "deployment:" + id, "StopDeployment", "ok",
        fmt::format("{}: autoRollbackEnabled; {} {}", where, res->status, res->status_message)));
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
    seen.push_back(fmt::format(
        "deployment {} {}{}", id, d->status,
        d->rollback_deployment_id.empty() ? "" : ", rolled back by " + d->rollback_deployment_id));
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
    return Failed(
        fmt::format("verification timed out after {} s: {}", VerifyTimeoutMs() / 1000, all),
        {MakeAction(Res(), "verify", "failed", all)});
  }
  return WaitFor(step::kDeployVerify, PollMs());
}

}  // namespace fleetkeeper::handlers::self_healing
