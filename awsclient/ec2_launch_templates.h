// EC2 launch templates: versions (Describe/CreateLaunchTemplateVersion). The requests and answers
// of the Ec2 interface (ec2.h), which handlers include. Times are epoch milliseconds (0 = absent).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "awsclient/ec2_instances.h"

namespace fleetkeeper::aws {

struct LaunchTemplateVersion {
  std::string launch_template_id;
  std::string launch_template_name;
  int64_t version_number = 0;
  std::string version_description;
  bool default_version = false;
  int64_t create_time_ms = 0;
  // From LaunchTemplateData, what the AMI rollout needs to decide.
  std::string image_id;  // an AMI id or "resolve:ssm:<parameter>"
  std::string instance_type;
  std::string key_name;
  std::string iam_instance_profile_arn;
  std::string iam_instance_profile_name;
  std::vector<std::string> security_group_ids;
  bool has_instance_requirements = false;  // attribute-based instance type selection
  bool has_network_interfaces = false;
  std::string request_id = {};  // set on the answer of CreateLaunchTemplateVersion only
};

struct CreateLaunchTemplateVersionRequest {
  std::string launch_template_id;  // id or name
  std::string launch_template_name;
  std::string source_version;  // a version number as text; the new version copies it
  std::string version_description;
  std::string image_id;      // the only overridden field of LaunchTemplateData
  std::string client_token;  // empty: a fresh one per call, reused by its retries
};

struct DescribeLaunchTemplateVersionsRequest {
  std::string launch_template_id;  // id or name
  std::string launch_template_name;
  std::vector<std::string> versions;  // numbers, "$Latest", "$Default"; empty = all
  std::optional<bool> resolve_alias;  // ResolveAlias: return the AMI id behind resolve:ssm
  std::optional<int> max_results;
  std::string next_token;
};

struct DescribeLaunchTemplateVersionsResponse {
  std::vector<LaunchTemplateVersion> versions;
  std::string next_token;
};

}  // namespace fleetkeeper::aws
