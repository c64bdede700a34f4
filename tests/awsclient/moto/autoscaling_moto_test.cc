// Every Auto Scaling operation of the client against moto with authentication on. Instance
// refreshes and lifecycle actions are filled by the launcher (scripts/motofill/autoscaling.py);
// with moto.sh's default time scale an InstanceWarmup of N seconds lasts N seconds.
#include <set>
#include <tuple>

#include "tests/awsclient/moto/moto_fixture.h"

namespace fleetkeeper::aws::moto_test {
namespace {

struct Group {
  std::string name;
  std::string template_id;
  std::string old_ami;  // version 1
  std::string new_ami;  // version 2
};

class AutoScalingMoto : public MotoTest {
 protected:
  // A group of `capacity` instances on version 1 of a launch template whose version 2 has
  // another image.
  Group MakeGroup(int capacity, int subnet_octet) {
    Group g;
    g.name = Unique("fk-asg");
    std::tie(g.old_ami, g.new_ami) = TwoAmis();
    auto [vpc_id, subnet_id] = MakeSubnet(subnet_octet);
    QueryParams lt = Ec2Params("CreateLaunchTemplate");
    lt.Set("LaunchTemplateName", g.name);
    lt.Set("LaunchTemplateData.ImageId", g.old_ami);
    lt.Set("LaunchTemplateData.InstanceType", "t3.micro");
    XmlResponse created = Query("ec2", lt);
    g.template_id = created.result.child("launchTemplate").child_value("launchTemplateId");
    Result<LaunchTemplateVersion> v2 = clients_->ec2->CreateLaunchTemplateVersion(
        {g.template_id, "", "1", "new image", g.new_ami, ""});
    EXPECT_TRUE(v2.ok()) << v2.error().ToString();

    QueryParams asg(QueryFlavor::kQuery, "CreateAutoScalingGroup", kAutoScalingVersion);
    asg.Set("AutoScalingGroupName", g.name);
    asg.Set("LaunchTemplate.LaunchTemplateId", g.template_id);
    asg.Set("LaunchTemplate.Version", "1");
    asg.Set("MinSize", 0);
    asg.Set("MaxSize", capacity * 2 + 2);
    asg.Set("DesiredCapacity", capacity);
    asg.Set("VPCZoneIdentifier", subnet_id);
    asg.Set("Tags.member.1.Key", "fleetkeeper:group");
    asg.Set("Tags.member.1.Value", g.name);
    asg.Set("Tags.member.1.PropagateAtLaunch", true);
    Query("autoscaling", asg);
    return g;
  }

  static RefreshDesiredConfiguration ToVersion2(const Group& g) {
    return RefreshDesiredConfiguration{LaunchTemplateSpec{g.template_id, "", "2"}, std::nullopt};
  }

  AutoScalingGroup Describe(const std::string& name) {
    Result<DescribeAutoScalingGroupsResponse> r =
        clients_->autoscaling->DescribeAutoScalingGroups({{name}, {}, {}, ""});
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() && r->groups.size() == 1 ? r->groups[0] : AutoScalingGroup{};
  }

  std::set<std::string> InstanceIds(const std::string& name) {
    std::set<std::string> ids;
    for (const AsgInstance& i : Describe(name).instances) ids.insert(i.instance_id);
    return ids;
  }

  InstanceRefresh Refresh(const std::string& name, const std::string& id) {
    Result<DescribeInstanceRefreshesResponse> r =
        clients_->autoscaling->DescribeInstanceRefreshes({name, {id}, {}, ""});
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() && r->refreshes.size() == 1 ? r->refreshes[0] : InstanceRefresh{};
  }

  bool WaitForRefreshStatus(const Group& g, const std::string& id, const std::string& status,
                            std::chrono::seconds timeout = std::chrono::seconds(30)) {
    return WaitFor([&] { return Refresh(g.name, id).status == status; }, timeout);
  }

