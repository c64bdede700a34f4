// EC2 networking: Elastic IP addresses, network interfaces and their private addresses. The
// requests and answers of the Ec2 interface (ec2.h), which handlers include.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "awsclient/ec2_instances.h"

namespace fleetkeeper::aws {

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

}  // namespace fleetkeeper::aws
