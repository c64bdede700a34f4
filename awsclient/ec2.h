// Amazon EC2, the operations fleetkeeper's handlers make. Handlers depend on the abstract Ec2
// interface (mocked in tests/awsclient/mocks.h); MakeEc2Client() is the EC2 query-protocol wire
// implementation (ec2_query.cc). Times are epoch milliseconds (0 = absent). Paginated requests and
// responses carry `next_token` (see pagination.h).
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

struct CreateImageRequest {
  std::string instance_id;
  std::string name;
  std::string description;
  std::optional<bool> no_reboot;
  std::vector<TagSpecification> tag_specifications;  // resource types image and snapshot
};

struct CreateImageResponse {
  std::string image_id;
};

struct ImageBlockDevice {
  std::string device_name;
  std::string snapshot_id;
  std::optional<int64_t> volume_size_gib;
  std::string volume_type;
  std::optional<bool> encrypted;
  std::optional<bool> delete_on_termination;
  std::string virtual_name;
};

struct Image {
  std::string id;
  std::string name;
  std::string description;
  std::string state;  // pending | available | invalid | deregistered | transient | failed | error
  std::string state_reason_code;
  std::string state_reason_message;
  std::string owner_id;
  std::string creation_date;  // as AWS writes it (RFC 3339)
  std::string architecture;
  std::string image_type;
  std::string platform;
  std::string root_device_name;
  std::string root_device_type;
  std::string virtualization_type;
  std::optional<bool> is_public;
  std::vector<ImageBlockDevice> block_devices;
  Tags tags;
};

struct DescribeImagesRequest {
  std::vector<std::string> image_ids;
  std::vector<std::string> owners;
  Filters filters;
  std::optional<int> max_results;
  std::string next_token;
};

struct DescribeImagesResponse {
  std::vector<Image> images;
  std::string next_token;
};

struct DeregisterImageRequest {
  std::string image_id;
};

struct VolumeAttachment {
  std::string volume_id;
  std::string instance_id;
  std::string device;
  std::string state;  // attaching | attached | detaching | detached | busy
  std::optional<bool> delete_on_termination;
  int64_t attach_time_ms = 0;
  std::string request_id = {};  // set on the answer of AttachVolume/DetachVolume only
};

struct Volume {
  std::string id;
  int64_t size_gib = 0;
  std::string volume_type;
  std::optional<int64_t> iops;
  std::optional<int64_t> throughput_mibps;
  bool encrypted = false;
  std::string kms_key_id;
  std::string state;  // creating | available | in-use | deleting | deleted | error
  std::string availability_zone;
  std::string snapshot_id;
  int64_t create_time_ms = 0;
  std::vector<VolumeAttachment> attachments;
  Tags tags;
};

struct DescribeVolumesRequest {
  std::vector<std::string> volume_ids;
  Filters filters;  // e.g. {"attachment.instance-id", {id}}
  std::optional<int> max_results;
  std::string next_token;
};

struct DescribeVolumesResponse {
  std::vector<Volume> volumes;
  std::string next_token;
};

struct AttachVolumeRequest {
  std::string volume_id;
  std::string instance_id;
  std::string device;  // e.g. /dev/sdf
};

