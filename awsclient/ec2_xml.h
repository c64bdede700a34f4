// The readers of EC2 query responses, shared by the client (ec2_query.cc) and the parsers of
// recorded responses (ec2_xml.cc). Internal to awsclient/: handlers see ec2.h only.
#pragma once

#include "awsclient/ec2.h"
#include "awsclient/query_protocol.h"

namespace fleetkeeper::aws::ec2_xml {

// Elements that a client call reads inside its result.
VolumeAttachment ReadAttachment(XmlReader& r, pugi::xml_node n);
LaunchTemplateVersion ReadLaunchTemplateVersion(XmlReader& r, pugi::xml_node n);
ReplaceRootVolumeTask ReadReplaceRootVolumeTask(XmlReader& r, pugi::xml_node n);

// The result element of each action.
RequestReceipt ReadNothing(XmlReader& r, pugi::xml_node result);
DescribeInstancesResponse ReadDescribeInstances(XmlReader& r, pugi::xml_node result);
RunInstancesResponse ReadRunInstances(XmlReader& r, pugi::xml_node result);
InstanceStateChanges ReadStateChangeSet(XmlReader& r, pugi::xml_node result);
DescribeInstanceStatusResponse ReadDescribeInstanceStatus(XmlReader& r, pugi::xml_node result);
DescribeImagesResponse ReadDescribeImages(XmlReader& r, pugi::xml_node result);
DescribeVolumesResponse ReadDescribeVolumes(XmlReader& r, pugi::xml_node result);
DescribeAddressesResponse ReadDescribeAddresses(XmlReader& r, pugi::xml_node result);
AssociateAddressResponse ReadAssociateAddress(XmlReader& r, pugi::xml_node result);
InstanceAttribute ReadInstanceAttribute(XmlReader& r, pugi::xml_node result);
InstanceLaunchData ReadLaunchTemplateData(XmlReader& r, pugi::xml_node result);
DescribeNetworkInterfacesResponse ReadDescribeNetworkInterfaces(XmlReader& r,
                                                                pugi::xml_node result);
DescribeInstanceCreditSpecificationsResponse ReadDescribeInstanceCreditSpecifications(
    XmlReader& r, pugi::xml_node result);
ModifyInstanceCreditSpecificationResponse ReadModifyInstanceCreditSpecification(
    XmlReader& r, pugi::xml_node result);
AttachNetworkInterfaceResponse ReadAttachNetworkInterface(XmlReader& r, pugi::xml_node result);
AssignPrivateIpAddressesResponse ReadAssignPrivateIpAddresses(XmlReader& r, pugi::xml_node result);

}  // namespace fleetkeeper::aws::ec2_xml
