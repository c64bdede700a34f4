// EC2 instances: what DescribeInstances shows, launching (RunInstances), state changes, status
// checks, attributes, tags and CPU credit options. The requests and answers of the Ec2 interface
// (ec2.h), which handlers include. Times are epoch milliseconds (0 = absent).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fleetkeeper::aws {

// Tag key -> value (keys are unique per resource). Also declared by the other service headers.
using Tags = std::map<std::string, std::string>;
// Filter name -> accepted values (EC2 "Filter.N", Auto Scaling "Filters", SSM "Filters").
using Filters = std::map<std::string, std::vector<std::string>>;

struct InstanceState {
  // 0 pending, 16 running, 32 shutting-down, 48 terminated, 64 stopping, 80 stopped
  int code = 0;
  std::string name;  // pending | running | shutting-down | terminated | stopping | stopped
};

struct SecurityGroupRef {
  std::string id;
  std::string name;
};

struct PrivateIp {
  std::string address;
  bool primary = false;
};

struct InstanceNetworkInterface {
  std::string id;
  std::string subnet_id;
  std::string vpc_id;
  std::string description;
  std::string status;
  std::string private_ip;              // the primary private IPv4 address
  std::vector<PrivateIp> private_ips;  // primary and secondary addresses
  std::string public_ip;               // from the association, if any
  std::vector<SecurityGroupRef> security_groups;
  std::string attachment_id;
  int device_index = 0;  // 0 = the primary interface
  bool delete_on_termination = false;
  bool source_dest_check = true;
};

struct InstanceBlockDevice {
  std::string device_name;
  std::string volume_id;
  std::string status;
  bool delete_on_termination = false;
  int64_t attach_time_ms = 0;
};

struct Placement {
  std::string availability_zone;
  std::string tenancy;     // default | dedicated | host
  std::string group_name;  // placement group
  std::string group_id;
};

struct MetadataOptions {
  std::string state;        // pending | applied (responses only)
  std::string http_tokens;  // optional | required
  std::optional<int64_t> http_put_response_hop_limit;
  std::string http_endpoint;           // enabled | disabled
  std::string http_protocol_ipv6;      // enabled | disabled
  std::string instance_metadata_tags;  // enabled | disabled
};

struct Instance {
  std::string id;
  std::string reservation_id;
  std::string owner_id;
  std::string image_id;
  InstanceState state;
  std::string state_reason_code;
  std::string instance_type;
  std::string subnet_id;
  std::string vpc_id;
  std::string private_ip;
  std::string private_dns_name;
  std::string public_ip;
  std::string public_dns_name;
  std::string key_name;
  std::string iam_instance_profile_arn;
  Placement placement;
  std::vector<SecurityGroupRef> security_groups;
  std::vector<InstanceNetworkInterface> network_interfaces;
  std::vector<InstanceBlockDevice> block_devices;
  std::string root_device_name;
  std::string root_device_type;  // ebs | instance-store
  bool ebs_optimized = false;
  Tags tags;
  int64_t launch_time_ms = 0;
  std::optional<MetadataOptions> metadata_options;
  std::string client_token;
  std::string platform;  // "windows" or empty
  std::string architecture;
  std::string monitoring_state;
};

struct DescribeInstancesRequest {
  std::vector<std::string> instance_ids;
  Filters filters;  // e.g. {"client-token", {token}}, {"tag:fleetkeeper:ami-parameter", {name}}
  std::optional<int> max_results;  // not allowed together with instance_ids
  std::string next_token;
};

struct DescribeInstancesResponse {
  std::vector<Instance> instances;  // flattened across reservations
  std::string next_token;
};

struct EbsBlockDeviceSpec {
  std::string snapshot_id;
  std::optional<int> volume_size_gib;
  std::string volume_type;  // gp2 | gp3 | io1 | io2 | st1 | sc1 | standard
  std::optional<int> iops;
  std::optional<int> throughput_mibps;
  std::string kms_key_id;
  std::optional<bool> encrypted;
  std::optional<bool> delete_on_termination;
};

struct BlockDeviceMappingSpec {
  std::string device_name;
  std::optional<EbsBlockDeviceSpec> ebs;
  std::string virtual_name;  // ephemeralN
  bool no_device = false;    // suppress a mapping of the image
};

struct NetworkInterfaceSpec {
  int device_index = 0;
  std::string network_interface_id;  // attach an existing interface
  std::string subnet_id;
  std::string description;
  std::vector<PrivateIp> private_ips;
  std::optional<int> secondary_private_ip_count;
  std::vector<std::string> security_group_ids;
  std::optional<bool> delete_on_termination;
  std::optional<bool> associate_public_ip;
};

struct TagSpecification {
  std::string resource_type;  // instance | volume | image | snapshot | network-interface | ...
  Tags tags;
};

