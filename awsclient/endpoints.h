// Where a service call goes and how it is signed. The URL follows the AWS CLI: a service's
// AWS_ENDPOINT_URL_<SERVICE_ID>, then the profile's services section, then AWS_ENDPOINT_URL, then
// the profile's endpoint_url, then https://{prefix}.{region}.{partition suffix}. The signing
// name and region never follow an override: moto and other emulators route by the credential
// scope of the Authorization header.
#pragma once

#include <map>
#include <string>

#include "common/error.h"

namespace fleetkeeper::aws {

struct Endpoint {
  std::string url;             // scheme://host[:port][/base path], no trailing slash
  std::string signing_name;    // ec2, autoscaling, ssm, sts, ...
  std::string signing_region;  // us-east-1 for the global IAM / STS endpoints
  bool overridden = false;     // came from configuration rather than the partition
};

// Endpoint URLs configured outside the environment: the profile's endpoint_url and its services
// section (keys are service ids' environment form, e.g. "AUTO_SCALING").
struct EndpointConfig {
  std::string profile_endpoint_url;
  std::map<std::string, std::string> profile_service_urls;
};

// "autoscaling" -> "AUTO_SCALING", as AWS_ENDPOINT_URL_<...> spells the service id. Unknown
// prefixes are upper-cased with '-' and spaces turned into '_'.
std::string ServiceEnvironmentName(const std::string& service);

// The DNS suffix of the region's partition: amazonaws.com, amazonaws.com.cn (cn-*).
std::string PartitionDnsSuffix(const std::string& region);

// Fails with kInvalidInput naming the field when service or region is empty or malformed, or
// when a configured endpoint URL is not http(s). Reads the environment (AWS_ENDPOINT_URL*,
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS, AWS_STS_REGIONAL_ENDPOINTS) on every call.
Result<Endpoint> ResolveEndpoint(const std::string& service, const std::string& region,
                                 const EndpointConfig& config = {});

}  // namespace fleetkeeper::aws
