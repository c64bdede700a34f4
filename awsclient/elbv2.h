// Elastic Load Balancing v2 (target groups), the operations fleetkeeper's handlers make. Handlers
// depend on the abstract Elbv2 interface; MakeElbv2Client() is the query-protocol wire
// implementation (elbv2_query.cc).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "awsclient/transport.h"
#include "common/error.h"

namespace fleetkeeper::aws {

struct TargetDescription {
  std::string id;  // instance id, IP address or Lambda ARN
  std::optional<int> port;
  std::string availability_zone;
};

struct TargetsRequest {
  std::string target_group_arn;
  std::vector<TargetDescription> targets;
};

struct DescribeTargetHealthRequest {
  std::string target_group_arn;
  std::vector<TargetDescription> targets;  // empty = all registered targets
};

struct TargetHealthDescription {
  TargetDescription target;
  std::string health_check_port;
  std::string state;  // initial | healthy | unhealthy | unused | draining | unavailable
  std::string reason;
  std::string description;
};

struct DescribeTargetHealthResponse {
  std::vector<TargetHealthDescription> descriptions;
};

struct DescribeTargetGroupsRequest {
  std::vector<std::string> target_group_arns;
  std::vector<std::string> names;
  std::string load_balancer_arn;
  std::optional<int> page_size;
  std::string next_token;  // Marker
};

struct TargetGroup {
  std::string arn;
  std::string name;
  std::string protocol;
  std::optional<int64_t> port;
  std::string vpc_id;
  std::string target_type;  // instance | ip | lambda | alb
  std::string health_check_path;
  std::optional<int64_t> healthy_threshold_count;
  std::optional<int64_t> health_check_interval_seconds;
  std::vector<std::string> load_balancer_arns;
};

struct DescribeTargetGroupsResponse {
  std::vector<TargetGroup> target_groups;
  std::string next_token;  // NextMarker
};

// DescribeTags: the tags of up to 20 load balancers, target groups, listeners or rules.
// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTags.html
struct DescribeTagsRequest {
  std::vector<std::string> resource_arns;  // at most 20
};

struct DescribeTagsResponse {
  std::map<std::string, std::map<std::string, std::string>> tags;  // resource ARN -> key -> value
};

// Thread-safe.
class Elbv2 {
 public:
  virtual ~Elbv2() = default;
  virtual Result<RequestReceipt> RegisterTargets(const TargetsRequest& r) = 0;
  virtual Result<RequestReceipt> DeregisterTargets(const TargetsRequest& r) = 0;
  virtual Result<DescribeTargetHealthResponse> DescribeTargetHealth(
      const DescribeTargetHealthRequest& r) = 0;
  virtual Result<DescribeTargetGroupsResponse> DescribeTargetGroups(
      const DescribeTargetGroupsRequest& r) = 0;
  virtual Result<DescribeTagsResponse> DescribeTags(const DescribeTagsRequest& r) = 0;
};

std::unique_ptr<Elbv2> MakeElbv2Client(std::shared_ptr<Transport> transport);

// Response parsers, exposed for the parsing tests.
Result<DescribeTargetHealthResponse> ParseDescribeTargetHealth(const std::string& xml);
Result<DescribeTargetGroupsResponse> ParseDescribeTargetGroups(const std::string& xml);
Result<DescribeTagsResponse> ParseDescribeTags(const std::string& xml);

}  // namespace fleetkeeper::aws
