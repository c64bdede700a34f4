// An in-memory AWS account for the AMI rollout tests: the GMock services of MockCell answer from
// this state and change it the way the AWS API reference describes (RunInstances, StopInstances,
// AttachVolume, CreateLaunchTemplateVersion, StartInstanceRefresh, ...), so tests assert on the
// resulting fleet — which instance runs which AMI, where each volume is attached — not on calls.
// State changes take one DescribeX call to settle (pending -> running, stopping -> stopped), so the
// handler's waits are exercised. Any operation can be made to fail (`FailOn`).
#pragma once

#include <gmock/gmock.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tests/handlers/step_harness.h"

namespace fleetkeeper::handlers::ami_rollout::testing {

struct FakeInstance {
  aws::Instance instance;
  std::string next_state;  // applied on the next DescribeInstances
  std::string user_data;
  bool disable_api_termination = false;
  bool disable_api_stop = false;
  std::string shutdown_behavior = "stop";
  std::string cpu_credits;  // burstable types; empty: the family's launch default
};

struct FakeTemplate {
  std::string id;
  std::string name;
  int64_t default_version = 1;
  std::vector<aws::LaunchTemplateVersion> versions;  // version_number = index + 1
  std::map<std::string, int64_t> tokens;             // ClientToken -> version
};

struct FakeTargetGroup {
  aws::TargetGroup group;
  std::map<std::string, std::string> targets;  // instance id -> health state
  std::map<std::string, int> ports;
  std::map<std::string, std::string> reasons;  // instance id -> reason code of its state
  // Targets that turn healthy after this many more DescribeTargetHealth reads of the group.
  std::map<std::string, int> recover_after_reads;
  int mutations_at_recovery = -1;  // fleet.mutations.size() when the last of them recovered
};

class FakeFleet {
 public:
  explicit FakeFleet(handlers::testing::MockCell& cell) : cell_(cell) { Install(); }

