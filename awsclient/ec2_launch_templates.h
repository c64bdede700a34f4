// EC2 launch templates: versions (Describe/CreateLaunchTemplateVersion) and an instance's own
// configuration in launch template form (GetLaunchTemplateData). The requests and answers of the
// Ec2 interface (ec2.h), which handlers include. Times are epoch milliseconds (0 = absent).
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

// GetLaunchTemplateData: the configuration of a running or stopped instance in the shape of a
// launch template's data, in one call per instance (EC2 takes one InstanceId). It carries what
// DescribeInstances leaves out and DescribeInstanceAttribute would otherwise read one attribute a
// call: user data, termination and stop protection, shutdown behaviour, and the CPU credit option.
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GetLaunchTemplateData.html
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ResponseLaunchTemplateData.html
struct GetLaunchTemplateDataRequest {
  std::string instance_id;
};

struct InstanceLaunchData {
  std::string instance_id;  // the one asked about (the answer does not repeat it)
  std::string image_id;
  std::string instance_type;
  std::string key_name;
  std::string user_data_base64;  // as RunInstances takes it; "" when the instance has none
  bool disable_api_termination = false;
  bool disable_api_stop = false;
  std::string instance_initiated_shutdown_behavior;  // stop | terminate
  std::string cpu_credits;  // CreditSpecification.CpuCredits: standard | unlimited; burstable only
  std::optional<bool> ebs_optimized;
  std::string iam_instance_profile_arn;
  std::string iam_instance_profile_name;
  std::optional<MetadataOptions> metadata_options;
  Placement placement;
  std::string request_id = {};
};

}  // namespace fleetkeeper::aws
