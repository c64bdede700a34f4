// GMock mocks of every AWS service interface and of the ClientProvider, for handler unit tests.
// MockCellClients bundles one mock per service inside a CellClients that a mocked provider can
// return: `EXPECT_CALL(*mocks.ec2, DescribeInstances(_))...`.
//
// Constructors and destructors are defined in aws_mocks.cc, as gMock's cookbook advises ("Making
// the Compilation Faster"): the mocked methods and their vtables are then compiled once there
// rather than in every test file.
#pragma once

#include <gmock/gmock.h>

#include <memory>
#include <string>

#include "awsclient/clients.h"

namespace fleetkeeper::aws::testing {

class MockEc2 : public Ec2 {
 public:
  MockEc2();
  ~MockEc2() override;

  MOCK_METHOD(Result<DescribeInstancesResponse>, DescribeInstances,
              (const DescribeInstancesRequest&), (override));
  MOCK_METHOD(Result<RunInstancesResponse>, RunInstances, (const RunInstancesRequest&), (override));
  MOCK_METHOD(Result<InstanceStateChanges>, StartInstances, (const InstanceIdsRequest&),
              (override));
  MOCK_METHOD(Result<InstanceStateChanges>, StopInstances, (const StopInstancesRequest&),
              (override));
  MOCK_METHOD(Status, RebootInstances, (const InstanceIdsRequest&), (override));
  MOCK_METHOD(Result<InstanceStateChanges>, TerminateInstances, (const InstanceIdsRequest&),
              (override));
  MOCK_METHOD(Result<DescribeInstanceStatusResponse>, DescribeInstanceStatus,
              (const DescribeInstanceStatusRequest&), (override));
  MOCK_METHOD(Result<CreateImageResponse>, CreateImage, (const CreateImageRequest&), (override));
  MOCK_METHOD(Result<DescribeImagesResponse>, DescribeImages, (const DescribeImagesRequest&),
              (override));
  MOCK_METHOD(Status, DeregisterImage, (const DeregisterImageRequest&), (override));
  MOCK_METHOD(Result<DescribeVolumesResponse>, DescribeVolumes, (const DescribeVolumesRequest&),
              (override));
  MOCK_METHOD(Result<VolumeAttachment>, AttachVolume, (const AttachVolumeRequest&), (override));
  MOCK_METHOD(Result<VolumeAttachment>, DetachVolume, (const DetachVolumeRequest&), (override));
  MOCK_METHOD(Result<RequestReceipt>, CreateTags, (const CreateTagsRequest&), (override));
  MOCK_METHOD(Result<InstanceAttribute>, DescribeInstanceAttribute,
              (const DescribeInstanceAttributeRequest&), (override));
  MOCK_METHOD(Result<LaunchTemplateVersion>, CreateLaunchTemplateVersion,
              (const CreateLaunchTemplateVersionRequest&), (override));
  MOCK_METHOD(Result<DescribeLaunchTemplateVersionsResponse>, DescribeLaunchTemplateVersions,
              (const DescribeLaunchTemplateVersionsRequest&), (override));
  MOCK_METHOD(Result<InstanceLaunchData>, GetLaunchTemplateData,
              (const GetLaunchTemplateDataRequest&), (override));
  MOCK_METHOD(Result<DescribeAddressesResponse>, DescribeAddresses,
              (const DescribeAddressesRequest&), (override));
  MOCK_METHOD(Result<AssociateAddressResponse>, AssociateAddress, (const AssociateAddressRequest&),
              (override));
  MOCK_METHOD(Result<ReplaceRootVolumeTask>, CreateReplaceRootVolumeTask,
              (const CreateReplaceRootVolumeTaskRequest&), (override));
  MOCK_METHOD(Result<DescribeReplaceRootVolumeTasksResponse>, DescribeReplaceRootVolumeTasks,
              (const DescribeReplaceRootVolumeTasksRequest&), (override));
  MOCK_METHOD(Result<RequestReceipt>, ModifyInstanceAttribute,
              (const ModifyInstanceAttributeRequest&), (override));
  MOCK_METHOD(Result<DescribeInstanceCreditSpecificationsResponse>,
              DescribeInstanceCreditSpecifications,
              (const DescribeInstanceCreditSpecificationsRequest&), (override));
  MOCK_METHOD(Result<ModifyInstanceCreditSpecificationResponse>, ModifyInstanceCreditSpecification,
              (const ModifyInstanceCreditSpecificationRequest&), (override));
  MOCK_METHOD(Result<DescribeNetworkInterfacesResponse>, DescribeNetworkInterfaces,
              (const DescribeNetworkInterfacesRequest&), (override));
  MOCK_METHOD(Result<AttachNetworkInterfaceResponse>, AttachNetworkInterface,
              (const AttachNetworkInterfaceRequest&), (override));
  MOCK_METHOD(Result<RequestReceipt>, DetachNetworkInterface,
              (const DetachNetworkInterfaceRequest&), (override));
  MOCK_METHOD(Result<RequestReceipt>, ModifyNetworkInterfaceAttribute,
              (const ModifyNetworkInterfaceAttributeRequest&), (override));
  MOCK_METHOD(Result<AssignPrivateIpAddressesResponse>, AssignPrivateIpAddresses,
              (const AssignPrivateIpAddressesRequest&), (override));
  MOCK_METHOD(Result<RequestReceipt>, UnassignPrivateIpAddresses,
              (const UnassignPrivateIpAddressesRequest&), (override));
};

class MockAutoScaling : public AutoScaling {
 public:
  MockAutoScaling();
  ~MockAutoScaling() override;

