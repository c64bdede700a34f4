// EC2 over the EC2 query protocol (API version 2016-11-15): "Name.N" lists, <item> lists in
// responses, <requestId> at the root. Parameter and element names follow the EC2 API reference
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/, one page per action).
#include <utility>

#include "awsclient/ec2.h"
#include "awsclient/query_protocol.h"

namespace fleetkeeper::aws {
namespace {

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

// ---- response parsing ----

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
  if (pugi::xml_node m = n.child("metadataOptions")) {
    MetadataOptions o;
    o.state = r.Text(m, "state");
    o.http_tokens = r.Text(m, "httpTokens");
    o.http_put_response_hop_limit = r.OptInt(m, "httpPutResponseHopLimit");
    o.http_endpoint = r.Text(m, "httpEndpoint");
    o.http_protocol_ipv6 = r.Text(m, "httpProtocolIpv6");
    o.instance_metadata_tags = r.Text(m, "instanceMetadataTags");
    i.metadata_options = std::move(o);
  }
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

template <typename T, typename Read>
Result<T> Parse(const char* action, const std::string& xml, Read&& read) {
  return ParseAndRead<T>(QueryFlavor::kEc2, action, xml, std::forward<Read>(read));
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

template <typename T, typename Read>
Result<T> ParseRecorded(const std::string& action, const std::string& xml, Read&& read) {
  return ReadRecorded<T>(action, ParseQueryResponse(QueryFlavor::kEc2, action, xml),
                         std::forward<Read>(read));
}

auto ReadNothing = [](XmlReader&, pugi::xml_node) { return RequestReceipt{}; };

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

auto ReadDescribeInstances = [](XmlReader& r, pugi::xml_node result) {
  DescribeInstancesResponse out;
  for (pugi::xml_node reservation : r.Items(result, "reservationSet")) {
    for (Instance& i : ReadReservation(r, reservation, nullptr)) {
      out.instances.push_back(std::move(i));
    }
  }
  out.next_token = r.Text(result, "nextToken");
  return out;
};

auto ReadRunInstances = [](XmlReader& r, pugi::xml_node result) {
  RunInstancesResponse out;
  out.instances = ReadReservation(r, result, &out.reservation_id);
  return out;
};

auto ReadStateChangeSet = [](XmlReader& r, pugi::xml_node result) {
  return InstanceStateChanges{ReadStateChanges(r, result)};
};

auto ReadDescribeInstanceStatus = [](XmlReader& r, pugi::xml_node result) {
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
};

auto ReadDescribeImages = [](XmlReader& r, pugi::xml_node result) {
  DescribeImagesResponse out;
  for (pugi::xml_node n : r.Items(result, "imagesSet")) out.images.push_back(ReadImage(r, n));
  out.next_token = r.Text(result, "nextToken");
  return out;
};

auto ReadDescribeVolumes = [](XmlReader& r, pugi::xml_node result) {
  DescribeVolumesResponse out;
  for (pugi::xml_node n : r.Items(result, "volumeSet")) out.volumes.push_back(ReadVolume(r, n));
  out.next_token = r.Text(result, "nextToken");
  return out;
};

auto ReadDescribeAddresses = [](XmlReader& r, pugi::xml_node result) {
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
};

auto ReadAssociateAddress = [](XmlReader& r, pugi::xml_node result) {
  return AssociateAddressResponse{r.Text(result, "associationId")};
};

auto ReadInstanceAttribute = [](XmlReader& r, pugi::xml_node result) {
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
};

auto ReadDescribeNetworkInterfaces = [](XmlReader& r, pugi::xml_node result) {
  DescribeNetworkInterfacesResponse out;
  for (pugi::xml_node n : r.Items(result, "networkInterfaceSet")) {
    out.network_interfaces.push_back(ReadNetworkInterfaceDescription(r, n));
  }
  out.next_token = r.Text(result, "nextToken");
  return out;
};

// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstanceCreditSpecifications.html
auto ReadDescribeInstanceCreditSpecifications = [](XmlReader& r, pugi::xml_node result) {
  DescribeInstanceCreditSpecificationsResponse out;
  for (pugi::xml_node n : r.Items(result, "instanceCreditSpecificationSet")) {
    out.specifications.push_back({r.Text(n, "instanceId"), r.Text(n, "cpuCredits")});
  }
  out.next_token = r.Text(result, "nextToken");
  return out;
};

// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyInstanceCreditSpecification.html
auto ReadModifyInstanceCreditSpecification = [](XmlReader& r, pugi::xml_node result) {
  ModifyInstanceCreditSpecificationResponse out;
  out.successful_instance_ids =
      r.ItemTexts(result, "successfulInstanceCreditSpecificationSet", "instanceId");
  for (pugi::xml_node n : r.Items(result, "unsuccessfulInstanceCreditSpecificationSet")) {
    pugi::xml_node error = n.child("error");
    out.unsuccessful.push_back(
        {r.Text(n, "instanceId"), r.Text(error, "code"), r.Text(error, "message")});
  }
  return out;
};

auto ReadAttachNetworkInterface = [](XmlReader& r, pugi::xml_node result) {
  AttachNetworkInterfaceResponse out;
  r.Require(result, "attachmentId");
  out.attachment_id = r.Text(result, "attachmentId");
  out.network_card_index = r.OptInt(result, "networkCardIndex");
  return out;
};

auto ReadAssignPrivateIpAddresses = [](XmlReader& r, pugi::xml_node result) {
  AssignPrivateIpAddressesResponse out;
  out.network_interface_id = r.Text(result, "networkInterfaceId");
  out.assigned_private_ips =
      r.ItemTexts(result, "assignedPrivateIpAddressesSet", "privateIpAddress");
  return out;
};

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
