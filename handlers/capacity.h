// Reads every handler makes before it claims capacity in the cell's blast-radius ledger
// (handlers/engine/ledger.h): a group as the claim carries it — its size, its floor and the
// units out of service for any reason — and the claim for one instance in all its groups.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "awsclient/clients.h"
#include "common/error.h"
#include "fleetkeeper/v1/workflow.pb.h"

namespace fleetkeeper::handlers {

// A target group: its registered targets (size) and those out of service (target_health.h), from
// a DescribeTargetHealth of the whole group read now (by ReadTargetGroup, or by a caller that
// shares one read among the claims of several instances).
v1::CapacityGroup TargetGroupCapacity(const std::string& arn,
                                      const std::vector<aws::TargetHealthDescription>& health,
                                      const std::string& default_max_unavailable);
Result<v1::CapacityGroup> ReadTargetGroup(aws::Elbv2& elb, const std::string& arn,
                                          const std::string& default_max_unavailable);

// An Auto Scaling group: its instances (size), MinSize as its floor, and the instances not
// InService and healthy.
Result<v1::CapacityGroup> ReadAutoScalingGroup(aws::AutoScaling& autoscaling,
                                               const std::string& name,
                                               const std::string& default_max_unavailable);

// Calls `each` with every instance target group and its targets' health. ELBv2 has no "groups of a
// target" call: whoever needs the groups of some instances looks into each group once.
Status ForEachInstanceTargetGroup(
    aws::Elbv2& elb,
    const std::function<void(const aws::TargetGroup&, const aws::DescribeTargetHealthResponse&)>&
        each);

// The instance target groups that hold `instance`.
Result<std::vector<std::string>> TargetGroupsOf(aws::Elbv2& elb, const std::string& instance);

// The claim of `instance` in `target_groups` and, when named, its Auto Scaling group; every group
// read now. `default_max_unavailable` is the handler's ("1", "25%").
Result<v1::CapacityClaim> ClaimInstance(aws::CellClients& aws, const std::string& instance,
                                        const std::vector<std::string>& target_groups,
                                        const std::string& asg_name,
                                        const std::string& default_max_unavailable);

}  // namespace fleetkeeper::handlers
