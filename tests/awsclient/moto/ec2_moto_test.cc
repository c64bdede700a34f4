// Every EC2 operation of the client against moto with authentication on: results are read back,
// not just accepted. ClientToken, SourceVersion and root volume replacement are filled by the
// launcher (scripts/motofill/ec2.py).
#include <algorithm>
#include <set>

#include "awsclient/pagination.h"
#include "tests/awsclient/moto/moto_fixture.h"

namespace fleetkeeper::aws::moto_test {
namespace {

class Ec2Moto : public MotoTest {};

TEST_F(Ec2Moto, RunInstancesWithClientTokenLaunchesOnce) {
  auto [vpc_id, subnet_id] = MakeSubnet(41);
  auto [ami, other_ami] = TwoAmis();
  ASSERT_FALSE(ami.empty());

  RunInstancesRequest run;
  run.image_id = ami;
  run.instance_type = "t3.micro";
  run.subnet_id = subnet_id;
  run.client_token = Unique("token");
  run.tag_specifications = {{"instance", {{"Name", "fk-moto"}}}};
  run.metadata_options = MetadataOptions{"", "required", 2, "enabled", "", ""};
  Result<RunInstancesResponse> first = clients_->ec2->RunInstances(run);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  ASSERT_EQ(first->instances.size(), 1u);
  const std::string id = first->instances[0].id;
  EXPECT_EQ(first->instances[0].subnet_id, subnet_id);
  EXPECT_EQ(first->instances[0].vpc_id, vpc_id);

  // The same ClientToken returns the same instance instead of launching a second one.
  Result<RunInstancesResponse> again = clients_->ec2->RunInstances(run);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  ASSERT_EQ(again->instances.size(), 1u);
  EXPECT_EQ(again->instances[0].id, id);
  EXPECT_EQ(again->reservation_id, first->reservation_id);

  Result<DescribeInstancesResponse> by_token =
      clients_->ec2->DescribeInstances({{}, {{"client-token", {run.client_token}}}, {}, ""});
  ASSERT_TRUE(by_token.ok()) << by_token.error().ToString();
  ASSERT_EQ(by_token->instances.size(), 1u) << "one launch for two calls with one token";
  const Instance& described = by_token->instances[0];
  EXPECT_EQ(described.id, id);
  EXPECT_EQ(described.tags.at("Name"), "fk-moto");
  EXPECT_EQ(described.image_id, ami);
  EXPECT_EQ(described.instance_type, "t3.micro");
  EXPECT_EQ(described.state.name, "running");
  EXPECT_EQ(described.client_token, run.client_token);
  ASSERT_TRUE(described.metadata_options.has_value());
  EXPECT_EQ(described.metadata_options->http_tokens, "required");

  // A different launch with the same token is refused (idempotency is per request).
  RunInstancesRequest different = run;
  different.image_id = other_ami;
  Result<RunInstancesResponse> mismatch = clients_->ec2->RunInstances(different);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.error().aws_code, "IdempotentParameterMismatch");

