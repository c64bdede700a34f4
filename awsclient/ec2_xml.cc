// EC2 query responses (API version 2016-11-15): the readers of each action's result element, and
// the parsers of recorded responses. Element names follow the EC2 API reference
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/, one page per action).
#include "awsclient/ec2_xml.h"

#include <optional>
#include <utility>

namespace fleetkeeper::aws::ec2_xml {
namespace {

Tags ReadTags(XmlReader& r, pugi::xml_node parent) {
  Tags tags;
  for (pugi::xml_node item : r.Items(parent, "tagSet")) {
    tags[item.child_value("key")] = item.child_value("value");
  }
  return tags;
}

InstanceState ReadState(XmlReader& r, pugi::xml_node node) {
  InstanceState s;
  s.code = static_cast<int>(r.Int(node, "code"));
  s.name = r.Text(node, "name");
  return s;
}

std::vector<SecurityGroupRef> ReadGroups(XmlReader& r, pugi::xml_node parent) {
  std::vector<SecurityGroupRef> groups;
  for (pugi::xml_node item : r.Items(parent, "groupSet")) {
    groups.push_back({item.child_value("groupId"), item.child_value("groupName")});
  }
  return groups;
}

std::vector<PrivateIp> ReadPrivateIps(XmlReader& r, pugi::xml_node parent) {
  std::vector<PrivateIp> ips;
  for (pugi::xml_node ip : r.Items(parent, "privateIpAddressesSet")) {
    ips.push_back({ip.child_value("privateIpAddress"), r.Bool(ip, "primary")});
  }
  return ips;
}

// The <metadataOptions> of an instance or of launch template data; absent when the element is.
std::optional<MetadataOptions> ReadMetadataOptions(XmlReader& r, pugi::xml_node parent) {
  pugi::xml_node m = parent.child("metadataOptions");
  if (!m) return std::nullopt;
  MetadataOptions o;
  o.state = r.Text(m, "state");
  o.http_tokens = r.Text(m, "httpTokens");
  o.http_put_response_hop_limit = r.OptInt(m, "httpPutResponseHopLimit");
  o.http_endpoint = r.Text(m, "httpEndpoint");
  o.http_protocol_ipv6 = r.Text(m, "httpProtocolIpv6");
  o.instance_metadata_tags = r.Text(m, "instanceMetadataTags");
  return o;
}

InstanceNetworkInterface ReadNetworkInterface(XmlReader& r, pugi::xml_node n) {
  InstanceNetworkInterface nic;
  nic.id = r.Text(n, "networkInterfaceId");
  nic.subnet_id = r.Text(n, "subnetId");
  nic.vpc_id = r.Text(n, "vpcId");
  nic.description = r.Text(n, "description");
  nic.status = r.Text(n, "status");
  nic.private_ip = r.Text(n, "privateIpAddress");
  nic.source_dest_check = r.Bool(n, "sourceDestCheck", true);
  nic.public_ip = r.Text(n.child("association"), "publicIp");
  nic.security_groups = ReadGroups(r, n);
  pugi::xml_node attachment = n.child("attachment");
  nic.attachment_id = r.Text(attachment, "attachmentId");
  nic.device_index = static_cast<int>(r.Int(attachment, "deviceIndex"));
  nic.delete_on_termination = r.Bool(attachment, "deleteOnTermination");
  nic.private_ips = ReadPrivateIps(r, n);
  return nic;
}

// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_NetworkInterface.html

NetworkInterface ReadNetworkInterfaceDescription(XmlReader& r, pugi::xml_node n) {
  NetworkInterface eni;
  r.Require(n, "networkInterfaceId");
  eni.id = r.Text(n, "networkInterfaceId");
  eni.subnet_id = r.Text(n, "subnetId");
  eni.vpc_id = r.Text(n, "vpcId");
  eni.availability_zone = r.Text(n, "availabilityZone");
  eni.description = r.Text(n, "description");
  eni.owner_id = r.Text(n, "ownerId");
  eni.interface_type = r.Text(n, "interfaceType");
  eni.status = r.Text(n, "status");
  eni.mac_address = r.Text(n, "macAddress");
  eni.private_ip = r.Text(n, "privateIpAddress");
  eni.private_ips = ReadPrivateIps(r, n);
  eni.public_ip = r.Text(n.child("association"), "publicIp");
  eni.security_groups = ReadGroups(r, n);
  eni.source_dest_check = r.Bool(n, "sourceDestCheck", true);
  eni.requester_managed = r.Bool(n, "requesterManaged");
  if (pugi::xml_node a = n.child("attachment")) {
    NetworkInterfaceAttachment att;
    att.attachment_id = r.Text(a, "attachmentId");
    att.instance_id = r.Text(a, "instanceId");
    att.instance_owner_id = r.Text(a, "instanceOwnerId");
    att.device_index = static_cast<int>(r.Int(a, "deviceIndex"));
    att.network_card_index = r.OptInt(a, "networkCardIndex");
    att.status = r.Text(a, "status");
    att.delete_on_termination = r.Bool(a, "deleteOnTermination");
    att.attach_time_ms = r.TimeMs(a, "attachTime");
    eni.attachment = std::move(att);
  }
  eni.tags = ReadTags(r, n);
  return eni;
}

Instance ReadInstance(XmlReader& r, pugi::xml_node n) {
  Instance i;
  r.Require(n, "instanceId");
  i.id = r.Text(n, "instanceId");
  i.image_id = r.Text(n, "imageId");
  i.state = ReadState(r, n.child("instanceState"));
  i.state_reason_code = r.Text(n.child("stateReason"), "code");
  i.instance_type = r.Text(n, "instanceType");
  i.subnet_id = r.Text(n, "subnetId");
  i.vpc_id = r.Text(n, "vpcId");
  i.private_ip = r.Text(n, "privateIpAddress");
  i.private_dns_name = r.Text(n, "privateDnsName");
  i.public_ip = r.Text(n, "ipAddress");
  i.public_dns_name = r.Text(n, "dnsName");
  i.key_name = r.Text(n, "keyName");
  i.iam_instance_profile_arn = r.Text(n.child("iamInstanceProfile"), "arn");
  pugi::xml_node placement = n.child("placement");
  i.placement.availability_zone = r.Text(placement, "availabilityZone");
  i.placement.tenancy = r.Text(placement, "tenancy");
  i.placement.group_name = r.Text(placement, "groupName");
  i.placement.group_id = r.Text(placement, "groupId");
  i.security_groups = ReadGroups(r, n);
  for (pugi::xml_node nic : r.Items(n, "networkInterfaceSet")) {
    i.network_interfaces.push_back(ReadNetworkInterface(r, nic));
  }
  for (pugi::xml_node bd : r.Items(n, "blockDeviceMapping")) {
    InstanceBlockDevice d;
    d.device_name = r.Text(bd, "deviceName");
    pugi::xml_node ebs = bd.child("ebs");
    d.volume_id = r.Text(ebs, "volumeId");
    d.status = r.Text(ebs, "status");
    d.delete_on_termination = r.Bool(ebs, "deleteOnTermination");
    d.attach_time_ms = r.TimeMs(ebs, "attachTime");
    i.block_devices.push_back(std::move(d));
  }
  i.root_device_name = r.Text(n, "rootDeviceName");
  i.root_device_type = r.Text(n, "rootDeviceType");
  i.ebs_optimized = r.Bool(n, "ebsOptimized");
  i.tags = ReadTags(r, n);
  i.launch_time_ms = r.TimeMs(n, "launchTime");
  i.metadata_options = ReadMetadataOptions(r, n);
  i.client_token = r.Text(n, "clientToken");
  i.platform = r.Text(n, "platform");
  i.architecture = r.Text(n, "architecture");
  i.monitoring_state = r.Text(n.child("monitoring"), "state");
  return i;
}

std::vector<Instance> ReadReservation(XmlReader& r, pugi::xml_node reservation,
                                      std::string* reservation_id) {
  std::vector<Instance> out;
  std::string id = r.Text(reservation, "reservationId");
  std::string owner = r.Text(reservation, "ownerId");
  for (pugi::xml_node item : r.Items(reservation, "instancesSet")) {
    Instance i = ReadInstance(r, item);
    i.reservation_id = id;
    i.owner_id = owner;
    out.push_back(std::move(i));
  }
  if (reservation_id) *reservation_id = id;
  return out;
}

std::vector<InstanceStateChange> ReadStateChanges(XmlReader& r, pugi::xml_node result) {
  std::vector<InstanceStateChange> out;
  for (pugi::xml_node item : r.Items(result, "instancesSet")) {
    out.push_back({r.Text(item, "instanceId"), ReadState(r, item.child("currentState")),
                   ReadState(r, item.child("previousState"))});
  }
  return out;
}

Image ReadImage(XmlReader& r, pugi::xml_node n) {
  Image i;
  r.Require(n, "imageId");
  i.id = r.Text(n, "imageId");
  i.name = r.Text(n, "name");
  i.description = r.Text(n, "description");
  i.state = r.Text(n, "imageState");
  i.state_reason_code = r.Text(n.child("stateReason"), "code");
  i.state_reason_message = r.Text(n.child("stateReason"), "message");
  i.owner_id = r.Text(n, "imageOwnerId");
  i.creation_date = r.Text(n, "creationDate");
  i.architecture = r.Text(n, "architecture");
  i.image_type = r.Text(n, "imageType");
  i.platform = r.Text(n, "platform");
  i.root_device_name = r.Text(n, "rootDeviceName");
  i.root_device_type = r.Text(n, "rootDeviceType");
  i.virtualization_type = r.Text(n, "virtualizationType");
  i.is_public = r.OptBool(n, "isPublic");
  for (pugi::xml_node bd : r.Items(n, "blockDeviceMapping")) {
    ImageBlockDevice d;
    d.device_name = r.Text(bd, "deviceName");
    d.virtual_name = r.Text(bd, "virtualName");
    pugi::xml_node ebs = bd.child("ebs");
    d.snapshot_id = r.Text(ebs, "snapshotId");
    d.volume_size_gib = r.OptInt(ebs, "volumeSize");
    d.volume_type = r.Text(ebs, "volumeType");
    d.encrypted = r.OptBool(ebs, "encrypted");
    d.delete_on_termination = r.OptBool(ebs, "deleteOnTermination");
    i.block_devices.push_back(std::move(d));
  }
  i.tags = ReadTags(r, n);
  return i;
}

Volume ReadVolume(XmlReader& r, pugi::xml_node n) {
  Volume v;
  r.Require(n, "volumeId");
  v.id = r.Text(n, "volumeId");
  v.size_gib = r.Int(n, "size");
  v.volume_type = r.Text(n, "volumeType");
  v.iops = r.OptInt(n, "iops");
  v.throughput_mibps = r.OptInt(n, "throughput");
  v.encrypted = r.Bool(n, "encrypted");
  v.kms_key_id = r.Text(n, "kmsKeyId");
  v.state = r.Text(n, "status");
  v.availability_zone = r.Text(n, "availabilityZone");
  v.snapshot_id = r.Text(n, "snapshotId");
  v.create_time_ms = r.TimeMs(n, "createTime");
  for (pugi::xml_node a : r.Items(n, "attachmentSet")) {
    v.attachments.push_back(ReadAttachment(r, a));
  }
  v.tags = ReadTags(r, n);
  return v;
}

template <typename T, typename Read>
Result<T> Parse(const char* action, const std::string& xml, Read&& read) {
  return ParseAndRead<T>(QueryFlavor::kEc2, action, xml, std::forward<Read>(read));
}

template <typename T, typename Read>
Result<T> ParseRecorded(const std::string& action, const std::string& xml, Read&& read) {
  return ReadRecorded<T>(action, ParseQueryResponse(QueryFlavor::kEc2, action, xml),
                         std::forward<Read>(read));
}

}  // namespace

VolumeAttachment ReadAttachment(XmlReader& r, pugi::xml_node n) {
  VolumeAttachment a;
  a.volume_id = r.Text(n, "volumeId");
  a.instance_id = r.Text(n, "instanceId");
  a.device = r.Text(n, "device");
  a.state = r.Text(n, "status");
  a.delete_on_termination = r.OptBool(n, "deleteOnTermination");
  a.attach_time_ms = r.TimeMs(n, "attachTime");
  return a;
}

LaunchTemplateVersion ReadLaunchTemplateVersion(XmlReader& r, pugi::xml_node n) {
  LaunchTemplateVersion v;
  v.launch_template_id = r.Text(n, "launchTemplateId");
  v.launch_template_name = r.Text(n, "launchTemplateName");
  r.Require(n, "versionNumber");
  v.version_number = r.Int(n, "versionNumber");
  v.version_description = r.Text(n, "versionDescription");
  v.default_version = r.Bool(n, "defaultVersion");
  v.create_time_ms = r.TimeMs(n, "createTime");
  pugi::xml_node data = n.child("launchTemplateData");
  v.image_id = r.Text(data, "imageId");
  v.instance_type = r.Text(data, "instanceType");
  v.key_name = r.Text(data, "keyName");
  v.iam_instance_profile_arn = r.Text(data.child("iamInstanceProfile"), "arn");
  v.iam_instance_profile_name = r.Text(data.child("iamInstanceProfile"), "name");
  for (pugi::xml_node item : r.Items(data, "securityGroupIdSet")) {
    v.security_group_ids.emplace_back(item.child_value());
  }
  v.has_instance_requirements = static_cast<bool>(data.child("instanceRequirements"));
  v.has_network_interfaces = !r.Items(data, "networkInterfaceSet").empty();
  return v;
}

ReplaceRootVolumeTask ReadReplaceRootVolumeTask(XmlReader& r, pugi::xml_node n) {
  ReplaceRootVolumeTask t;
  r.Require(n, "replaceRootVolumeTaskId");
  t.id = r.Text(n, "replaceRootVolumeTaskId");
  t.instance_id = r.Text(n, "instanceId");
  t.state = r.Text(n, "taskState");
  t.image_id = r.Text(n, "imageId");
  t.snapshot_id = r.Text(n, "snapshotId");
  t.delete_replaced_root_volume = r.OptBool(n, "deleteReplacedRootVolume");
  t.start_time = r.Text(n, "startTime");
  t.complete_time = r.Text(n, "completeTime");
  t.tags = ReadTags(r, n);
  return t;
}

RequestReceipt ReadNothing(XmlReader&, pugi::xml_node) { return RequestReceipt{}; }

DescribeInstancesResponse ReadDescribeInstances(XmlReader& r, pugi::xml_node result) {
  DescribeInstancesResponse out;
  for (pugi::xml_node reservation : r.Items(result, "reservationSet")) {
    for (Instance& i : ReadReservation(r, reservation, nullptr)) {
      out.instances.push_back(std::move(i));
    }
  }
  out.next_token = r.Text(result, "nextToken");
  return out;
}

RunInstancesResponse ReadRunInstances(XmlReader& r, pugi::xml_node result) {
  RunInstancesResponse out;
  out.instances = ReadReservation(r, result, &out.reservation_id);
  return out;
}

InstanceStateChanges ReadStateChangeSet(XmlReader& r, pugi::xml_node result) {
  return InstanceStateChanges{ReadStateChanges(r, result)};
}

DescribeInstanceStatusResponse ReadDescribeInstanceStatus(XmlReader& r, pugi::xml_node result) {
  DescribeInstanceStatusResponse out;
  for (pugi::xml_node n : r.Items(result, "instanceStatusSet")) {
    InstanceStatus s;
    s.instance_id = r.Text(n, "instanceId");
    s.availability_zone = r.Text(n, "availabilityZone");
    s.state = ReadState(r, n.child("instanceState"));
    s.system_status = r.Text(n.child("systemStatus"), "status");
    s.instance_status = r.Text(n.child("instanceStatus"), "status");
    out.statuses.push_back(std::move(s));
  }
  out.next_token = r.Text(result, "nextToken");
  return out;
}

DescribeImagesResponse ReadDescribeImages(XmlReader& r, pugi::xml_node result) {
  DescribeImagesResponse out;
  for (pugi::xml_node n : r.Items(result, "imagesSet")) out.images.push_back(ReadImage(r, n));
  out.next_token = r.Text(result, "nextToken");
  return out;
}

DescribeVolumesResponse ReadDescribeVolumes(XmlReader& r, pugi::xml_node result) {
  DescribeVolumesResponse out;
  for (pugi::xml_node n : r.Items(result, "volumeSet")) out.volumes.push_back(ReadVolume(r, n));
  out.next_token = r.Text(result, "nextToken");
  return out;
}

DescribeAddressesResponse ReadDescribeAddresses(XmlReader& r, pugi::xml_node result) {
  DescribeAddressesResponse out;
  for (pugi::xml_node n : r.Items(result, "addressesSet")) {
    Address a;
    a.public_ip = r.Text(n, "publicIp");
    a.allocation_id = r.Text(n, "allocationId");
    a.association_id = r.Text(n, "associationId");
    a.domain = r.Text(n, "domain");
    a.instance_id = r.Text(n, "instanceId");
    a.network_interface_id = r.Text(n, "networkInterfaceId");
    a.private_ip = r.Text(n, "privateIpAddress");
    a.tags = ReadTags(r, n);
    out.addresses.push_back(std::move(a));
  }
  return out;
}

AssociateAddressResponse ReadAssociateAddress(XmlReader& r, pugi::xml_node result) {
  return AssociateAddressResponse{r.Text(result, "associationId")};
}

InstanceAttribute ReadInstanceAttribute(XmlReader& r, pugi::xml_node result) {
  InstanceAttribute a;
  a.instance_id = r.Text(result, "instanceId");
  // The attribute is the one element besides requestId/instanceId; its value is <value>.
  for (pugi::xml_node child : result.children()) {
    std::string name = child.name();
    if (child.type() != pugi::node_element || name == "requestId" || name == "instanceId") {
      continue;
    }
    if (pugi::xml_node value = child.child("value")) {
      a.value = value.child_value();
      a.present = true;
    }
  }
  return a;
}

// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GetLaunchTemplateData.html: the
// members of <launchTemplateData> are those of ResponseLaunchTemplateData. An element that is
// absent leaves its default (no user data, protections off).
InstanceLaunchData ReadLaunchTemplateData(XmlReader& r, pugi::xml_node result) {
  r.Require(result, "launchTemplateData");
  pugi::xml_node d = result.child("launchTemplateData");
  InstanceLaunchData out;
  out.image_id = r.Text(d, "imageId");
  out.instance_type = r.Text(d, "instanceType");
  out.key_name = r.Text(d, "keyName");
  out.user_data_base64 = r.Text(d, "userData");
  out.disable_api_termination = r.Bool(d, "disableApiTermination");
  out.disable_api_stop = r.Bool(d, "disableApiStop");
  out.instance_initiated_shutdown_behavior = r.Text(d, "instanceInitiatedShutdownBehavior");
  out.cpu_credits = r.Text(d.child("creditSpecification"), "cpuCredits");
  out.ebs_optimized = r.OptBool(d, "ebsOptimized");
  out.iam_instance_profile_arn = r.Text(d.child("iamInstanceProfile"), "arn");
  out.iam_instance_profile_name = r.Text(d.child("iamInstanceProfile"), "name");
  out.metadata_options = ReadMetadataOptions(r, d);
  pugi::xml_node placement = d.child("placement");
  out.placement.availability_zone = r.Text(placement, "availabilityZone");
  out.placement.tenancy = r.Text(placement, "tenancy");
  out.placement.group_name = r.Text(placement, "groupName");
  out.placement.group_id = r.Text(placement, "groupId");
  return out;
}

DescribeNetworkInterfacesResponse ReadDescribeNetworkInterfaces(XmlReader& r,
                                                                pugi::xml_node result) {
  DescribeNetworkInterfacesResponse out;
  for (pugi::xml_node n : r.Items(result, "networkInterfaceSet")) {
    out.network_interfaces.push_back(ReadNetworkInterfaceDescription(r, n));
  }
  out.next_token = r.Text(result, "nextToken");
  return out;
}

// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstanceCreditSpecifications.html
DescribeInstanceCreditSpecificationsResponse ReadDescribeInstanceCreditSpecifications(
    XmlReader& r, pugi::xml_node result) {
  DescribeInstanceCreditSpecificationsResponse out;
  for (pugi::xml_node n : r.Items(result, "instanceCreditSpecificationSet")) {
    out.specifications.push_back({r.Text(n, "instanceId"), r.Text(n, "cpuCredits")});
  }
  out.next_token = r.Text(result, "nextToken");
  return out;
}

// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyInstanceCreditSpecification.html
ModifyInstanceCreditSpecificationResponse ReadModifyInstanceCreditSpecification(
    XmlReader& r, pugi::xml_node result) {
  ModifyInstanceCreditSpecificationResponse out;
  out.successful_instance_ids =
      r.ItemTexts(result, "successfulInstanceCreditSpecificationSet", "instanceId");
  for (pugi::xml_node n : r.Items(result, "unsuccessfulInstanceCreditSpecificationSet")) {
    pugi::xml_node error = n.child("error");
    out.unsuccessful.push_back(
        {r.Text(n, "instanceId"), r.Text(error, "code"), r.Text(error, "message")});
  }
  return out;
}

AttachNetworkInterfaceResponse ReadAttachNetworkInterface(XmlReader& r, pugi::xml_node result) {
  AttachNetworkInterfaceResponse out;
  r.Require(result, "attachmentId");
  out.attachment_id = r.Text(result, "attachmentId");
  out.network_card_index = r.OptInt(result, "networkCardIndex");
  return out;
}

AssignPrivateIpAddressesResponse ReadAssignPrivateIpAddresses(XmlReader& r, pugi::xml_node result) {
  AssignPrivateIpAddressesResponse out;
  out.network_interface_id = r.Text(result, "networkInterfaceId");
  out.assigned_private_ips =
      r.ItemTexts(result, "assignedPrivateIpAddressesSet", "privateIpAddress");
  return out;
}

}  // namespace fleetkeeper::aws::ec2_xml