struct RunInstancesRequest {
  std::string image_id;
  std::string instance_type;
  int min_count = 1;
  int max_count = 1;
  // Idempotency: the same token returns the instances of the first call (up to 64 ASCII chars).
  // Empty: the client makes a fresh one per call, which every retry of that call reuses.
  std::string client_token;
  std::string subnet_id;                        // only without network_interfaces
  std::string private_ip;                       // only without network_interfaces
  std::vector<std::string> security_group_ids;  // only without network_interfaces
  std::vector<NetworkInterfaceSpec> network_interfaces;
  std::string key_name;
  std::string iam_instance_profile_arn;
  std::string iam_instance_profile_name;
  std::string user_data_base64;  // passed through as DescribeInstanceAttribute returns it
  std::optional<MetadataOptions> metadata_options;
  std::vector<BlockDeviceMappingSpec> block_device_mappings;
  std::optional<Placement> placement;
  std::optional<bool> disable_api_termination;
  std::optional<bool> disable_api_stop;
  std::string instance_initiated_shutdown_behavior;  // stop | terminate
  std::string cpu_credits;  // CreditSpecification.CpuCredits: standard | unlimited
  std::optional<bool> ebs_optimized;
  std::vector<TagSpecification> tag_specifications;
};

struct RunInstancesResponse {
  std::string reservation_id;
  std::vector<Instance> instances;
  std::string request_id = {};
};

struct InstanceStateChange {
  std::string instance_id;
  InstanceState current;
  InstanceState previous;
};

struct InstanceIdsRequest {
  std::vector<std::string> instance_ids;
};

struct StopInstancesRequest {
  std::vector<std::string> instance_ids;
  std::optional<bool> force;
  std::optional<bool> hibernate;
};

struct InstanceStateChanges {
  std::vector<InstanceStateChange> changes;
  std::string request_id = {};  // of the Start/Stop/TerminateInstances call
};

struct DescribeInstanceStatusRequest {
  std::vector<std::string> instance_ids;
  Filters filters;
  std::optional<bool> include_all_instances;  // also stopped/pending ones
  std::optional<int> max_results;
  std::string next_token;
};

struct InstanceStatus {
  std::string instance_id;
  std::string availability_zone;
  InstanceState state;
  std::string system_status;    // ok | impaired | initializing | insufficient-data | not-applicable
  std::string instance_status;  // same values
};

struct DescribeInstanceStatusResponse {
  std::vector<InstanceStatus> statuses;
  std::string next_token;
};

struct CreateTagsRequest {
  std::vector<std::string> resource_ids;
  Tags tags;
};

// The attributes the relaunch strategy captures.
enum class InstanceAttributeName {
  kUserData,                           // value: base64, "" when none
  kDisableApiTermination,              // value: "true" | "false"
  kDisableApiStop,                     // value: "true" | "false"
  kInstanceInitiatedShutdownBehavior,  // value: "stop" | "terminate"
};

struct DescribeInstanceAttributeRequest {
  std::string instance_id;
  InstanceAttributeName attribute = InstanceAttributeName::kUserData;
};

struct InstanceAttribute {
  std::string instance_id;
  std::string value;     // as documented per attribute above
  bool present = false;  // false when the instance has no value for it (no user data)
  bool bool_value() const { return value == "true"; }
};

// ModifyInstanceAttribute changes one attribute per call (the API refuses more): set exactly one
// field; none or several is kInvalidInput before anything is sent. The values are those
// DescribeInstanceAttribute / DescribeInstances return, so a captured setting carries over as is.
// The instance must be stopped to change user_data, ebs_optimized or instance_type.
struct ModifyInstanceAttributeRequest {
  std::string instance_id;
  std::optional<bool> disable_api_termination;
  std::optional<bool> disable_api_stop;
  std::string instance_initiated_shutdown_behavior;  // stop | terminate
  std::optional<bool> source_dest_check;
  std::optional<std::string> user_data_base64;  // base64 of the user data, as Describe returns it
  std::optional<bool> ebs_optimized;
  std::string instance_type;
};

// The CPU credit option of a burstable instance (T2/T3/T4g): standard | unlimited.
struct InstanceCreditSpecification {
  std::string instance_id;
  std::string cpu_credits;
};

struct DescribeInstanceCreditSpecificationsRequest {
  std::vector<std::string> instance_ids;  // up to 1000 per call
  Filters filters;                        // e.g. {"instance-id", {...}}
  std::optional<int> max_results;         // not allowed together with instance_ids
  std::string next_token;
};

struct DescribeInstanceCreditSpecificationsResponse {
  std::vector<InstanceCreditSpecification> specifications;
  std::string next_token;
};

struct ModifyInstanceCreditSpecificationRequest {
  std::vector<InstanceCreditSpecification> specifications;
  std::string client_token;  // empty: a fresh one per call, reused by its retries
};

struct CreditSpecificationFailure {
  std::string instance_id;
  std::string code;  // e.g. InvalidInstanceID.NotFound, IncorrectInstanceState
  std::string message;
};

// AWS answers per instance: a call that succeeds can still list failures in `unsuccessful`.
struct ModifyInstanceCreditSpecificationResponse {
  std::vector<std::string> successful_instance_ids;
  std::vector<CreditSpecificationFailure> unsuccessful;
  std::string request_id = {};
};

}  // namespace fleetkeeper::aws
