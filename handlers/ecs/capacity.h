// The ECS steps' side of the cell's blast-radius ledger (docs/safety.md, "Ledger"): a service as a
// ledger group, and the claims of stop_tasks (a task in its service) and drain (a container
// instance in every service it runs tasks of, counting each of its tasks of the service), read
// now, reserved before the call that takes the capacity down and released when the services run
// their desired count again.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "awsclient/ecs.h"
#include "common/error.h"
#include "fleetkeeper/v1/ecs_state.pb.h"
#include "fleetkeeper/v1/workflow.pb.h"
#include "handlers/workflow.h"

namespace fleetkeeper::handlers::ecs {

// "ecs:<cluster>/<service>" as a ledger group: its size is the desired count; the tasks it lacks
// (desired − running) are out of service, named "<service>#missing-<n>" (ECS does not say which
// slot a missing task held). `default_max_unavailable` is the command's max_concurrency.
v1::CapacityGroup ServiceGroup(const std::string& cluster, const aws::EcsService& service,
                               const std::string& default_max_unavailable);

// What a claim came to.
enum class Claimed {
  kNothing,  // no ledger here, or the unit belongs to no service: nothing to reserve
  kHeld,     // this workflow holds it already: the call may be made
  kGranted,  // reserved now: checkpoint before the call
  kRefused,  // `why` says which group holds it back
};

class EcsCapacity {
 public:
  EcsCapacity(StepContext& ctx, aws::Ecs& ecs, std::string cluster, std::string default_limit)
      : ctx_(ctx), ecs_(ecs), cluster_(std::move(cluster)), limit_(std::move(default_limit)) {}

  // `unit` (a task ARN) in the groups of `services`, as read now; in a service named in
  // `tasks_of` it counts for that many units (CapacityGroup.units), elsewhere for one.
  Claimed Claim(const std::string& unit, const std::vector<const aws::EcsService*>& services,
                std::string* why, const std::map<std::string, int>& tasks_of = {});
  // `unit` in the services named: read now (DescribeServices).
  Result<Claimed> ClaimServices(const std::string& unit, const std::vector<std::string>& services,
                                std::string* why, const std::map<std::string, int>& tasks_of = {});
  // A container instance: every service that has a task on it (ListTasks, DescribeTasks,
  // DescribeServices), counted once per task of the service that runs on it: draining stops
  // them all.
  Result<Claimed> ClaimInstance(const std::string& instance_arn, std::string* why);

  bool Holds(const std::string& unit) const;
  // Releases each of `units` this workflow holds once every service it was reserved in runs its
  // desired count again (one DescribeServices read for all of them).
  Status ReleaseWhenBack(const std::vector<std::string>& units);
  // The verified tasks and drained instances of `state` it holds, released when back.
  Status ReleaseDone(const v1::EcsWorkflowState& state);

 private:
  StepContext& ctx_;
  aws::Ecs& ecs_;
  std::string cluster_;
  std::string limit_;
};

// Tasks or container instances not sent yet because the ledger refused them: act tries again.
bool WaitingForCapacity(const v1::EcsWorkflowState& state);

// A target the ledger refused: records since when it waits and, once it has waited `timeout_ms`
// (the command's verify_timeout), returns why it fails; "" while it may wait on.
template <typename Target>
std::string CapacityWait(Target& target, int64_t now_ms, int64_t timeout_ms,
                         const std::string& why) {
  if (target.capacity_wait_since_ms() == 0) target.set_capacity_wait_since_ms(now_ms);
  target.set_detail("waiting for the blast-radius ledger: " + why);
  if (now_ms - target.capacity_wait_since_ms() < timeout_ms) return "";
  return "waited " + std::to_string(timeout_ms / 1000) +
         " s for the blast-radius ledger, nothing stopped: " + why;
}

}  // namespace fleetkeeper::handlers::ecs