struct DetachVolumeRequest {
  std::string volume_id;
  std::string instance_id;  // optional
  std::string device;       // optional
  std::optional<bool> force;
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

struct Address {
  std::string public_ip;
  std::string allocation_id;
  std::string association_id;
  std::string domain;  // vpc | standard
  std::string instance_id;
  std::string network_interface_id;
  std::string private_ip;
  Tags tags;
};

struct DescribeAddressesRequest {
  std::vector<std::string> public_ips;
  std::vector<std::string> allocation_ids;
  Filters filters;  // e.g. {"instance-id", {id}}
};

struct DescribeAddressesResponse {
  std::vector<Address> addresses;
};

struct AssociateAddressRequest {
  std::string allocation_id;
  std::string public_ip;  // EC2-Classic style; prefer allocation_id
  std::string instance_id;
  std::string network_interface_id;
  std::string private_ip;
  std::optional<bool> allow_reassociation;
};

struct AssociateAddressResponse {
  std::string association_id;
  std::string request_id = {};
};

struct ReplaceRootVolumeTask {
  std::string id;
  std::string instance_id;
  std::string state;  // pending | in-progress | failing | succeeded | failed | failed-detached
  std::string image_id;
  std::string snapshot_id;
  std::optional<bool> delete_replaced_root_volume;
  std::string start_time;  // as AWS writes it
  std::string complete_time;
  Tags tags;
  std::string request_id = {};  // set on the answer of CreateReplaceRootVolumeTask only
};

struct CreateReplaceRootVolumeTaskRequest {
  std::string instance_id;
  std::string image_id;
  std::string snapshot_id;
  std::optional<bool> delete_replaced_root_volume;
  std::string client_token;  // empty: a fresh one per call, reused by its retries
  std::vector<TagSpecification> tag_specifications;
};

struct DescribeReplaceRootVolumeTasksRequest {
  std::vector<std::string> task_ids;
  Filters filters;  // e.g. {"instance-id", {id}}
  std::optional<int> max_results;
  std::string next_token;
};

struct DescribeReplaceRootVolumeTasksResponse {
  std::vector<ReplaceRootVolumeTask> tasks;
  std::string next_token;
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

struct NetworkInterfaceAttachment {
  std::string attachment_id;
  std::string instance_id;
  std::string instance_owner_id;
  int device_index = 0;  // 0 = the instance's primary interface
  std::optional<int64_t> network_card_index;
  std::string status;  // attaching | attached | detaching | detached
  bool delete_on_termination = false;
  int64_t attach_time_ms = 0;
};

struct NetworkInterface {
  std::string id;
  std::string subnet_id;
  std::string vpc_id;
  std::string availability_zone;
  std::string description;
  std::string owner_id;
  std::string interface_type;  // interface | efa | trunk | ...
  std::string status;          // available | attaching | in-use | detaching | associated
  std::string mac_address;
  std::string private_ip;              // the primary private IPv4 address
  std::vector<PrivateIp> private_ips;  // primary and secondary addresses
  std::string public_ip;               // from the association, if any
  std::vector<SecurityGroupRef> security_groups;
  bool source_dest_check = true;
  bool requester_managed = false;  // made by an AWS service (ELB, Lambda...): not ours to move
  std::optional<NetworkInterfaceAttachment> attachment;  // absent while detached
  Tags tags;
};

struct DescribeNetworkInterfacesRequest {
  std::vector<std::string> network_interface_ids;
  Filters filters;                 // e.g. {"attachment.instance-id", {id}}
  std::optional<int> max_results;  // not allowed together with network_interface_ids
  std::string next_token;
};

struct DescribeNetworkInterfacesResponse {
  std::vector<NetworkInterface> network_interfaces;
  std::string next_token;
};

struct AttachNetworkInterfaceRequest {
  std::string network_interface_id;
  std::string instance_id;
  int device_index = 1;
  std::optional<int> network_card_index;
};

struct AttachNetworkInterfaceResponse {
  std::string attachment_id;
  std::optional<int64_t> network_card_index;
  std::string request_id = {};
};

struct DetachNetworkInterfaceRequest {
  std::string attachment_id;
  std::optional<bool> force;
};

// The attachment's DeleteOnTermination, the one interface attribute relaunch carries over
// (AttachNetworkInterface always attaches with false).
struct ModifyNetworkInterfaceAttributeRequest {
  std::string network_interface_id;
  std::string attachment_id;
  bool delete_on_termination = false;
};

struct AssignPrivateIpAddressesRequest {
  std::string network_interface_id;
  std::vector<std::string> private_ips;           // these addresses, or
  std::optional<int> secondary_private_ip_count;  // this many chosen by AWS
  // Take addresses held by another interface of the subnet (else that is an error).
  std::optional<bool> allow_reassignment;
};

struct AssignPrivateIpAddressesResponse {
  std::string network_interface_id;
  std::vector<std::string> assigned_private_ips;
  std::string request_id = {};
};

struct UnassignPrivateIpAddressesRequest {
  std::string network_interface_id;
  std::vector<std::string> private_ips;  // secondary addresses only
};

// Thread-safe: calls may run concurrently on the I/O executor.
class Ec2 {
 public:
  virtual ~Ec2() = default;