  void DeleteGroup(const std::string& name) {
    QueryParams del(QueryFlavor::kQuery, "DeleteAutoScalingGroup", kAutoScalingVersion);
    del.Set("AutoScalingGroupName", name);
    del.Set("ForceDelete", true);
    Query("autoscaling", del);
  }
};

TEST_F(AutoScalingMoto, DescribeByNameAndByTagFilter) {
  Group g = MakeGroup(2, 51);
  AutoScalingGroup group = Describe(g.name);
  EXPECT_EQ(group.name, g.name);
  EXPECT_EQ(group.desired_capacity, 2);
  EXPECT_EQ(group.max_size, 6);
  ASSERT_TRUE(group.launch_template.has_value());
  EXPECT_EQ(group.launch_template->id, g.template_id);
  EXPECT_EQ(group.launch_template->version, "1");
  ASSERT_EQ(group.instances.size(), 2u);
  for (const AsgInstance& i : group.instances) {
    EXPECT_EQ(i.lifecycle_state, "InService");
    EXPECT_EQ(i.health_status, "Healthy");
  }
  EXPECT_EQ(group.tags.at("fleetkeeper:group"), g.name);

  Result<DescribeAutoScalingGroupsResponse> by_tag =
      clients_->autoscaling->DescribeAutoScalingGroups(
          {{}, {{"tag:fleetkeeper:group", {g.name}}}, {}, ""});
  ASSERT_TRUE(by_tag.ok()) << by_tag.error().ToString();
  ASSERT_EQ(by_tag->groups.size(), 1u);
  EXPECT_EQ(by_tag->groups[0].name, g.name);
  DeleteGroup(g.name);
}

TEST_F(AutoScalingMoto, InstanceRefreshReplacesEveryInstance) {
  Group g = MakeGroup(3, 52);
  const std::set<std::string> before = InstanceIds(g.name);
  ASSERT_EQ(before.size(), 3u);

  StartInstanceRefreshRequest start;
  start.asg_name = g.name;
  start.desired_configuration = ToVersion2(g);
  start.preferences.min_healthy_percentage = 50;
  start.preferences.instance_warmup = 0;
  start.preferences.skip_matching = true;
  Result<StartInstanceRefreshResponse> started = clients_->autoscaling->StartInstanceRefresh(start);
  ASSERT_TRUE(started.ok()) << started.error().ToString();
  ASSERT_FALSE(started->instance_refresh_id.empty());
  EXPECT_FALSE(started->request_id.empty()) << "the request id goes into results";

  ASSERT_TRUE(WaitForRefreshStatus(g, started->instance_refresh_id, "Successful"))
      << "last status: " << Refresh(g.name, started->instance_refresh_id).status;
  InstanceRefresh done = Refresh(g.name, started->instance_refresh_id);
  EXPECT_EQ(done.asg_name, g.name);
  EXPECT_EQ(done.percentage_complete, 100);
  EXPECT_GT(done.end_time_ms, 0);
  EXPECT_EQ(done.skip_matching, true);
  ASSERT_TRUE(done.desired_configuration.has_value());
  ASSERT_TRUE(done.desired_configuration->launch_template.has_value());
  EXPECT_EQ(done.desired_configuration->launch_template->version, "2");

  AutoScalingGroup after = Describe(g.name);
  ASSERT_EQ(after.instances.size(), 3u);
  std::vector<std::string> ids;
  for (const AsgInstance& i : after.instances) {
    EXPECT_EQ(before.count(i.instance_id), 0u) << i.instance_id << " was not replaced";
    ASSERT_TRUE(i.launch_template.has_value());
    EXPECT_EQ(i.launch_template->version, "2");
    ids.push_back(i.instance_id);
  }
  Result<DescribeInstancesResponse> instances = clients_->ec2->DescribeInstances({ids, {}, {}, ""});
  ASSERT_TRUE(instances.ok()) << instances.error().ToString();
  for (const Instance& i : instances->instances) EXPECT_EQ(i.image_id, g.new_ami);
  ASSERT_TRUE(after.launch_template.has_value());
  EXPECT_EQ(after.launch_template->version, "2") << "the group takes the desired configuration";

  // Nothing is active any more.
  Result<InstanceRefreshIdResponse> cancel_none =
      clients_->autoscaling->CancelInstanceRefresh({g.name});
  ASSERT_FALSE(cancel_none.ok());
  EXPECT_EQ(cancel_none.error().aws_code, "ActiveInstanceRefreshNotFound");
  DeleteGroup(g.name);
}

TEST_F(AutoScalingMoto, CancelAndSecondRefreshRefused) {
  Group g = MakeGroup(2, 53);
  StartInstanceRefreshRequest start;
  start.asg_name = g.name;
  start.desired_configuration = ToVersion2(g);
  start.preferences.min_healthy_percentage = 50;
  start.preferences.instance_warmup = 300;  // stays in progress until cancelled
  Result<StartInstanceRefreshResponse> started = clients_->autoscaling->StartInstanceRefresh(start);
  ASSERT_TRUE(started.ok()) << started.error().ToString();
  ASSERT_TRUE(WaitForRefreshStatus(g, started->instance_refresh_id, "InProgress"));

  Result<StartInstanceRefreshResponse> second = clients_->autoscaling->StartInstanceRefresh(start);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().aws_code, "InstanceRefreshInProgress");
  EXPECT_EQ(second.error().code, ErrorCode::kInProgress) << "a retried start re-reads";

