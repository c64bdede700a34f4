// EC2 over the EC2 query protocol (API version 2016-11-15): "Name.N" lists, <item> lists in
// responses, <requestId> at the root. Parameter and element names follow the EC2 API reference
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/, one page per action).
#include <utility>

#include "awsclient/ec2.h"
#include "awsclient/ec2_xml.h"
#include "awsclient/query_protocol.h"

namespace fleetkeeper::aws {
namespace {

using namespace ec2_xml;

constexpr const char* kVersion = "2016-11-15";
constexpr const char* kService = "ec2";

QueryParams Params(const char* action) { return QueryParams(QueryFlavor::kEc2, action, kVersion); }

// ---- request serialization ----

void SetTags(QueryParams& p, const std::string& prefix, const Tags& tags) {
  size_t i = 0;
  for (const auto& [key, value] : tags) {
    std::string base = p.ListKey(prefix, ++i);
    p.Set(base + ".Key", key);
    p.Set(base + ".Value", value);
  }
}

void SetTagSpecifications(QueryParams& p, const std::vector<TagSpecification>& specs) {
  for (size_t i = 0; i < specs.size(); ++i) {
    std::string base = p.ListKey("TagSpecification", i + 1);
    p.Set(base + ".ResourceType", specs[i].resource_type);
    SetTags(p, base + ".Tag", specs[i].tags);
  }
}

void SetMetadataOptions(QueryParams& p, const MetadataOptions& m) {
  p.SetIfNotEmpty("MetadataOptions.HttpTokens", m.http_tokens);
  p.SetIf("MetadataOptions.HttpPutResponseHopLimit", m.http_put_response_hop_limit);
  p.SetIfNotEmpty("MetadataOptions.HttpEndpoint", m.http_endpoint);
  p.SetIfNotEmpty("MetadataOptions.HttpProtocolIpv6", m.http_protocol_ipv6);
  p.SetIfNotEmpty("MetadataOptions.InstanceMetadataTags", m.instance_metadata_tags);
}

void SetBlockDeviceMappings(QueryParams& p, const std::vector<BlockDeviceMappingSpec>& mappings) {
  for (size_t i = 0; i < mappings.size(); ++i) {
    const BlockDeviceMappingSpec& m = mappings[i];
    std::string base = p.ListKey("BlockDeviceMapping", i + 1);
    p.Set(base + ".DeviceName", m.device_name);
    p.SetIfNotEmpty(base + ".VirtualName", m.virtual_name);
    if (m.no_device) p.Set(base + ".NoDevice", std::string());
    if (m.ebs) {
      const EbsBlockDeviceSpec& e = *m.ebs;
      p.SetIfNotEmpty(base + ".Ebs.SnapshotId", e.snapshot_id);
      p.SetIf(base + ".Ebs.VolumeSize", e.volume_size_gib);
      p.SetIfNotEmpty(base + ".Ebs.VolumeType", e.volume_type);
      p.SetIf(base + ".Ebs.Iops", e.iops);
      p.SetIf(base + ".Ebs.Throughput", e.throughput_mibps);
      p.SetIfNotEmpty(base + ".Ebs.KmsKeyId", e.kms_key_id);
      p.SetIf(base + ".Ebs.Encrypted", e.encrypted);
      p.SetIf(base + ".Ebs.DeleteOnTermination", e.delete_on_termination);
    }
  }
}

void SetNetworkInterfaces(QueryParams& p, const std::vector<NetworkInterfaceSpec>& nics) {
  for (size_t i = 0; i < nics.size(); ++i) {
    const NetworkInterfaceSpec& n = nics[i];
    std::string base = p.ListKey("NetworkInterface", i + 1);
    p.Set(base + ".DeviceIndex", n.device_index);
    p.SetIfNotEmpty(base + ".NetworkInterfaceId", n.network_interface_id);
    p.SetIfNotEmpty(base + ".SubnetId", n.subnet_id);
    p.SetIfNotEmpty(base + ".Description", n.description);
    for (size_t j = 0; j < n.private_ips.size(); ++j) {
      std::string ip = p.ListKey(base + ".PrivateIpAddresses", j + 1);
      p.Set(ip + ".PrivateIpAddress", n.private_ips[j].address);
      p.Set(ip + ".Primary", n.private_ips[j].primary);
    }
    p.SetIf(base + ".SecondaryPrivateIpAddressCount", n.secondary_private_ip_count);
    p.SetListIfNotEmpty(base + ".SecurityGroupId", n.security_group_ids);
    p.SetIf(base + ".DeleteOnTermination", n.delete_on_termination);
    p.SetIf(base + ".AssociatePublicIpAddress", n.associate_public_ip);
  }
}

const char* AttributeName(InstanceAttributeName a) {
  switch (a) {
    case InstanceAttributeName::kUserData:
      return "userData";
    case InstanceAttributeName::kDisableApiTermination:
      return "disableApiTermination";
    case InstanceAttributeName::kDisableApiStop:
      return "disableApiStop";
    case InstanceAttributeName::kInstanceInitiatedShutdownBehavior:
      return "instanceInitiatedShutdownBehavior";
  }
  return "userData";
}

template <typename T, typename Read>
Result<T> Call(Transport& transport, const QueryParams& params, Read&& read) {
  return CallAndRead<T>(transport, kService, params, std::forward<Read>(read));
}

Status CallNoOutput(Transport& transport, const QueryParams& params) {
  return aws::CallNoOutput(transport, kService, params);
}

template <typename T, typename Read>
Result<T> CallRecorded(Transport& transport, const QueryParams& params, Read&& read) {
  return aws::CallRecorded<T>(transport, kService, params, std::forward<Read>(read));
}

// The names of the attributes set in `r`, in the API's spelling.
std::vector<std::string> AttributesSet(const ModifyInstanceAttributeRequest& r) {
  std::vector<std::string> names;
  if (r.disable_api_termination) names.emplace_back("DisableApiTermination");
  if (r.disable_api_stop) names.emplace_back("DisableApiStop");
  if (!r.instance_initiated_shutdown_behavior.empty()) {
    names.emplace_back("InstanceInitiatedShutdownBehavior");
  }
  if (r.source_dest_check) names.emplace_back("SourceDestCheck");
  if (r.user_data_base64) names.emplace_back("UserData");
  if (r.ebs_optimized) names.emplace_back("EbsOptimized");
  if (!r.instance_type.empty()) names.emplace_back("InstanceType");
  return names;
}

class Ec2QueryClient final : public Ec2 {
 public:
  explicit Ec2QueryClient(std::shared_ptr<Transport> transport) : t_(std::move(transport)) {}

