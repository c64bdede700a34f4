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

#include "tests/testing/step_harness.h"

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

  // The services' behaviour, by the part of the account they act on (fake_fleet_*.h).
  void Install() {
    InstallInstances();
    InstallDevices();
    InstallGroups();
  }
  void InstallInstances();
  void InstallDevices();
  void InstallGroups();

  handlers::testing::MockCell& cell_;
  unsigned next_id_ = 0xabc000;
  int next_request_ = 0;
};

}  // namespace fleetkeeper::handlers::ami_rollout::testing

// The services' behaviour, defined after the class (each part includes this header).
#include "tests/handlers/ami_rollout/fake_fleet_devices.h"
#include "tests/handlers/ami_rollout/fake_fleet_groups.h"
#include "tests/handlers/ami_rollout/fake_fleet_instances.h"