  // ---- building the fleet ------------------------------------------------------------------
  void AddParameter(const std::string& name, const std::string& value, int64_t version) {
    parameters[name] = {value, version};
  }
  void AddImage(const std::string& id, const std::string& state = "available") {
    aws::Image i;
    i.id = id;
    i.state = state;
    i.name = "image " + id;
    images[id] = i;
  }
  std::string AddTemplate(const std::string& name, const std::string& image_id) {
    FakeTemplate t;
    t.id = "lt-" + name;
    t.name = name;
    aws::LaunchTemplateVersion v;
    v.launch_template_id = t.id;
    v.launch_template_name = name;
    v.version_number = 1;
    v.default_version = true;
    v.image_id = image_id;
    v.instance_type = "t3.micro";
    t.versions.push_back(v);
    templates[t.id] = t;
    return t.id;
  }
  // A group of `size` InService instances on `image`, launched from template version `version`.
  aws::AutoScalingGroup& AddGroup(const std::string& name, const std::string& template_id,
                                  const std::string& version, const std::string& image,
                                  int size = 2) {
    aws::AutoScalingGroup g;
    g.name = name;
    g.launch_template = aws::LaunchTemplateSpec{template_id, templates[template_id].name, version};
    g.desired_capacity = g.min_size = g.max_size = size;
    for (int i = 0; i < size; ++i) {
      std::string id = AddInstance(image, {{"aws:autoscaling:groupName", name}}).instance.id;
      aws::AsgInstance m;
      m.instance_id = id;
      m.lifecycle_state = "InService";
      m.health_status = "Healthy";
      g.instances.push_back(m);
    }
    groups[name] = g;
    return groups[name];
  }
  FakeInstance& AddInstance(const std::string& image, aws::Tags tags = {}) {
    FakeInstance f;
    aws::Instance& i = f.instance;
    i.id = NextId("i-");
    i.image_id = image;
    i.state = {16, "running"};
    i.instance_type = "m5.large";
    i.subnet_id = "subnet-1";
    i.vpc_id = "vpc-1";
    i.private_ip = fmt_ip();
    i.key_name = "ops";
    i.iam_instance_profile_arn = "arn:aws:iam::111122223333:instance-profile/app";
    i.placement.availability_zone = "us-east-1a";
    i.placement.tenancy = "default";
    i.security_groups = {{"sg-app", "app"}};
    i.root_device_name = "/dev/xvda";
    i.root_device_type = "ebs";
    i.ebs_optimized = true;
    i.tags = std::move(tags);
    aws::InstanceNetworkInterface eni;
    eni.id = NextId("eni-");
    eni.device_index = 0;
    eni.private_ips = {{i.private_ip, true}};
    i.network_interfaces.push_back(eni);
    i.metadata_options = aws::MetadataOptions{};
    i.metadata_options->http_tokens = "required";
    i.metadata_options->http_endpoint = "enabled";
    i.metadata_options->http_put_response_hop_limit = 2;
    f.user_data = "IyEvYmluL3NoCmVjaG8gaGk=";
    instances[i.id] = f;
    AddVolume(i.id, i.root_device_name, 20, true);
    return instances[i.id];
  }
  std::string AddVolume(const std::string& instance, const std::string& device, int64_t size,
                        bool delete_on_termination = false) {
    aws::Volume v;
    v.id = NextId("vol-");
    v.size_gib = size;
    v.volume_type = "gp3";
    v.iops = 3000;
    v.throughput_mibps = 125;
    v.encrypted = true;
    v.kms_key_id = "arn:aws:kms:us-east-1:111122223333:key/k";
    v.state = "in-use";
    v.attachments.push_back({v.id, instance, device, "attached", delete_on_termination, 0});
    volumes[v.id] = v;
    return v.id;
  }
  // An Elastic IP on the instance's primary address, or on `private_ip`.
  std::string AddEip(const std::string& instance, const std::string& private_ip = "") {
    aws::Address a;
    a.allocation_id = NextId("eipalloc-");
    a.public_ip = "203.0.113." + std::to_string(addresses.size() + 10);
    a.domain = "vpc";
    a.instance_id = instance;
    a.private_ip = private_ip.empty() ? instances.at(instance).instance.private_ip : private_ip;
    addresses.push_back(a);
    return a.allocation_id;
  }
  // A network interface in the instance's subnet, attached at `device_index` (>= 1).
  std::string AddInterface(const std::string& instance, int device_index,
                           bool delete_on_termination = false) {
    aws::NetworkInterface n;
    n.id = NextId("eni-");
    n.subnet_id = "subnet-1";
    n.interface_type = "interface";
    n.status = "in-use";
    n.private_ip = fmt_ip();
    n.private_ips = {{n.private_ip, true}};
    aws::NetworkInterfaceAttachment a;
    a.attachment_id = NextId("eni-attach-");
    a.instance_id = instance;
    a.device_index = device_index;
    a.status = "attached";
    a.delete_on_termination = delete_on_termination;
    n.attachment = a;
    interfaces[n.id] = n;
    return n.id;
  }
  std::string AddTargetGroup(const std::string& name, const std::vector<std::string>& members) {
    FakeTargetGroup tg;
    tg.group.arn = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/" + name;
    tg.group.name = name;
    tg.group.target_type = "instance";
    for (const auto& m : members) {
      tg.targets[m] = "healthy";
      tg.ports[m] = 80;
    }
    target_groups[tg.group.arn] = tg;
    return tg.group.arn;
  }

  // ---- failure injection and observation -----------------------------------------------
  // The next `times` calls of `operation` (e.g. "RunInstances") fail with `error`.
  // The primary interface with id `eni`, or nullptr.
  aws::InstanceNetworkInterface* PrimaryInterface(const std::string& eni) {
    for (auto& [id, f] : instances) {
      if (f.instance.network_interfaces.front().id == eni)
        return &f.instance.network_interfaces.front();
    }
    return nullptr;
  }
  // The secondary addresses of the instance's primary interface.
  std::vector<std::string> SecondaryIpsOf(const std::string& id) {
    std::vector<std::string> out;
    for (const auto& p : instances.at(id).instance.network_interfaces.front().private_ips) {
      if (!p.primary) out.push_back(p.address);
    }
    return out;
  }
  void FailOn(const std::string& operation, Error error, int times = 1) {
    failures[operation] = {std::move(error), times};
  }
  static Error AwsError(const std::string& code, const std::string& message) {
    Error e(ErrorCode::kAws, message);
    e.aws_code = code;
    e.request_id = "req-" + code;
    e.http_status = 400;
    return e;
  }

