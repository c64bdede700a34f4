// The fake account's parameters, images and instances: describing, launching, stopping, starting,
// rebooting and terminating them, and their status checks (FakeAccount::InstallInstances).
#include <algorithm>

#include "tests/testing/fake_account.h"

namespace fleetkeeper::handlers::testing {

void FakeAccount::InstallInstances() {
  using ::testing::_;
  using ::testing::Invoke;
  auto& ec2 = *cell_.ec2;

  ON_CALL(*cell_.ssm, GetParameter(_))
      .WillByDefault(Invoke([this](const aws::GetParameterRequest& r) -> Result<aws::Parameter> {
        if (auto e = Call("GetParameter")) return *e;
        auto it = parameters.find(r.name);
        if (it == parameters.end()) {
          return NotFound("ParameterNotFound", "ParameterNotFound");
        }
        aws::Parameter p;
        p.name = r.name;
        p.value = it->second.first;
        p.version = it->second.second;
        return p;
      }));

  ON_CALL(ec2, DescribeImages(_))
      .WillByDefault(Invoke(
          [this](const aws::DescribeImagesRequest& r) -> Result<aws::DescribeImagesResponse> {
            if (auto e = Call("DescribeImages")) return *e;
            aws::DescribeImagesResponse out;
            for (const auto& id : r.image_ids) {
              auto it = images.find(id);
              if (it == images.end()) {
                return NotFound("InvalidAMIID.NotFound",
                                "The image id '[" + id + "]' does not exist");
              }
              out.images.push_back(it->second);
            }
            return out;
          }));

  ON_CALL(ec2, DescribeInstances(_))
      .WillByDefault(Invoke(
          [this](const aws::DescribeInstancesRequest& r) -> Result<aws::DescribeInstancesResponse> {
            if (auto e = Call("DescribeInstances")) return *e;
            aws::DescribeInstancesResponse out;
            for (const auto& id : r.instance_ids) {
              if (!instances.count(id)) {
                return NotFound("InvalidInstanceID.NotFound",
                                "The instance ID '" + id + "' does not exist");
              }
            }
            for (auto& [id, f] : instances) {
              if (!r.instance_ids.empty() && std::find(r.instance_ids.begin(), r.instance_ids.end(),
                                                       id) == r.instance_ids.end()) {
                continue;
              }
              bool match = true;
              for (const auto& [name, values] : r.filters) {
                std::string have;
                if (name == "client-token") {
                  have = f.instance.client_token;
                } else if (name.rfind("tag:", 0) == 0) {
                  auto t = f.instance.tags.find(name.substr(4));
                  if (t == f.instance.tags.end()) {
                    match = false;
                    break;
                  }
                  have = t->second;
                }
                if (std::find(values.begin(), values.end(), have) == values.end()) match = false;
              }
              if (match) out.instances.push_back(Snapshot(f));
            }
            Settle();
            return out;
          }));

  ON_CALL(ec2, DescribeInstanceAttribute(_))
      .WillByDefault(Invoke(
          [this](const aws::DescribeInstanceAttributeRequest& r) -> Result<aws::InstanceAttribute> {
            if (auto e = Call("DescribeInstanceAttribute")) return *e;
            const FakeInstance& f = instances.at(r.instance_id);
            aws::InstanceAttribute a;
            a.instance_id = r.instance_id;
            a.present = true;
            switch (r.attribute) {
              case aws::InstanceAttributeName::kUserData:
                a.value = f.user_data;
                break;
              case aws::InstanceAttributeName::kDisableApiTermination:
                a.value = f.disable_api_termination ? "true" : "false";
                break;
              case aws::InstanceAttributeName::kDisableApiStop:
                a.value = f.disable_api_stop ? "true" : "false";
                break;
              case aws::InstanceAttributeName::kInstanceInitiatedShutdownBehavior:
                a.value = f.shutdown_behavior;
                break;
            }
            return a;
          }));

  ON_CALL(ec2, GetLaunchTemplateData(_))
      .WillByDefault(Invoke(
          [this](const aws::GetLaunchTemplateDataRequest& r) -> Result<aws::InstanceLaunchData> {
            if (auto e = Call("GetLaunchTemplateData")) return *e;
            auto it = instances.find(r.instance_id);
            if (it == instances.end()) {
              return NotFound("InvalidInstanceID.NotFound",
                              "The instance ID '" + r.instance_id + "' does not exist");
            }
            const FakeInstance& f = it->second;
            aws::InstanceLaunchData d;
            d.instance_id = r.instance_id;
            d.image_id = f.instance.image_id;
            d.instance_type = f.instance.instance_type;
            d.key_name = f.instance.key_name;
            d.user_data_base64 = f.user_data;
            d.disable_api_termination = f.disable_api_termination;
            d.disable_api_stop = f.disable_api_stop;
            d.instance_initiated_shutdown_behavior = f.shutdown_behavior;
            d.cpu_credits = CreditsOf(r.instance_id);
            d.placement = f.instance.placement;
            return d;
          }));

  ON_CALL(ec2, DescribeVolumes(_))
      .WillByDefault(Invoke(
          [this](const aws::DescribeVolumesRequest& r) -> Result<aws::DescribeVolumesResponse> {
            if (auto e = Call("DescribeVolumes")) return *e;
            aws::DescribeVolumesResponse out;
            for (const auto& [id, v] : volumes) {
              if (!r.volume_ids.empty() &&
                  std::find(r.volume_ids.begin(), r.volume_ids.end(), id) == r.volume_ids.end()) {
                continue;
              }
              auto f = r.filters.find("attachment.instance-id");
              if (f != r.filters.end() &&
                  (v.attachments.empty() ||
                   std::find(f->second.begin(), f->second.end(),
                             v.attachments.front().instance_id) == f->second.end())) {
                continue;
              }
              out.volumes.push_back(v);
            }
            return out;
          }));

  ON_CALL(ec2, DescribeAddresses(_))
      .WillByDefault(Invoke(
          [this](const aws::DescribeAddressesRequest& r) -> Result<aws::DescribeAddressesResponse> {
            if (auto e = Call("DescribeAddresses")) return *e;
            aws::DescribeAddressesResponse out;
            auto f = r.filters.find("instance-id");
            for (const auto& a : addresses) {
              if (f == r.filters.end() ||
                  std::find(f->second.begin(), f->second.end(), a.instance_id) != f->second.end()) {
                out.addresses.push_back(a);
              }
            }
            return out;
          }));

  ON_CALL(ec2, RunInstances(_))
      .WillByDefault(
          Invoke([this](const aws::RunInstancesRequest& r) -> Result<aws::RunInstancesResponse> {
            if (auto e = Call("RunInstances", true)) return *e;
            aws::RunInstancesResponse out;
            for (auto& [id, f] : instances) {
              if (!r.client_token.empty() && f.instance.client_token == r.client_token) {
                out.instances.push_back(f.instance);  // idempotent, as EC2 documents
                return out;
              }
            }
            FakeInstance& f = AddInstance(r.image_id);
            f.instance.instance_type = r.instance_type;
            f.instance.subnet_id = r.subnet_id;
            f.instance.key_name = r.key_name;
            f.instance.iam_instance_profile_arn = r.iam_instance_profile_arn;
            f.instance.client_token = r.client_token;
            f.instance.security_groups.clear();
            for (const auto& sg : r.security_group_ids)
              f.instance.security_groups.push_back({sg, ""});
            if (r.metadata_options) f.instance.metadata_options = r.metadata_options;
            if (r.placement) f.instance.placement = *r.placement;
            f.instance.ebs_optimized = r.ebs_optimized.value_or(false);
            f.user_data = r.user_data_base64;
            f.disable_api_termination = r.disable_api_termination.value_or(false);
            f.disable_api_stop = r.disable_api_stop.value_or(false);
            f.shutdown_behavior = r.instance_initiated_shutdown_behavior;
            f.cpu_credits = r.cpu_credits;
            for (const auto& ts : r.tag_specifications) {
              if (ts.resource_type == "instance") f.instance.tags = ts.tags;
            }
            for (const auto& bd : r.block_device_mappings) {
              if (bd.device_name != f.instance.root_device_name || !bd.ebs) continue;
              for (auto& [vid, v] : volumes) {
                if (AttachedTo(vid) == f.instance.id) {
                  v.size_gib = bd.ebs->volume_size_gib.value_or(8);
                  v.volume_type = bd.ebs->volume_type;
                  v.kms_key_id = bd.ebs->kms_key_id;
                }
              }
            }
            SetState(f, "pending", "running");
            out.instances.push_back(f.instance);
            out.request_id = NextRequestId();
            return out;
          }));

  ON_CALL(ec2, StopInstances(_))
      .WillByDefault(
          Invoke([this](const aws::StopInstancesRequest& r) -> Result<aws::InstanceStateChanges> {
            if (auto e = Call("StopInstances", true)) return *e;
            // One stop-protected instance fails the whole call (API_StopInstances.html).
            for (const auto& id : r.instance_ids) {
              if (instances.at(id).disable_api_stop) {
                return AwsError("OperationNotPermitted", "The instance '" + id +
                                                             "' may not be stopped. Modify its "
                                                             "'disableApiStop' instance attribute");
              }
            }
            for (const auto& id : r.instance_ids) SetState(instances.at(id), "stopping", "stopped");
            return Changes();
          }));
  ON_CALL(ec2, StartInstances(_))
      .WillByDefault(
          Invoke([this](const aws::InstanceIdsRequest& r) -> Result<aws::InstanceStateChanges> {
            if (auto e = Call("StartInstances", true)) return *e;
            for (const auto& id : r.instance_ids) {
              FakeInstance& f = instances.at(id);
              SetState(f, "pending", "running");
              f.system_status = f.instance_status = "ok";  // on new hardware
            }
            return Changes();
          }));
  ON_CALL(ec2, TerminateInstances(_))
      .WillByDefault(
          Invoke([this](const aws::InstanceIdsRequest& r) -> Result<aws::InstanceStateChanges> {
            if (auto e = Call("TerminateInstances", true)) return *e;
            for (const auto& id : r.instance_ids) {
              if (instances.at(id).disable_api_termination) {
                return AwsError("OperationNotPermitted", "termination protection");
              }
              SetState(instances.at(id), "shutting-down", "terminated");
            }
            return Changes();
          }));
  // Status checks are reported while an instance runs; a read settles state changes, as
  // DescribeInstances does.
  ON_CALL(ec2, DescribeInstanceStatus(_))
      .WillByDefault(Invoke([this](const aws::DescribeInstanceStatusRequest& r)
                                -> Result<aws::DescribeInstanceStatusResponse> {
        if (auto e = Call("DescribeInstanceStatus")) return *e;
        aws::DescribeInstanceStatusResponse out;
        for (const auto& id : r.instance_ids) {
          auto it = instances.find(id);
          if (it == instances.end()) continue;
          const FakeInstance& f = it->second;
          const bool up = f.instance.state.name == "running";
          out.statuses.push_back({id, f.instance.placement.availability_zone, f.instance.state,
                                  up ? f.system_status : "not-applicable",
                                  up ? f.instance_status : "not-applicable"});
        }
        Settle();
        return out;
      }));
  ON_CALL(ec2, RebootInstances(_))
      .WillByDefault(Invoke([this](const aws::InstanceIdsRequest& r) -> Status {
        if (auto e = Call("RebootInstances", true)) return *e;
        for (const auto& id : r.instance_ids) {
          rebooted.push_back(id);
          FakeInstance& f = instances.at(id);
          if (reboot_heals) f.system_status = f.instance_status = "ok";
        }
        return Ok{};
      }));
}

}  // namespace fleetkeeper::handlers::testing