  Result<DescribeInstancesResponse> DescribeInstances(const DescribeInstancesRequest& r) override {
    QueryParams p = Params("DescribeInstances");
    p.SetListIfNotEmpty("InstanceId", r.instance_ids);
    p.SetFilters("Filter", r.filters, "Name", "Value");
    p.SetIf("MaxResults", r.max_results);
    p.SetIfNotEmpty("NextToken", r.next_token);
    return Call<DescribeInstancesResponse>(*t_, p, ReadDescribeInstances);
  }

  Result<RunInstancesResponse> RunInstances(const RunInstancesRequest& r) override {
    QueryParams p = Params("RunInstances");
    p.Set("ImageId", r.image_id);
    p.SetIfNotEmpty("InstanceType", r.instance_type);
    p.Set("MinCount", r.min_count);
    p.Set("MaxCount", r.max_count);
    p.Set("ClientToken", r.client_token.empty() ? NewIdempotencyToken() : r.client_token);
    p.SetIfNotEmpty("SubnetId", r.subnet_id);
    p.SetIfNotEmpty("PrivateIpAddress", r.private_ip);
    p.SetListIfNotEmpty("SecurityGroupId", r.security_group_ids);
    SetNetworkInterfaces(p, r.network_interfaces);
    p.SetIfNotEmpty("KeyName", r.key_name);
    p.SetIfNotEmpty("IamInstanceProfile.Arn", r.iam_instance_profile_arn);
    p.SetIfNotEmpty("IamInstanceProfile.Name", r.iam_instance_profile_name);
    p.SetIfNotEmpty("UserData", r.user_data_base64);
    if (r.metadata_options) SetMetadataOptions(p, *r.metadata_options);
    SetBlockDeviceMappings(p, r.block_device_mappings);
    if (r.placement) {
      p.SetIfNotEmpty("Placement.AvailabilityZone", r.placement->availability_zone);
      p.SetIfNotEmpty("Placement.Tenancy", r.placement->tenancy);
      p.SetIfNotEmpty("Placement.GroupName", r.placement->group_name);
      p.SetIfNotEmpty("Placement.GroupId", r.placement->group_id);
    }
    p.SetIf("DisableApiTermination", r.disable_api_termination);
    p.SetIf("DisableApiStop", r.disable_api_stop);
    p.SetIfNotEmpty("InstanceInitiatedShutdownBehavior", r.instance_initiated_shutdown_behavior);
    p.SetIfNotEmpty("CreditSpecification.CpuCredits", r.cpu_credits);
    p.SetIf("EbsOptimized", r.ebs_optimized);
    SetTagSpecifications(p, r.tag_specifications);
    return CallRecorded<RunInstancesResponse>(*t_, p, ReadRunInstances);
  }

