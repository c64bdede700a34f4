// One in-memory AWS account for the handlers' unit tests: the GMock services of a MockCell answer
// from this state and change it the way the AWS API references describe, so tests assert on the
// resulting account (which instance runs which AMI, where each volume is attached, a group's
// desired capacity, which deployment was stopped) rather than on calls.
//
// What it holds: SSM parameters, images, EC2 instances with their volumes, addresses, network
// interfaces, attributes and status checks, launch templates, Auto Scaling groups (which launch
// instances up to their desired capacity) and their instance refreshes, target groups and target
// health, root volume replacement tasks, an ECS service's deployments, CodeDeploy deployments and
// deployment groups, CloudWatch alarms and metrics, SNS messages.
//
// Instance state changes take one read to settle (pending -> running, stopping -> stopped,
// shutting-down -> terminated): DescribeInstances and DescribeInstanceStatus answer what was, then
// settle, so a handler's waits are exercised. Any operation can be made to fail (`FailOn`), once,
// a few times or always; every call is recorded (`calls`) and the mutating ones apart
// (`mutations`).
//
// The behaviour follows the API references: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/
// (RunInstances, StopInstances, AttachVolume, AssociateAddress, AssignPrivateIpAddresses,
// CreateLaunchTemplateVersion, DescribeInstanceStatus, RebootInstances, ...),
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/ (StartInstanceRefresh,
// RollbackInstanceRefresh, SetDesiredCapacity, TerminateInstanceInAutoScalingGroup with
// ShouldDecrementDesiredCapacity), https://docs.aws.amazon.com/AmazonECS/latest/APIReference/
// (UpdateService forceNewDeployment) and
// https://docs.aws.amazon.com/codedeploy/latest/APIReference/ (StopDeployment).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/testing/step_harness.h"

namespace fleetkeeper::handlers::testing {

struct FakeInstance {
  aws::Instance instance;
  std::string next_state;  // applied on the next DescribeInstances or DescribeInstanceStatus
  std::string user_data;
  bool disable_api_termination = false;
  bool disable_api_stop = false;
  std::string shutdown_behavior = "stop";
  std::string cpu_credits;  // burstable types; empty: the family's launch default
  // Its status checks while it runs ("ok", "impaired"); a start moves it to new hardware (ok).
  std::string system_status = "ok";
  std::string instance_status = "ok";
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
  int mutations_at_recovery = -1;  // account.mutations.size() when the last of them recovered
};

class FakeAccount {
 public:
  explicit FakeAccount(MockCell& cell);
  FakeAccount(const FakeAccount&) = delete;  // the mocks' actions hold `this`
  FakeAccount& operator=(const FakeAccount&) = delete;

  // ---- building the account ----------------------------------------------------------------
  void AddParameter(const std::string& name, const std::string& value, int64_t version) {
    parameters[name] = {value, version};
  }
  void AddImage(const std::string& id, const std::string& state = "available");
  // A launch template with one version (the default) on `image_id`.
  std::string AddTemplate(const std::string& name, const std::string& image_id);
  // A group launched from template version `version`, at `size` InService instances of `image`.
  aws::AutoScalingGroup& AddGroup(const std::string& name, const std::string& template_id,
                                  const std::string& version, const std::string& image,
                                  int size = 2);
  // A group with these sizes, its instances launched up to `desired`.
  aws::AutoScalingGroup& AddGroup(const std::string& name, int64_t min, int64_t desired,
                                  int64_t max);
  // A running instance with a root volume and a primary network interface; `id` names it (a
  // fresh id when empty).
  FakeInstance& AddInstance(const std::string& image, aws::Tags tags = {},
                            const std::string& id = "");
  // A running instance outside any group, of no particular image.
  std::string AddStandalone(const std::string& id) { return AddInstance("", {}, id).instance.id; }
  std::string AddVolume(const std::string& instance, const std::string& device, int64_t size,
                        bool delete_on_termination = false);
  // An Elastic IP on the instance's primary address, or on `private_ip`.
  std::string AddEip(const std::string& instance, const std::string& private_ip = "");
  // A network interface in the instance's subnet, attached at `device_index` (>= 1).
  std::string AddInterface(const std::string& instance, int device_index,
                           bool delete_on_termination = false);
  std::string AddTargetGroup(const std::string& name, const std::vector<std::string>& members);

  // ---- failure injection ---------------------------------------------------------------------
  static constexpr int kAlways = -1;
  // The next `times` calls of `operation` (e.g. "RunInstances") fail with `error`; every one of
  // them with kAlways.
  void FailOn(const std::string& operation, Error error, int times = 1) {
    failures.insert_or_assign(operation, std::make_pair(std::move(error), times));
  }
  static Error AwsError(const std::string& code, const std::string& message);
  // The error of a missing resource (ErrorCode::kNotFound) with its AWS code.
  static Error NotFound(const std::string& code, const std::string& message);

  // ---- observation -----------------------------------------------------------------------------
  const aws::Instance& Get(const std::string& id) { return instances.at(id).instance; }
  // The state the instance is in or on its way to.
  std::string StateOf(const std::string& id) const;
  // The instance, other than `old`, that carries fleetkeeper:replaces = old.
  std::optional<std::string> ReplacementOf(const std::string& old) const;
  int CountReplacementsOf(const std::string& old) const;
  std::string AttachedTo(const std::string& volume) const;
  std::string DeviceOf(const std::string& volume) const;
  // "<instance>@<device index>" of the interface's attachment, "" when detached.
  std::string InterfacePlace(const std::string& eni) const;
  std::string CreditsOf(const std::string& id) const;
  std::string EipInstance(const std::string& allocation) const;
  // "<instance> at <private address>" of the Elastic IP.
  std::string EipPlace(const std::string& allocation) const;
  // The primary interface with id `eni`, or nullptr.
  aws::InstanceNetworkInterface* PrimaryInterface(const std::string& eni);
  // The secondary addresses of the instance's primary interface.
  std::vector<std::string> SecondaryIpsOf(const std::string& id);
  const aws::AutoScalingGroup& group(const std::string& name) { return groups.at(name); }
  // The group's instances, in launch order.
  std::vector<std::string> InstanceIds(const std::string& asg);
  int MutatingCalls() const { return static_cast<int>(mutations.size()); }
  // How many times `operation` was called.
  int Calls(const std::string& operation) const;

  // ---- the account -----------------------------------------------------------------------------
  std::map<std::string, std::pair<std::string, int64_t>> parameters;  // value, version
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
  std::map<std::string, aws::EcsService> services;  // by name
  std::map<std::string, aws::DeploymentInfo> deployments;
  // CodeDeploy applications -> their deployment groups (with the alarms they list).
  std::map<std::string, std::vector<aws::DeploymentGroupInfo>> deployment_groups;
  std::map<std::string, std::string> alarm_states;  // alarm name -> state value
  std::vector<aws::PutMetricDataRequest> metrics;
  std::vector<aws::PublishRequest> published;
  std::vector<std::string> rebooted;

  // ---- what the calls were ---------------------------------------------------------------------
  std::vector<aws::DescribeTargetHealthRequest> health_reads;  // in order
  std::vector<std::string> calls;      // every call, by operation name, in order
  std::vector<std::string> mutations;  // every mutating call, in order
  int max_out_of_service = 0;          // most standalone originals stopped at once
  std::map<std::string, std::pair<Error, int>> failures;  // operation -> error, times (FailOn)

  // ---- knobs -----------------------------------------------------------------------------------
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
  // false: groups do not launch instances (a verification that must time out).
  bool groups_launch = true;
  // false: a reboot does not fix the instance's status checks.
  bool reboot_heals = true;
  // true: a new ECS deployment completes when it is described.
  bool ecs_completes = true;

 private:
  // Records the call and answers the failure injected for it, if any.
  std::optional<Error> Call(const std::string& operation, bool mutating = false);
  std::string NextId(const std::string& prefix);
  std::string NextIp() { return "10.0.0." + std::to_string(10 + next_id_ % 200); }
  std::string NextRequestId() { return "req-" + std::to_string(++next_request_); }
  aws::InstanceStateChanges Changes() { return {{}, NextRequestId()}; }
  static std::string DefaultCredits(const std::string& type);

  // Instance states and what they take with them.
  void TrackOutOfService();
  void SetState(FakeInstance& f, const std::string& transient, const std::string& final_state);
  void Settle();
  void Terminated(const std::string& id);
  // The instance as DescribeInstances shows it: its volumes and interfaces attached.
  aws::Instance Snapshot(const FakeInstance& f) const;
  // The interfaces EC2 lists for the instance, its primary one included.
  std::vector<aws::NetworkInterface> InterfacesOf(const std::string& id) const;
  // The group brings its InService instances up to the desired count, as Auto Scaling does.
  void Reconcile(const std::string& name);

  // The services' behaviour, by the part of the account they act on (fake_account_*.cc).
  void InstallInstances();
  void InstallDevices();
  void InstallGroups();
  void InstallServices();

  MockCell& cell_;
  std::map<std::string, std::string> group_images_;  // what a group launches
  unsigned next_id_ = 0xabc000;
  int next_request_ = 0;
  int ecs_deployments_ = 0;
};

}  // namespace fleetkeeper::handlers::testing
