// EC2 images, EBS volumes and root volume replacement tasks: the requests and answers of the Ec2
// interface (ec2.h), which handlers include. Times are epoch milliseconds (0 = absent).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "awsclient/ec2_instances.h"

namespace fleetkeeper::aws {

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

}  // namespace fleetkeeper::aws
