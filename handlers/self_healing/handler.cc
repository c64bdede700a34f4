#include "handlers/self_healing/handler.h"

#include <fmt/format.h>

#include "handlers/self_healing/rules.h"

namespace fleetkeeper::handlers::self_healing {
namespace {

class SelfHealingHandler final : public Handler {
 public:
  explicit SelfHealingHandler(v1::SelfHealingConfig config) : config_(std::move(config)) {}

  std::string_view name() const override { return "self_healing"; }

  Admission Admit(const v1::Event& event, const AdmissionContext&) override {
    const auto& alarm = event.alarm();
    auto rules = MatchingRules(config_, alarm);
    if (rules.empty()) {
      return Admission::Final(
          v1::Result::SKIPPED,
          fmt::format("no self-healing rule matches alarm {} in state {}", alarm.alarm_name(),
                      alarm.state().empty() ? "unknown" : alarm.state()));
    }
    // Actions need the durable workflow runtime and the AWS clients; until they are wired in,
    // say so instead of pretending to act.
    return Admission::Final(
        v1::Result::REJECTED,
        fmt::format("self-healing rule {} matched alarm {}, but action {} is not implemented in "
                    "this version",
                    rules.front()->name(), alarm.alarm_name(), rules.front()->action().type()));
  }

 private:
  v1::SelfHealingConfig config_;
};

}  // namespace

std::unique_ptr<Handler> MakeHandler(const v1::WorkerConfig& config) {
  return std::make_unique<SelfHealingHandler>(config.handlers().self_healing());
}

}  // namespace fleetkeeper::handlers::self_healing
