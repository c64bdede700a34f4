// Amazon EC2, the operations fleetkeeper's handlers make. Handlers depend on the abstract Ec2
// interface (mocked in tests/testing/aws_mocks.h); MakeEc2Client() is the EC2 query-protocol wire
// implementation (ec2_query.cc). Times are epoch milliseconds (0 = absent). Paginated requests and
// responses carry `next_token` (see pagination.h).
// The requests and answers are declared by area: ec2_instances.h, ec2_storage.h, ec2_network.h,
// ec2_launch_templates.h.
#pragma once

#include <memory>
#include <string>

#include "awsclient/ec2_instances.h"
#include "awsclient/ec2_launch_templates.h"
#include "awsclient/ec2_network.h"
#include "awsclient/ec2_storage.h"
#include "awsclient/transport.h"
#include "common/error.h"

namespace fleetkeeper::aws {

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
  virtual Result<InstanceLaunchData> GetLaunchTemplateData(
      const GetLaunchTemplateDataRequest& r) = 0;
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
Result<InstanceLaunchData> ParseGetLaunchTemplateData(const std::string& xml);
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