  const aws::Instance& Get(const std::string& id) { return instances.at(id).instance; }
  // The instance, other than `old`, that carries kReplacesTag = old.
  std::optional<std::string> ReplacementOf(const std::string& old) const {
    for (const auto& [id, f] : instances) {
      auto it = f.instance.tags.find("fleetkeeper:replaces");
      if (it != f.instance.tags.end() && it->second == old) return id;
    }
    return std::nullopt;
  }
  int CountReplacementsOf(const std::string& old) const {
    int n = 0;
    for (const auto& [id, f] : instances) {
      auto it = f.instance.tags.find("fleetkeeper:replaces");
      if (it != f.instance.tags.end() && it->second == old) ++n;
    }
    return n;
  }
  std::string AttachedTo(const std::string& volume) const {
    const auto& v = volumes.at(volume);
    return v.attachments.empty() ? "" : v.attachments.front().instance_id;
  }
  std::string DeviceOf(const std::string& volume) const {
    const auto& v = volumes.at(volume);
    return v.attachments.empty() ? "" : v.attachments.front().device;
  }
  // "<instance>@<device index>" of the interface's attachment, "" when detached.
  std::string InterfacePlace(const std::string& eni) const {
    const auto& n = interfaces.at(eni);
    if (!n.attachment) return "";
    return n.attachment->instance_id + "@" + std::to_string(n.attachment->device_index);
  }
  std::string CreditsOf(const std::string& id) const {
    const FakeInstance& f = instances.at(id);
    return f.cpu_credits.empty() ? DefaultCredits(f.instance.instance_type) : f.cpu_credits;
  }
  std::string EipInstance(const std::string& allocation) const {
    for (const auto& a : addresses) {
      if (a.allocation_id == allocation) return a.instance_id;
    }
    return "";
  }
  // "<instance> at <private address>" of the Elastic IP.
  std::string EipPlace(const std::string& allocation) const {
    for (const auto& a : addresses) {
      if (a.allocation_id == allocation) return a.instance_id + " at " + a.private_ip;
    }
    return "";
  }
  std::string StateOf(const std::string& id) {
    auto& f = instances.at(id);
    return f.next_state.empty() ? f.instance.state.name : f.next_state;
  }
  int MutatingCalls() const { return static_cast<int>(mutations.size()); }

  // ---- the account ---------------------------------------------------------------------
  std::map<std::string, std::pair<std::string, int64_t>> parameters;
  std::map<std::string, aws::Image> images;
  std::map<std::string, FakeInstance> instances;
  std::map<std::string, aws::Volume> volumes;
  std::map<std::string, aws::NetworkInterface> interfaces;  // secondary ones
  std::vector<aws::Address> addresses;
  std::map<std::string, FakeTargetGroup> target_groups;
  std::map<std::string, FakeTemplate> templates;
  std::map<std::string, aws::AutoScalingGroup> groups;
  std::map<std::string, std::vector<aws::InstanceRefresh>> refreshes;        // newest first
  std::map<std::string, aws::StartInstanceRefreshRequest> refresh_requests;  // by refresh id
  std::vector<aws::UpdateAutoScalingGroupRequest> group_updates;
  std::vector<aws::ReplaceRootVolumeTask> tasks;
  std::vector<aws::PutMetricDataRequest> metrics;
  // How the next refreshes end: Successful | Failed | RollbackSuccessful; after how many looks.
  std::string refresh_outcome = "Successful";
  int refresh_looks = 1;
  // RollbackInstanceRefresh refuses with this code (empty: it rolls the refresh back).
  std::string refuse_rollback;
  std::string rrv_outcome = "succeeded";
  std::string new_instance_health = "healthy";  // target health of registered new instances
  // The next N DescribeNetworkInterfaces answers show each interface as it was before the last
  // attach or detach (EC2's reads are eventually consistent).
  int lagging_interface_reads = 0;
  std::map<std::string, aws::NetworkInterface> interfaces_before_change;
  std::vector<std::string> mutations;  // every mutating call, in order
  int max_out_of_service = 0;          // most original instances stopped at once
  std::map<std::string, std::pair<Error, int>> failures;