  ASSERT_TRUE(clients_->ec2->TerminateInstances({{id}}).ok());
}

TEST_F(Ec2Moto, DescribeInstancesFiltersAndPaginates) {
  auto [vpc_id, subnet_id] = MakeSubnet(42);
  auto [ami, other_ami] = TwoAmis();
  const std::string batch = Unique("batch");
  std::set<std::string> launched;
  // Six reservations: EC2 pages DescribeInstances by reservation, 5 at least per page.
  for (int i = 0; i < 6; ++i) {
    launched.insert(LaunchInstance(ami, subnet_id, {{"fk-batch", batch}}));
  }
  const std::string outsider = LaunchInstance(ami, subnet_id, {{"fk-batch", batch + "-other"}});

  int pages = 0;
  Result<std::vector<Instance>> all = CollectAll(
      DescribeInstancesRequest{{}, {{"tag:fk-batch", {batch}}}, 5, ""},
      [&](const DescribeInstancesRequest& r) {
        ++pages;
        return clients_->ec2->DescribeInstances(r);
      },
      &DescribeInstancesResponse::instances);
  ASSERT_TRUE(all.ok()) << all.error().ToString();
  std::set<std::string> seen;
  for (const Instance& instance : *all) seen.insert(instance.id);
  EXPECT_EQ(seen, launched);
  EXPECT_EQ(all->size(), 6u) << "no instance twice across pages";
  EXPECT_EQ(pages, 2);

  // Two filters are ANDed; values of one filter are ORed.
  Result<DescribeInstancesResponse> both = clients_->ec2->DescribeInstances(
      {{},
       {{"tag:fk-batch", {batch, batch + "-other"}}, {"instance-state-name", {"running"}}},
       {},
       ""});
  ASSERT_TRUE(both.ok()) << both.error().ToString();
  EXPECT_EQ(both->instances.size(), 7u);
  Result<DescribeInstancesResponse> none = clients_->ec2->DescribeInstances(
      {{}, {{"tag:fk-batch", {batch}}, {"instance-state-name", {"stopped"}}}, {}, ""});
  ASSERT_TRUE(none.ok()) << none.error().ToString();
  EXPECT_TRUE(none->instances.empty());

  std::vector<std::string> ids(launched.begin(), launched.end());
  ids.push_back(outsider);
  ASSERT_TRUE(clients_->ec2->TerminateInstances({ids}).ok());
}

TEST_F(Ec2Moto, StopStartRebootTerminateAndStatus) {
  auto [vpc_id, subnet_id] = MakeSubnet(43);
  auto [ami, other_ami] = TwoAmis();
  const std::string id = LaunchInstance(ami, subnet_id);
  ASSERT_FALSE(id.empty());

  Result<DescribeInstanceStatusResponse> status =
      clients_->ec2->DescribeInstanceStatus({{id}, {}, true, {}, ""});
  ASSERT_TRUE(status.ok()) << status.error().ToString();
  ASSERT_EQ(status->statuses.size(), 1u);
  EXPECT_EQ(status->statuses[0].instance_id, id);
  EXPECT_EQ(status->statuses[0].state.name, "running");
  EXPECT_FALSE(status->statuses[0].availability_zone.empty());

  Result<InstanceStateChanges> stopped = clients_->ec2->StopInstances({{id}, {}, {}});
  ASSERT_TRUE(stopped.ok()) << stopped.error().ToString();
  ASSERT_EQ(stopped->changes.size(), 1u);
  EXPECT_EQ(stopped->changes[0].instance_id, id);
  EXPECT_EQ(stopped->changes[0].previous.name, "running");
  EXPECT_TRUE(WaitFor([&] { return InstanceState(id) == "stopped"; }));
  // Stopped instances are listed only with IncludeAllInstances.
  Result<DescribeInstanceStatusResponse> running_only =
      clients_->ec2->DescribeInstanceStatus({{id}, {}, false, {}, ""});
  ASSERT_TRUE(running_only.ok()) << running_only.error().ToString();
  EXPECT_TRUE(running_only->statuses.empty());

  Result<InstanceStateChanges> started = clients_->ec2->StartInstances({{id}});
  ASSERT_TRUE(started.ok()) << started.error().ToString();
  EXPECT_EQ(started->changes.at(0).previous.name, "stopped");
  EXPECT_TRUE(WaitFor([&] { return InstanceState(id) == "running"; }));

  ASSERT_TRUE(clients_->ec2->RebootInstances({{id}}).ok());
  EXPECT_EQ(InstanceState(id), "running");

  Result<InstanceStateChanges> terminated = clients_->ec2->TerminateInstances({{id}});
  ASSERT_TRUE(terminated.ok()) << terminated.error().ToString();
  EXPECT_EQ(terminated->changes.at(0).instance_id, id);
  EXPECT_TRUE(WaitFor([&] { return InstanceState(id) == "terminated"; }));

  Result<InstanceStateChanges> unknown =
      clients_->ec2->StopInstances({{"i-0000000000000dead"}, {}, {}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound) << unknown.error().ToString();
}

TEST_F(Ec2Moto, ImagesCreateDescribeDeregister) {
  auto [vpc_id, subnet_id] = MakeSubnet(44);
  auto [ami, other_ami] = TwoAmis();
  const std::string id = LaunchInstance(ami, subnet_id);
  const std::string name = Unique("fk-image");
  Result<CreateImageResponse> image = clients_->ec2->CreateImage(
      {id, name, "nightly patch", true, {{"image", {{"fleetkeeper:source", id}}}}});
  ASSERT_TRUE(image.ok()) << image.error().ToString();
  ASSERT_FALSE(image->image_id.empty());

  Result<DescribeImagesResponse> by_name =
      clients_->ec2->DescribeImages({{}, {"self"}, {{"name", {name}}}, {}, ""});
  ASSERT_TRUE(by_name.ok()) << by_name.error().ToString();
  ASSERT_EQ(by_name->images.size(), 1u);
  EXPECT_EQ(by_name->images[0].id, image->image_id);
  EXPECT_EQ(by_name->images[0].name, name);
  EXPECT_EQ(by_name->images[0].description, "nightly patch");
  EXPECT_EQ(by_name->images[0].state, "available");
  EXPECT_EQ(by_name->images[0].tags.at("fleetkeeper:source"), id);

  ASSERT_TRUE(clients_->ec2->DeregisterImage({image->image_id}).ok());
  Result<DescribeImagesResponse> gone =
      clients_->ec2->DescribeImages({{}, {"self"}, {{"name", {name}}}, {}, ""});
  ASSERT_TRUE(gone.ok()) << gone.error().ToString();
  EXPECT_TRUE(gone->images.empty());
  ASSERT_TRUE(clients_->ec2->TerminateInstances({{id}}).ok());
}

TEST_F(Ec2Moto, VolumesAttachDetachAndDescribe) {
  auto [vpc_id, subnet_id] = MakeSubnet(45);
  auto [ami, other_ami] = TwoAmis();
  const std::string id = LaunchInstance(ami, subnet_id);
  Result<DescribeVolumesResponse> root =
      clients_->ec2->DescribeVolumes({{}, {{"attachment.instance-id", {id}}}, {}, ""});
  ASSERT_TRUE(root.ok()) << root.error().ToString();
  ASSERT_EQ(root->volumes.size(), 1u);
  EXPECT_EQ(root->volumes[0].state, "in-use");
  EXPECT_EQ(root->volumes[0].attachments.at(0).instance_id, id);

  QueryParams create = Ec2Params("CreateVolume");
  create.Set("AvailabilityZone", MotoRegion() + "a");
  create.Set("Size", 8);
  create.Set("VolumeType", "gp3");
  XmlResponse created = Query("ec2", create);
  const std::string volume_id = created.result.child_value("volumeId");
  ASSERT_FALSE(volume_id.empty());

  Result<VolumeAttachment> attached = clients_->ec2->AttachVolume({volume_id, id, "/dev/sdf"});
  ASSERT_TRUE(attached.ok()) << attached.error().ToString();
  EXPECT_EQ(attached->volume_id, volume_id);
  EXPECT_EQ(attached->instance_id, id);
  EXPECT_EQ(attached->device, "/dev/sdf");
  Result<DescribeVolumesResponse> both =
      clients_->ec2->DescribeVolumes({{}, {{"attachment.instance-id", {id}}}, {}, ""});
  ASSERT_TRUE(both.ok()) << both.error().ToString();
  EXPECT_EQ(both->volumes.size(), 2u);
  Result<DescribeVolumesResponse> one = clients_->ec2->DescribeVolumes({{volume_id}, {}, {}, ""});
  ASSERT_TRUE(one.ok()) << one.error().ToString();
  ASSERT_EQ(one->volumes.size(), 1u);
  EXPECT_EQ(one->volumes[0].size_gib, 8);
  EXPECT_EQ(one->volumes[0].volume_type, "gp3");
  EXPECT_EQ(one->volumes[0].state, "in-use");
  EXPECT_EQ(one->volumes[0].attachments.at(0).device, "/dev/sdf");

  Result<VolumeAttachment> detached = clients_->ec2->DetachVolume({volume_id, id, "", {}});
  ASSERT_TRUE(detached.ok()) << detached.error().ToString();
  EXPECT_EQ(detached->volume_id, volume_id);
  EXPECT_TRUE(WaitFor([&] {
    Result<DescribeVolumesResponse> v = clients_->ec2->DescribeVolumes({{volume_id}, {}, {}, ""});
    return v.ok() && v->volumes.size() == 1 && v->volumes[0].state == "available" &&
           v->volumes[0].attachments.empty();
  }));
  ASSERT_TRUE(clients_->ec2->TerminateInstances({{id}}).ok());
}

TEST_F(Ec2Moto, TagsAndInstanceAttributes) {
  auto [vpc_id, subnet_id] = MakeSubnet(46);
  auto [ami, other_ami] = TwoAmis();
  RunInstancesRequest run;
  run.image_id = ami;
  run.instance_type = "t3.micro";
  run.subnet_id = subnet_id;
  run.user_data_base64 = "IyEvYmluL3NoCmVjaG8gaGVsbG8K";  // "#!/bin/sh\necho hello\n"
  run.instance_initiated_shutdown_behavior = "terminate";
  Result<RunInstancesResponse> launched = clients_->ec2->RunInstances(run);
  ASSERT_TRUE(launched.ok()) << launched.error().ToString();
  const std::string id = launched->instances.at(0).id;
  // moto ignores RunInstances' DisableApiTermination; set it afterwards.
  QueryParams protect = Ec2Params("ModifyInstanceAttribute");
  protect.Set("InstanceId", id);
  protect.Set("DisableApiTermination.Value", true);
  Query("ec2", protect);

  ASSERT_TRUE(
      clients_->ec2->CreateTags({{id}, {{"fleetkeeper:owner", "test"}, {"Name", "tagged"}}}).ok());
  Result<DescribeInstancesResponse> tagged = clients_->ec2->DescribeInstances(
      {{}, {{"tag:fleetkeeper:owner", {"test"}}, {"instance-id", {id}}}, {}, ""});
  ASSERT_TRUE(tagged.ok()) << tagged.error().ToString();
  ASSERT_EQ(tagged->instances.size(), 1u);
  EXPECT_EQ(tagged->instances[0].tags.at("Name"), "tagged");

  Result<InstanceAttribute> user_data =
      clients_->ec2->DescribeInstanceAttribute({id, InstanceAttributeName::kUserData});
  ASSERT_TRUE(user_data.ok()) << user_data.error().ToString();
  EXPECT_TRUE(user_data->present);
  EXPECT_EQ(user_data->instance_id, id);
  EXPECT_EQ(user_data->value, run.user_data_base64);
  Result<InstanceAttribute> protection =
      clients_->ec2->DescribeInstanceAttribute({id, InstanceAttributeName::kDisableApiTermination});
  ASSERT_TRUE(protection.ok()) << protection.error().ToString();
  EXPECT_TRUE(protection->bool_value());
  Result<InstanceAttribute> shutdown = clients_->ec2->DescribeInstanceAttribute(
      {id, InstanceAttributeName::kInstanceInitiatedShutdownBehavior});
  ASSERT_TRUE(shutdown.ok()) << shutdown.error().ToString();
  EXPECT_EQ(shutdown->value, "terminate");

  // Termination protection holds: the instance survives a terminate call.
  Result<InstanceStateChanges> refused = clients_->ec2->TerminateInstances({{id}});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().aws_code, "OperationNotPermitted") << refused.error().ToString();
  EXPECT_EQ(InstanceState(id), "running");

  QueryParams unprotect = Ec2Params("ModifyInstanceAttribute");
  unprotect.Set("InstanceId", id);
  unprotect.Set("DisableApiTermination.Value", false);
  Query("ec2", unprotect);
  ASSERT_TRUE(clients_->ec2->TerminateInstances({{id}}).ok());
}

TEST_F(Ec2Moto, LaunchTemplateVersionFromSourceVersion) {
  auto [ami, new_ami] = TwoAmis();
  const std::string name = Unique("fk-lt");
  QueryParams create = Ec2Params("CreateLaunchTemplate");
  create.Set("LaunchTemplateName", name);
  create.Set("LaunchTemplateData.ImageId", ami);
  create.Set("LaunchTemplateData.InstanceType", "t3.small");
  create.Set("LaunchTemplateData.KeyName", "fleet-key");
  XmlResponse template_xml = Query("ec2", create);
  const std::string template_id =
      template_xml.result.child("launchTemplate").child_value("launchTemplateId");
  ASSERT_FALSE(template_id.empty());

  Result<LaunchTemplateVersion> v2 = clients_->ec2->CreateLaunchTemplateVersion(
      {template_id, "", "1", "patched AMI", new_ami, Unique("lt-token")});
  ASSERT_TRUE(v2.ok()) << v2.error().ToString();
  EXPECT_EQ(v2->version_number, 2);
  EXPECT_EQ(v2->launch_template_id, template_id);
  EXPECT_EQ(v2->image_id, new_ami);
  // Everything else comes from the source version.
  EXPECT_EQ(v2->instance_type, "t3.small");
  EXPECT_EQ(v2->key_name, "fleet-key");
  EXPECT_EQ(v2->version_description, "patched AMI");

  Result<DescribeLaunchTemplateVersionsResponse> latest =
      clients_->ec2->DescribeLaunchTemplateVersions({"", name, {"$Latest"}, {}, {}, ""});
  ASSERT_TRUE(latest.ok()) << latest.error().ToString();
  ASSERT_EQ(latest->versions.size(), 1u);
  EXPECT_EQ(latest->versions[0].version_number, 2);
  EXPECT_EQ(latest->versions[0].image_id, new_ami);
  EXPECT_EQ(latest->versions[0].instance_type, "t3.small");
  EXPECT_FALSE(latest->versions[0].default_version);

  Result<DescribeLaunchTemplateVersionsResponse> all =
      clients_->ec2->DescribeLaunchTemplateVersions({template_id, "", {}, {}, {}, ""});
  ASSERT_TRUE(all.ok()) << all.error().ToString();
  ASSERT_EQ(all->versions.size(), 2u);
  std::map<int64_t, std::string> images;
  for (const LaunchTemplateVersion& v : all->versions) images[v.version_number] = v.image_id;
  EXPECT_EQ(images, (std::map<int64_t, std::string>{{1, ami}, {2, new_ami}}));

  Result<LaunchTemplateVersion> missing_source = clients_->ec2->CreateLaunchTemplateVersion(
      {template_id, "", "9", "", new_ami, ""});
  ASSERT_FALSE(missing_source.ok());
  EXPECT_NE(missing_source.error().aws_code, "") << missing_source.error().ToString();
}

TEST_F(Ec2Moto, ElasticIpAssociateAndDescribe) {
  auto [vpc_id, subnet_id] = MakeSubnet(47);
  auto [ami, other_ami] = TwoAmis();
  const std::string id = LaunchInstance(ami, subnet_id);
  QueryParams allocate = Ec2Params("AllocateAddress");
  allocate.Set("Domain", "vpc");
  XmlResponse eip = Query("ec2", allocate);
  const std::string allocation = eip.result.child_value("allocationId");
  const std::string public_ip = eip.result.child_value("publicIp");
  ASSERT_FALSE(allocation.empty());

  Result<DescribeAddressesResponse> unassociated =
      clients_->ec2->DescribeAddresses({{}, {allocation}, {}});
  ASSERT_TRUE(unassociated.ok()) << unassociated.error().ToString();
  ASSERT_EQ(unassociated->addresses.size(), 1u);
  EXPECT_TRUE(unassociated->addresses[0].instance_id.empty());

  Result<AssociateAddressResponse> associated =
      clients_->ec2->AssociateAddress({allocation, "", id, "", "", true});
  ASSERT_TRUE(associated.ok()) << associated.error().ToString();
  EXPECT_FALSE(associated->association_id.empty());

  Result<DescribeAddressesResponse> by_instance =
      clients_->ec2->DescribeAddresses({{}, {}, {{"instance-id", {id}}}});
  ASSERT_TRUE(by_instance.ok()) << by_instance.error().ToString();
  ASSERT_EQ(by_instance->addresses.size(), 1u);
  const Address& address = by_instance->addresses[0];
  EXPECT_EQ(address.allocation_id, allocation);
  EXPECT_EQ(address.public_ip, public_ip);
  EXPECT_EQ(address.instance_id, id);
  EXPECT_EQ(address.association_id, associated->association_id);
  EXPECT_EQ(address.domain, "vpc");
  ASSERT_TRUE(clients_->ec2->TerminateInstances({{id}}).ok());
}

TEST_F(Ec2Moto, ReplaceRootVolumeTask) {
  auto [vpc_id, subnet_id] = MakeSubnet(48);
  auto [ami, new_ami] = TwoAmis();
  const std::string id = LaunchInstance(ami, subnet_id);
  const std::string token = Unique("rrv");
  Result<ReplaceRootVolumeTask> task = clients_->ec2->CreateReplaceRootVolumeTask(
      {id, new_ami, "", true, token, {{"replace-root-volume-task", {{"fk", "1"}}}}});
  ASSERT_TRUE(task.ok()) << task.error().ToString();
  EXPECT_EQ(task->instance_id, id);
  EXPECT_EQ(task->image_id, new_ami);
  EXPECT_FALSE(task->id.empty());
  // The same client token is the same task.
  Result<ReplaceRootVolumeTask> again = clients_->ec2->CreateReplaceRootVolumeTask(
      {id, new_ami, "", true, token, {{"replace-root-volume-task", {{"fk", "1"}}}}});
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(again->id, task->id);

  EXPECT_TRUE(WaitFor([&] {
    Result<DescribeReplaceRootVolumeTasksResponse> tasks =
        clients_->ec2->DescribeReplaceRootVolumeTasks({{task->id}, {}, {}, ""});
    return tasks.ok() && tasks->tasks.size() == 1 && tasks->tasks[0].state == "succeeded";
  })) << "the replacement never succeeded";
  Result<DescribeReplaceRootVolumeTasksResponse> by_instance =
      clients_->ec2->DescribeReplaceRootVolumeTasks({{}, {{"instance-id", {id}}}, {}, ""});
  ASSERT_TRUE(by_instance.ok()) << by_instance.error().ToString();
  ASSERT_EQ(by_instance->tasks.size(), 1u);
  EXPECT_EQ(by_instance->tasks[0].id, task->id);
  EXPECT_EQ(InstanceState(id), "running");
  Result<DescribeInstancesResponse> after = clients_->ec2->DescribeInstances({{id}, {}, {}, ""});
  ASSERT_TRUE(after.ok()) << after.error().ToString();
  EXPECT_EQ(after->instances.at(0).image_id, new_ami) << "the root volume comes from the new AMI";

  Result<ReplaceRootVolumeTask> unknown = clients_->ec2->CreateReplaceRootVolumeTask(
      {"i-0000000000000dead", new_ami, "", true, Unique("rrv"), {}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound) << unknown.error().ToString();
  ASSERT_TRUE(clients_->ec2->TerminateInstances({{id}}).ok());
}

}  // namespace
}  // namespace fleetkeeper::aws::moto_test
