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

  Result<LaunchTemplateVersion> missing_source =
      clients_->ec2->CreateLaunchTemplateVersion({template_id, "", "9", "", new_ami, ""});
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

// The relaunch strategy carries attributes over one per call to the stopped replacement.
TEST_F(Ec2Moto, ModifyInstanceAttributeCarriesEachSettingOver) {
  auto [vpc_id, subnet_id] = MakeSubnet(49);
  auto [ami, other_ami] = TwoAmis();
  const std::string id = LaunchInstance(ami, subnet_id);
  ASSERT_FALSE(id.empty());
  Result<InstanceStateChanges> stopped = clients_->ec2->StopInstances({{id}, {}, {}});
  ASSERT_TRUE(stopped.ok()) << stopped.error().ToString();
  EXPECT_FALSE(stopped->request_id.empty()) << "a successful call carries its request id";
  ASSERT_TRUE(WaitFor([&] { return InstanceState(id) == "stopped"; }));

  std::vector<ModifyInstanceAttributeRequest> changes(7);
  for (ModifyInstanceAttributeRequest& change : changes) change.instance_id = id;
  changes[0].disable_api_termination = true;
  changes[1].disable_api_stop = true;
  changes[2].instance_initiated_shutdown_behavior = "terminate";
  changes[3].source_dest_check = false;
  // "#!/bin/sh\necho relaunched\n"
  changes[4].user_data_base64 = "IyEvYmluL3NoCmVjaG8gcmVsYXVuY2hlZAo=";
  changes[5].ebs_optimized = true;
  changes[6].instance_type = "m5.large";
  for (const ModifyInstanceAttributeRequest& change : changes) {
    Result<RequestReceipt> receipt = clients_->ec2->ModifyInstanceAttribute(change);
    ASSERT_TRUE(receipt.ok()) << receipt.error().ToString();
    EXPECT_FALSE(receipt->request_id.empty());
  }

  auto attribute = [&](InstanceAttributeName name) {
    Result<InstanceAttribute> a = clients_->ec2->DescribeInstanceAttribute({id, name});
    EXPECT_TRUE(a.ok()) << a.error().ToString();
    return a.ok() ? a->value : "<error>";
  };
  EXPECT_EQ(attribute(InstanceAttributeName::kDisableApiTermination), "true");
  EXPECT_EQ(attribute(InstanceAttributeName::kDisableApiStop), "true");
  EXPECT_EQ(attribute(InstanceAttributeName::kInstanceInitiatedShutdownBehavior), "terminate");
  EXPECT_EQ(attribute(InstanceAttributeName::kUserData), *changes[4].user_data_base64);
  QueryParams source_dest = Ec2Params("DescribeInstanceAttribute");
  source_dest.Set("InstanceId", id);
  source_dest.Set("Attribute", "sourceDestCheck");
  EXPECT_STREQ(Query("ec2", source_dest).result.child("sourceDestCheck").child_value("value"),
               "false");
  Result<DescribeInstancesResponse> described =
      clients_->ec2->DescribeInstances({{id}, {}, {}, ""});
  ASSERT_TRUE(described.ok()) << described.error().ToString();
  EXPECT_EQ(described->instances.at(0).instance_type, "m5.large");
  EXPECT_TRUE(described->instances.at(0).ebs_optimized);

  ModifyInstanceAttributeRequest two;
  two.instance_id = id;
  two.disable_api_termination = false;
  two.disable_api_stop = false;
  Result<RequestReceipt> refused = clients_->ec2->ModifyInstanceAttribute(two);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidInput);

  for (ModifyInstanceAttributeRequest& unprotect : changes) unprotect = {};
  changes[0].instance_id = changes[1].instance_id = id;
  changes[0].disable_api_termination = false;
  changes[1].disable_api_stop = false;
  ASSERT_TRUE(clients_->ec2->ModifyInstanceAttribute(changes[0]).ok());
  ASSERT_TRUE(clients_->ec2->ModifyInstanceAttribute(changes[1]).ok());
  ASSERT_TRUE(clients_->ec2->TerminateInstances({{id}}).ok());
}

