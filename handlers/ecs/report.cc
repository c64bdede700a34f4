#include "handlers/ecs/report.h"

#include <fmt/format.h>

#include "awsclient/clients.h"
#include "handlers/ecs/reads.h"
#include "handlers/ecs/steps.h"
#include "handlers/report.h"

namespace fleetkeeper::handlers::ecs {

void Report(const v1::EcsWorkflowState& s, StepContext& ctx, StepOutcome& outcome) {
  if (outcome.kind != StepOutcome::Kind::kFinish || ctx.dry_run()) return;
  int targets = 0, failures = 0;
  auto count = [&](const std::string& result) {
    ++targets;
    if (result != kOk) ++failures;
  };
  for (const auto& t : s.services()) count(t.outcome());
  for (const auto& t : s.tasks()) count(t.outcome());
  for (const auto& i : s.instances()) count(i.outcome());
  const bool failed = outcome.status == v1::Result::FAILED;
  aws::PutMetricDataRequest m;
  m.metric_namespace = kMetricsNamespace;
  const std::vector<aws::MetricDimension> dims = {{"Action", s.action()},
                                                  {"Cluster", NameOf(s.cluster())}};
  m.metrics.push_back({"Targets", dims, static_cast<double>(targets), "Count", 0, {}});
  m.metrics.push_back({"Failures", dims, static_cast<double>(failures), "Count", 0, {}});
  m.metrics.push_back({"WorkflowFailures", dims, failed ? 1.0 : 0.0, "Count", 0, {}});
  outcome.actions.push_back(
      PutMetrics(*ctx.aws().cloudwatch, m,
                 fmt::format("{} {}: Targets {}, Failures {}, WorkflowFailures {}", s.action(),
                             NameOf(s.cluster()), targets, failures, failed ? 1 : 0)));
  if (s.notify_topic_arn().empty()) return;
  std::vector<std::string> lines = {outcome.reason};
  for (const auto& t : s.services()) {
    lines.push_back(fmt::format("service {}: {}", t.name(), t.outcome()));
  }
  for (const auto& t : s.tasks()) lines.push_back(fmt::format("task {}: {}", t.arn(), t.outcome()));
  for (const auto& i : s.instances()) {
    lines.push_back(fmt::format("container instance {}: {}", i.arn(), i.outcome()));
  }
  outcome.actions.push_back(
      PublishSummary(*ctx.aws().sns, s.notify_topic_arn(),
                     fmt::format("fleetkeeper ecs {} {}: {}", s.action(), NameOf(s.cluster()),
                                 v1::Result::Status_Name(outcome.status)),
                     lines));
}

}  // namespace fleetkeeper::handlers::ecs
