// Target discovery and planning for an AMI rollout (DESIGN.md "Parameter change -> AMI rollout").
// Everything here only reads AWS: the plan is what a dry run reports and what roll-out executes.
#pragma once

#include <string>
#include <vector>

#include "awsclient/clients.h"
#include "common/error.h"
#include "handlers/ami_rollout/steps.h"

namespace fleetkeeper::handlers::ami_rollout {

// Finds the ASGs and standalone instances bound to state.parameter (resolve:ssm launch templates,
// the fleetkeeper:ami-parameter tag, config bindings), applies the exclusions and the per-group
// rules (launch configurations, shared templates, AutoRollback, mixed instances, already current),
// and captures each instance's configuration. Fills state.asgs, state.instances, state.skipped.
Status PlanTargets(RolloutTick& t);

// Reads the configuration `relaunch` reproduces of every instance into the capture at the same
// index: volumes, secondary network interfaces, Elastic IPs and target groups in one pass for all
// of them; with `attributes` also user data, termination and stop protection, shutdown behaviour
// and the CPU credit option (one GetLaunchTemplateData each).
Status CaptureInstances(aws::CellClients& aws, const std::vector<const aws::Instance*>& instances,
                        const std::vector<v1::InstanceCapture*>& captures, bool attributes);

// Why `strategy` cannot replace an instance with this configuration without losing something, or
// "" when it can.
std::string ReplacementBlocker(const v1::InstanceCapture& capture, ReplacementStrategy strategy);

// The strategy the rollout chose for the instance (recorded at planning).
ReplacementStrategy StrategyOf(const v1::InstanceRollout& r);

// Every instance with these ids (one page of at most 1000); NotFound for unknown ids.
Result<std::vector<aws::Instance>> DescribeInstancesById(aws::Ec2& ec2,
                                                         const std::vector<std::string>& ids);

// Whether the id of a launch template version is an alias rather than a number.
bool IsVersionAlias(const std::string& version);

}  // namespace fleetkeeper::handlers::ami_rollout
