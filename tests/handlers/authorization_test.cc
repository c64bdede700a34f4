// Authorization of native commands (handlers/authorization.h).
#include "handlers/authorization.h"

#include <gtest/gtest.h>

namespace fleetkeeper::handlers {
namespace {

constexpr char kRole[] = "arn:aws:iam::111122223333:role/fleetkeeper-patch";

TEST(AuthorizeCell, EmptyListsAllowAnyAccountAndRole) {
  v1::CommandsConfig commands;
  EXPECT_EQ(AuthorizeCell(commands, "111122223333", kRole), "");
}

TEST(AuthorizeCell, AnAccountOutsideTheListIsRefusedByName) {
  v1::CommandsConfig commands;
  commands.add_allowed_accounts("111122223333");
  EXPECT_EQ(AuthorizeCell(commands, "111122223333", ""), "");
  EXPECT_EQ(AuthorizeCell(commands, "444455556666", ""),
            "account 444455556666 is not in commands.allowed_accounts");
  EXPECT_EQ(AuthorizeCell(commands, "", ""), "account (none) is not in commands.allowed_accounts");
}

TEST(AuthorizeCell, RolesMatchExactlyOrByTrailingStar) {
  v1::CommandsConfig commands;
  commands.add_allowed_roles("arn:aws:iam::111122223333:role/fleetkeeper-*");
  EXPECT_EQ(AuthorizeCell(commands, "111122223333", kRole), "");
  EXPECT_EQ(AuthorizeCell(commands, "111122223333", ""), "") << "no role: the worker's own";
  const std::string other = "arn:aws:iam::111122223333:role/admin";
  EXPECT_EQ(AuthorizeCell(commands, "111122223333", other),
            "role " + other + " is not in commands.allowed_roles");
  commands.clear_allowed_roles();
  commands.add_allowed_roles(kRole);
  EXPECT_EQ(AuthorizeCell(commands, "111122223333", kRole), "");
  EXPECT_NE(AuthorizeCell(commands, "111122223333", std::string(kRole) + "x"), "");
}

TEST(AuthorizeTargetCount, DefaultsTo500AndNamesTheCount) {
  v1::CommandsConfig commands;
  EXPECT_EQ(AuthorizeTargetCount(commands, 500), "");
  EXPECT_EQ(AuthorizeTargetCount(commands, 501),
            "501 targets exceed commands.max_targets (500); nothing was changed");
  commands.set_max_targets(3);
  EXPECT_EQ(AuthorizeTargetCount(commands, 3), "");
  EXPECT_NE(AuthorizeTargetCount(commands, 4), "");
}

TEST(AuthorizeApproval, TheRequesterCannotApproveTheirOwnRequest) {
  v1::Approval approval;
  EXPECT_EQ(AuthorizeApproval("alice", approval), "an approval must name its approver");
  approval.set_approver("alice");
  EXPECT_EQ(AuthorizeApproval("alice", approval),
            "alice requested this change and cannot approve it: approvals must come from "
            "someone else");
  approval.set_approver("bob");
  EXPECT_EQ(AuthorizeApproval("alice", approval), "");
}

}  // namespace
}  // namespace fleetkeeper::handlers
