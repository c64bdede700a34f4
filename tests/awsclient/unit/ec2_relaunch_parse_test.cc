// The EC2 calls the relaunch strategy uses to carry an instance's settings over (attributes,
// launch template data, CPU credits, network interfaces and their private IPs) and the request ids
// of mutating calls: parsing of recorded and documented answers, and what goes on the wire (through
// a fake transport). Answers written by hand follow the response elements of the action's page in
// the EC2 API reference, cited at each test.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "awsclient/ec2.h"
#include "common/clock.h"
#include "tests/awsclient/unit/fake_transport.h"

namespace fleetkeeper::aws {
namespace {

using nlohmann::json;
using testing::FakeTransport;
using testing::ReadTestdata;

std::string Recorded(const std::string& name, const char* extension) {
  return ReadTestdata("aws-responses/botocore-xml/" + name + extension);
}

bool Has(const std::string& body, const std::string& param) {
  return ("&" + body + "&").find("&" + param + "&") != std::string::npos;
}

// botocore's recorded DescribeNetworkInterfaces answer, compared with botocore's own parse.
TEST(Ec2RelaunchParse, DescribeNetworkInterfacesMatchesBotocore) {
  Result<DescribeNetworkInterfacesResponse> parsed =
      ParseDescribeNetworkInterfaces(Recorded("ec2-describe-network-interfaces", ".xml"));
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  json expected =
      json::parse(Recorded("ec2-describe-network-interfaces", ".json"))["NetworkInterfaces"];
  ASSERT_EQ(parsed->network_interfaces.size(), expected.size());
  for (size_t n = 0; n < expected.size(); ++n) {
    const NetworkInterface& eni = parsed->network_interfaces[n];
    const json& e = expected[n];
    SCOPED_TRACE(eni.id);
    EXPECT_EQ(eni.id, e["NetworkInterfaceId"]);
    EXPECT_EQ(eni.subnet_id, e["SubnetId"]);
    EXPECT_EQ(eni.vpc_id, e["VpcId"]);
    EXPECT_EQ(eni.availability_zone, e["AvailabilityZone"]);
    EXPECT_EQ(eni.description, e["Description"]);
    EXPECT_EQ(eni.owner_id, e["OwnerId"]);
    EXPECT_EQ(eni.status, e["Status"]);
    EXPECT_EQ(eni.mac_address, e["MacAddress"]);
    EXPECT_EQ(eni.private_ip, e["PrivateIpAddress"]);
    EXPECT_EQ(eni.source_dest_check, e["SourceDestCheck"].get<bool>());
    EXPECT_EQ(eni.requester_managed, e["RequesterManaged"].get<bool>());
    ASSERT_EQ(eni.security_groups.size(), e["Groups"].size());
    for (size_t g = 0; g < eni.security_groups.size(); ++g) {
      EXPECT_EQ(eni.security_groups[g].id, e["Groups"][g]["GroupId"]);
      EXPECT_EQ(eni.security_groups[g].name, e["Groups"][g]["GroupName"]);
    }
    ASSERT_EQ(eni.private_ips.size(), e["PrivateIpAddresses"].size());
    for (size_t p = 0; p < eni.private_ips.size(); ++p) {
      EXPECT_EQ(eni.private_ips[p].address, e["PrivateIpAddresses"][p]["PrivateIpAddress"]);
      EXPECT_EQ(eni.private_ips[p].primary, e["PrivateIpAddresses"][p]["Primary"].get<bool>());
    }
    ASSERT_TRUE(eni.attachment.has_value());
    const json& a = e["Attachment"];
    EXPECT_EQ(eni.attachment->attachment_id, a["AttachmentId"]);
    EXPECT_EQ(eni.attachment->instance_id, a["InstanceId"]);
    EXPECT_EQ(eni.attachment->instance_owner_id, a["InstanceOwnerId"]);
    EXPECT_EQ(eni.attachment->device_index, a["DeviceIndex"].get<int>());
    EXPECT_EQ(eni.attachment->status, a["Status"]);
    EXPECT_EQ(eni.attachment->delete_on_termination, a["DeleteOnTermination"].get<bool>());
    EXPECT_EQ(eni.attachment->attach_time_ms, ParseRfc3339Ms(a["AttachTime"].get<std::string>()));
    EXPECT_TRUE(eni.tags.empty());
  }
  // The first interface holds two secondary addresses: the ones relaunch moves.
  EXPECT_EQ(parsed->network_interfaces[0].private_ips.size(), 3u);
}

// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_NetworkInterface.html: a detached
// interface has no <attachment>; a tagged one has a tagSet; the type is interfaceType.
TEST(Ec2RelaunchParse, DetachedInterfaceHasNoAttachment) {
  Result<DescribeNetworkInterfacesResponse> parsed = ParseDescribeNetworkInterfaces(
      "<DescribeNetworkInterfacesResponse><requestId>r-1</requestId><networkInterfaceSet><item>"
      "<networkInterfaceId>eni-0a1b2c3d4e5f60718</networkInterfaceId>"
      "<subnetId>subnet-1</subnetId><interfaceType>interface</interfaceType>"
      "<status>available</status><privateIpAddress>10.0.1.20</privateIpAddress>"
      "<sourceDestCheck>false</sourceDestCheck>"
      "<tagSet><item><key>Name</key><value>data-plane</value></item></tagSet>"
      "</item></networkInterfaceSet><nextToken>page-2</nextToken>"
      "</DescribeNetworkInterfacesResponse>");
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  ASSERT_EQ(parsed->network_interfaces.size(), 1u);
  const NetworkInterface& eni = parsed->network_interfaces[0];
  EXPECT_FALSE(eni.attachment.has_value());
  EXPECT_EQ(eni.status, "available");
  EXPECT_EQ(eni.interface_type, "interface");
  EXPECT_FALSE(eni.source_dest_check);
  EXPECT_EQ(eni.tags.at("Name"), "data-plane");
  EXPECT_EQ(parsed->next_token, "page-2");
}

TEST(Ec2RelaunchParse, MalformedAttachmentIsAnErrorNamingTheField) {
  Result<DescribeNetworkInterfacesResponse> parsed = ParseDescribeNetworkInterfaces(
      "<DescribeNetworkInterfacesResponse><networkInterfaceSet><item>"
      "<networkInterfaceId>eni-1</networkInterfaceId><attachment>"
      "<deviceIndex>one</deviceIndex></attachment></item></networkInterfaceSet>"
      "</DescribeNetworkInterfacesResponse>");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("attachment/deviceIndex is not an integer"),
            std::string::npos)
      << parsed.error().message;