TEST_F(Ec2Moto, CreditSpecificationReadBackAndModified) {
  auto [vpc_id, subnet_id] = MakeSubnet(50);
  auto [ami, other_ami] = TwoAmis();
  RunInstancesRequest run;
  run.image_id = ami;
  run.instance_type = "t3.micro";
  run.subnet_id = subnet_id;
  run.cpu_credits = "standard";  // T3 launches unlimited unless told otherwise
  Result<RunInstancesResponse> launched = clients_->ec2->RunInstances(run);
  ASSERT_TRUE(launched.ok()) << launched.error().ToString();
  EXPECT_FALSE(launched->request_id.empty());
  const std::string chosen = launched->instances.at(0).id;
  const std::string by_default = LaunchInstance(ami, subnet_id);  // t3.micro

  auto credits = [&](const std::vector<std::string>& ids) {
    std::map<std::string, std::string> out;
    Result<DescribeInstanceCreditSpecificationsResponse> r =
        clients_->ec2->DescribeInstanceCreditSpecifications({ids, {}, {}, ""});
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    if (r.ok()) {
      for (const InstanceCreditSpecification& s : r->specifications) {
        out[s.instance_id] = s.cpu_credits;
      }
    }
    return out;
  };
  EXPECT_EQ(credits({chosen, by_default}),
            (std::map<std::string, std::string>{{chosen, "standard"}, {by_default, "unlimited"}}));

  Result<ModifyInstanceCreditSpecificationResponse> modified =
      clients_->ec2->ModifyInstanceCreditSpecification(
          {{{by_default, "standard"}, {"i-0000000000000dead", "unlimited"}}, Unique("credits")});
  ASSERT_TRUE(modified.ok()) << modified.error().ToString();
  EXPECT_FALSE(modified->request_id.empty());
  EXPECT_EQ(modified->successful_instance_ids, std::vector<std::string>{by_default});
  ASSERT_EQ(modified->unsuccessful.size(), 1u);
  EXPECT_EQ(modified->unsuccessful[0].instance_id, "i-0000000000000dead");
  EXPECT_EQ(modified->unsuccessful[0].code, "InvalidInstanceID.NotFound");
  EXPECT_EQ(credits({by_default}), (std::map<std::string, std::string>{{by_default, "standard"}}));
  ASSERT_TRUE(clients_->ec2->TerminateInstances({{chosen, by_default}}).ok());
}

