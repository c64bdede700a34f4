// The search for a sent command's token before the command is sent: one ListCommands of the
// document a run for the batch, read to its end; an instance searches its own invocations
// (ListCommandInvocations, page by page) only when that listing is longer than the search reads,
// and an instance with more invocations than that is patched, the command sent once.
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

// Two instances, no backup, one a batch; `other` commands of the document from other campaigns
// listed first by ListCommands, and `invocations` of another document listed first for each
// instance; two a page.
class CommandSearch : public PatchWorkflow {
 protected:
  Admission Start(int other, int invocations = 0) {
    ssm.other_patch_commands = other;
    ssm.other_invocations = invocations;
    ssm.page_size = 2;
    ids = LandingZone(2);
    return Admit(Request([](auto& r) {
      r.set_backup_ami(false);
      r.set_max_concurrency("1");
    }));
  }
  std::vector<std::string> ids;
};

TEST_F(CommandSearch, AResumedRunFindsTheCommandByItsTokenInTheBatchsListing) {
  // The command is the eighth command listed, on the fourth page.
  auto a = Start(7);
  ASSERT_EQ(a.kind, Admission::Kind::kWorkflow) << a.reason;
  v1::WorkflowCheckpoint& wf = a.workflow;
  wf = RunUntilFirstSend(wf);
  ssm.search_requests.clear();
  ssm.list_requests.clear();

  auto o = Drive(wf);
  EXPECT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  for (const auto& id : ids) {
    EXPECT_EQ(ssm.SendsTo(id), 1) << id;
    EXPECT_TRUE(TokensFor(ssm.list_requests, id).empty()) << id << " searched on its own";
  }
  EXPECT_TRUE(FoundAgain(wf));
  ASSERT_GE(ssm.search_requests.size(), 4u);
  EXPECT_EQ(std::vector<std::string>(ssm.search_requests.begin(), ssm.search_requests.begin() + 4),
            (std::vector<std::string>{"", "2", "4", "6"}))
      << "the resumed run's search is one listing, read to its end";
}

TEST_F(CommandSearch, AListingLongerThanTheSearchReadsFallsBackToEachInstancesOwnSearch) {
  // 50 pages of the document's commands, more than the search reads; and 50 pages of another
  // document's invocations on each instance.
  auto a = Start(100, 100);
  ASSERT_EQ(a.kind, Admission::Kind::kWorkflow) << a.reason;
  auto o = Drive(a.workflow);
  EXPECT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  EXPECT_EQ(ssm.search_requests.size(), 2u * 20) << "20 pages a batch";
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

TEST_F(CommandSearch, ACommandSentBeforeACrashIsFoundBeyondTheBatchListingByItsOwnSearch) {
  // The listing is cut short (other campaigns' commands); the instance's own search finds it.
  auto a = Start(100);
  ASSERT_EQ(a.kind, Admission::Kind::kWorkflow) << a.reason;
  v1::WorkflowCheckpoint& wf = a.workflow;
  wf = RunUntilFirstSend(wf);
  const std::string sent_to = ssm.commands.at(0).instance;
  ssm.list_requests.clear();
  auto o = Drive(wf);
  EXPECT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  for (const auto& id : ids) EXPECT_EQ(ssm.SendsTo(id), 1) << id;
  EXPECT_TRUE(FoundAgain(wf));
  EXPECT_EQ(TokensFor(ssm.list_requests, sent_to), (std::vector<std::string>{""}));
}

}  // namespace
}  // namespace fleetkeeper::handlers::patch
