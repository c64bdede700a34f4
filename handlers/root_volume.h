// Putting an image on an instance's root volume in place, with EC2's replace-root-volume task
// (CreateReplaceRootVolumeTask): the AMI rollout's replace-root-volume strategy and its rollback,
// and the patch workflow's rollback from an instance's AMI backup. The instance keeps its id,
// network interfaces, data volumes and target group registrations; EC2 reboots it.
#pragma once

#include <string>

#include "awsclient/ec2.h"
#include "common/error.h"

namespace fleetkeeper::handlers {

// The tag that carries a caller's idempotency token on what it creates, so that a run after a
// crash finds the resource instead of creating a second one.
inline constexpr char kTokenTag[] = "fleetkeeper:token";

struct RootVolumeTaskStart {
  std::string task_id;
  std::string request_id;  // of CreateReplaceRootVolumeTask; empty when found, not created
};

// Starts a replacement of `instance`'s root volume by `image` tagged with `token` (also its client
// token), or finds the one an earlier run started with that token. The replaced volume is kept (not
// deleted), as a way back.
Result<RootVolumeTaskStart> EnsureRootVolumeTask(aws::Ec2& ec2, const std::string& instance,
                                                 const std::string& image,
                                                 const std::string& token);

// The task by id; kNotFound when EC2 no longer knows it.
Result<aws::ReplaceRootVolumeTask> DescribeRootVolumeTask(aws::Ec2& ec2, const std::string& id);

// "failed": EC2 put the original root volume back; "failed-detached": it could not.
inline bool RootVolumeTaskFailed(const std::string& state) {
  return state == "failed" || state == "failed-detached";
}

}  // namespace fleetkeeper::handlers
