#include "handlers/authorization.h"

#include <algorithm>

#include <fmt/format.h>

namespace fleetkeeper::handlers {
namespace {

constexpr int32_t kDefaultMaxTargets = 500;

bool RoleMatches(const std::string& pattern, const std::string& role) {
  if (!pattern.empty() && pattern.back() == '*') {
    return role.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
  }
  return pattern == role;
}

}  // namespace

std::string AuthorizeCell(const v1::CommandsConfig& commands, const std::string& account,
                          const std::string& role_arn) {
  const auto& accounts = commands.allowed_accounts();
  if (!accounts.empty() && std::find(accounts.begin(), accounts.end(), account) == accounts.end()) {
    return fmt::format("account {} is not in commands.allowed_accounts",
                       account.empty() ? "(none)" : account);
  }
  const auto& roles = commands.allowed_roles();
  if (!role_arn.empty() && !roles.empty() &&
      std::none_of(roles.begin(), roles.end(),
                   [&](const std::string& pattern) { return RoleMatches(pattern, role_arn); })) {
    return fmt::format("role {} is not in commands.allowed_roles", role_arn);
  }
  return "";
}

std::string AuthorizeTargetCount(const v1::CommandsConfig& commands, size_t targets) {
  const int64_t limit = commands.has_max_targets() ? commands.max_targets() : kDefaultMaxTargets;
  if (static_cast<int64_t>(targets) > limit) {
    return fmt::format("{} targets exceed commands.max_targets ({}); nothing was changed", targets,
                       limit);
  }
  return "";
}

std::string AuthorizeApproval(const std::string& requested_by, const v1::Approval& approval) {
  if (approval.approver().empty()) return "an approval must name its approver";
  if (!requested_by.empty() && approval.approver() == requested_by) {
    return fmt::format(
        "{} requested this change and cannot approve it: approvals must come "
        "from someone else",
        approval.approver());
  }
  return "";
}

}  // namespace fleetkeeper::handlers