  Result<DescribeNetworkInterfacesResponse> no_id = ParseDescribeNetworkInterfaces(
      "<DescribeNetworkInterfacesResponse><networkInterfaceSet><item><subnetId>s</subnetId>"
      "</item></networkInterfaceSet></DescribeNetworkInterfacesResponse>");
  ASSERT_FALSE(no_id.ok());
  EXPECT_NE(no_id.error().message.find("missing"), std::string::npos) << no_id.error().message;
  EXPECT_NE(no_id.error().message.find("networkInterfaceId"), std::string::npos);
}

// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstanceCreditSpecifications.html
// (instanceCreditSpecificationSet of InstanceCreditSpecification: instanceId, cpuCredits).
TEST(Ec2RelaunchParse, DescribeInstanceCreditSpecifications) {
  Result<DescribeInstanceCreditSpecificationsResponse> parsed =
      ParseDescribeInstanceCreditSpecifications(
          "<DescribeInstanceCreditSpecificationsResponse "
          "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
          "<requestId>1b234b5c-d6ef-7gh8-90i1-j2345678901</requestId>"
          "<instanceCreditSpecificationSet>"
          "<item><instanceId>i-1234567890abcdef0</instanceId><cpuCredits>unlimited</cpuCredits>"
          "</item>"
          "<item><instanceId>i-0598c7d356eba48d7</instanceId><cpuCredits>standard</cpuCredits>"
          "</item>"
          "</instanceCreditSpecificationSet></DescribeInstanceCreditSpecificationsResponse>");
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  ASSERT_EQ(parsed->specifications.size(), 2u);
  EXPECT_EQ(parsed->specifications[0].instance_id, "i-1234567890abcdef0");
  EXPECT_EQ(parsed->specifications[0].cpu_credits, "unlimited");
  EXPECT_EQ(parsed->specifications[1].instance_id, "i-0598c7d356eba48d7");
  EXPECT_EQ(parsed->specifications[1].cpu_credits, "standard");
  EXPECT_EQ(parsed->next_token, "");
}

// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyInstanceCreditSpecification.html
// and API_UnsuccessfulInstanceCreditSpecificationItem.html (error: code, message).
TEST(Ec2RelaunchParse, ModifyInstanceCreditSpecificationListsBothOutcomes) {
  Result<ModifyInstanceCreditSpecificationResponse> parsed = ParseModifyInstanceCreditSpecification(
      "<ModifyInstanceCreditSpecificationResponse>"
      "<requestId>5ad0d7f3-f76a-4e8b-8b1c-example</requestId>"
      "<successfulInstanceCreditSpecificationSet><item>"
      "<instanceId>i-1234567890abcdef0</instanceId></item>"
      "</successfulInstanceCreditSpecificationSet>"
      "<unsuccessfulInstanceCreditSpecificationSet><item>"
      "<instanceId>i-0598c7d356eba48d7</instanceId><error>"
      "<code>IncorrectInstanceState</code><message>The instance is not burstable</message>"
      "</error></item></unsuccessfulInstanceCreditSpecificationSet>"
      "</ModifyInstanceCreditSpecificationResponse>");
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed->successful_instance_ids, std::vector<std::string>{"i-1234567890abcdef0"});
  ASSERT_EQ(parsed->unsuccessful.size(), 1u);
  EXPECT_EQ(parsed->unsuccessful[0].instance_id, "i-0598c7d356eba48d7");
  EXPECT_EQ(parsed->unsuccessful[0].code, "IncorrectInstanceState");
  EXPECT_EQ(parsed->unsuccessful[0].message, "The instance is not burstable");
  EXPECT_EQ(parsed->request_id, "5ad0d7f3-f76a-4e8b-8b1c-example");
}

// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AttachNetworkInterface.html
// (attachmentId, networkCardIndex) and API_AssignPrivateIpAddresses.html
// (assignedPrivateIpAddressesSet of AssignedPrivateIpAddress).
TEST(Ec2RelaunchParse, AttachAndAssignAnswers) {
  Result<AttachNetworkInterfaceResponse> attached = ParseAttachNetworkInterface(
      "<AttachNetworkInterfaceResponse><requestId>ce540707-0635-46bc</requestId>"
      "<attachmentId>eni-attach-d94b09b0</attachmentId><networkCardIndex>0</networkCardIndex>"
      "</AttachNetworkInterfaceResponse>");
  ASSERT_TRUE(attached.ok()) << attached.error().ToString();
  EXPECT_EQ(attached->attachment_id, "eni-attach-d94b09b0");
  EXPECT_EQ(attached->network_card_index, 0);
  EXPECT_EQ(attached->request_id, "ce540707-0635-46bc");

  Result<AttachNetworkInterfaceResponse> no_attachment = ParseAttachNetworkInterface(
      "<AttachNetworkInterfaceResponse><requestId>r</requestId></AttachNetworkInterfaceResponse>");
  ASSERT_FALSE(no_attachment.ok());
  EXPECT_NE(no_attachment.error().message.find("attachmentId"), std::string::npos);
  EXPECT_EQ(no_attachment.error().request_id, "r");

  Result<AssignPrivateIpAddressesResponse> assigned = ParseAssignPrivateIpAddresses(
      "<AssignPrivateIpAddressesResponse><requestId>59dbff89-35bd-4eac</requestId>"
      "<networkInterfaceId>eni-0a1b2c3d4e5f60718</networkInterfaceId>"
      "<assignedPrivateIpAddressesSet><item><privateIpAddress>10.0.2.82</privateIpAddress>"
      "</item><item><privateIpAddress>10.0.2.83</privateIpAddress></item>"
      "</assignedPrivateIpAddressesSet><return>true</return></AssignPrivateIpAddressesResponse>");
  ASSERT_TRUE(assigned.ok()) << assigned.error().ToString();
  EXPECT_EQ(assigned->network_interface_id, "eni-0a1b2c3d4e5f60718");
  EXPECT_EQ(assigned->assigned_private_ips, (std::vector<std::string>{"10.0.2.82", "10.0.2.83"}));
  EXPECT_EQ(assigned->request_id, "59dbff89-35bd-4eac");
}

