// What handlers that take instances out of service share: the target description of one instance,
// whether the load balancer counts a target out of service (the blast-radius budget), and the
// result action of a call. Used by the patch handler; the AMI rollout has its own copies of the
// three (handlers/ami_rollout/steps.cc, replacement.cc) that can move here.
#pragma once

#include <string>

#include "awsclient/elbv2.h"
#include "fleetkeeper/v1/result.pb.h"

namespace fleetkeeper::handlers {

// The Register/DeregisterTargets request for `instance` in the group; port 0 = the group's port.
inline aws::TargetsRequest TargetsOf(const std::string& arn, int port,
                                     const std::string& instance) {
  aws::TargetDescription d;
  d.id = instance;
  if (port > 0) d.port = port;
  return {arn, {d}};
}

// "unused" counts only for a stopped or terminated instance (Target.InvalidState): a target group
// no load balancer uses shows every target unused, and a budget of such a group would never let
// anything start.
inline bool OutOfService(const aws::TargetHealthDescription& d) {
  if (d.state == "healthy") return false;
  if (d.state == "unused") return d.reason == "Target.InvalidState";
  return true;
}

// The result action of one call or decision.
inline v1::Action ActionOf(const std::string& resource, const std::string& action,
                           const std::string& status, const std::string& detail,
                           const std::string& aws_request_id = "") {
  v1::Action a;
  a.set_resource(resource);
  a.set_action(action);
  a.set_status(status);
  a.set_detail(detail);
  a.set_aws_request_id(aws_request_id);
  return a;
}

}  // namespace fleetkeeper::handlers