namespace fleetkeeper::aws {

using namespace ec2_xml;

Result<DescribeInstancesResponse> ParseDescribeInstances(const std::string& xml) {
  return Parse<DescribeInstancesResponse>("DescribeInstances", xml, ReadDescribeInstances);
}
Result<DescribeImagesResponse> ParseDescribeImages(const std::string& xml) {
  return Parse<DescribeImagesResponse>("DescribeImages", xml, ReadDescribeImages);
}
Result<DescribeVolumesResponse> ParseDescribeVolumes(const std::string& xml) {
  return Parse<DescribeVolumesResponse>("DescribeVolumes", xml, ReadDescribeVolumes);
}
Result<DescribeAddressesResponse> ParseDescribeAddresses(const std::string& xml) {
  return Parse<DescribeAddressesResponse>("DescribeAddresses", xml, ReadDescribeAddresses);
}
Result<DescribeInstanceStatusResponse> ParseDescribeInstanceStatus(const std::string& xml) {
  return Parse<DescribeInstanceStatusResponse>("DescribeInstanceStatus", xml,
                                               ReadDescribeInstanceStatus);
}
Result<RunInstancesResponse> ParseRunInstances(const std::string& xml) {
  return ParseRecorded<RunInstancesResponse>("RunInstances", xml, ReadRunInstances);
}
Result<InstanceStateChanges> ParseInstanceStateChanges(const std::string& action,
                                                       const std::string& xml) {
  return ParseRecorded<InstanceStateChanges>(action, xml, ReadStateChangeSet);
}
Result<VolumeAttachment> ParseVolumeAttachment(const std::string& action, const std::string& xml) {
  return ParseRecorded<VolumeAttachment>(action, xml, ReadAttachment);
}
Result<AssociateAddressResponse> ParseAssociateAddress(const std::string& xml) {
  return ParseRecorded<AssociateAddressResponse>("AssociateAddress", xml, ReadAssociateAddress);
}
Result<InstanceAttribute> ParseDescribeInstanceAttribute(const std::string& xml) {
  return Parse<InstanceAttribute>("DescribeInstanceAttribute", xml, ReadInstanceAttribute);
}

Result<InstanceLaunchData> ParseGetLaunchTemplateData(const std::string& xml) {
  return ParseRecorded<InstanceLaunchData>("GetLaunchTemplateData", xml, ReadLaunchTemplateData);
}

Result<DescribeNetworkInterfacesResponse> ParseDescribeNetworkInterfaces(const std::string& xml) {
  return Parse<DescribeNetworkInterfacesResponse>("DescribeNetworkInterfaces", xml,
                                                  ReadDescribeNetworkInterfaces);
}
Result<DescribeInstanceCreditSpecificationsResponse> ParseDescribeInstanceCreditSpecifications(
    const std::string& xml) {
  return Parse<DescribeInstanceCreditSpecificationsResponse>(
      "DescribeInstanceCreditSpecifications", xml, ReadDescribeInstanceCreditSpecifications);
}
Result<ModifyInstanceCreditSpecificationResponse> ParseModifyInstanceCreditSpecification(
    const std::string& xml) {
  return ParseRecorded<ModifyInstanceCreditSpecificationResponse>(
      "ModifyInstanceCreditSpecification", xml, ReadModifyInstanceCreditSpecification);
}
Result<AttachNetworkInterfaceResponse> ParseAttachNetworkInterface(const std::string& xml) {
  return ParseRecorded<AttachNetworkInterfaceResponse>("AttachNetworkInterface", xml,
                                                       ReadAttachNetworkInterface);
}
Result<AssignPrivateIpAddressesResponse> ParseAssignPrivateIpAddresses(const std::string& xml) {
  return ParseRecorded<AssignPrivateIpAddressesResponse>("AssignPrivateIpAddresses", xml,
                                                         ReadAssignPrivateIpAddresses);
}
Result<RequestReceipt> ParseReceipt(const std::string& action, const std::string& xml) {
  return ParseRecorded<RequestReceipt>(action, xml, ReadNothing);
}

}  // namespace fleetkeeper::aws
