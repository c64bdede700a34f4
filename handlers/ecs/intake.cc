#include "handlers/ecs/intake.h"

#include <fmt/format.h>

#include <array>
#include <set>

#include "common/config_check.h"
#include "common/duration.h"
#include "handlers/handler.h"

namespace fleetkeeper::handlers::ecs {
namespace {

constexpr std::array<std::string_view, 8> kActions = {
    kListClusters, kListServices, kListTasks, kScale, kRestart, kStopTasks, kDrain, kRestore};

Error Invalid(std::string_view field, const std::string& why) {
  return InvalidInput(fmt::format("{}: {}", field, why));
}

// Names must be present, non-empty and unique; `allow_all` admits "*" alone.
Status CheckNames(std::string_view field,
                  const google::protobuf::RepeatedPtrField<std::string>& names, bool allow_all) {
  std::set<std::string> seen;
  for (int i = 0; i < names.size(); ++i) {
    const std::string& n = names[i];
    const std::string at = fmt::format("{}[{}]", field, i);
    if (n.empty()) return Invalid(at, "must not be empty");
    if (n == kAllServices && (!allow_all || names.size() > 1)) {
      return Invalid(at, allow_all ? "\"*\" selects every service and stands alone"
                                   : "\"*\" is not allowed here");
    }
    if (!seen.insert(n).second) return Invalid(at, fmt::format("\"{}\" is named twice", n));
  }
  return Ok{};
}

}  // namespace

bool IsListAction(std::string_view action) {
  return action == kListClusters || action == kListServices || action == kListTasks;
}

Result<v1::EcsWorkflowState> ReadCommand(const v1::EcsCommand& c, const v1::EcsConfig& config) {
  const std::string& action = c.action();
  if (action.empty()) {
    return Invalid("action",
                   fmt::format("missing; expected one of {}", fmt::join(kActions, " | ")));
  }
  bool known = false;
  for (auto a : kActions) known = known || a == action;
  if (!known) {
    return Invalid("action", fmt::format("unknown action \"{}\"; expected one of {}", action,
                                         fmt::join(kActions, " | ")));
  }
  if (action != kListClusters && c.cluster().empty()) {
    return Invalid("cluster", fmt::format("missing: action {} needs a cluster", action));
  }
  if (action == kListClusters && !c.cluster().empty()) {
    return Invalid("cluster", "not used by list_clusters");
  }
  const bool takes_services = action == kScale || action == kRestore || action == kRestart ||
                              action == kStopTasks || action == kListTasks;
  if (!takes_services && !c.services().empty()) {
    return Invalid("services", fmt::format("not used by {}", action));
  }
  if (auto s = CheckNames("services", c.services(), action != kListTasks); !s.ok()) {
    return std::move(s).take_error();
  }
  if ((action == kScale || action == kRestore || action == kRestart) && c.services().empty()) {
    return Invalid("services",
                   fmt::format("missing: {} names one or more services (or \"*\")", action));
  }
  if (c.has_desired_count()) {
    if (action != kScale) return Invalid("desired_count", "only for action scale");
    if (c.desired_count() < 0) {
      return Invalid("desired_count",
                     fmt::format("must not be negative, got {}", c.desired_count()));
    }
  } else if (action == kScale) {
    return Invalid("desired_count", "missing: scale needs the desired count (0 or more)");
  }
  if (!c.tasks().empty() && action != kStopTasks) {
    return Invalid("tasks", fmt::format("not used by {}", action));
  }
  if (auto s = CheckNames("tasks", c.tasks(), false); !s.ok()) return std::move(s).take_error();
  if (action == kStopTasks && c.tasks().empty() == c.services().empty()) {
    return Invalid("tasks",
                   "stop_tasks names either tasks or services (all their tasks), not "
                   "both and not neither");
  }
  if (c.has_max_concurrency()) {
    if (action != kStopTasks || c.services().empty()) {
      return Invalid("max_concurrency", "only for stop_tasks of whole services");
    }
    if (c.max_concurrency() < 1) {
      return Invalid("max_concurrency",
                     fmt::format("must be at least 1, got {}", c.max_concurrency()));
    }
  }
  if (!c.container_instances().empty() && action != kDrain) {
    return Invalid("container_instances", fmt::format("not used by {}", action));
  }
  if (auto s = CheckNames("container_instances", c.container_instances(), false); !s.ok()) {
    return std::move(s).take_error();
  }
  if (action == kDrain && c.container_instances().empty()) {
    return Invalid("container_instances", "missing: drain names the container instances");
  }
  if (!c.notify_topic_arn().empty()) {
    if (IsListAction(action)) return Invalid("notify_topic_arn", "list actions send no summary");
    if (!IsSnsTopicArn(c.notify_topic_arn())) {
      return Invalid("notify_topic_arn",
                     fmt::format("\"{}\" is not an SNS topic ARN", c.notify_topic_arn()));
    }
  }

  v1::EcsWorkflowState state;
  state.set_action(action);
  state.set_cluster(c.cluster());
  int64_t verify_ms = DurationMs(config.verify_timeout());
  if (!c.verify_timeout().empty()) {
    if (IsListAction(action)) return Invalid("verify_timeout", "list actions verify nothing");
    auto d = ParseDuration(c.verify_timeout());
    if (!d) {
      return Invalid("verify_timeout", fmt::format("\"{}\" is not a duration (e.g. 90s, 5m, 1h)",
                                                   c.verify_timeout()));
    }
    verify_ms = DurationMs(*d);
    if (verify_ms <= 0) return Invalid("verify_timeout", "must be more than 0");
  }
  state.set_verify_timeout_ms(verify_ms);
  state.set_poll_ms(DurationMs(config.poll_interval()));
  if (c.has_desired_count()) state.set_desired_count(c.desired_count());
  state.set_max_concurrency(c.has_max_concurrency() ? c.max_concurrency() : 1);
  for (const auto& name : c.services()) state.add_services()->set_name(name);
  for (const auto& arn : c.tasks()) state.add_tasks()->set_arn(arn);
  for (const auto& arn : c.container_instances()) state.add_instances()->set_arn(arn);
  if (!IsListAction(action)) {
    state.set_notify_topic_arn(c.notify_topic_arn().empty() ? config.notify_topic_arn()
                                                            : c.notify_topic_arn());
  }
  return state;
}

size_t NamedTargets(const v1::EcsWorkflowState& state) {
  return static_cast<size_t>(state.services_size() + state.tasks_size() + state.instances_size());
}

}  // namespace fleetkeeper::handlers::ecs
