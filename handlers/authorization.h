// Authorization of native commands (DESIGN.md "Guarantees"; the `commands` config): which accounts
// and roles a request on fleet.commands may act in, how many targets one request may touch, and who
// may approve it. Each check answers the REJECTED reason that names the rule, or "" when allowed.
// Shared by every handler that takes native requests (patch, ECS).
#pragma once

#include <cstddef>
#include <string>

#include "fleetkeeper/v1/config.pb.h"
#include "fleetkeeper/v1/event.pb.h"

namespace fleetkeeper::handlers {

// `commands.allowed_accounts` and `commands.allowed_roles`: an empty list allows any. A role
// pattern may end in `*` (`arn:aws:iam::111122223333:role/fleetkeeper-*`). A request without a
// role acts with the worker's own credentials (or the account's configured role) and passes the
// role rule.
std::string AuthorizeCell(const v1::CommandsConfig& commands, const std::string& account,
                          const std::string& role_arn);

// `commands.max_targets` (default 500), checked after discovery: nothing is touched above it.
std::string AuthorizeTargetCount(const v1::CommandsConfig& commands, size_t targets);

// An approval counts only from someone other than the requester, and only with a named approver.
std::string AuthorizeApproval(const std::string& requested_by, const v1::Approval& approval);

}  // namespace fleetkeeper::handlers