  Result<InstanceStateChanges> StartInstances(const InstanceIdsRequest& r) override {
    QueryParams p = Params("StartInstances");
    p.SetList("InstanceId", r.instance_ids);
    return CallRecorded<InstanceStateChanges>(*t_, p, ReadStateChangeSet);
  }

  Result<InstanceStateChanges> StopInstances(const StopInstancesRequest& r) override {
    QueryParams p = Params("StopInstances");
    p.SetList("InstanceId", r.instance_ids);
    p.SetIf("Force", r.force);
    p.SetIf("Hibernate", r.hibernate);
    return CallRecorded<InstanceStateChanges>(*t_, p, ReadStateChangeSet);
  }

  Status RebootInstances(const InstanceIdsRequest& r) override {
    QueryParams p = Params("RebootInstances");
    p.SetList("InstanceId", r.instance_ids);
    return CallNoOutput(*t_, p);
  }

  Result<InstanceStateChanges> TerminateInstances(const InstanceIdsRequest& r) override {
    QueryParams p = Params("TerminateInstances");
    p.SetList("InstanceId", r.instance_ids);
    return CallRecorded<InstanceStateChanges>(*t_, p, ReadStateChangeSet);
  }

  Result<DescribeInstanceStatusResponse> DescribeInstanceStatus(
      const DescribeInstanceStatusRequest& r) override {
    QueryParams p = Params("DescribeInstanceStatus");
    p.SetListIfNotEmpty("InstanceId", r.instance_ids);
    p.SetFilters("Filter", r.filters, "Name", "Value");
    p.SetIf("IncludeAllInstances", r.include_all_instances);
    p.SetIf("MaxResults", r.max_results);
    p.SetIfNotEmpty("NextToken", r.next_token);
    return Call<DescribeInstanceStatusResponse>(*t_, p, ReadDescribeInstanceStatus);
  }

  Result<CreateImageResponse> CreateImage(const CreateImageRequest& r) override {
    QueryParams p = Params("CreateImage");
    p.Set("InstanceId", r.instance_id);
    p.Set("Name", r.name);
    p.SetIfNotEmpty("Description", r.description);
    p.SetIf("NoReboot", r.no_reboot);
    SetTagSpecifications(p, r.tag_specifications);
    return Call<CreateImageResponse>(*t_, p, [](XmlReader& x, pugi::xml_node result) {
      x.Require(result, "imageId");
      return CreateImageResponse{x.Text(result, "imageId")};
    });
  }

  Result<DescribeImagesResponse> DescribeImages(const DescribeImagesRequest& r) override {
    QueryParams p = Params("DescribeImages");
    p.SetListIfNotEmpty("ImageId", r.image_ids);
    p.SetListIfNotEmpty("Owner", r.owners);
    p.SetFilters("Filter", r.filters, "Name", "Value");
    p.SetIf("MaxResults", r.max_results);
    p.SetIfNotEmpty("NextToken", r.next_token);
    return Call<DescribeImagesResponse>(*t_, p, ReadDescribeImages);
  }

  Status DeregisterImage(const DeregisterImageRequest& r) override {
    QueryParams p = Params("DeregisterImage");
    p.Set("ImageId", r.image_id);
    return CallNoOutput(*t_, p);
  }

  Result<DescribeVolumesResponse> DescribeVolumes(const DescribeVolumesRequest& r) override {
    QueryParams p = Params("DescribeVolumes");
    p.SetListIfNotEmpty("VolumeId", r.volume_ids);
    p.SetFilters("Filter", r.filters, "Name", "Value");
    p.SetIf("MaxResults", r.max_results);
    p.SetIfNotEmpty("NextToken", r.next_token);
    return Call<DescribeVolumesResponse>(*t_, p, ReadDescribeVolumes);
  }

  Result<VolumeAttachment> AttachVolume(const AttachVolumeRequest& r) override {
    QueryParams p = Params("AttachVolume");
    p.Set("VolumeId", r.volume_id);
    p.Set("InstanceId", r.instance_id);
    p.Set("Device", r.device);
    return CallRecorded<VolumeAttachment>(*t_, p, ReadAttachment);
  }