  MOCK_METHOD(Result<DescribeAutoScalingGroupsResponse>, DescribeAutoScalingGroups,
              (const DescribeAutoScalingGroupsRequest&), (override));
  MOCK_METHOD(Result<StartInstanceRefreshResponse>, StartInstanceRefresh,
              (const StartInstanceRefreshRequest&), (override));
  MOCK_METHOD(Result<DescribeInstanceRefreshesResponse>, DescribeInstanceRefreshes,
              (const DescribeInstanceRefreshesRequest&), (override));
  MOCK_METHOD(Result<InstanceRefreshIdResponse>, CancelInstanceRefresh, (const AsgNameRequest&),
              (override));
  MOCK_METHOD(Result<InstanceRefreshIdResponse>, RollbackInstanceRefresh, (const AsgNameRequest&),
              (override));
  MOCK_METHOD(Status, SetDesiredCapacity, (const SetDesiredCapacityRequest&), (override));
  MOCK_METHOD(Status, SetInstanceHealth, (const SetInstanceHealthRequest&), (override));
  MOCK_METHOD(Result<ScalingActivity>, TerminateInstanceInAutoScalingGroup,
              (const TerminateInstanceInAutoScalingGroupRequest&), (override));
  MOCK_METHOD(Result<RequestReceipt>, UpdateAutoScalingGroup,
              (const UpdateAutoScalingGroupRequest&), (override));
  MOCK_METHOD(Status, CompleteLifecycleAction, (const CompleteLifecycleActionRequest&), (override));
  MOCK_METHOD(Status, RecordLifecycleActionHeartbeat,
              (const RecordLifecycleActionHeartbeatRequest&), (override));
  MOCK_METHOD(Result<ScalingActivities>, EnterStandby, (const EnterStandbyRequest&), (override));
  MOCK_METHOD(Result<ScalingActivities>, ExitStandby, (const ExitStandbyRequest&), (override));
};

class MockSsm : public Ssm {
 public:
  MockSsm();
  ~MockSsm() override;

  MOCK_METHOD(Result<Parameter>, GetParameter, (const GetParameterRequest&), (override));
  MOCK_METHOD(Result<Command>, SendCommand, (const SendCommandRequest&), (override));
  MOCK_METHOD(Result<CommandInvocationDetail>, GetCommandInvocation,
              (const GetCommandInvocationRequest&), (override));
  MOCK_METHOD(Result<ListCommandInvocationsResponse>, ListCommandInvocations,
              (const ListCommandInvocationsRequest&), (override));
  MOCK_METHOD(Result<ListCommandsResponse>, ListCommands, (const ListCommandsRequest&), (override));
  MOCK_METHOD(Result<DescribeInstanceInformationResponse>, DescribeInstanceInformation,
              (const DescribeInstanceInformationRequest&), (override));
  MOCK_METHOD(Result<DescribeInstancePatchStatesResponse>, DescribeInstancePatchStates,
              (const DescribeInstancePatchStatesRequest&), (override));
};

class MockElbv2 : public Elbv2 {
 public:
  MockElbv2();
  ~MockElbv2() override;

  MOCK_METHOD(Result<RequestReceipt>, RegisterTargets, (const TargetsRequest&), (override));
  MOCK_METHOD(Result<RequestReceipt>, DeregisterTargets, (const TargetsRequest&), (override));
  MOCK_METHOD(Result<DescribeTargetHealthResponse>, DescribeTargetHealth,
              (const DescribeTargetHealthRequest&), (override));
  MOCK_METHOD(Result<DescribeTargetGroupsResponse>, DescribeTargetGroups,
              (const DescribeTargetGroupsRequest&), (override));
  MOCK_METHOD(Result<DescribeTagsResponse>, DescribeTags, (const DescribeTagsRequest&), (override));
};

class MockCloudWatch : public CloudWatch {
 public:
  MockCloudWatch();
  ~MockCloudWatch() override;

  MOCK_METHOD(Status, PutMetricData, (const PutMetricDataRequest&), (override));
  MOCK_METHOD(Result<DescribeAlarmsResponse>, DescribeAlarms, (const DescribeAlarmsRequest&),
              (override));
  MOCK_METHOD(Result<GetMetricStatisticsResponse>, GetMetricStatistics,
              (const GetMetricStatisticsRequest&), (override));
};

class MockSns : public Sns {
 public:
  MockSns();
  ~MockSns() override;

  MOCK_METHOD(Result<PublishResponse>, Publish, (const PublishRequest&), (override));
};

class MockEcs : public Ecs {
 public:
  MockEcs();
  ~MockEcs() override;

