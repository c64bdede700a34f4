#include "awsclient/endpoints.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "awsclient/http.h"

namespace fleetkeeper::aws {
namespace {

std::string Env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  return v == nullptr ? std::string() : std::string(v);
}

bool Truthy(const std::string& v) {
  std::string lower(v);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower == "true" || lower == "1";
}

bool ValidRegion(const std::string& region) {
  return !region.empty() && std::all_of(region.begin(), region.end(), [](unsigned char c) {
    return std::islower(c) || std::isdigit(c) || c == '-';
  });
}

Result<std::string> CheckedUrl(const std::string& url, const std::string& source) {
  auto parts = ParseUrl(url);
  if (!parts.ok()) return InvalidInput(source + ": " + parts.error().message);
  std::string out = url;
  while (!out.empty() && out.back() == '/') out.pop_back();
  return out;
}

}  // namespace

std::string ServiceEnvironmentName(const std::string& service) {
  // Service ids (not endpoint prefixes) name the variables: "Auto Scaling" -> AUTO_SCALING.
  static const std::map<std::string, std::string> kIds = {
      {"ec2", "EC2"},
      {"autoscaling", "AUTO_SCALING"},
      {"ssm", "SSM"},
      {"elasticloadbalancing", "ELASTIC_LOAD_BALANCING_V2"},
      {"monitoring", "CLOUDWATCH"},
      {"sns", "SNS"},
      {"ecs", "ECS"},
      {"sts", "STS"},
      {"iam", "IAM"},
      {"codedeploy", "CODEDEPLOY"},
      {"application-autoscaling", "APPLICATION_AUTO_SCALING"},
      {"events", "EVENTBRIDGE"},
      {"kafka", "KAFKA"},
  };
  if (auto it = kIds.find(service); it != kIds.end()) return it->second;
  std::string out;
  for (unsigned char c : service) {
    out.push_back(c == ' ' || c == '-' ? '_' : static_cast<char>(std::toupper(c)));
  }
  return out;
}

std::string PartitionDnsSuffix(const std::string& region) {
  if (region.rfind("cn-", 0) == 0) return "amazonaws.com.cn";
  return "amazonaws.com";
}

Result<Endpoint> ResolveEndpoint(const std::string& service, const std::string& region,
                                 const EndpointConfig& config) {
  if (service.empty()) return InvalidInput("endpoint service: empty");
  if (!ValidRegion(region)) {
    return InvalidInput("endpoint region: '" + region +
                        "' is not a region name (lower-case letters, digits and '-')");
  }
  Endpoint endpoint;
  endpoint.signing_name = service;
  endpoint.signing_region = region;

  const bool is_cn = region.rfind("cn-", 0) == 0;
  const bool is_gov = region.rfind("us-gov-", 0) == 0;
  // IAM is global per partition and signs with the partition's home region.
  if (service == "iam") {
    if (is_cn) {
      endpoint.url = "https://iam.cn-north-1.amazonaws.com.cn";
      endpoint.signing_region = "cn-north-1";
    } else if (is_gov) {
      endpoint.url = "https://iam.us-gov.amazonaws.com";
      endpoint.signing_region = "us-gov-west-1";
    } else {
      endpoint.url = "https://iam.amazonaws.com";
      endpoint.signing_region = "us-east-1";
    }
  } else if (service == "sts" && Env("AWS_STS_REGIONAL_ENDPOINTS") == "legacy" && !is_cn &&
             !is_gov) {
    endpoint.url = "https://sts.amazonaws.com";
    endpoint.signing_region = "us-east-1";
  } else {
    endpoint.url = "https://" + service + "." + region + "." + PartitionDnsSuffix(region);
  }

  if (Truthy(Env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))) return endpoint;
  const std::string id = ServiceEnvironmentName(service);
  struct Candidate {
    std::string url;
    std::string source;
  };
  std::string profile_service;
  if (auto it = config.profile_service_urls.find(id); it != config.profile_service_urls.end()) {
    profile_service = it->second;
  }
  const Candidate candidates[] = {
      {Env("AWS_ENDPOINT_URL_" + id), "AWS_ENDPOINT_URL_" + id},
      {profile_service, "profile services section, " + id + " endpoint_url"},
      {Env("AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL"},
      {config.profile_endpoint_url, "profile endpoint_url"},
  };
  for (const auto& c : candidates) {
    if (c.url.empty()) continue;
    auto url = CheckedUrl(c.url, c.source);
    if (!url.ok()) return url.error();
    endpoint.url = *url;
    endpoint.overridden = true;
    break;
  }
  return endpoint;
}

}  // namespace fleetkeeper::aws