  Result<VolumeAttachment> DetachVolume(const DetachVolumeRequest& r) override {
    QueryParams p = Params("DetachVolume");
    p.Set("VolumeId", r.volume_id);
    p.SetIfNotEmpty("InstanceId", r.instance_id);
    p.SetIfNotEmpty("Device", r.device);
    p.SetIf("Force", r.force);
    return CallRecorded<VolumeAttachment>(*t_, p, ReadAttachment);
  }

  Result<RequestReceipt> CreateTags(const CreateTagsRequest& r) override {
    QueryParams p = Params("CreateTags");
    p.SetList("ResourceId", r.resource_ids);
    SetTags(p, "Tag", r.tags);
    return aws::CallReceipt(*t_, kService, p);
  }

  Result<InstanceAttribute> DescribeInstanceAttribute(
      const DescribeInstanceAttributeRequest& r) override {
    QueryParams p = Params("DescribeInstanceAttribute");
    p.Set("InstanceId", r.instance_id);
    p.Set("Attribute", AttributeName(r.attribute));
    return Call<InstanceAttribute>(*t_, p, ReadInstanceAttribute);
  }

  Result<LaunchTemplateVersion> CreateLaunchTemplateVersion(
      const CreateLaunchTemplateVersionRequest& r) override {
    QueryParams p = Params("CreateLaunchTemplateVersion");
    p.SetIfNotEmpty("LaunchTemplateId", r.launch_template_id);
    p.SetIfNotEmpty("LaunchTemplateName", r.launch_template_name);
    p.SetIfNotEmpty("SourceVersion", r.source_version);
    p.SetIfNotEmpty("VersionDescription", r.version_description);
    p.Set("ClientToken", r.client_token.empty() ? NewIdempotencyToken() : r.client_token);
    p.Set("LaunchTemplateData.ImageId", r.image_id);
    return CallRecorded<LaunchTemplateVersion>(*t_, p, [](XmlReader& x, pugi::xml_node result) {
      x.Require(result, "launchTemplateVersion");
      return ReadLaunchTemplateVersion(x, result.child("launchTemplateVersion"));
    });
  }

  Result<DescribeLaunchTemplateVersionsResponse> DescribeLaunchTemplateVersions(
      const DescribeLaunchTemplateVersionsRequest& r) override {
    QueryParams p = Params("DescribeLaunchTemplateVersions");
    p.SetIfNotEmpty("LaunchTemplateId", r.launch_template_id);
    p.SetIfNotEmpty("LaunchTemplateName", r.launch_template_name);
    p.SetListIfNotEmpty("LaunchTemplateVersion", r.versions);
    p.SetIf("ResolveAlias", r.resolve_alias);
    p.SetIf("MaxResults", r.max_results);
    p.SetIfNotEmpty("NextToken", r.next_token);
    return Call<DescribeLaunchTemplateVersionsResponse>(
        *t_, p, [](XmlReader& x, pugi::xml_node result) {
          DescribeLaunchTemplateVersionsResponse out;
          for (pugi::xml_node n : x.Items(result, "launchTemplateVersionSet")) {
            out.versions.push_back(ReadLaunchTemplateVersion(x, n));
          }
          out.next_token = x.Text(result, "nextToken");
          return out;
        });
  }

  // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GetLaunchTemplateData.html
  Result<InstanceLaunchData> GetLaunchTemplateData(const GetLaunchTemplateDataRequest& r) override {
    QueryParams p = Params("GetLaunchTemplateData");
    p.Set("InstanceId", r.instance_id);
    auto data = CallRecorded<InstanceLaunchData>(*t_, p, ReadLaunchTemplateData);
    if (data.ok()) data->instance_id = r.instance_id;
    return data;
  }

  Result<DescribeAddressesResponse> DescribeAddresses(const DescribeAddressesRequest& r) override {
    QueryParams p = Params("DescribeAddresses");
    p.SetListIfNotEmpty("PublicIp", r.public_ips);
    p.SetListIfNotEmpty("AllocationId", r.allocation_ids);
    p.SetFilters("Filter", r.filters, "Name", "Value");
    return Call<DescribeAddressesResponse>(*t_, p, ReadDescribeAddresses);
  }

