// The AWS actions self-healing may call, as IAM names them ("autoscaling:SetDesiredCapacity"):
// what `doctor` simulates and `fleetkeeper permissions` prints. Kept next to the steps that make
// the calls; a call added to a step belongs here too (tests/integration/test_permissions.py fails
// on any action the worker sent that a handler did not declare).
#pragma once

#include <string>
#include <vector>

#include "fleetkeeper/v1/config.pb.h"

namespace fleetkeeper::handlers::self_healing {

// Sorted, unique; the actions of the configured rules' action types, cloudwatch:DescribeAlarms for
// a rule with repeat_while_alarm, and, once any rule can act, the recovery metrics
// (cloudwatch:PutMetricData) and, with notify_topic_arn set, the SNS report of every action. No
// rules: none.
std::vector<std::string> Permissions(const v1::WorkerConfig& config);

}  // namespace fleetkeeper::handlers::self_healing