// A secondary interface leaves the stopped old instance and joins the stopped new one at the same
// device index, with its addresses and its DeleteOnTermination.
TEST_F(Ec2Moto, SecondaryInterfaceMovesBetweenStoppedInstances) {
  auto [vpc_id, subnet_id] = MakeSubnet(51);
  auto [ami, other_ami] = TwoAmis();
  const std::string old_id = LaunchInstance(ami, subnet_id);
  const std::string new_id = LaunchInstance(ami, subnet_id);
  QueryParams create = Ec2Params("CreateNetworkInterface");
  create.Set("SubnetId", subnet_id);
  create.Set("Description", "data plane");
  create.Set("SecondaryPrivateIpAddressCount", 1);
  const std::string eni_id =
      Query("ec2", create).result.child("networkInterface").child_value("networkInterfaceId");
  ASSERT_FALSE(eni_id.empty());
  Result<AttachNetworkInterfaceResponse> first =
      clients_->ec2->AttachNetworkInterface({eni_id, old_id, 1, {}});
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  ASSERT_TRUE(
      clients_->ec2->ModifyNetworkInterfaceAttribute({eni_id, first->attachment_id, true}).ok());
  ASSERT_TRUE(clients_->ec2->StopInstances({{old_id, new_id}, {}, {}}).ok());
  ASSERT_TRUE(WaitFor(
      [&] { return InstanceState(old_id) == "stopped" && InstanceState(new_id) == "stopped"; }));

  auto interfaces_of = [&](const std::string& instance) {
    Result<DescribeNetworkInterfacesResponse> r = clients_->ec2->DescribeNetworkInterfaces(
        {{}, {{"attachment.instance-id", {instance}}}, {}, ""});
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    std::map<int, NetworkInterface> by_index;
    for (NetworkInterface& eni : r.ok() ? r->network_interfaces : std::vector<NetworkInterface>{}) {
      if (eni.attachment) by_index[eni.attachment->device_index] = eni;
    }
    return by_index;
  };
  // What relaunch captures from the old instance.
  std::map<int, NetworkInterface> captured = interfaces_of(old_id);
  ASSERT_EQ(captured.size(), 2u);
  ASSERT_TRUE(captured.count(1));
  const NetworkInterface secondary = captured.at(1);
  EXPECT_EQ(secondary.id, eni_id);
  EXPECT_EQ(secondary.attachment->attachment_id, first->attachment_id);
  EXPECT_EQ(secondary.attachment->instance_id, old_id);
  EXPECT_TRUE(secondary.attachment->delete_on_termination);
  EXPECT_EQ(secondary.description, "data plane");
  EXPECT_EQ(secondary.private_ips.size(), 2u) << "the primary address and one secondary";
  EXPECT_FALSE(secondary.security_groups.empty());

  Result<RequestReceipt> detached =
      clients_->ec2->DetachNetworkInterface({secondary.attachment->attachment_id, {}});
  ASSERT_TRUE(detached.ok()) << detached.error().ToString();
  EXPECT_FALSE(detached->request_id.empty());
  ASSERT_TRUE(WaitFor([&] {
    Result<DescribeNetworkInterfacesResponse> r =
        clients_->ec2->DescribeNetworkInterfaces({{eni_id}, {}, {}, ""});
    return r.ok() && r->network_interfaces.size() == 1 &&
           r->network_interfaces[0].status == "available" &&
           !r->network_interfaces[0].attachment.has_value();
  }));

  Result<AttachNetworkInterfaceResponse> moved = clients_->ec2->AttachNetworkInterface(
      {eni_id, new_id, secondary.attachment->device_index, {}});
  ASSERT_TRUE(moved.ok()) << moved.error().ToString();
  EXPECT_FALSE(moved->request_id.empty());
  EXPECT_NE(moved->attachment_id, first->attachment_id);
  Result<RequestReceipt> kept = clients_->ec2->ModifyNetworkInterfaceAttribute(
      {eni_id, moved->attachment_id, secondary.attachment->delete_on_termination});
  ASSERT_TRUE(kept.ok()) << kept.error().ToString();
  EXPECT_FALSE(kept->request_id.empty());

  std::map<int, NetworkInterface> after = interfaces_of(new_id);
  ASSERT_TRUE(after.count(1));
  EXPECT_EQ(after.at(1).id, eni_id);
  EXPECT_EQ(after.at(1).attachment->attachment_id, moved->attachment_id);
  EXPECT_TRUE(after.at(1).attachment->delete_on_termination);
  EXPECT_EQ(after.at(1).private_ips.size(), 2u);
  EXPECT_EQ(after.at(1).private_ip, secondary.private_ip);
  EXPECT_EQ(interfaces_of(old_id).size(), 1u) << "only its primary interface is left";

  Result<RequestReceipt> unknown =
      clients_->ec2->DetachNetworkInterface({"eni-attach-00000000", {}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().aws_code, "") << unknown.error().ToString();
  ASSERT_TRUE(clients_->ec2->TerminateInstances({{old_id, new_id}}).ok());
}

// Secondary addresses of the old primary interface move to the new primary interface: released
// first, so the new one can take them without AllowReassignment.
TEST_F(Ec2Moto, SecondaryAddressesMoveToTheNewPrimaryInterface) {
  auto [vpc_id, subnet_id] = MakeSubnet(52);
  auto [ami, other_ami] = TwoAmis();
  const std::string old_id = LaunchInstance(ami, subnet_id);
  const std::string new_id = LaunchInstance(ami, subnet_id);
  auto primary_of = [&](const std::string& instance) {
    // moto has no attachment.device-index filter: pick the primary here.
    Result<DescribeNetworkInterfacesResponse> r = clients_->ec2->DescribeNetworkInterfaces(
        {{}, {{"attachment.instance-id", {instance}}}, {}, ""});
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    for (const NetworkInterface& eni :
         r.ok() ? r->network_interfaces : std::vector<NetworkInterface>{}) {
      if (eni.attachment && eni.attachment->device_index == 0) return eni;
    }
    return NetworkInterface{};
  };
  auto secondaries = [](const NetworkInterface& eni) {
    std::set<std::string> out;
    for (const PrivateIp& ip : eni.private_ips) {
      if (!ip.primary) out.insert(ip.address);
    }
    return out;
  };
  const std::string old_eni = primary_of(old_id).id;
  const std::string new_eni = primary_of(new_id).id;
  ASSERT_FALSE(old_eni.empty());
  ASSERT_FALSE(new_eni.empty());
  const std::vector<std::string> addresses = {"10.52.1.201", "10.52.1.202"};
  Result<AssignPrivateIpAddressesResponse> assigned =
      clients_->ec2->AssignPrivateIpAddresses({old_eni, addresses, {}, {}});
  ASSERT_TRUE(assigned.ok()) << assigned.error().ToString();
  EXPECT_EQ(assigned->network_interface_id, old_eni);
  ASSERT_EQ(secondaries(primary_of(old_id)),
            std::set<std::string>(addresses.begin(), addresses.end()));

  // What relaunch does: read the old interface's secondary addresses, release, re-assign.
  std::set<std::string> captured = secondaries(primary_of(old_id));
  std::vector<std::string> moving(captured.begin(), captured.end());
  Result<RequestReceipt> released = clients_->ec2->UnassignPrivateIpAddresses({old_eni, moving});
  ASSERT_TRUE(released.ok()) << released.error().ToString();
  EXPECT_FALSE(released->request_id.empty());
  Result<AssignPrivateIpAddressesResponse> taken =
      clients_->ec2->AssignPrivateIpAddresses({new_eni, moving, {}, {}});
  ASSERT_TRUE(taken.ok()) << taken.error().ToString();
  EXPECT_FALSE(taken->request_id.empty());

  EXPECT_TRUE(secondaries(primary_of(old_id)).empty());
  EXPECT_EQ(secondaries(primary_of(new_id)), captured);

  Result<AssignPrivateIpAddressesResponse> counted =
      clients_->ec2->AssignPrivateIpAddresses({old_eni, {}, 1, {}});
  ASSERT_TRUE(counted.ok()) << counted.error().ToString();
  EXPECT_EQ(secondaries(primary_of(old_id)).size(), 1u) << "one address chosen by EC2";
  ASSERT_TRUE(clients_->ec2->TerminateInstances({{old_id, new_id}}).ok());
}

}  // namespace
}  // namespace fleetkeeper::aws::moto_test
