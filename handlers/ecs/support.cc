#include "handlers/ecs/support.h"

#include <fmt/format.h>

#include <algorithm>

#include "awsclient/aws_error.h"
#include "handlers/ecs/reads.h"

namespace fleetkeeper::handlers::ecs {
namespace {

constexpr uint32_t kMaxAttempts = 5;

}  // namespace

std::string ServiceResource(const std::string& cluster, const std::string& service) {
  return "ecs:" + cluster + "/" + NameOf(service);
}

std::string TaskResource(const std::string& cluster, const std::string& task) {
  return "ecs-task:" + cluster + "/" + NameOf(task);
}

std::string InstanceResource(const std::string& cluster, const std::string& instance) {
  return "ecs-instance:" + cluster + "/" + NameOf(instance);
}

v1::Action MakeAction(const std::string& resource, const std::string& action,
                      const std::string& status, const std::string& detail,
                      const std::string& aws_request_id) {
  v1::Action a;
  a.set_resource(resource);
  a.set_action(action);
  a.set_status(status);
  a.set_detail(detail);
  a.set_aws_request_id(aws_request_id);
  return a;
}

StepOutcome CallFailed(const StepContext& ctx, const std::string& step, const std::string& call,
                       const Error& error) {
  const uint32_t attempt = ctx.workflow().attempt();
  if (aws::IsTransientFailure(error) && attempt + 1 < kMaxAttempts) {
    StepOutcome o = StepOutcome::Wait(step, std::min<int64_t>(1000LL << (attempt + 1), 30000));
    o.retry_same_step = true;
    o.reason = fmt::format("{} failed ({}); attempt {} of {}", call, error.ToString(), attempt + 2,
                           kMaxAttempts);
    return o;
  }
  StepOutcome o =
      StepOutcome::Finish(v1::Result::FAILED, fmt::format("{} failed: {}", call, error.ToString()));
  o.actions.push_back(MakeAction("ecs", call, "failed", error.ToString(), error.request_id));
  return o;
}

}  // namespace fleetkeeper::handlers::ecs