  Result<AssociateAddressResponse> AssociateAddress(const AssociateAddressRequest& r) override {
    QueryParams p = Params("AssociateAddress");
    p.SetIfNotEmpty("AllocationId", r.allocation_id);
    p.SetIfNotEmpty("PublicIp", r.public_ip);
    p.SetIfNotEmpty("InstanceId", r.instance_id);
    p.SetIfNotEmpty("NetworkInterfaceId", r.network_interface_id);
    p.SetIfNotEmpty("PrivateIpAddress", r.private_ip);
    p.SetIf("AllowReassociation", r.allow_reassociation);
    return CallRecorded<AssociateAddressResponse>(*t_, p, ReadAssociateAddress);
  }

  Result<ReplaceRootVolumeTask> CreateReplaceRootVolumeTask(
      const CreateReplaceRootVolumeTaskRequest& r) override {
    QueryParams p = Params("CreateReplaceRootVolumeTask");
    p.Set("InstanceId", r.instance_id);
    p.SetIfNotEmpty("ImageId", r.image_id);
    p.SetIfNotEmpty("SnapshotId", r.snapshot_id);
    p.SetIf("DeleteReplacedRootVolume", r.delete_replaced_root_volume);
    p.Set("ClientToken", r.client_token.empty() ? NewIdempotencyToken() : r.client_token);
    SetTagSpecifications(p, r.tag_specifications);
    return CallRecorded<ReplaceRootVolumeTask>(*t_, p, [](XmlReader& x, pugi::xml_node result) {
      x.Require(result, "replaceRootVolumeTask");
      return ReadReplaceRootVolumeTask(x, result.child("replaceRootVolumeTask"));
    });
  }

  Result<DescribeReplaceRootVolumeTasksResponse> DescribeReplaceRootVolumeTasks(
      const DescribeReplaceRootVolumeTasksRequest& r) override {
    QueryParams p = Params("DescribeReplaceRootVolumeTasks");
    p.SetListIfNotEmpty("ReplaceRootVolumeTaskId", r.task_ids);
    p.SetFilters("Filter", r.filters, "Name", "Value");
    p.SetIf("MaxResults", r.max_results);
    p.SetIfNotEmpty("NextToken", r.next_token);
    return Call<DescribeReplaceRootVolumeTasksResponse>(
        *t_, p, [](XmlReader& x, pugi::xml_node result) {
          DescribeReplaceRootVolumeTasksResponse out;
          for (pugi::xml_node n : x.Items(result, "replaceRootVolumeTaskSet")) {
            out.tasks.push_back(ReadReplaceRootVolumeTask(x, n));
          }
          out.next_token = x.Text(result, "nextToken");
          return out;
        });
  }

  // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyInstanceAttribute.html
  Result<RequestReceipt> ModifyInstanceAttribute(const ModifyInstanceAttributeRequest& r) override {
    std::vector<std::string> set = AttributesSet(r);
    if (set.size() != 1) {
      std::string names;
      for (const std::string& name : set) names += (names.empty() ? "" : ", ") + name;
      return Error(ErrorCode::kInvalidInput, "ModifyInstanceAttribute of " + r.instance_id +
                                                 ": set exactly one attribute per call, got " +
                                                 std::to_string(set.size()) +
                                                 (names.empty() ? "" : " (" + names + ")"));
    }
    QueryParams p = Params("ModifyInstanceAttribute");
    p.Set("InstanceId", r.instance_id);
    p.SetIf("DisableApiTermination.Value", r.disable_api_termination);
    p.SetIf("DisableApiStop.Value", r.disable_api_stop);
    p.SetIfNotEmpty("InstanceInitiatedShutdownBehavior.Value",
                    r.instance_initiated_shutdown_behavior);
    p.SetIf("SourceDestCheck.Value", r.source_dest_check);
    // A blob member: the wire value is the base64 text, which is what Describe returned.
    p.SetIf("UserData.Value", r.user_data_base64);
    p.SetIf("EbsOptimized.Value", r.ebs_optimized);
    p.SetIfNotEmpty("InstanceType.Value", r.instance_type);
    return CallRecorded<RequestReceipt>(*t_, p, ReadNothing);
  }

  Result<DescribeInstanceCreditSpecificationsResponse> DescribeInstanceCreditSpecifications(
      const DescribeInstanceCreditSpecificationsRequest& r) override {
    QueryParams p = Params("DescribeInstanceCreditSpecifications");
    p.SetListIfNotEmpty("InstanceId", r.instance_ids);
    p.SetFilters("Filter", r.filters, "Name", "Value");
    p.SetIf("MaxResults", r.max_results);
    p.SetIfNotEmpty("NextToken", r.next_token);
    return Call<DescribeInstanceCreditSpecificationsResponse>(
        *t_, p, ReadDescribeInstanceCreditSpecifications);
  }