 private:
  std::string NextId(const std::string& prefix) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%017x", prefix.c_str(), ++next_id_);
    return buf;
  }
  std::string fmt_ip() { return "10.0.0." + std::to_string(10 + next_id_ % 200); }
  std::string NextRequestId() { return "req-" + std::to_string(++next_request_); }
  aws::InstanceStateChanges Changes() { return {{}, NextRequestId()}; }
  // T2 launches standard, T3/T3a/T4g unlimited; other families have no credit option.
  static std::string DefaultCredits(const std::string& type) {
    if (type.rfind("t2.", 0) == 0) return "standard";
    return type.size() > 1 && type[0] == 't' && std::isdigit(static_cast<unsigned char>(type[1]))
               ? "unlimited"
               : "";
  }

  std::optional<Error> Injected(const std::string& op) {
    auto it = failures.find(op);
    if (it == failures.end() || it->second.second <= 0) return std::nullopt;
    --it->second.second;
    return it->second.first;
  }
  void Mutation(const std::string& what) { mutations.push_back(what); }
  void TrackOutOfService() {
    int n = 0;
    for (const auto& [id, f] : instances) {
      if (f.instance.tags.count("fleetkeeper:replaces")) continue;
      if (f.instance.tags.count("aws:autoscaling:groupName")) continue;
      const std::string s = f.next_state.empty() ? f.instance.state.name : f.next_state;
      if (s == "stopping" || s == "stopped") ++n;
    }
    max_out_of_service = std::max(max_out_of_service, n);
  }
  void SetState(FakeInstance& f, const std::string& transient, const std::string& final_state) {
    static const std::map<std::string, int> codes = {{"pending", 0},        {"running", 16},
                                                     {"shutting-down", 32}, {"terminated", 48},
                                                     {"stopping", 64},      {"stopped", 80}};
    f.instance.state = {codes.at(transient), transient};
    f.next_state = final_state;
    TrackOutOfService();
  }
  void Settle() {
    for (auto& [id, f] : instances) {
      if (f.next_state.empty()) continue;
      static const std::map<std::string, int> codes = {
          {"running", 16}, {"terminated", 48}, {"stopped", 80}};
      f.instance.state = {codes.at(f.next_state), f.next_state};
      f.next_state.clear();
      if (f.instance.state.name == "terminated") {
        for (auto& [vid, v] : volumes) {
          if (!v.attachments.empty() && v.attachments.front().instance_id == id) {
            const bool gone = v.attachments.front().delete_on_termination.value_or(false);
            v.attachments.clear();
            v.state = gone ? "deleted" : "available";
          }
        }
        for (auto& [arn, tg] : target_groups) tg.targets.erase(id);
        // As EC2 does: interfaces with DeleteOnTermination go, the others are detached.
        for (auto it = interfaces.begin(); it != interfaces.end();) {
          auto& a = it->second.attachment;
          if (!a || a->instance_id != id) {
            ++it;
          } else if (a->delete_on_termination) {
            it = interfaces.erase(it);
          } else {
            a.reset();
            it->second.status = "available";
            ++it;
          }
        }
      }
    }
  }
  aws::Instance Snapshot(const FakeInstance& f) {
    aws::Instance i = f.instance;
    i.block_devices.clear();
    for (const auto& [vid, v] : volumes) {
      for (const auto& a : v.attachments) {
        if (a.instance_id == i.id) {
          i.block_devices.push_back(
              {a.device, vid, "attached", a.delete_on_termination.value_or(false), 0});
        }
      }
    }
    for (const auto& [eid, n] : interfaces) {
      if (!n.attachment || n.attachment->instance_id != i.id) continue;
      aws::InstanceNetworkInterface nic;
      nic.id = eid;
      nic.status = n.status;
      nic.attachment_id = n.attachment->attachment_id;
      nic.device_index = n.attachment->device_index;
      nic.delete_on_termination = n.attachment->delete_on_termination;
      nic.private_ip = n.private_ip;
      nic.private_ips = n.private_ips;
      i.network_interfaces.push_back(nic);
    }
    return i;
  }
  // The interfaces EC2 lists for the instance, its primary one included.
  std::vector<aws::NetworkInterface> InterfacesOf(const std::string& id) {
    std::vector<aws::NetworkInterface> out;
    const aws::Instance& i = instances.at(id).instance;
    aws::NetworkInterface primary;
    primary.id = i.network_interfaces.front().id;
    primary.interface_type = "interface";
    primary.status = "in-use";
    primary.source_dest_check = i.network_interfaces.front().source_dest_check;
    primary.attachment = aws::NetworkInterfaceAttachment{};
    primary.attachment->instance_id = id;
    primary.attachment->status = "attached";
    out.push_back(primary);
    for (const auto& [eid, n] : interfaces) {
      if (n.attachment && n.attachment->instance_id == id) out.push_back(n);
    }
    return out;
  }

