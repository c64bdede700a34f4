// The fake account's building, observation and instance bookkeeping (fake_account.h); the
// services' behaviour is in fake_account_*.cc.
#include "tests/testing/fake_account.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace fleetkeeper::handlers::testing {

FakeAccount::FakeAccount(MockCell& cell) : cell_(cell) {
  InstallInstances();
  InstallDevices();
  InstallGroups();
  InstallServices();
}

// ---- building -----------------------------------------------------------------------------------

void FakeAccount::AddImage(const std::string& id, const std::string& state) {
  aws::Image i;
  i.id = id;
  i.state = state;
  i.name = "image " + id;
  images[id] = i;
}

std::string FakeAccount::AddTemplate(const std::string& name, const std::string& image_id) {
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

aws::AutoScalingGroup& FakeAccount::AddGroup(const std::string& name,
                                             const std::string& template_id,
                                             const std::string& version, const std::string& image,
                                             int size) {
  aws::AutoScalingGroup g;
  g.name = name;
  g.launch_template = aws::LaunchTemplateSpec{template_id, templates[template_id].name, version};
  g.desired_capacity = g.min_size = g.max_size = size;
  groups[name] = g;
  group_images_[name] = image;
  Reconcile(name);
  return groups[name];
}

aws::AutoScalingGroup& FakeAccount::AddGroup(const std::string& name, int64_t min, int64_t desired,
                                             int64_t max) {
  aws::AutoScalingGroup g;
  g.name = name;
  g.min_size = min;
  g.max_size = max;
  g.desired_capacity = desired;
  groups[name] = g;
  Reconcile(name);
  return groups[name];
}

FakeInstance& FakeAccount::AddInstance(const std::string& image, aws::Tags tags,
                                       const std::string& id) {
  FakeInstance f;
  aws::Instance& i = f.instance;
  i.id = id.empty() ? NextId("i-") : id;
  i.image_id = image;
  i.state = {16, "running"};
  i.instance_type = "m5.large";
  i.subnet_id = "subnet-1";
  i.vpc_id = "vpc-1";
  i.private_ip = NextIp();
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
  const std::string key = i.id;
  instances[key] = f;
  AddVolume(key, i.root_device_name, 20, true);
  return instances[key];
}

std::string FakeAccount::AddVolume(const std::string& instance, const std::string& device,
                                   int64_t size, bool delete_on_termination) {
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

std::string FakeAccount::AddEip(const std::string& instance, const std::string& private_ip) {
  aws::Address a;
  a.allocation_id = NextId("eipalloc-");
  a.public_ip = "203.0.113." + std::to_string(addresses.size() + 10);
  a.domain = "vpc";
  a.instance_id = instance;
  a.private_ip = private_ip.empty() ? instances.at(instance).instance.private_ip : private_ip;
  addresses.push_back(a);
  return a.allocation_id;
}

std::string FakeAccount::AddInterface(const std::string& instance, int device_index,
                                      bool delete_on_termination) {
  aws::NetworkInterface n;
  n.id = NextId("eni-");
  n.subnet_id = "subnet-1";
  n.interface_type = "interface";
  n.status = "in-use";
  n.private_ip = NextIp();
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

std::string FakeAccount::AddTargetGroup(const std::string& name,
                                        const std::vector<std::string>& members) {
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

Error FakeAccount::AwsError(const std::string& code, const std::string& message) {
  Error e(ErrorCode::kAws, message);
  e.aws_code = code;
  e.request_id = "req-" + code;
  e.http_status = 400;
  return e;
}

Error FakeAccount::NotFound(const std::string& code, const std::string& message) {
  Error e(ErrorCode::kNotFound, message);
  e.aws_code = code;
  return e;
}

// ---- observation --------------------------------------------------------------------------------

std::string FakeAccount::StateOf(const std::string& id) const {
  const auto& f = instances.at(id);
  return f.next_state.empty() ? f.instance.state.name : f.next_state;
}

std::optional<std::string> FakeAccount::ReplacementOf(const std::string& old) const {
  for (const auto& [id, f] : instances) {
    auto it = f.instance.tags.find("fleetkeeper:replaces");
    if (it != f.instance.tags.end() && it->second == old) return id;
  }
  return std::nullopt;
}

int FakeAccount::CountReplacementsOf(const std::string& old) const {
  int n = 0;
  for (const auto& [id, f] : instances) {
    auto it = f.instance.tags.find("fleetkeeper:replaces");
    if (it != f.instance.tags.end() && it->second == old) ++n;
  }
  return n;
}

std::string FakeAccount::AttachedTo(const std::string& volume) const {
  const auto& v = volumes.at(volume);
  return v.attachments.empty() ? "" : v.attachments.front().instance_id;
}

std::string FakeAccount::DeviceOf(const std::string& volume) const {
  const auto& v = volumes.at(volume);
  return v.attachments.empty() ? "" : v.attachments.front().device;
}

std::string FakeAccount::InterfacePlace(const std::string& eni) const {
  const auto& n = interfaces.at(eni);
  if (!n.attachment) return "";
  return n.attachment->instance_id + "@" + std::to_string(n.attachment->device_index);
}

std::string FakeAccount::CreditsOf(const std::string& id) const {
  const FakeInstance& f = instances.at(id);
  return f.cpu_credits.empty() ? DefaultCredits(f.instance.instance_type) : f.cpu_credits;
}

std::string FakeAccount::EipInstance(const std::string& allocation) const {
  for (const auto& a : addresses) {
    if (a.allocation_id == allocation) return a.instance_id;
  }
  return "";
}

std::string FakeAccount::EipPlace(const std::string& allocation) const {
  for (const auto& a : addresses) {
    if (a.allocation_id == allocation) return a.instance_id + " at " + a.private_ip;
  }
  return "";
}

aws::InstanceNetworkInterface* FakeAccount::PrimaryInterface(const std::string& eni) {
  for (auto& [id, f] : instances) {
    if (f.instance.network_interfaces.front().id == eni) {
      return &f.instance.network_interfaces.front();
    }
  }
  return nullptr;
}

std::vector<std::string> FakeAccount::SecondaryIpsOf(const std::string& id) {
  std::vector<std::string> out;
  for (const auto& p : instances.at(id).instance.network_interfaces.front().private_ips) {
    if (!p.primary) out.push_back(p.address);
  }
  return out;
}

std::vector<std::string> FakeAccount::InstanceIds(const std::string& asg) {
  std::vector<std::string> out;
  for (const auto& i : groups.at(asg).instances) out.push_back(i.instance_id);
  return out;
}

int FakeAccount::Calls(const std::string& operation) const {
  return static_cast<int>(std::count(calls.begin(), calls.end(), operation));
}

// ---- bookkeeping --------------------------------------------------------------------------------

std::optional<Error> FakeAccount::Call(const std::string& operation, bool mutating) {
  calls.push_back(operation);
  if (mutating) mutations.push_back(operation);
  auto it = failures.find(operation);
  if (it == failures.end()) return std::nullopt;
  int& times = it->second.second;
  if (times == kAlways) return it->second.first;
  if (times <= 0) return std::nullopt;
  --times;
  return it->second.first;
}

std::string FakeAccount::NextId(const std::string& prefix) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%017x", prefix.c_str(), ++next_id_);
  return buf;
}

// T2 launches standard, T3/T3a/T4g unlimited; other families have no credit option.
std::string FakeAccount::DefaultCredits(const std::string& type) {
  if (type.rfind("t2.", 0) == 0) return "standard";
  return type.size() > 1 && type[0] == 't' && std::isdigit(static_cast<unsigned char>(type[1]))
             ? "unlimited"
             : "";
}

void FakeAccount::TrackOutOfService() {
  int n = 0;
  for (const auto& [id, f] : instances) {
    if (f.instance.tags.count("fleetkeeper:replaces")) continue;
    if (f.instance.tags.count("aws:autoscaling:groupName")) continue;
    const std::string s = f.next_state.empty() ? f.instance.state.name : f.next_state;
    if (s == "stopping" || s == "stopped") ++n;
  }
  max_out_of_service = std::max(max_out_of_service, n);
}

namespace {
int StateCode(const std::string& state) {
  static const std::map<std::string, int> codes = {{"pending", 0},        {"running", 16},
                                                   {"shutting-down", 32}, {"terminated", 48},
                                                   {"stopping", 64},      {"stopped", 80}};
  return codes.at(state);
}
}  // namespace

void FakeAccount::SetState(FakeInstance& f, const std::string& transient,
                           const std::string& final_state) {
  f.instance.state = {StateCode(transient), transient};
  f.next_state = final_state;
  TrackOutOfService();
}

void FakeAccount::Settle() {
  for (auto& [id, f] : instances) {
    if (f.next_state.empty()) continue;
    f.instance.state = {StateCode(f.next_state), f.next_state};
    f.next_state.clear();
    if (f.instance.state.name == "terminated") Terminated(id);
  }
}

// What goes with a terminated instance: volumes with DeleteOnTermination are deleted, the others
// detached; it leaves its target groups; interfaces with DeleteOnTermination go, the others are
// detached, as EC2 does.
void FakeAccount::Terminated(const std::string& id) {
  FakeInstance& f = instances.at(id);
  f.instance.state = {StateCode("terminated"), "terminated"};
  f.next_state.clear();
  for (auto& [vid, v] : volumes) {
    if (!v.attachments.empty() && v.attachments.front().instance_id == id) {
      const bool gone = v.attachments.front().delete_on_termination.value_or(false);
      v.attachments.clear();
      v.state = gone ? "deleted" : "available";
    }
  }
  for (auto& [arn, tg] : target_groups) tg.targets.erase(id);
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

aws::Instance FakeAccount::Snapshot(const FakeInstance& f) const {
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

std::vector<aws::NetworkInterface> FakeAccount::InterfacesOf(const std::string& id) const {
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

void FakeAccount::Reconcile(const std::string& name) {
  if (!groups_launch) return;
  auto& g = groups.at(name);
  while (static_cast<int64_t>(g.instances.size()) < g.desired_capacity) {
    aws::AsgInstance m;
    m.instance_id =
        AddInstance(group_images_[name], {{"aws:autoscaling:groupName", name}}).instance.id;
    m.lifecycle_state = "InService";
    m.health_status = "Healthy";
    g.instances.push_back(m);
  }
}

}  // namespace fleetkeeper::handlers::testing
