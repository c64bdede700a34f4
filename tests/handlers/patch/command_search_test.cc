// The search for a sent command's token in the instance's invocations (ListCommandInvocations,
// page by page): it stops at the page that holds the token, and an instance with more invocations
// than the search reads is patched, the command sent once.
#include <gtest/gtest.h>

#include "tests/handlers/patch/patch_fixture.h"

namespace fleetkeeper::handlers::patch {
namespace {

using testing::PatchWorkflow;

// The ListCommandInvocations requests for `instance`, as "<token>".
std::vector<std::string> TokensFor(const std::vector<std::string>& requests,
                                   const std::string& instance) {
  std::vector<std::string> out;
  for (const auto& r : requests) {
    if (r.rfind(instance + "@", 0) == 0) out.push_back(r.substr(instance.size() + 1));
  }
  return out;
}

// Two instances, no backup, and `other` invocations of another document listed first for each
// instance, two a page.
class CommandSearch : public PatchWorkflow {
 protected:
  Admission Start(int other) {
    ssm.other_invocations = other;
    ssm.page_size = 2;
    ids = LandingZone(2);
    return Admit(Request([](auto& r) { r.set_backup_ami(false); }));
  }
  std::vector<std::string> ids;
};

TEST_F(CommandSearch, AResumedSearchStopsAtThePageThatHoldsTheCommand) {
  // The command is the eighth invocation, on the fourth page.
  auto a = Start(7);
  ASSERT_EQ(a.kind, Admission::Kind::kWorkflow) << a.reason;
  v1::WorkflowCheckpoint& wf = a.workflow;
  wf = RunUntilFirstSend(wf);
  const std::string sent_to = ssm.commands.at(0).instance;
  ssm.list_requests.clear();

  auto o = Drive(wf);
  EXPECT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  for (const auto& id : ids) EXPECT_EQ(ssm.SendsTo(id), 1) << id;
  EXPECT_TRUE(FoundAgain(wf));
  EXPECT_EQ(TokensFor(ssm.list_requests, sent_to), (std::vector<std::string>{"", "2", "4", "6"}))
      << "the search read on past the page with the command, or stopped before it";
}

TEST_F(CommandSearch, AnInstanceWithManyOtherCommandsIsSearchedTwentyPagesThenPatched) {
  // 50 pages, more than the search reads.
  auto a = Start(100);
  ASSERT_EQ(a.kind, Admission::Kind::kWorkflow) << a.reason;
  auto o = Drive(a.workflow);
  EXPECT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  for (const auto& id : ids) {
    EXPECT_EQ(ssm.SendsTo(id), 1) << id;
    const auto tokens = TokensFor(ssm.list_requests, id);
    EXPECT_EQ(tokens.size(), 20u) << id;
    if (!tokens.empty()) {
      EXPECT_EQ(tokens.back(), "38") << id;
    }
  }
  EXPECT_FALSE(FoundAgain(a.workflow));
}

}  // namespace
}  // namespace fleetkeeper::handlers::patch