  void Install();

  handlers::testing::MockCell& cell_;
  unsigned next_id_ = 0xabc000;
  int next_request_ = 0;
};

// ---- the services ---------------------------------------------------------------------------

inline void FakeFleet::Install() {
  using ::testing::_;
  using ::testing::Invoke;
  auto& ec2 = *cell_.ec2;
  auto& asg = *cell_.autoscaling;

  ON_CALL(*cell_.ssm, GetParameter(_))
      .WillByDefault(Invoke([this](const aws::GetParameterRequest& r) -> Result<aws::Parameter> {
        if (auto e = Injected("GetParameter")) return *e;
        auto it = parameters.find(r.name);
        if (it == parameters.end()) {
          Error e(ErrorCode::kNotFound, "ParameterNotFound");
          e.aws_code = "ParameterNotFound";
          return e;
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
            if (auto e = Injected("DescribeImages")) return *e;
            aws::DescribeImagesResponse out;
            for (const auto& id : r.image_ids) {
              auto it = images.find(id);
              if (it == images.end()) {
                Error e(ErrorCode::kNotFound, "The image id '[" + id + "]' does not exist");
                e.aws_code = "InvalidAMIID.NotFound";
                return e;
              }
              out.images.push_back(it->second);
            }
            return out;
          }));

  ON_CALL(ec2, DescribeInstances(_))
      .WillByDefault(Invoke(
          [this](const aws::DescribeInstancesRequest& r) -> Result<aws::DescribeInstancesResponse> {
            if (auto e = Injected("DescribeInstances")) return *e;
            aws::DescribeInstancesResponse out;
            for (const auto& id : r.instance_ids) {
              if (!instances.count(id)) {
                Error e(ErrorCode::kNotFound, "The instance ID '" + id + "' does not exist");
                e.aws_code = "InvalidInstanceID.NotFound";
                return e;
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

  ON_CALL(ec2, DescribeVolumes(_))
      .WillByDefault(Invoke(
          [this](const aws::DescribeVolumesRequest& r) -> Result<aws::DescribeVolumesResponse> {
            if (auto e = Injected("DescribeVolumes")) return *e;
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
            Mutation("RunInstances");
            if (auto e = Injected("RunInstances")) return *e;
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
            Mutation("StopInstances");
            if (auto e = Injected("StopInstances")) return *e;
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
            Mutation("StartInstances");
            if (auto e = Injected("StartInstances")) return *e;
            for (const auto& id : r.instance_ids) SetState(instances.at(id), "pending", "running");
            return Changes();
          }));
  ON_CALL(ec2, TerminateInstances(_))
      .WillByDefault(
          Invoke([this](const aws::InstanceIdsRequest& r) -> Result<aws::InstanceStateChanges> {
            Mutation("TerminateInstances");
            if (auto e = Injected("TerminateInstances")) return *e;
            for (const auto& id : r.instance_ids) {
              if (instances.at(id).disable_api_termination) {
                return AwsError("OperationNotPermitted", "termination protection");
              }
              SetState(instances.at(id), "shutting-down", "terminated");
            }
            return Changes();
          }));
  ON_CALL(ec2, DescribeInstanceStatus(_))
      .WillByDefault(Invoke([this](const aws::DescribeInstanceStatusRequest& r)
                                -> Result<aws::DescribeInstanceStatusResponse> {
        aws::DescribeInstanceStatusResponse out;
        for (const auto& id : r.instance_ids) {
          const auto& i = instances.at(id).instance;
          const bool up = i.state.name == "running";
          out.statuses.push_back({id, "us-east-1a", i.state, up ? "ok" : "not-applicable",
                                  up ? "ok" : "not-applicable"});
        }
        return out;
      }));

  ON_CALL(ec2, DetachVolume(_))
      .WillByDefault(
          Invoke([this](const aws::DetachVolumeRequest& r) -> Result<aws::VolumeAttachment> {
            Mutation("DetachVolume");
            if (auto e = Injected("DetachVolume")) return *e;
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
            Mutation("AttachVolume");
            if (auto e = Injected("AttachVolume")) return *e;
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
            Mutation("AssociateAddress");
            if (auto e = Injected("AssociateAddress")) return *e;
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
        Mutation("CreateTags");
        if (auto e = Injected("CreateTags")) return *e;
        for (const auto& id : r.resource_ids) {
          for (const auto& [k, v] : r.tags) instances.at(id).instance.tags[k] = v;
        }
        return aws::RequestReceipt{NextRequestId()};
      }));

  ON_CALL(ec2, DescribeLaunchTemplateVersions(_))
      .WillByDefault(Invoke([this](const aws::DescribeLaunchTemplateVersionsRequest& r)
                                -> Result<aws::DescribeLaunchTemplateVersionsResponse> {
        if (auto e = Injected("DescribeLaunchTemplateVersions")) return *e;
        FakeTemplate* t = nullptr;
        for (auto& [id, tpl] : templates) {
          if (id == r.launch_template_id || tpl.name == r.launch_template_name) t = &tpl;
        }
        if (t == nullptr) {
          Error e(ErrorCode::kNotFound, "no such template");
          e.aws_code = "InvalidLaunchTemplateId.NotFound";
          return e;
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
        Mutation("CreateLaunchTemplateVersion");
        if (auto e = Injected("CreateLaunchTemplateVersion")) return *e;
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
        Mutation("CreateReplaceRootVolumeTask");
        if (auto e = Injected("CreateReplaceRootVolumeTask")) return *e;
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
            Mutation("ModifyInstanceAttribute");
            if (auto e = Injected("ModifyInstanceAttribute")) return *e;
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
        if (auto e = Injected("DescribeInstanceCreditSpecifications")) return *e;
        aws::DescribeInstanceCreditSpecificationsResponse out;
        for (const auto& id : r.instance_ids) {
          if (!CreditsOf(id).empty()) out.specifications.push_back({id, CreditsOf(id)});
        }
        return out;
      }));
  ON_CALL(ec2, ModifyInstanceCreditSpecification(_))
      .WillByDefault(Invoke([this](const aws::ModifyInstanceCreditSpecificationRequest& r)
                                -> Result<aws::ModifyInstanceCreditSpecificationResponse> {
        Mutation("ModifyInstanceCreditSpecification");
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
        if (auto e = Injected("DescribeNetworkInterfaces")) return *e;
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
        Mutation("AttachNetworkInterface");
        if (auto e = Injected("AttachNetworkInterface")) return *e;
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
            Mutation("DetachNetworkInterface");
            if (auto e = Injected("DetachNetworkInterface")) return *e;
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
        Mutation("ModifyNetworkInterfaceAttribute");
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
        Mutation("AssignPrivateIpAddresses");
        if (auto e = Injected("AssignPrivateIpAddresses")) return *e;
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
            Mutation("UnassignPrivateIpAddresses");
            if (auto e = Injected("UnassignPrivateIpAddresses")) return *e;
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

  auto& elb = *cell_.elbv2;
  ON_CALL(elb, DescribeTargetGroups(_))
      .WillByDefault(Invoke([this](const aws::DescribeTargetGroupsRequest&)
                                -> Result<aws::DescribeTargetGroupsResponse> {
        aws::DescribeTargetGroupsResponse out;
        for (const auto& [arn, tg] : target_groups) out.target_groups.push_back(tg.group);
        return out;
      }));
  ON_CALL(elb, DescribeTargetHealth(_))
      .WillByDefault(Invoke([this](const aws::DescribeTargetHealthRequest& r)
                                -> Result<aws::DescribeTargetHealthResponse> {
        aws::DescribeTargetHealthResponse out;
        auto& tg = target_groups.at(r.target_group_arn);
        for (auto it = tg.recover_after_reads.begin(); it != tg.recover_after_reads.end();) {
          if (--it->second > 0) {
            ++it;
            continue;
          }
          tg.targets[it->first] = "healthy";
          tg.reasons.erase(it->first);
          tg.mutations_at_recovery = static_cast<int>(mutations.size());
          it = tg.recover_after_reads.erase(it);
        }
        for (const auto& [id, state] : tg.targets) {
          bool asked = r.targets.empty();
          for (const auto& t : r.targets) asked = asked || t.id == id;
          if (!asked) continue;
          aws::TargetHealthDescription d;
          d.target.id = id;
          d.target.port = tg.ports.at(id);
          d.state = state;
          if (auto reason = tg.reasons.find(id); reason != tg.reasons.end()) {
            d.reason = reason->second;
          }
          out.descriptions.push_back(d);
        }
        return out;
      }));
  ON_CALL(elb, RegisterTargets(_))
      .WillByDefault(Invoke([this](const aws::TargetsRequest& r) -> Result<aws::RequestReceipt> {
        Mutation("RegisterTargets");
        if (auto e = Injected("RegisterTargets")) return *e;
        auto& tg = target_groups.at(r.target_group_arn);
        for (const auto& t : r.targets) {
          const bool is_new = instances.at(t.id).instance.tags.count("fleetkeeper:replaces") > 0;
          tg.targets[t.id] = is_new ? new_instance_health : "healthy";
          tg.ports[t.id] = t.port.value_or(80);
        }
        return aws::RequestReceipt{NextRequestId()};
      }));
  ON_CALL(elb, DeregisterTargets(_))
      .WillByDefault(Invoke([this](const aws::TargetsRequest& r) -> Result<aws::RequestReceipt> {
        Mutation("DeregisterTargets");
        if (auto e = Injected("DeregisterTargets")) return *e;
        for (const auto& t : r.targets) target_groups.at(r.target_group_arn).targets.erase(t.id);
        return aws::RequestReceipt{NextRequestId()};
      }));

  ON_CALL(asg, DescribeAutoScalingGroups(_))
      .WillByDefault(Invoke([this](const aws::DescribeAutoScalingGroupsRequest& r)
                                -> Result<aws::DescribeAutoScalingGroupsResponse> {
        if (auto e = Injected("DescribeAutoScalingGroups")) return *e;
        aws::DescribeAutoScalingGroupsResponse out;
        for (const auto& [name, g] : groups) {
          if (r.names.empty() || std::find(r.names.begin(), r.names.end(), name) != r.names.end()) {
            out.groups.push_back(g);
          }
        }
        return out;
      }));
  ON_CALL(asg, UpdateAutoScalingGroup(_))
      .WillByDefault(Invoke(
          [this](const aws::UpdateAutoScalingGroupRequest& r) -> Result<aws::RequestReceipt> {
            Mutation("UpdateAutoScalingGroup");
            if (auto e = Injected("UpdateAutoScalingGroup")) return *e;
            group_updates.push_back(r);
            auto& g = groups.at(r.asg_name);
            if (r.launch_template) g.launch_template = r.launch_template;
            if (r.mixed_instances_policy) g.mixed_instances_policy = r.mixed_instances_policy;
            return aws::RequestReceipt{NextRequestId()};
          }));
  ON_CALL(asg, StartInstanceRefresh(_))
      .WillByDefault(Invoke([this](const aws::StartInstanceRefreshRequest& r)
                                -> Result<aws::StartInstanceRefreshResponse> {
        Mutation("StartInstanceRefresh");
        if (auto e = Injected("StartInstanceRefresh")) return *e;
        auto& list = refreshes[r.asg_name];
        for (const auto& x : list) {
          if (x.status == "InProgress" || x.status == "Pending" || x.status == "Cancelling") {
            Error e(ErrorCode::kInProgress, "An Instance Refresh is already in progress");
            e.aws_code = "InstanceRefreshInProgress";
            return e;
          }
        }
        aws::InstanceRefresh x;
        x.id = NextId("refresh-");
        x.asg_name = r.asg_name;
        x.status = "InProgress";
        x.desired_configuration = r.desired_configuration;
        x.auto_rollback = r.preferences.auto_rollback;
        x.percentage_complete = 0;
        list.insert(list.begin(), x);
        refresh_requests[x.id] = r;
        return aws::StartInstanceRefreshResponse{x.id, NextRequestId()};
      }));
  ON_CALL(asg, DescribeInstanceRefreshes(_))
      .WillByDefault(Invoke([this](const aws::DescribeInstanceRefreshesRequest& r)
                                -> Result<aws::DescribeInstanceRefreshesResponse> {
        aws::DescribeInstanceRefreshesResponse out;
        for (auto& x : refreshes[r.asg_name]) {
          if (!r.instance_refresh_ids.empty() &&
              std::find(r.instance_refresh_ids.begin(), r.instance_refresh_ids.end(), x.id) ==
                  r.instance_refresh_ids.end()) {
            continue;
          }
          out.refreshes.push_back(x);
          // Our refreshes progress with each look; foreign ones (no request) too.
          if (x.status == "InProgress") {
            x.percentage_complete = x.percentage_complete.value_or(0) + 100 / refresh_looks;
            if (x.percentage_complete >= 100) x.status = refresh_outcome;
          } else if (x.status == "Cancelling") {
            x.status = "Cancelled";
          } else if (x.status == "RollbackInProgress") {
            x.status = "RollbackSuccessful";
          }
        }
        return out;
      }));
  ON_CALL(asg, CancelInstanceRefresh(_))
      .WillByDefault(
          Invoke([this](const aws::AsgNameRequest& r) -> Result<aws::InstanceRefreshIdResponse> {
            Mutation("CancelInstanceRefresh");
            for (auto& x : refreshes[r.asg_name]) {
              if (x.status == "InProgress" || x.status == "Pending") {
                x.status = "Cancelling";
                return aws::InstanceRefreshIdResponse{x.id, NextRequestId()};
              }
            }
            Error e(ErrorCode::kNotFound, "no active refresh");
            e.aws_code = "ActiveInstanceRefreshNotFound";
            return e;
          }));

  // https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_RollbackInstanceRefresh.html
  ON_CALL(asg, RollbackInstanceRefresh(_))
      .WillByDefault(
          Invoke([this](const aws::AsgNameRequest& r) -> Result<aws::InstanceRefreshIdResponse> {
            for (auto& x : refreshes[r.asg_name]) {
              if (x.status != "InProgress" && x.status != "Pending") continue;
              if (!refuse_rollback.empty()) {
                Error e(ErrorCode::kAws, "the refresh cannot be rolled back");
                e.aws_code = refuse_rollback;
                e.http_status = 400;
                return e;
              }
              Mutation("RollbackInstanceRefresh");
              x.status = "RollbackInProgress";
              return aws::InstanceRefreshIdResponse{x.id, NextRequestId()};
            }
            Error e(ErrorCode::kNotFound, "no active refresh");
            e.aws_code = "ActiveInstanceRefreshNotFound";
            return e;
          }));

  ON_CALL(*cell_.cloudwatch, PutMetricData(_))
      .WillByDefault(Invoke([this](const aws::PutMetricDataRequest& r) -> Status {
        metrics.push_back(r);
        return Ok{};
      }));
}

}  // namespace fleetkeeper::handlers::ami_rollout::testing