  Result<ModifyInstanceCreditSpecificationResponse> ModifyInstanceCreditSpecification(
      const ModifyInstanceCreditSpecificationRequest& r) override {
    QueryParams p = Params("ModifyInstanceCreditSpecification");
    p.Set("ClientToken", r.client_token.empty() ? NewIdempotencyToken() : r.client_token);
    for (size_t i = 0; i < r.specifications.size(); ++i) {
      std::string base = p.ListKey("InstanceCreditSpecification", i + 1);
      p.Set(base + ".InstanceId", r.specifications[i].instance_id);
      p.Set(base + ".CpuCredits", r.specifications[i].cpu_credits);
    }
    return CallRecorded<ModifyInstanceCreditSpecificationResponse>(
        *t_, p, ReadModifyInstanceCreditSpecification);
  }

  Result<DescribeNetworkInterfacesResponse> DescribeNetworkInterfaces(
      const DescribeNetworkInterfacesRequest& r) override {
    QueryParams p = Params("DescribeNetworkInterfaces");
    p.SetListIfNotEmpty("NetworkInterfaceId", r.network_interface_ids);
    p.SetFilters("Filter", r.filters, "Name", "Value");
    p.SetIf("MaxResults", r.max_results);
    p.SetIfNotEmpty("NextToken", r.next_token);
    return Call<DescribeNetworkInterfacesResponse>(*t_, p, ReadDescribeNetworkInterfaces);
  }

  Result<AttachNetworkInterfaceResponse> AttachNetworkInterface(
      const AttachNetworkInterfaceRequest& r) override {
    QueryParams p = Params("AttachNetworkInterface");
    p.Set("NetworkInterfaceId", r.network_interface_id);
    p.Set("InstanceId", r.instance_id);
    p.Set("DeviceIndex", r.device_index);
    p.SetIf("NetworkCardIndex", r.network_card_index);
    return CallRecorded<AttachNetworkInterfaceResponse>(*t_, p, ReadAttachNetworkInterface);
  }

  Result<RequestReceipt> DetachNetworkInterface(const DetachNetworkInterfaceRequest& r) override {
    QueryParams p = Params("DetachNetworkInterface");
    p.Set("AttachmentId", r.attachment_id);
    p.SetIf("Force", r.force);
    return CallRecorded<RequestReceipt>(*t_, p, ReadNothing);
  }

  Result<RequestReceipt> ModifyNetworkInterfaceAttribute(
      const ModifyNetworkInterfaceAttributeRequest& r) override {
    QueryParams p = Params("ModifyNetworkInterfaceAttribute");
    p.Set("NetworkInterfaceId", r.network_interface_id);
    p.Set("Attachment.AttachmentId", r.attachment_id);
    p.Set("Attachment.DeleteOnTermination", r.delete_on_termination);
    return CallRecorded<RequestReceipt>(*t_, p, ReadNothing);
  }

  Result<AssignPrivateIpAddressesResponse> AssignPrivateIpAddresses(
      const AssignPrivateIpAddressesRequest& r) override {
    QueryParams p = Params("AssignPrivateIpAddresses");
    p.Set("NetworkInterfaceId", r.network_interface_id);
    p.SetListIfNotEmpty("PrivateIpAddress", r.private_ips);
    p.SetIf("SecondaryPrivateIpAddressCount", r.secondary_private_ip_count);
    p.SetIf("AllowReassignment", r.allow_reassignment);
    return CallRecorded<AssignPrivateIpAddressesResponse>(*t_, p, ReadAssignPrivateIpAddresses);
  }

  Result<RequestReceipt> UnassignPrivateIpAddresses(
      const UnassignPrivateIpAddressesRequest& r) override {
    QueryParams p = Params("UnassignPrivateIpAddresses");
    p.Set("NetworkInterfaceId", r.network_interface_id);
    p.SetList("PrivateIpAddress", r.private_ips);
    return CallRecorded<RequestReceipt>(*t_, p, ReadNothing);
  }

 private:
  std::shared_ptr<Transport> t_;
};

}  // namespace

std::unique_ptr<Ec2> MakeEc2Client(std::shared_ptr<Transport> transport) {
  return std::make_unique<Ec2QueryClient>(std::move(transport));
}

}  // namespace fleetkeeper::aws