  Result<InstanceRefreshIdResponse> cancelled =
      clients_->autoscaling->CancelInstanceRefresh({g.name});
  ASSERT_TRUE(cancelled.ok()) << cancelled.error().ToString();
  EXPECT_EQ(cancelled->instance_refresh_id, started->instance_refresh_id);
  ASSERT_TRUE(WaitForRefreshStatus(g, started->instance_refresh_id, "Cancelled"));
  EXPECT_EQ(Describe(g.name).launch_template->version, "1") << "a cancelled refresh keeps it";
  DeleteGroup(g.name);
}

TEST_F(AutoScalingMoto, RollbackRestoresThePreviousConfiguration) {
  Group g = MakeGroup(2, 54);
  StartInstanceRefreshRequest start;
  start.asg_name = g.name;
  start.desired_configuration = ToVersion2(g);
  start.preferences.min_healthy_percentage = 50;
  start.preferences.instance_warmup = 1;
  Result<StartInstanceRefreshResponse> started = clients_->autoscaling->StartInstanceRefresh(start);
  ASSERT_TRUE(started.ok()) << started.error().ToString();
  ASSERT_TRUE(WaitForRefreshStatus(g, started->instance_refresh_id, "InProgress"));

  Result<InstanceRefreshIdResponse> rolled_back =
      clients_->autoscaling->RollbackInstanceRefresh({g.name});
  ASSERT_TRUE(rolled_back.ok()) << rolled_back.error().ToString();
  EXPECT_EQ(rolled_back->instance_refresh_id, started->instance_refresh_id);
  ASSERT_TRUE(WaitForRefreshStatus(g, started->instance_refresh_id, "RollbackSuccessful"))
      << Refresh(g.name, started->instance_refresh_id).status;
  InstanceRefresh done = Refresh(g.name, started->instance_refresh_id);
  EXPECT_FALSE(done.rollback_reason.empty());

  AutoScalingGroup after = Describe(g.name);
  EXPECT_EQ(after.launch_template->version, "1");
  std::vector<std::string> ids;
  for (const AsgInstance& i : after.instances) ids.push_back(i.instance_id);
  ASSERT_EQ(ids.size(), 2u);
  Result<DescribeInstancesResponse> instances = clients_->ec2->DescribeInstances({ids, {}, {}, ""});
  ASSERT_TRUE(instances.ok()) << instances.error().ToString();
  for (const Instance& i : instances->instances) EXPECT_EQ(i.image_id, g.old_ami);
  DeleteGroup(g.name);
}

TEST_F(AutoScalingMoto, CapacityHealthTerminateAndUpdate) {
  Group g = MakeGroup(2, 55);
  ASSERT_TRUE(clients_->autoscaling->SetDesiredCapacity({g.name, 3, false}).ok());
  EXPECT_TRUE(WaitFor([&] { return InstanceIds(g.name).size() == 3; }));
  EXPECT_EQ(Describe(g.name).desired_capacity, 3);

  const std::string victim = *InstanceIds(g.name).begin();
  ASSERT_TRUE(clients_->autoscaling->SetInstanceHealth({victim, "Unhealthy", false}).ok());
  bool marked = false;
  for (const AsgInstance& i : Describe(g.name).instances) {
    if (i.instance_id == victim) marked = i.health_status == "Unhealthy";
  }
  EXPECT_TRUE(marked) << victim << " is not Unhealthy";

  Result<ScalingActivity> activity =
      clients_->autoscaling->TerminateInstanceInAutoScalingGroup({victim, true});
  ASSERT_TRUE(activity.ok()) << activity.error().ToString();
  EXPECT_FALSE(activity->activity_id.empty());
  EXPECT_EQ(InstanceIds(g.name).count(victim), 0u);
  EXPECT_EQ(Describe(g.name).desired_capacity, 2) << "ShouldDecrementDesiredCapacity";

  UpdateAutoScalingGroupRequest update;
  update.asg_name = g.name;
  update.launch_template = LaunchTemplateSpec{g.template_id, "", "2"};
  update.min_size = 1;
  update.max_size = 5;
  Result<RequestReceipt> updated_call = clients_->autoscaling->UpdateAutoScalingGroup(update);
  ASSERT_TRUE(updated_call.ok()) << updated_call.error().ToString();
  EXPECT_FALSE(updated_call->request_id.empty());
  AutoScalingGroup updated = Describe(g.name);
  EXPECT_EQ(updated.min_size, 1);
  EXPECT_EQ(updated.max_size, 5);
  EXPECT_EQ(updated.launch_template->version, "2");

  DeleteGroup(g.name);
}

TEST_F(AutoScalingMoto, LifecycleActionsAndStandby) {
  Group g = MakeGroup(2, 56);
  const std::string hook = "fk-drain";
  QueryParams put(QueryFlavor::kQuery, "PutLifecycleHook", kAutoScalingVersion);
  put.Set("LifecycleHookName", hook);
  put.Set("AutoScalingGroupName", g.name);
  put.Set("LifecycleTransition", "autoscaling:EC2_INSTANCE_TERMINATING");
  put.Set("HeartbeatTimeout", 300);
  put.Set("DefaultResult", "CONTINUE");
  Query("autoscaling", put);
  const std::set<std::string> ids = InstanceIds(g.name);
  ASSERT_EQ(ids.size(), 2u);
  const std::string first = *ids.begin();
  const std::string second = *ids.rbegin();

  EXPECT_TRUE(
      clients_->autoscaling->RecordLifecycleActionHeartbeat({hook, g.name, "", first}).ok());
  EXPECT_TRUE(
      clients_->autoscaling->CompleteLifecycleAction({hook, g.name, "", first, "CONTINUE"}).ok());
  // The fill checks what a real group checks: the hook and the instance must exist.
  Status wrong_hook = clients_->autoscaling->CompleteLifecycleAction(
      {"no-such-hook", g.name, "", first, "ABANDON"});
  ASSERT_FALSE(wrong_hook.ok());
  EXPECT_EQ(wrong_hook.error().aws_code, "ValidationError");
  Status wrong_instance = clients_->autoscaling->RecordLifecycleActionHeartbeat(
      {hook, g.name, "", "i-0000000000000dead"});
  ASSERT_FALSE(wrong_instance.ok());
  EXPECT_EQ(wrong_instance.error().aws_code, "ValidationError");

  Result<ScalingActivities> entered = clients_->autoscaling->EnterStandby({g.name, {second}, true});
  ASSERT_TRUE(entered.ok()) << entered.error().ToString();
  ASSERT_FALSE(entered->activities.empty());
  AutoScalingGroup standby = Describe(g.name);
  EXPECT_EQ(standby.desired_capacity, 1);
  for (const AsgInstance& i : standby.instances) {
    if (i.instance_id == second) {
      EXPECT_EQ(i.lifecycle_state, "Standby");
    }
  }
  Result<ScalingActivities> exited = clients_->autoscaling->ExitStandby({g.name, {second}});
  ASSERT_TRUE(exited.ok()) << exited.error().ToString();
  ASSERT_FALSE(exited->activities.empty());
  AutoScalingGroup back = Describe(g.name);
  EXPECT_EQ(back.desired_capacity, 2);
  for (const AsgInstance& i : back.instances) {
    if (i.instance_id == second) {
      EXPECT_NE(i.lifecycle_state, "Standby");
    }
  }
  DeleteGroup(g.name);
}

}  // namespace
}  // namespace fleetkeeper::aws::moto_test