// botocore's recorded answers: DetachNetworkInterface carries only the request id; the recorded
// AssignPrivateIpAddresses answer has the root <AssignPrivateIpAddresses>, which is refused with
// the element expected.
TEST(Ec2RelaunchParse, RecordedDetachAndMisnamedAssignRoot) {
  Result<RequestReceipt> detached =
      ParseReceipt("DetachNetworkInterface", Recorded("ec2-detach-network-interface", ".xml"));
  ASSERT_TRUE(detached.ok()) << detached.error().ToString();
  EXPECT_EQ(detached->request_id, "ce540707-0635-46bc-97da-33a8a362a0e8");

  Result<AssignPrivateIpAddressesResponse> assigned =
      ParseAssignPrivateIpAddresses(Recorded("ec2-assign-private-ip-addresses", ".xml"));
  ASSERT_FALSE(assigned.ok());
  EXPECT_NE(assigned.error().message.find("expected <AssignPrivateIpAddressesResponse>"),
            std::string::npos)
      << assigned.error().message;
}

TEST(Ec2RelaunchParse, MutatingAnswersCarryTheBodyRequestId) {
  Result<RunInstancesResponse> run = ParseRunInstances(Recorded("ec2-run-instances", ".xml"));
  ASSERT_TRUE(run.ok()) << run.error().ToString();
  EXPECT_FALSE(run->request_id.empty());
  Result<AssociateAddressResponse> associated =
      ParseAssociateAddress(Recorded("ec2-associate-address", ".xml"));
  ASSERT_TRUE(associated.ok()) << associated.error().ToString();
  EXPECT_FALSE(associated->request_id.empty());
  Result<InstanceStateChanges> stopped = ParseInstanceStateChanges(
      "StopInstances",
      "<StopInstancesResponse><requestId>stop-1</requestId><instancesSet><item>"
      "<instanceId>i-1</instanceId><currentState><code>64</code><name>stopping</name>"
      "</currentState><previousState><code>16</code><name>running</name></previousState>"
      "</item></instancesSet></StopInstancesResponse>");
  ASSERT_TRUE(stopped.ok()) << stopped.error().ToString();
  EXPECT_EQ(stopped->request_id, "stop-1");
}

// ---- the wire ----

TEST(Ec2RelaunchClient, ModifyInstanceAttributeSendsOneAttributeAndReturnsTheRequestId) {
  auto transport = std::make_shared<FakeTransport>();
  const std::string ok =
      "<ModifyInstanceAttributeResponse><requestId>body-id</requestId>"
      "<return>true</return></ModifyInstanceAttributeResponse>";
  for (int i = 0; i < 7; ++i) transport->Respond(ok, "req-" + std::to_string(i));
  std::unique_ptr<Ec2> ec2 = MakeEc2Client(transport);

  std::vector<ModifyInstanceAttributeRequest> requests(7);
  for (ModifyInstanceAttributeRequest& r : requests) r.instance_id = "i-1";
  requests[0].disable_api_termination = true;
  requests[1].disable_api_stop = false;
  requests[2].instance_initiated_shutdown_behavior = "terminate";
  requests[3].source_dest_check = false;
  requests[4].user_data_base64 = "IyEvYmluL3NoCg==";  // "#!/bin/sh\n"
  requests[5].ebs_optimized = true;
  requests[6].instance_type = "m5.large";
  const std::vector<std::string> expected = {"DisableApiTermination.Value=true",
                                             "DisableApiStop.Value=false",
                                             "InstanceInitiatedShutdownBehavior.Value=terminate",
                                             "SourceDestCheck.Value=false",
                                             "UserData.Value=IyEvYmluL3NoCg%3D%3D",
                                             "EbsOptimized.Value=true",
                                             "InstanceType.Value=m5.large"};
  for (size_t i = 0; i < requests.size(); ++i) {
    Result<RequestReceipt> receipt = ec2->ModifyInstanceAttribute(requests[i]);
    ASSERT_TRUE(receipt.ok()) << receipt.error().ToString();
    EXPECT_EQ(receipt->request_id, "req-" + std::to_string(i)) << "the transport's id wins";
    EXPECT_EQ(transport->requests()[i].body,
              "Action=ModifyInstanceAttribute&Version=2016-11-15&InstanceId=i-1&" + expected[i]);
  }
}

