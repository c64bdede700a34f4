// The registry's view of what each enabled handler may call (handlers/registry.h).
#include "handlers/registry.h"

#include <gtest/gtest.h>

#include "handlers/ami_rollout/permissions.h"
#include "handlers/ecs/permissions.h"
#include "handlers/patch/permissions.h"
#include "handlers/self_healing/permissions.h"

namespace fleetkeeper::handlers {
namespace {

TEST(HandlerPermissions, EveryEnabledHandlerInCatalogOrder) {
  v1::WorkerConfig config;  // every handler enabled by default
  auto rule = config.mutable_handlers()->mutable_self_healing()->add_rules();
  rule->set_name("scale");
  rule->mutable_action()->set_type("scale_out");
  auto declared = HandlerPermissions(config);
  ASSERT_EQ(declared.size(), 4u);
  EXPECT_EQ(declared[0].owner, "ami_rollout");
  EXPECT_EQ(declared[0].actions, ami_rollout::Permissions(config));
  EXPECT_EQ(declared[1].owner, "self_healing");
  EXPECT_EQ(declared[1].actions, self_healing::Permissions(config));
  EXPECT_FALSE(declared[1].actions.empty());
  EXPECT_EQ(declared[2].owner, "patch");
  EXPECT_EQ(declared[2].actions, patch::Permissions(config));
  EXPECT_EQ(declared[3].owner, "ecs");
  EXPECT_EQ(declared[3].actions, ecs::Permissions(config));
}

TEST(HandlerPermissions, ADisabledHandlerDeclaresNothing) {
  v1::WorkerConfig config;
  config.mutable_handlers()->mutable_ami_rollout()->set_enabled(false);
  config.mutable_handlers()->mutable_patch()->set_enabled(false);
  config.mutable_handlers()->mutable_ecs()->set_enabled(false);
  auto declared = HandlerPermissions(config);
  ASSERT_EQ(declared.size(), 1u);
  EXPECT_EQ(declared[0].owner, "self_healing");
  config.mutable_handlers()->mutable_self_healing()->set_enabled(false);
  EXPECT_TRUE(HandlerPermissions(config).empty());
}

}  // namespace
}  // namespace fleetkeeper::handlers