  MOCK_METHOD(Result<ArnPage>, ListClusters, (const ListClustersRequest&), (override));
  MOCK_METHOD(Result<DescribeClustersResponse>, DescribeClusters, (const DescribeClustersRequest&),
              (override));
  MOCK_METHOD(Result<ArnPage>, ListServices, (const ListServicesRequest&), (override));
  MOCK_METHOD(Result<DescribeServicesResponse>, DescribeServices, (const DescribeServicesRequest&),
              (override));
  MOCK_METHOD(Result<EcsService>, UpdateService, (const UpdateServiceRequest&), (override));
  MOCK_METHOD(Result<ArnPage>, ListTasks, (const ListTasksRequest&), (override));
  MOCK_METHOD(Result<DescribeTasksResponse>, DescribeTasks, (const DescribeTasksRequest&),
              (override));
  MOCK_METHOD(Result<EcsTask>, StopTask, (const StopTaskRequest&), (override));
  MOCK_METHOD(Result<ArnPage>, ListContainerInstances, (const ListContainerInstancesRequest&),
              (override));
  MOCK_METHOD(Result<UpdateContainerInstancesStateResponse>, UpdateContainerInstancesState,
              (const UpdateContainerInstancesStateRequest&), (override));
  MOCK_METHOD(Result<DescribeContainerInstancesResponse>, DescribeContainerInstances,
              (const DescribeContainerInstancesRequest&), (override));
  MOCK_METHOD(Status, TagResource, (const TagResourceRequest&), (override));
  MOCK_METHOD(Status, UntagResource, (const UntagResourceRequest&), (override));
  MOCK_METHOD(Result<Tags>, ListTagsForResource, (const ListTagsForResourceRequest&), (override));
};

class MockSts : public Sts {
 public:
  MockSts();
  ~MockSts() override;

  MOCK_METHOD(Result<CallerIdentity>, GetCallerIdentity, (), (override));
  MOCK_METHOD(Result<AssumeRoleResponse>, AssumeRole, (const AssumeRoleRequest&), (override));
  MOCK_METHOD(Result<AssumeRoleResponse>, AssumeRoleWithWebIdentity,
              (const AssumeRoleWithWebIdentityRequest&), (override));
};

class MockIam : public Iam {
 public:
  MockIam();
  ~MockIam() override;

  MOCK_METHOD(Result<SimulatePrincipalPolicyResponse>, SimulatePrincipalPolicy,
              (const SimulatePrincipalPolicyRequest&), (override));
};

class MockCodeDeploy : public CodeDeploy {
 public:
  MockCodeDeploy();
  ~MockCodeDeploy() override;

  MOCK_METHOD(Result<StopDeploymentResponse>, StopDeployment, (const StopDeploymentRequest&),
              (override));
  MOCK_METHOD(Result<DeploymentInfo>, GetDeployment, (const GetDeploymentRequest&), (override));
  MOCK_METHOD(Result<ListApplicationsResponse>, ListApplications, (const ListApplicationsRequest&),
              (override));
  MOCK_METHOD(Result<ListDeploymentGroupsResponse>, ListDeploymentGroups,
              (const ListDeploymentGroupsRequest&), (override));
  MOCK_METHOD(Result<BatchGetDeploymentGroupsResponse>, BatchGetDeploymentGroups,
              (const BatchGetDeploymentGroupsRequest&), (override));
  MOCK_METHOD(Result<ListDeploymentsResponse>, ListDeployments, (const ListDeploymentsRequest&),
              (override));
};
class MockApplicationAutoScaling : public ApplicationAutoScaling {
 public:
  MockApplicationAutoScaling();
  ~MockApplicationAutoScaling() override;

  MOCK_METHOD(Result<DescribeScalableTargetsResponse>, DescribeScalableTargets,
              (const DescribeScalableTargetsRequest&), (override));
  MOCK_METHOD(Result<std::string>, RegisterScalableTarget, (const RegisterScalableTargetRequest&),
              (override));
};

class MockClientProvider : public ClientProvider {
 public:
  MockClientProvider();
  ~MockClientProvider() override;

  MOCK_METHOD(Result<CellClients*>, For,
              (const std::string& account, const std::string& region, const std::string& role_arn),
              (override));
};

// One mock per service, owned by `clients`; the raw pointers are for setting expectations.
struct MockCellClients {
  MockCellClients();
  ~MockCellClients();

  CellClients clients;
  MockEc2* ec2 = nullptr;
  MockAutoScaling* autoscaling = nullptr;
  MockSsm* ssm = nullptr;
  MockElbv2* elbv2 = nullptr;
  MockCloudWatch* cloudwatch = nullptr;
  MockSns* sns = nullptr;
  MockEcs* ecs = nullptr;
  MockSts* sts = nullptr;
  MockIam* iam = nullptr;
  MockCodeDeploy* codedeploy = nullptr;
  MockApplicationAutoScaling* application_autoscaling = nullptr;
  ::testing::NiceMock<MockClientProvider> provider;
};

}  // namespace fleetkeeper::aws::testing