TEST(Ec2RelaunchClient, ModifyInstanceAttributeRefusesNoneOrSeveralBeforeSending) {
  auto transport = std::make_shared<FakeTransport>();
  std::unique_ptr<Ec2> ec2 = MakeEc2Client(transport);
  ModifyInstanceAttributeRequest nothing;
  nothing.instance_id = "i-1";
  Result<RequestReceipt> none = ec2->ModifyInstanceAttribute(nothing);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(none.error().message.find("exactly one attribute"), std::string::npos);

  ModifyInstanceAttributeRequest two = nothing;
  two.ebs_optimized = true;
  two.instance_type = "m5.large";
  Result<RequestReceipt> several = ec2->ModifyInstanceAttribute(two);
  ASSERT_FALSE(several.ok());
  EXPECT_EQ(several.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(several.error().message.find("got 2 (EbsOptimized, InstanceType)"), std::string::npos)
      << several.error().message;
  EXPECT_NE(several.error().message.find("i-1"), std::string::npos);
  EXPECT_TRUE(transport->requests().empty());
}

TEST(Ec2RelaunchClient, CreditAndInterfaceRequestsOnTheWire) {
  auto transport = std::make_shared<FakeTransport>();
  transport->Respond(
      "<DescribeInstanceCreditSpecificationsResponse><instanceCreditSpecificationSet/>"
      "</DescribeInstanceCreditSpecificationsResponse>");
  transport->Respond(
      "<ModifyInstanceCreditSpecificationResponse><successfulInstanceCreditSpecificationSet>"
      "<item><instanceId>i-1</instanceId></item></successfulInstanceCreditSpecificationSet>"
      "</ModifyInstanceCreditSpecificationResponse>",
      "credit-req");
  transport->Respond(
      "<DescribeNetworkInterfacesResponse><networkInterfaceSet/>"
      "</DescribeNetworkInterfacesResponse>");
  transport->Respond(
      "<AttachNetworkInterfaceResponse><attachmentId>eni-attach-9</attachmentId>"
      "</AttachNetworkInterfaceResponse>",
      "attach-req");
  transport->Respond(
      "<DetachNetworkInterfaceResponse><return>true</return>"
      "</DetachNetworkInterfaceResponse>",
      "detach-req");
  transport->Respond(
      "<ModifyNetworkInterfaceAttributeResponse><return>true</return>"
      "</ModifyNetworkInterfaceAttributeResponse>",
      "dot-req");
  transport->Respond(
      "<AssignPrivateIpAddressesResponse><networkInterfaceId>eni-2"
      "</networkInterfaceId></AssignPrivateIpAddressesResponse>",
      "assign-req");
  transport->Respond(
      "<UnassignPrivateIpAddressesResponse><return>true</return>"
      "</UnassignPrivateIpAddressesResponse>",
      "unassign-req");
  std::unique_ptr<Ec2> ec2 = MakeEc2Client(transport);
  const auto& sent = transport->requests();

  ASSERT_TRUE(ec2->DescribeInstanceCreditSpecifications({{"i-1", "i-2"}, {}, {}, ""}).ok());
  EXPECT_EQ(sent[0].body,
            "Action=DescribeInstanceCreditSpecifications&Version=2016-11-15&InstanceId.1=i-1&"
            "InstanceId.2=i-2");

  Result<ModifyInstanceCreditSpecificationResponse> credits =
      ec2->ModifyInstanceCreditSpecification({{{"i-1", "unlimited"}, {"i-2", "standard"}}, "t-1"});
  ASSERT_TRUE(credits.ok()) << credits.error().ToString();
  EXPECT_EQ(credits->request_id, "credit-req");
  EXPECT_EQ(sent[1].body,
            "Action=ModifyInstanceCreditSpecification&Version=2016-11-15&ClientToken=t-1&"
            "InstanceCreditSpecification.1.InstanceId=i-1&"
            "InstanceCreditSpecification.1.CpuCredits=unlimited&"
            "InstanceCreditSpecification.2.InstanceId=i-2&"
            "InstanceCreditSpecification.2.CpuCredits=standard");

  ASSERT_TRUE(
      ec2->DescribeNetworkInterfaces({{}, {{"attachment.instance-id", {"i-1"}}}, {}, ""}).ok());
  EXPECT_EQ(sent[2].body,
            "Action=DescribeNetworkInterfaces&Version=2016-11-15&"
            "Filter.1.Name=attachment.instance-id&Filter.1.Value.1=i-1");

  Result<AttachNetworkInterfaceResponse> attached =
      ec2->AttachNetworkInterface({"eni-2", "i-9", 1, {}});
  ASSERT_TRUE(attached.ok()) << attached.error().ToString();
  EXPECT_EQ(attached->attachment_id, "eni-attach-9");
  EXPECT_EQ(attached->request_id, "attach-req");
  EXPECT_EQ(sent[3].body,
            "Action=AttachNetworkInterface&Version=2016-11-15&NetworkInterfaceId=eni-2&"
            "InstanceId=i-9&DeviceIndex=1");

  Result<RequestReceipt> detached = ec2->DetachNetworkInterface({"eni-attach-1", true});
  ASSERT_TRUE(detached.ok()) << detached.error().ToString();
  EXPECT_EQ(detached->request_id, "detach-req");
  EXPECT_EQ(sent[4].body,
            "Action=DetachNetworkInterface&Version=2016-11-15&AttachmentId=eni-attach-1&"
            "Force=true");

  Result<RequestReceipt> kept =
      ec2->ModifyNetworkInterfaceAttribute({"eni-2", "eni-attach-9", true});
  ASSERT_TRUE(kept.ok()) << kept.error().ToString();
  EXPECT_EQ(kept->request_id, "dot-req");
  EXPECT_EQ(sent[5].body,
            "Action=ModifyNetworkInterfaceAttribute&Version=2016-11-15&NetworkInterfaceId=eni-2&"
            "Attachment.AttachmentId=eni-attach-9&Attachment.DeleteOnTermination=true");

  Result<AssignPrivateIpAddressesResponse> assigned =
      ec2->AssignPrivateIpAddresses({"eni-2", {"10.0.1.5", "10.0.1.6"}, {}, true});
  ASSERT_TRUE(assigned.ok()) << assigned.error().ToString();
  EXPECT_EQ(assigned->request_id, "assign-req");
  EXPECT_TRUE(Has(sent[6].body, "PrivateIpAddress.1=10.0.1.5")) << sent[6].body;
  EXPECT_TRUE(Has(sent[6].body, "PrivateIpAddress.2=10.0.1.6")) << sent[6].body;
  EXPECT_TRUE(Has(sent[6].body, "AllowReassignment=true")) << sent[6].body;

  Result<RequestReceipt> unassigned = ec2->UnassignPrivateIpAddresses({"eni-1", {"10.0.1.5"}});
  ASSERT_TRUE(unassigned.ok()) << unassigned.error().ToString();
  EXPECT_EQ(unassigned->request_id, "unassign-req");
  EXPECT_EQ(sent[7].body,
            "Action=UnassignPrivateIpAddresses&Version=2016-11-15&NetworkInterfaceId=eni-1&"
            "PrivateIpAddress.1=10.0.1.5");
}

// The request id of a successful mutating call comes from the transport (x-amzn-RequestId); when
// the transport had none, from the body's <requestId>.
TEST(Ec2RelaunchClient, SuccessfulMutatingCallsCarryTheirRequestId) {
  auto transport = std::make_shared<FakeTransport>();
  transport->Respond(Recorded("ec2-run-instances", ".xml"), "header-id");
  transport->Respond(
      "<TerminateInstancesResponse><requestId>body-id</requestId><instancesSet/>"
      "</TerminateInstancesResponse>",
      "");
  transport->Respond(
      "<AttachVolumeResponse><requestId>b</requestId><volumeId>vol-1</volumeId>"
      "<status>attaching</status></AttachVolumeResponse>",
      "attach-volume-id");
  transport->Respond(
      "<CreateReplaceRootVolumeTaskResponse><replaceRootVolumeTask>"
      "<replaceRootVolumeTaskId>replacevol-1</replaceRootVolumeTaskId></replaceRootVolumeTask>"
      "</CreateReplaceRootVolumeTaskResponse>",
      "rrv-id");
  std::unique_ptr<Ec2> ec2 = MakeEc2Client(transport);

  RunInstancesRequest run;
  run.image_id = "ami-1";
  Result<RunInstancesResponse> launched = ec2->RunInstances(run);
  ASSERT_TRUE(launched.ok()) << launched.error().ToString();
  EXPECT_EQ(launched->request_id, "header-id");
  Result<InstanceStateChanges> terminated = ec2->TerminateInstances({{"i-1"}});
  ASSERT_TRUE(terminated.ok()) << terminated.error().ToString();
  EXPECT_EQ(terminated->request_id, "body-id");
  Result<VolumeAttachment> attached = ec2->AttachVolume({"vol-1", "i-1", "/dev/sdf"});
  ASSERT_TRUE(attached.ok()) << attached.error().ToString();
  EXPECT_EQ(attached->request_id, "attach-volume-id");
  Result<ReplaceRootVolumeTask> task =
      ec2->CreateReplaceRootVolumeTask({"i-1", "ami-2", "", true, "rrv-token", {}});
  ASSERT_TRUE(task.ok()) << task.error().ToString();
  EXPECT_EQ(task->request_id, "rrv-id");
}

// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GetLaunchTemplateData.html: the
// answer's <launchTemplateData> holds the members of API_ResponseLaunchTemplateData.html (userData,
// disableApiTermination, disableApiStop, instanceInitiatedShutdownBehavior, creditSpecification,
// metadataOptions, placement, iamInstanceProfile, ...), written here after that page.
TEST(Ec2RelaunchParse, GetLaunchTemplateDataCarriesWhatDescribeInstancesLeavesOut) {
  Result<InstanceLaunchData> parsed = ParseGetLaunchTemplateData(
      "<GetLaunchTemplateDataResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
      "<requestId>65cadec1-b364-4354-8ca8-4176dexample</requestId>"
      "<launchTemplateData>"
      "<blockDeviceMappingSet><item><deviceName>/dev/xvda</deviceName><ebs>"
      "<deleteOnTermination>true</deleteOnTermination><volumeSize>8</volumeSize>"
      "<volumeType>gp3</volumeType></ebs></item></blockDeviceMappingSet>"
      "<creditSpecification><cpuCredits>unlimited</cpuCredits></creditSpecification>"
      "<disableApiStop>true</disableApiStop>"
      "<disableApiTermination>true</disableApiTermination>"
      "<ebsOptimized>false</ebsOptimized>"
      "<iamInstanceProfile><arn>arn:aws:iam::123456789012:instance-profile/web</arn>"
      "</iamInstanceProfile>"
      "<imageId>ami-0abcdef1234567890</imageId>"
      "<instanceInitiatedShutdownBehavior>terminate</instanceInitiatedShutdownBehavior>"
      "<instanceType>t3.micro</instanceType>"
      "<keyName>my-key-pair</keyName>"
      "<metadataOptions><httpTokens>required</httpTokens>"
      "<httpPutResponseHopLimit>2</httpPutResponseHopLimit><httpEndpoint>enabled</httpEndpoint>"
      "<instanceMetadataTags>disabled</instanceMetadataTags></metadataOptions>"
      "<monitoring><enabled>false</enabled></monitoring>"
      "<placement><availabilityZone>us-east-2b</availabilityZone><groupName/>"
      "<tenancy>default</tenancy></placement>"
      "<userData>IyEvYmluL3NoCmVjaG8gaGVsbG8K</userData>"
      "</launchTemplateData></GetLaunchTemplateDataResponse>");
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed->user_data_base64, "IyEvYmluL3NoCmVjaG8gaGVsbG8K");
  EXPECT_TRUE(parsed->disable_api_termination);
  EXPECT_TRUE(parsed->disable_api_stop);
  EXPECT_EQ(parsed->instance_initiated_shutdown_behavior, "terminate");
  EXPECT_EQ(parsed->cpu_credits, "unlimited");
  EXPECT_EQ(parsed->ebs_optimized, std::optional<bool>(false));
  EXPECT_EQ(parsed->image_id, "ami-0abcdef1234567890");
  EXPECT_EQ(parsed->instance_type, "t3.micro");
  EXPECT_EQ(parsed->key_name, "my-key-pair");
  EXPECT_EQ(parsed->iam_instance_profile_arn, "arn:aws:iam::123456789012:instance-profile/web");
  ASSERT_TRUE(parsed->metadata_options.has_value());
  EXPECT_EQ(parsed->metadata_options->http_tokens, "required");
  EXPECT_EQ(parsed->metadata_options->http_put_response_hop_limit, std::optional<int64_t>(2));
  EXPECT_EQ(parsed->placement.availability_zone, "us-east-2b");
  EXPECT_EQ(parsed->placement.tenancy, "default");
  EXPECT_EQ(parsed->request_id, "65cadec1-b364-4354-8ca8-4176dexample");

  // An instance without user data, protections or a credit option (not burstable): the
  // elements are absent.
  Result<InstanceLaunchData> plain = ParseGetLaunchTemplateData(
      "<GetLaunchTemplateDataResponse><requestId>r</requestId><launchTemplateData>"
      "<imageId>ami-1</imageId><instanceType>m5.large</instanceType></launchTemplateData>"
      "</GetLaunchTemplateDataResponse>");
  ASSERT_TRUE(plain.ok()) << plain.error().ToString();
  EXPECT_EQ(plain->user_data_base64, "");
  EXPECT_FALSE(plain->disable_api_termination);
  EXPECT_FALSE(plain->disable_api_stop);
  EXPECT_EQ(plain->cpu_credits, "");
  EXPECT_FALSE(plain->metadata_options.has_value());
}

