// What an EcsCommand asks, checked without I/O at admission: every field against its action, and
// the initial workflow state. Whether the cluster, services, tasks and instances exist is the
// discover step's (it reads AWS).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"
#include "fleetkeeper/v1/ecs.pb.h"
#include "fleetkeeper/v1/ecs_state.pb.h"
#include "fleetkeeper/v1/event.pb.h"

namespace fleetkeeper::handlers::ecs {

// The actions of DESIGN.md "ECS command -> lifecycle".
inline constexpr std::string_view kListClusters = "list_clusters";
inline constexpr std::string_view kListServices = "list_services";
inline constexpr std::string_view kListTasks = "list_tasks";
inline constexpr std::string_view kScale = "scale";
inline constexpr std::string_view kRestart = "restart";
inline constexpr std::string_view kStopTasks = "stop_tasks";
inline constexpr std::string_view kDrain = "drain";
inline constexpr std::string_view kRestore = "restore";

// `services: ["*"]` selects every service of the cluster (scale, restore, restart, stop_tasks).
inline constexpr std::string_view kAllServices = "*";

// The tag a scale to zero leaves on each service: its desired count before, for `restore`.
inline constexpr char kPreviousCountTag[] = "fleetkeeper:previous-desired-count";

bool IsListAction(std::string_view action);

// The workflow state of a valid command, or an InvalidInput error whose message starts with the
// field it names ("desired_count: must not be negative, got -1"). `config` supplies the defaults
// (verify_timeout, poll_interval) the command does not set.
Result<v1::EcsWorkflowState> ReadCommand(const v1::EcsCommand& command,
                                         const v1::EcsConfig& config);

// The number of services, tasks or container instances a command names (before "*" is expanded).
size_t NamedTargets(const v1::EcsWorkflowState& state);

}  // namespace fleetkeeper::handlers::ecs