  virtual Result<DescribeInstancesResponse> DescribeInstances(
      const DescribeInstancesRequest& r) = 0;
  virtual Result<RunInstancesResponse> RunInstances(const RunInstancesRequest& r) = 0;
  virtual Result<InstanceStateChanges> StartInstances(const InstanceIdsRequest& r) = 0;
  virtual Result<InstanceStateChanges> StopInstances(const StopInstancesRequest& r) = 0;
  virtual Status RebootInstances(const InstanceIdsRequest& r) = 0;
  virtual Result<InstanceStateChanges> TerminateInstances(const InstanceIdsRequest& r) = 0;
  virtual Result<DescribeInstanceStatusResponse> DescribeInstanceStatus(
      const DescribeInstanceStatusRequest& r) = 0;
  virtual Result<CreateImageResponse> CreateImage(const CreateImageRequest& r) = 0;
  virtual Result<DescribeImagesResponse> DescribeImages(const DescribeImagesRequest& r) = 0;
  virtual Status DeregisterImage(const DeregisterImageRequest& r) = 0;
  virtual Result<DescribeVolumesResponse> DescribeVolumes(const DescribeVolumesRequest& r) = 0;
  virtual Result<VolumeAttachment> AttachVolume(const AttachVolumeRequest& r) = 0;
  virtual Result<VolumeAttachment> DetachVolume(const DetachVolumeRequest& r) = 0;
  virtual Result<RequestReceipt> CreateTags(const CreateTagsRequest& r) = 0;
  virtual Result<InstanceAttribute> DescribeInstanceAttribute(
      const DescribeInstanceAttributeRequest& r) = 0;
  virtual Result<LaunchTemplateVersion> CreateLaunchTemplateVersion(
      const CreateLaunchTemplateVersionRequest& r) = 0;
  virtual Result<DescribeLaunchTemplateVersionsResponse> DescribeLaunchTemplateVersions(
      const DescribeLaunchTemplateVersionsRequest& r) = 0;
  virtual Result<DescribeAddressesResponse> DescribeAddresses(
      const DescribeAddressesRequest& r) = 0;
  virtual Result<AssociateAddressResponse> AssociateAddress(const AssociateAddressRequest& r) = 0;
  virtual Result<ReplaceRootVolumeTask> CreateReplaceRootVolumeTask(
      const CreateReplaceRootVolumeTaskRequest& r) = 0;
  virtual Result<DescribeReplaceRootVolumeTasksResponse> DescribeReplaceRootVolumeTasks(
      const DescribeReplaceRootVolumeTasksRequest& r) = 0;
  virtual Result<RequestReceipt> ModifyInstanceAttribute(
      const ModifyInstanceAttributeRequest& r) = 0;
  virtual Result<DescribeInstanceCreditSpecificationsResponse> DescribeInstanceCreditSpecifications(
      const DescribeInstanceCreditSpecificationsRequest& r) = 0;
  virtual Result<ModifyInstanceCreditSpecificationResponse> ModifyInstanceCreditSpecification(
      const ModifyInstanceCreditSpecificationRequest& r) = 0;
  virtual Result<DescribeNetworkInterfacesResponse> DescribeNetworkInterfaces(
      const DescribeNetworkInterfacesRequest& r) = 0;
  virtual Result<AttachNetworkInterfaceResponse> AttachNetworkInterface(
      const AttachNetworkInterfaceRequest& r) = 0;
  virtual Result<RequestReceipt> DetachNetworkInterface(const DetachNetworkInterfaceRequest& r) = 0;
  virtual Result<RequestReceipt> ModifyNetworkInterfaceAttribute(
      const ModifyNetworkInterfaceAttributeRequest& r) = 0;
  virtual Result<AssignPrivateIpAddressesResponse> AssignPrivateIpAddresses(
      const AssignPrivateIpAddressesRequest& r) = 0;
  virtual Result<RequestReceipt> UnassignPrivateIpAddresses(
      const UnassignPrivateIpAddressesRequest& r) = 0;
};

std::unique_ptr<Ec2> MakeEc2Client(std::shared_ptr<Transport> transport);

// Response parsers, exposed for the recorded-response tests.
Result<DescribeInstancesResponse> ParseDescribeInstances(const std::string& xml);
Result<DescribeImagesResponse> ParseDescribeImages(const std::string& xml);
Result<DescribeVolumesResponse> ParseDescribeVolumes(const std::string& xml);
Result<DescribeAddressesResponse> ParseDescribeAddresses(const std::string& xml);
Result<DescribeInstanceStatusResponse> ParseDescribeInstanceStatus(const std::string& xml);
Result<RunInstancesResponse> ParseRunInstances(const std::string& xml);
Result<InstanceStateChanges> ParseInstanceStateChanges(const std::string& action,
                                                       const std::string& xml);
Result<VolumeAttachment> ParseVolumeAttachment(const std::string& action, const std::string& xml);
Result<AssociateAddressResponse> ParseAssociateAddress(const std::string& xml);
Result<InstanceAttribute> ParseDescribeInstanceAttribute(const std::string& xml);
Result<DescribeNetworkInterfacesResponse> ParseDescribeNetworkInterfaces(const std::string& xml);
Result<DescribeInstanceCreditSpecificationsResponse> ParseDescribeInstanceCreditSpecifications(
    const std::string& xml);
Result<ModifyInstanceCreditSpecificationResponse> ParseModifyInstanceCreditSpecification(
    const std::string& xml);
Result<AttachNetworkInterfaceResponse> ParseAttachNetworkInterface(const std::string& xml);
Result<AssignPrivateIpAddressesResponse> ParseAssignPrivateIpAddresses(const std::string& xml);
// For the answers that carry only the request id (ModifyInstanceAttribute,
// DetachNetworkInterface, ModifyNetworkInterfaceAttribute, UnassignPrivateIpAddresses).
Result<RequestReceipt> ParseReceipt(const std::string& action, const std::string& xml);

}  // namespace fleetkeeper::aws
