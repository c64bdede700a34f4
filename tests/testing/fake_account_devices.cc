// What the fake account's instances carry: volumes, addresses, tags, launch templates, root volume
// replacement tasks, attributes, CPU credits and network interfaces (FakeAccount::InstallDevices).
#include <algorithm>

#include "tests/testing/fake_account.h"

namespace fleetkeeper::handlers::testing {

void FakeAccount::InstallDevices() {
  using ::testing::_;
  using ::testing::Invoke;
  auto& ec2 = *cell_.ec2;

  ON_CALL(ec2, DetachVolume(_))
      .WillByDefault(
          Invoke([this](const aws::DetachVolumeRequest& r) -> Result<aws::VolumeAttachment> {
            if (auto e = Call("DetachVolume", true)) return *e;
            auto& v = volumes.at(r.volume_id);
            if (v.attachments.empty()) {
              return AwsError("IncorrectState", "volume " + r.volume_id + " is not attached");
            }
            aws::VolumeAttachment a = v.attachments.front();
            v.attachments.clear();
            v.state = "available";
            a.state = "detaching";
            a.request_id = NextRequestId();
            return a;
          }));
  ON_CALL(ec2, AttachVolume(_))
      .WillByDefault(
          Invoke([this](const aws::AttachVolumeRequest& r) -> Result<aws::VolumeAttachment> {
            if (auto e = Call("AttachVolume", true)) return *e;
            auto& v = volumes.at(r.volume_id);
            if (!v.attachments.empty()) return AwsError("VolumeInUse", r.volume_id + " is in use");
            v.attachments.push_back({r.volume_id, r.instance_id, r.device, "attached", false, 0});
            v.state = "in-use";
            aws::VolumeAttachment a = v.attachments.front();
            a.request_id = NextRequestId();
            return a;
          }));
  ON_CALL(ec2, AssociateAddress(_))
      .WillByDefault(Invoke(
          [this](const aws::AssociateAddressRequest& r) -> Result<aws::AssociateAddressResponse> {
            if (auto e = Call("AssociateAddress", true)) return *e;
            // PrivateIpAddress must be one of the instance's; without it, the primary address
            // (API_AssociateAddress.html).
            const aws::Instance& i = instances.at(r.instance_id).instance;
            std::string ip = r.private_ip.empty() ? i.private_ip : r.private_ip;
            const auto& held = i.network_interfaces.front().private_ips;
            if (ip != i.private_ip && std::none_of(held.begin(), held.end(), [&](const auto& p) {
                  return p.address == ip;
                })) {
              return AwsError("InvalidParameterValue",
                              ip + " is not an address of " + r.instance_id);
            }
            for (auto& a : addresses) {
              if (a.allocation_id == r.allocation_id) {
                a.instance_id = r.instance_id;
                a.private_ip = ip;
              }
            }
            return aws::AssociateAddressResponse{"eipassoc-1", NextRequestId()};
          }));
  ON_CALL(ec2, CreateTags(_))
      .WillByDefault(Invoke([this](const aws::CreateTagsRequest& r) -> Result<aws::RequestReceipt> {
        if (auto e = Call("CreateTags", true)) return *e;
        for (const auto& id : r.resource_ids) {
          for (const auto& [k, v] : r.tags) instances.at(id).instance.tags[k] = v;
        }
        return aws::RequestReceipt{NextRequestId()};
      }));

  ON_CALL(ec2, DescribeLaunchTemplateVersions(_))
      .WillByDefault(Invoke([this](const aws::DescribeLaunchTemplateVersionsRequest& r)
                                -> Result<aws::DescribeLaunchTemplateVersionsResponse> {
        if (auto e = Call("DescribeLaunchTemplateVersions")) return *e;
        FakeTemplate* t = nullptr;
        for (auto& [id, tpl] : templates) {
          if (id == r.launch_template_id || tpl.name == r.launch_template_name) t = &tpl;
        }
        if (t == nullptr) {
          return NotFound("InvalidLaunchTemplateId.NotFound", "no such template");
        }
        aws::DescribeLaunchTemplateVersionsResponse out;
        for (const auto& v : r.versions) {
          int64_t n = v == "$Latest"    ? static_cast<int64_t>(t->versions.size())
                      : v == "$Default" ? t->default_version
                                        : std::stoll(v);
          aws::LaunchTemplateVersion ver = t->versions.at(n - 1);
          if (r.resolve_alias.value_or(false) && ver.image_id.rfind("resolve:ssm:", 0) == 0) {
            ver.image_id = parameters[ver.image_id.substr(12)].first;
          }
          out.versions.push_back(ver);
        }
        return out;
      }));
  ON_CALL(ec2, CreateLaunchTemplateVersion(_))
      .WillByDefault(Invoke([this](const aws::CreateLaunchTemplateVersionRequest& r)
                                -> Result<aws::LaunchTemplateVersion> {
        if (auto e = Call("CreateLaunchTemplateVersion", true)) return *e;
        FakeTemplate& t = templates.at(r.launch_template_id);
        auto token = t.tokens.find(r.client_token);
        if (token != t.tokens.end()) return t.versions.at(token->second - 1);
        aws::LaunchTemplateVersion v = t.versions.at(std::stoll(r.source_version) - 1);
        v.version_number = static_cast<int64_t>(t.versions.size()) + 1;
        v.default_version = false;
        v.image_id = r.image_id;
        v.version_description = r.version_description;
        t.versions.push_back(v);
        t.tokens[r.client_token] = v.version_number;
        v.request_id = NextRequestId();
        return v;
      }));

  ON_CALL(ec2, CreateReplaceRootVolumeTask(_))
      .WillByDefault(Invoke([this](const aws::CreateReplaceRootVolumeTaskRequest& r)
                                -> Result<aws::ReplaceRootVolumeTask> {
        if (auto e = Call("CreateReplaceRootVolumeTask", true)) return *e;
        aws::ReplaceRootVolumeTask t;
        t.id = NextId("replacevol-");
        t.instance_id = r.instance_id;
        t.image_id = r.image_id;
        t.state = "in-progress";
        for (const auto& ts : r.tag_specifications) t.tags = ts.tags;
        tasks.push_back(t);
        t.request_id = NextRequestId();
        return t;
      }));
  ON_CALL(ec2, DescribeReplaceRootVolumeTasks(_))
      .WillByDefault(Invoke([this](const aws::DescribeReplaceRootVolumeTasksRequest& r)
                                -> Result<aws::DescribeReplaceRootVolumeTasksResponse> {
        if (auto e = Call("DescribeReplaceRootVolumeTasks")) return *e;
        aws::DescribeReplaceRootVolumeTasksResponse out;
        for (auto& t : tasks) {
          if (!r.task_ids.empty() &&
              std::find(r.task_ids.begin(), r.task_ids.end(), t.id) == r.task_ids.end()) {
            continue;
          }
          auto f = r.filters.find("instance-id");
          if (f != r.filters.end() && f->second.front() != t.instance_id) continue;
          out.tasks.push_back(t);
          if (t.state == "in-progress") {  // settles after one look
            t.state = rrv_outcome;
            if (t.state == "succeeded") instances.at(t.instance_id).instance.image_id = t.image_id;
          }
        }
        return out;
      }));

  ON_CALL(ec2, ModifyInstanceAttribute(_))
      .WillByDefault(Invoke(
          [this](const aws::ModifyInstanceAttributeRequest& r) -> Result<aws::RequestReceipt> {
            if (auto e = Call("ModifyInstanceAttribute", true)) return *e;
            FakeInstance& f = instances.at(r.instance_id);
            if (r.disable_api_termination) f.disable_api_termination = *r.disable_api_termination;
            if (r.disable_api_stop) f.disable_api_stop = *r.disable_api_stop;
            if (!r.instance_initiated_shutdown_behavior.empty()) {
              f.shutdown_behavior = r.instance_initiated_shutdown_behavior;
            }
            if (r.source_dest_check) {
              f.instance.network_interfaces.front().source_dest_check = *r.source_dest_check;
            }
            if (r.user_data_base64) f.user_data = *r.user_data_base64;
            return aws::RequestReceipt{NextRequestId()};
          }));
  ON_CALL(ec2, DescribeInstanceCreditSpecifications(_))
      .WillByDefault(Invoke([this](const aws::DescribeInstanceCreditSpecificationsRequest& r)
                                -> Result<aws::DescribeInstanceCreditSpecificationsResponse> {
        if (auto e = Call("DescribeInstanceCreditSpecifications")) return *e;
        aws::DescribeInstanceCreditSpecificationsResponse out;
        for (const auto& id : r.instance_ids) {
          if (!CreditsOf(id).empty()) out.specifications.push_back({id, CreditsOf(id)});
        }
        return out;
      }));
  ON_CALL(ec2, ModifyInstanceCreditSpecification(_))
      .WillByDefault(Invoke([this](const aws::ModifyInstanceCreditSpecificationRequest& r)
                                -> Result<aws::ModifyInstanceCreditSpecificationResponse> {
        if (auto e = Call("ModifyInstanceCreditSpecification", true)) return *e;
        aws::ModifyInstanceCreditSpecificationResponse out;
        for (const auto& spec : r.specifications) {
          instances.at(spec.instance_id).cpu_credits = spec.cpu_credits;
          out.successful_instance_ids.push_back(spec.instance_id);
        }
        out.request_id = NextRequestId();
        return out;
      }));

  // Interfaces take one DescribeNetworkInterfaces to settle (attaching -> attached, detaching ->
  // available), as instances do.
  ON_CALL(ec2, DescribeNetworkInterfaces(_))
      .WillByDefault(Invoke([this](const aws::DescribeNetworkInterfacesRequest& r)
                                -> Result<aws::DescribeNetworkInterfacesResponse> {
        if (auto e = Call("DescribeNetworkInterfaces")) return *e;
        aws::DescribeNetworkInterfacesResponse out;
        const bool lag = lagging_interface_reads > 0;
        if (lag) --lagging_interface_reads;
        for (const auto& id : r.network_interface_ids) {
          if (!interfaces.count(id)) {
            return AwsError("InvalidNetworkInterfaceID.NotFound", "no interface " + id);
          }
          auto old = interfaces_before_change.find(id);
          out.network_interfaces.push_back(
              lag && old != interfaces_before_change.end() ? old->second : interfaces.at(id));
        }
        auto f = r.filters.find("attachment.instance-id");
        for (const auto& id : f == r.filters.end() ? std::vector<std::string>{} : f->second) {
          for (auto& n : InterfacesOf(id)) out.network_interfaces.push_back(std::move(n));
        }
        for (auto& [id, n] : interfaces) {
          if (!n.attachment) continue;
          if (n.attachment->status == "attaching") n.attachment->status = "attached";
          if (n.attachment->status == "detaching") {
            n.attachment.reset();
            n.status = "available";
          }
        }
        return out;
      }));
  ON_CALL(ec2, AttachNetworkInterface(_))
      .WillByDefault(Invoke([this](const aws::AttachNetworkInterfaceRequest& r)
                                -> Result<aws::AttachNetworkInterfaceResponse> {
        if (auto e = Call("AttachNetworkInterface", true)) return *e;
        auto& n = interfaces.at(r.network_interface_id);
        if (n.attachment) {
          return AwsError("InvalidParameterValue", r.network_interface_id + " is in use");
        }
        for (const auto& [id, other] : interfaces) {
          if (other.attachment && other.attachment->instance_id == r.instance_id &&
              other.attachment->device_index == r.device_index) {
            return AwsError("InvalidParameterValue", "device index in use");
          }
        }
        interfaces_before_change.insert_or_assign(n.id, n);
        aws::NetworkInterfaceAttachment a;
        a.attachment_id = NextId("eni-attach-");
        a.instance_id = r.instance_id;
        a.device_index = r.device_index;
        a.status = "attaching";
        n.attachment = a;
        n.status = "in-use";
        return aws::AttachNetworkInterfaceResponse{a.attachment_id, std::nullopt, NextRequestId()};
      }));
  ON_CALL(ec2, DetachNetworkInterface(_))
      .WillByDefault(Invoke(
          [this](const aws::DetachNetworkInterfaceRequest& r) -> Result<aws::RequestReceipt> {
            if (auto e = Call("DetachNetworkInterface", true)) return *e;
            for (auto& [id, n] : interfaces) {
              if (n.attachment && n.attachment->attachment_id == r.attachment_id) {
                interfaces_before_change.insert_or_assign(id, n);
                n.attachment->status = "detaching";
                n.status = "detaching";
                return aws::RequestReceipt{NextRequestId()};
              }
            }
            return AwsError("InvalidAttachmentID.NotFound", "no attachment " + r.attachment_id);
          }));
  ON_CALL(ec2, ModifyNetworkInterfaceAttribute(_))
      .WillByDefault(Invoke([this](const aws::ModifyNetworkInterfaceAttributeRequest& r)
                                -> Result<aws::RequestReceipt> {
        if (auto e = Call("ModifyNetworkInterfaceAttribute", true)) return *e;
        auto& n = interfaces.at(r.network_interface_id);
        if (!n.attachment || n.attachment->attachment_id != r.attachment_id) {
          return AwsError("InvalidAttachmentID.NotFound", "no attachment " + r.attachment_id);
        }
        n.attachment->delete_on_termination = r.delete_on_termination;
        return aws::RequestReceipt{NextRequestId()};
      }));

  // A secondary address belongs to one interface of the subnet at a time; AllowReassignment takes
  // it from the interface that holds it (API_AssignPrivateIpAddresses.html).
  ON_CALL(ec2, AssignPrivateIpAddresses(_))
      .WillByDefault(Invoke([this](const aws::AssignPrivateIpAddressesRequest& r)
                                -> Result<aws::AssignPrivateIpAddressesResponse> {
        if (auto e = Call("AssignPrivateIpAddresses", true)) return *e;
        auto* to = PrimaryInterface(r.network_interface_id);
        if (to == nullptr) {
          return AwsError("InvalidNetworkInterfaceID.NotFound",
                          "no interface " + r.network_interface_id);
        }
        for (const auto& ip : r.private_ips) {
          for (auto& [id, f] : instances) {
            auto& held = f.instance.network_interfaces.front().private_ips;
            auto it = std::find_if(held.begin(), held.end(),
                                   [&](const aws::PrivateIp& p) { return p.address == ip; });
            if (it == held.end() || &held == &to->private_ips) continue;
            if (!r.allow_reassignment.value_or(false)) {
              return AwsError("InvalidParameterValue", "address " + ip + " is in use");
            }
            held.erase(it);
          }
          bool has = std::any_of(to->private_ips.begin(), to->private_ips.end(),
                                 [&](const aws::PrivateIp& p) { return p.address == ip; });
          if (!has) to->private_ips.push_back({ip, false});
        }
        return aws::AssignPrivateIpAddressesResponse{r.network_interface_id, r.private_ips,
                                                     NextRequestId()};
      }));
  ON_CALL(ec2, UnassignPrivateIpAddresses(_))
      .WillByDefault(Invoke(
          [this](const aws::UnassignPrivateIpAddressesRequest& r) -> Result<aws::RequestReceipt> {
            if (auto e = Call("UnassignPrivateIpAddresses", true)) return *e;
            auto* from = PrimaryInterface(r.network_interface_id);
            if (from == nullptr) {
              return AwsError("InvalidNetworkInterfaceID.NotFound",
                              "no interface " + r.network_interface_id);
            }
            for (const auto& ip : r.private_ips) {
              std::erase_if(from->private_ips,
                            [&](const aws::PrivateIp& p) { return !p.primary && p.address == ip; });
            }
            return aws::RequestReceipt{NextRequestId()};
          }));
}

}  // namespace fleetkeeper::handlers::testing
