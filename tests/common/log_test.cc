// The JSON log line (common/log.h): the event id and the workflow's fields wherever a scope set
// them, none where none did, and the previous fields back when a scope ends.
#include "common/log.h"

#include <gtest/gtest.h>
#include <spdlog/details/log_msg.h>

#include <nlohmann/json.hpp>
#include <string>

namespace fleetkeeper {
namespace {

nlohmann::json Line(const std::string& text) {
  auto formatter = MakeLogFormatter("json");
  spdlog::details::log_msg msg("fleetkeeper", spdlog::level::info, text);
  spdlog::memory_buf_t out;
  formatter->format(msg, out);
  return nlohmann::json::parse(std::string(out.data(), out.size()));
}

TEST(JsonLog, CarriesTheWorkflowFieldsWhereKnown) {
  nlohmann::json bare = Line("no context");
  EXPECT_EQ(bare["msg"], "no context");
  for (const char* key : {"event_id", "workflow_id", "cell", "handler", "step"}) {
    EXPECT_FALSE(bare.contains(key)) << key;
  }
  {
    LogEventScope event("ev-1");
    nlohmann::json e = Line("an input");
    EXPECT_EQ(e["event_id"], "ev-1");
    EXPECT_FALSE(e.contains("workflow_id"));
    {
      LogWorkflowScope wf("ev-0", {"123456789012/us-east-1/ami-1", "123456789012/us-east-1",
                                   "ami_rollout", "refresh"});
      nlohmann::json w = Line("workflow step");
      EXPECT_EQ(w["event_id"], "ev-0");  // the workflow's trigger
      EXPECT_EQ(w["workflow_id"], "123456789012/us-east-1/ami-1");
      EXPECT_EQ(w["cell"], "123456789012/us-east-1");
      EXPECT_EQ(w["handler"], "ami_rollout");
      EXPECT_EQ(w["step"], "refresh");
      wf.SetStep("verify");
      EXPECT_EQ(Line("next")["step"], "verify");
    }
    nlohmann::json after = Line("after");
    EXPECT_EQ(after["event_id"], "ev-1");
    EXPECT_FALSE(after.contains("workflow_id"));
    EXPECT_FALSE(after.contains("step"));
  }
  EXPECT_FALSE(Line("outside").contains("event_id"));
}

}  // namespace
}  // namespace fleetkeeper
