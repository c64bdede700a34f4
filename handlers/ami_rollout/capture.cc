#include "handlers/ami_rollout/targets.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "awsclient/aws_error.h"
#include "awsclient/pagination.h"
#include "handlers/capacity.h"

namespace fleetkeeper::handlers::ami_rollout {

namespace {

// What DescribeInstances tells about the instance, into its capture.
void CaptureDescription(const aws::Instance& i, v1::InstanceCapture* c) {
  c->Clear();
  c->set_image_id(i.image_id);
  c->set_instance_type(i.instance_type);
  c->set_subnet_id(i.subnet_id);
  c->set_private_ip(i.private_ip);
  c->set_state(i.state.name);
  for (const auto& eni : i.network_interfaces) {
    if (eni.device_index > 0) continue;  // secondary interfaces: CaptureInterfaces
    c->set_source_dest_check_disabled(!eni.source_dest_check);
    for (const auto& ip : eni.private_ips) {
      if (!ip.primary) c->add_secondary_private_ips(ip.address);
    }
  }
  for (const auto& sg : i.security_groups) c->add_security_group_ids(sg.id);
  c->set_key_name(i.key_name);
  c->set_iam_instance_profile_arn(i.iam_instance_profile_arn);
  if (i.metadata_options) {
    c->set_metadata_http_tokens(i.metadata_options->http_tokens);
    c->set_metadata_hop_limit(i.metadata_options->http_put_response_hop_limit.value_or(0));
    c->set_metadata_http_endpoint(i.metadata_options->http_endpoint);
    c->set_metadata_instance_tags(i.metadata_options->instance_metadata_tags);
  }
  c->set_root_device_name(i.root_device_name);
  c->set_availability_zone(i.placement.availability_zone);
  c->set_tenancy(i.placement.tenancy);
  c->set_placement_group(i.placement.group_name);
  c->set_ebs_optimized(i.ebs_optimized);
  for (const auto& [k, v] : i.tags) {
    if (k.rfind("aws:", 0) != 0) (*c->mutable_tags())[k] = v;
  }
}

// What DescribeInstances does not return (user data, termination and stop protection, shutdown
// behaviour, the CPU credit option of a burstable instance): one GetLaunchTemplateData per
// instance, where DescribeInstanceAttribute takes one call per attribute and the credit option a
// DescribeInstanceCreditSpecifications. EC2 has no batch form of either.
Status CaptureAttributes(aws::Ec2& ec2, const std::string& id, v1::InstanceCapture* c) {
  auto d = ec2.GetLaunchTemplateData({id});
  if (!d.ok()) return d.error();
  c->set_user_data_base64(d->user_data_base64);
  c->set_disable_api_termination(d->disable_api_termination);
  c->set_disable_api_stop(d->disable_api_stop);
  c->set_shutdown_behavior(d->instance_initiated_shutdown_behavior);
  // RunInstances would otherwise give the family's default, which for T3 is unlimited and for T2
  // standard.
  c->set_cpu_credits(d->cpu_credits);
  return Ok{};
}

// Volumes: the root one's settings are reproduced, the others move to the new instance.
void CaptureVolume(const aws::Instance& i, const aws::Volume& v, v1::InstanceCapture* c) {
  std::string device;
  bool delete_on_termination = false;
  for (const auto& att : v.attachments) {
    if (att.instance_id == i.id) {
      device = att.device;
      delete_on_termination = att.delete_on_termination.value_or(false);
    }
  }
  for (const auto& bd : i.block_devices) {
    if (bd.volume_id != v.id) continue;
    if (device.empty()) device = bd.device_name;
    delete_on_termination = bd.delete_on_termination;
  }
  if (device == i.root_device_name) {
    c->set_root_size_gib(v.size_gib);
    c->set_root_volume_type(v.volume_type);
    c->set_root_iops(v.iops.value_or(0));
    c->set_root_throughput(v.throughput_mibps.value_or(0));
    c->set_root_kms_key_id(v.kms_key_id);
    c->set_root_encrypted(v.encrypted);
    c->set_root_delete_on_termination(delete_on_termination);
  } else {
    auto* d = c->add_data_volumes();
    d->set_volume_id(v.id);
    d->set_device(device);
    d->set_delete_on_termination(delete_on_termination);
  }
}

// EC2 takes at most 200 values per filter.
constexpr size_t kMaxFilterValues = 200;

using CaptureById = std::map<std::string, std::pair<const aws::Instance*, v1::InstanceCapture*>>;

template <typename Chunk>
Status ForEachChunk(const std::vector<std::string>& ids, size_t size, Chunk chunk) {
  for (size_t at = 0; at < ids.size(); at += size) {
    Status s = chunk(
        std::vector<std::string>(ids.begin() + at, ids.begin() + std::min(ids.size(), at + size)));
    if (!s.ok()) return s;
  }
  return Ok{};
}

// The interfaces at device index >= 1 of the instances DescribeInstances shows with some, in one
// pass (moto has no attachment.device-index filter, so the primaries are dropped here).
Status CaptureInterfaces(aws::Ec2& ec2, const CaptureById& by_id) {
  std::vector<std::string> ids;
  for (const auto& [id, entry] : by_id) {
    const auto& nics = entry.first->network_interfaces;
    auto secondary = [](const auto& n) { return n.device_index > 0; };
    if (std::any_of(nics.begin(), nics.end(), secondary)) ids.push_back(id);
  }
  auto read_chunk = [&](std::vector<std::string> chunk) -> Status {
    aws::DescribeNetworkInterfacesRequest req;
    req.filters = {{"attachment.instance-id", std::move(chunk)}};
    Status paged = aws::ForEachPage(
        std::move(req),
        [&](const auto& page_request) { return ec2.DescribeNetworkInterfaces(page_request); },
        [&](auto& page) -> Status {
          for (const auto& n : page.network_interfaces) {
            if (!n.attachment || n.attachment->device_index < 1) continue;
            auto it = by_id.find(n.attachment->instance_id);
            if (it == by_id.end()) continue;
            auto* s = it->second.second->add_secondary_interfaces();
            s->set_network_interface_id(n.id);
            s->set_device_index(n.attachment->device_index);
            s->set_network_card_index(
                static_cast<int32_t>(n.attachment->network_card_index.value_or(0)));
            s->set_delete_on_termination(n.attachment->delete_on_termination);
            s->set_interface_type(n.interface_type);
            s->set_requester_managed(n.requester_managed);
          }
          return Ok{};
        });
    if (!paged.ok()) return paged;
    return Ok{};
  };
  Status read = ForEachChunk(ids, kMaxFilterValues, read_chunk);
  if (!read.ok()) return read;
  for (const auto& [id, entry] : by_id) {
    auto* enis = entry.second->mutable_secondary_interfaces();
    std::sort(enis->begin(), enis->end(),
              [](const auto& a, const auto& b) { return a.device_index() < b.device_index(); });
  }
  return Ok{};
}

}  // namespace

Status CaptureInstances(aws::CellClients& aws, const std::vector<const aws::Instance*>& instances,
                        const std::vector<v1::InstanceCapture*>& captures, bool attributes) {
  if (instances.empty()) return Ok{};
  CaptureById by_id;
  for (size_t k = 0; k < instances.size(); ++k) {
    CaptureDescription(*instances[k], captures[k]);
    by_id[instances[k]->id] = {instances[k], captures[k]};
    if (!attributes) continue;
    Status s = CaptureAttributes(*aws.ec2, instances[k]->id, captures[k]);
    if (!s.ok()) return s;
  }
  Status enis = CaptureInterfaces(*aws.ec2, by_id);
  if (!enis.ok()) return enis;
  std::vector<std::string> ids;
  for (const auto& [id, _] : by_id) ids.push_back(id);

  // Volumes and Elastic IPs of every instance at once, by filter (values are alternatives).
  for (size_t at = 0; at < ids.size(); at += kMaxFilterValues) {
    const std::vector<std::string> chunk(ids.begin() + at,
                                         ids.begin() + std::min(ids.size(), at + kMaxFilterValues));
    aws::DescribeVolumesRequest vreq;
    vreq.filters = {{"attachment.instance-id", chunk}};
    Status paged = aws::ForEachPage(
        std::move(vreq),
        [&](const auto& page_request) { return aws.ec2->DescribeVolumes(page_request); },
        [&](auto& page) -> Status {
          for (const auto& v : page.volumes) {
            for (const auto& att : v.attachments) {
              auto it = by_id.find(att.instance_id);
              if (it != by_id.end()) CaptureVolume(*it->second.first, v, it->second.second);
            }
          }
          return Ok{};
        });
    if (!paged.ok()) return paged;

    aws::DescribeAddressesRequest areq;
    areq.filters = {{"instance-id", chunk}};
    auto addresses = aws.ec2->DescribeAddresses(areq);
    if (!addresses.ok()) return addresses.error();
    for (const auto& a : addresses->addresses) {
      auto it = by_id.find(a.instance_id);
      if (it == by_id.end()) continue;
      v1::InstanceCapture* c = it->second.second;
      if (!c->eip_public_ip().empty()) {
        c->add_other_eips(a.public_ip);
        continue;
      }
      c->set_eip_allocation_id(a.allocation_id);
      c->set_eip_public_ip(a.public_ip);
      c->set_eip_private_ip(a.private_ip);
    }
  }
  for (auto& [id, entry] : by_id) {
    auto* volumes = entry.second->mutable_data_volumes();
    std::sort(volumes->begin(), volumes->end(),
              [](const auto& a, const auto& b) { return a.device() < b.device(); });
  }

  // Target groups: ELBv2 has no "groups of a target" call, so look into each instance group once
  // for all the instances.
  return ForEachInstanceTargetGroup(*aws.elbv2, [&](const auto& tg, const auto& health) {
    for (const auto& h : health.descriptions) {
      auto it = by_id.find(h.target.id);
      if (it == by_id.end()) continue;
      auto* m = it->second.second->add_target_groups();
      m->set_arn(tg.arn);
      m->set_port(h.target.port.value_or(0));
    }
  });
}

}  // namespace fleetkeeper::handlers::ami_rollout
