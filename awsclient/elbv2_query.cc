// ELBv2 over the query protocol (API version 2015-12-01).
#include <utility>

#include "awsclient/elbv2.h"
#include "awsclient/query_protocol.h"

namespace fleetkeeper::aws {
namespace {

constexpr const char* kVersion = "2015-12-01";
constexpr const char* kService = "elasticloadbalancing";

QueryParams Params(const char* action) {
  return QueryParams(QueryFlavor::kQuery, action, kVersion);
}

void SetTargets(QueryParams& p, const std::vector<TargetDescription>& targets) {
  for (size_t i = 0; i < targets.size(); ++i) {
    std::string base = p.ListKey("Targets", i + 1);
    p.Set(base + ".Id", targets[i].id);
    p.SetIf(base + ".Port", targets[i].port);
    p.SetIfNotEmpty(base + ".AvailabilityZone", targets[i].availability_zone);
  }
}

auto ReadTargetHealth = [](XmlReader& r, pugi::xml_node result) {
  DescribeTargetHealthResponse out;
  for (pugi::xml_node n : r.Members(result, "TargetHealthDescriptions")) {
    TargetHealthDescription d;
    pugi::xml_node target = n.child("Target");
    r.Require(target, "Id");
    d.target.id = r.Text(target, "Id");
    if (auto port = r.OptInt(target, "Port")) d.target.port = static_cast<int>(*port);
    d.target.availability_zone = r.Text(target, "AvailabilityZone");
    d.health_check_port = r.Text(n, "HealthCheckPort");
    pugi::xml_node health = n.child("TargetHealth");
    d.state = r.Text(health, "State");
    d.reason = r.Text(health, "Reason");
    d.description = r.Text(health, "Description");
    out.descriptions.push_back(std::move(d));
  }
  return out;
};

auto ReadTargetGroups = [](XmlReader& r, pugi::xml_node result) {
  DescribeTargetGroupsResponse out;
  for (pugi::xml_node n : r.Members(result, "TargetGroups")) {
    TargetGroup g;
    r.Require(n, "TargetGroupArn");
    g.arn = r.Text(n, "TargetGroupArn");
    g.name = r.Text(n, "TargetGroupName");
    g.protocol = r.Text(n, "Protocol");
    g.port = r.OptInt(n, "Port");
    g.vpc_id = r.Text(n, "VpcId");
    g.target_type = r.Text(n, "TargetType");
    g.health_check_path = r.Text(n, "HealthCheckPath");
    g.healthy_threshold_count = r.OptInt(n, "HealthyThresholdCount");
    g.health_check_interval_seconds = r.OptInt(n, "HealthCheckIntervalSeconds");
    g.load_balancer_arns = r.MemberTexts(n, "LoadBalancerArns");
    out.target_groups.push_back(std::move(g));
  }
  out.next_token = r.Text(result, "NextMarker");
  return out;
};

auto ReadTags = [](XmlReader& r, pugi::xml_node result) {
  DescribeTagsResponse out;
  for (pugi::xml_node n : r.Members(result, "TagDescriptions")) {
    r.Require(n, "ResourceArn");
    auto& tags = out.tags[r.Text(n, "ResourceArn")];
    for (pugi::xml_node t : r.Members(n, "Tags")) tags[r.Text(t, "Key")] = r.Text(t, "Value");
  }
  return out;
};

class Elbv2QueryClient final : public Elbv2 {
 public:
  explicit Elbv2QueryClient(std::shared_ptr<Transport> t) : t_(std::move(t)) {}

  Result<RequestReceipt> RegisterTargets(const TargetsRequest& r) override {
    QueryParams p = Params("RegisterTargets");
    p.Set("TargetGroupArn", r.target_group_arn);
    SetTargets(p, r.targets);
    return CallReceipt(*t_, kService, p);
  }

  Result<RequestReceipt> DeregisterTargets(const TargetsRequest& r) override {
    QueryParams p = Params("DeregisterTargets");
    p.Set("TargetGroupArn", r.target_group_arn);
    SetTargets(p, r.targets);
    return CallReceipt(*t_, kService, p);
  }

  Result<DescribeTargetHealthResponse> DescribeTargetHealth(
      const DescribeTargetHealthRequest& r) override {
    QueryParams p = Params("DescribeTargetHealth");
    p.Set("TargetGroupArn", r.target_group_arn);
    SetTargets(p, r.targets);
    return CallAndRead<DescribeTargetHealthResponse>(*t_, kService, p, ReadTargetHealth);
  }

  Result<DescribeTargetGroupsResponse> DescribeTargetGroups(
      const DescribeTargetGroupsRequest& r) override {
    QueryParams p = Params("DescribeTargetGroups");
    p.SetListIfNotEmpty("TargetGroupArns", r.target_group_arns);
    p.SetListIfNotEmpty("Names", r.names);
    p.SetIfNotEmpty("LoadBalancerArn", r.load_balancer_arn);
    p.SetIf("PageSize", r.page_size);
    p.SetIfNotEmpty("Marker", r.next_token);
    return CallAndRead<DescribeTargetGroupsResponse>(*t_, kService, p, ReadTargetGroups);
  }

  Result<DescribeTagsResponse> DescribeTags(const DescribeTagsRequest& r) override {
    if (r.resource_arns.empty() || r.resource_arns.size() > 20) {
      return InvalidInput("DescribeTags takes 1 to 20 resource ARNs, got " +
                          std::to_string(r.resource_arns.size()));
    }
    QueryParams p = Params("DescribeTags");
    p.SetListIfNotEmpty("ResourceArns", r.resource_arns);
    return CallAndRead<DescribeTagsResponse>(*t_, kService, p, ReadTags);
  }

 private:
  std::shared_ptr<Transport> t_;
};

}  // namespace

std::unique_ptr<Elbv2> MakeElbv2Client(std::shared_ptr<Transport> transport) {
  return std::make_unique<Elbv2QueryClient>(std::move(transport));
}

Result<DescribeTargetHealthResponse> ParseDescribeTargetHealth(const std::string& xml) {
  return ParseAndRead<DescribeTargetHealthResponse>(QueryFlavor::kQuery, "DescribeTargetHealth",
                                                    xml, ReadTargetHealth);
}

Result<DescribeTargetGroupsResponse> ParseDescribeTargetGroups(const std::string& xml) {
  return ParseAndRead<DescribeTargetGroupsResponse>(QueryFlavor::kQuery, "DescribeTargetGroups",
                                                    xml, ReadTargetGroups);
}

Result<DescribeTagsResponse> ParseDescribeTags(const std::string& xml) {
  return ParseAndRead<DescribeTagsResponse>(QueryFlavor::kQuery, "DescribeTags", xml, ReadTags);
}

}  // namespace fleetkeeper::aws
