// `fleetkeeper permissions [--config FILE] [--json]`: every AWS action fleetkeeper may call with a
// configuration, by owner: "worker" (the process's own calls, app/aws_wiring.h WorkerActions),
// then each enabled handler as its folder declares it (handlers/registry.h). `doctor` simulates
// exactly these; the JSON form is for tooling (IAM policy documents, the end-to-end check that
// the worker sends nothing undeclared).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/commands.h"
#include "fleetkeeper/v1/config.pb.h"
#include "handlers/registry.h"

namespace fleetkeeper::app {

// "worker" first (present even when empty), then the enabled handlers in catalog order.
std::vector<handlers::DeclaredActions> DeclaredPermissions(const v1::WorkerConfig& config);

// {"worker": [...], "ami_rollout": [...], ...}, owners in DeclaredPermissions order.
nlohmann::ordered_json PermissionsJson(const std::vector<handlers::DeclaredActions>& declared);
// One block per owner: its name, then one action a line, indented; "(none)" when it has none.
std::string PermissionsText(const std::vector<handlers::DeclaredActions>& declared);

// The command: 0, or 2 when the configuration is invalid.
int Permissions(const CommonOptions& options, bool json);

}  // namespace fleetkeeper::app
