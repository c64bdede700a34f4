#include "handlers/ami_rollout/handler.h"

#include <fmt/format.h>

#include <set>

#include "awsclient/clients.h"
#include "fleetkeeper/v1/ami_rollout_state.pb.h"
#include "handlers/ami_rollout/config_check.h"
#include "handlers/ami_rollout/permissions.h"
#include "handlers/ami_rollout/steps.h"

namespace fleetkeeper::handlers::ami_rollout {

AmiRolloutHandler::AmiRolloutHandler(RolloutConfig config)
    : config_(std::move(config)),
      steps_(RolloutSteps(
          config_, [this](aws::Ec2& ec2) -> aws::Ec2ReadCoalescer& { return ReadsFor(ec2); })) {}

Admission AmiRolloutHandler::Admit(const v1::Event& event, const AdmissionContext& context) {
  if (event.body_case() != v1::Event::kParameterChange) {
    return Admission::Final(v1::Result::SKIPPED, "not a parameter change");
  }
  const auto& change = event.parameter_change();
  if (change.name().empty()) {
    return Admission::Final(v1::Result::REJECTED, "parameter change without a parameter name");
  }
  if (change.operation() == "Delete") {
    return Admission::Final(
        v1::Result::SKIPPED,
        fmt::format("parameter {} was deleted: there is no AMI to roll out", change.name()));
  }
  v1::AmiRolloutState state;
  state.set_parameter(change.name());
  const int64_t now = context.clock.NowMs();
  state.set_started_ms(now);
  Admission a;
  a.kind = Admission::Kind::kWorkflow;
  a.workflow = NewWorkflow(event, "ami-rollout", "ami_rollout", kStepReadParameter, state, now);
  return a;
}

StepOutcome AmiRolloutHandler::RunStep(const std::string& step, StepContext& context) {
  return steps_.Run(step, context);
}

aws::Ec2ReadCoalescer& AmiRolloutHandler::ReadsFor(aws::Ec2& ec2) {
  std::lock_guard lock(reads_mu_);
  auto& reads = reads_[&ec2];
  if (!reads) reads = std::make_unique<aws::Ec2ReadCoalescer>(ec2);
  return *reads;
}

bool AmiRolloutHandler::StepMutates(const std::string& step) const { return steps_.Mutates(step); }

std::vector<std::string> AmiRolloutHandler::LockedResources(
    const v1::WorkflowCheckpoint& wf) const {
  v1::AmiRolloutState state;
  if (!wf.state().UnpackTo(&state)) return {};
  std::vector<std::string> out;
  std::set<std::string> target_groups;
  for (const auto& a : state.asgs()) {
    if (a.phase() != kPhaseDone) out.push_back("asg:" + a.name());
  }
  for (const auto& r : state.instances()) {
    if (r.phase() == kPhaseDone) continue;
    out.push_back("instance:" + r.instance_id());
    if (!r.new_instance_id().empty() && r.new_instance_id() != r.instance_id()) {
      out.push_back("instance:" + r.new_instance_id());
    }
    for (const auto& tg : r.capture().target_groups()) target_groups.insert(tg.arn());
  }
  for (const auto& arn : target_groups) out.push_back("tg:" + arn);
  return out;
}

std::vector<std::string> AmiRolloutHandler::GuardedResources(
    const v1::WorkflowCheckpoint& wf) const {
  std::vector<std::string> out = LockedResources(wf);
  v1::AmiRolloutState state;
  if (!wf.state().UnpackTo(&state)) return out;
  for (const auto& r : state.instances()) {
    if (r.phase() != kPhaseDone || r.outcome() != kSucceeded) continue;
    out.push_back("instance:" + r.instance_id());
    if (!r.new_instance_id().empty()) out.push_back("instance:" + r.new_instance_id());
    for (const auto& tg : r.capture().target_groups()) out.push_back("tg:" + tg.arn());
  }
  return out;
}

std::unique_ptr<Handler> MakeHandler(const v1::WorkerConfig& config) {
  return std::make_unique<AmiRolloutHandler>(RolloutConfig::From(config));
}

namespace {

class AmiRolloutFactory final : public HandlerFactory {
 public:
  std::string_view name() const override { return "ami_rollout"; }
  std::vector<EventKind> kinds() const override { return {v1::Event::kParameterChange}; }
  bool Enabled(const v1::WorkerConfig& config) const override {
    const auto& section = config.handlers().ami_rollout();
    return !section.has_enabled() || section.enabled();
  }
  void ApplyDefaults(v1::WorkerConfig& config) const override {
    ami_rollout::ApplyDefaults(*config.mutable_handlers()->mutable_ami_rollout());
  }
  void Validate(const v1::WorkerConfig& config, ConfigChecker& check) const override {
    ami_rollout::Validate(config.handlers().ami_rollout(), ChildPath("handlers", name()), check);
  }
  std::vector<std::string> Permissions(const v1::WorkerConfig& config) const override {
    return ami_rollout::Permissions(config);
  }
  std::unique_ptr<Handler> Make(const v1::WorkerConfig& config) const override {
    return MakeHandler(config);
  }
};

}  // namespace

const HandlerFactory& Factory() {
  static const AmiRolloutFactory factory;
  return factory;
}

}  // namespace fleetkeeper::handlers::ami_rollout