TEST(Ec2RelaunchParse, GetLaunchTemplateDataWithoutDataOrWithBadValuesNamesTheField) {
  Result<InstanceLaunchData> empty = ParseGetLaunchTemplateData(
      "<GetLaunchTemplateDataResponse><requestId>r</requestId></GetLaunchTemplateDataResponse>");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("launchTemplateData"), std::string::npos)
      << empty.error().message;

  Result<InstanceLaunchData> bad = ParseGetLaunchTemplateData(
      "<GetLaunchTemplateDataResponse><launchTemplateData>"
      "<disableApiStop>maybe</disableApiStop></launchTemplateData>"
      "</GetLaunchTemplateDataResponse>");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("disableApiStop"), std::string::npos) << bad.error().message;
}

TEST(Ec2RelaunchClient, GetLaunchTemplateDataAsksForOneInstanceAndNamesIt) {
  auto transport = std::make_shared<FakeTransport>();
  transport->Respond(
      "<GetLaunchTemplateDataResponse><launchTemplateData><userData>ZWNobwo=</userData>"
      "</launchTemplateData></GetLaunchTemplateDataResponse>",
      "gltd-req");
  std::unique_ptr<Ec2> ec2 = MakeEc2Client(transport);
  Result<InstanceLaunchData> data = ec2->GetLaunchTemplateData({"i-0123d646e8048babc"});
  ASSERT_TRUE(data.ok()) << data.error().ToString();
  EXPECT_EQ(transport->requests()[0].body,
            "Action=GetLaunchTemplateData&Version=2016-11-15&InstanceId=i-0123d646e8048babc");
  EXPECT_EQ(data->instance_id, "i-0123d646e8048babc");
  EXPECT_EQ(data->user_data_base64, "ZWNobwo=");
  EXPECT_EQ(data->request_id, "gltd-req");
}

}  // namespace
}  // namespace fleetkeeper::aws
