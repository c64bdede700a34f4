// GetLaunchTemplateData against moto with authentication on: what the relaunch captures of an
// instance in one call (user data, termination and stop protection, shutdown behaviour, the CPU
// credit option), read back after launch and after a change. moto's user data and credit option
// are filled by the launcher (scripts/motofill/ec2.py).
#include "tests/awsclient/moto/moto_fixture.h"

namespace fleetkeeper::aws::moto_test {
namespace {

class Ec2LaunchDataMoto : public MotoTest {};

TEST_F(Ec2LaunchDataMoto, CarriesWhatDescribeInstanceAttributeReadsOneCallEach) {
  auto [vpc_id, subnet_id] = MakeSubnet(53);
  auto [ami, other_ami] = TwoAmis();
  RunInstancesRequest run;
  run.image_id = ami;
  run.instance_type = "t3.micro";
  run.subnet_id = subnet_id;
  run.user_data_base64 = "IyEvYmluL3NoCmVjaG8gaGVsbG8K";  // "#!/bin/sh\necho hello\n"
  run.instance_initiated_shutdown_behavior = "terminate";
  run.cpu_credits = "standard";  // T3 launches unlimited unless told otherwise
  Result<RunInstancesResponse> launched = clients_->ec2->RunInstances(run);
  ASSERT_TRUE(launched.ok()) << launched.error().ToString();
  const std::string id = launched->instances.at(0).id;
  ModifyInstanceAttributeRequest stop_protection;
  stop_protection.instance_id = id;
  stop_protection.disable_api_stop = true;
  ASSERT_TRUE(clients_->ec2->ModifyInstanceAttribute(stop_protection).ok());

  Result<InstanceLaunchData> data = clients_->ec2->GetLaunchTemplateData({id});
  ASSERT_TRUE(data.ok()) << data.error().ToString();
  EXPECT_EQ(data->instance_id, id);
  EXPECT_EQ(data->user_data_base64, run.user_data_base64);
  EXPECT_EQ(data->instance_initiated_shutdown_behavior, "terminate");
  EXPECT_EQ(data->cpu_credits, "standard");
  EXPECT_TRUE(data->disable_api_stop);
  EXPECT_FALSE(data->disable_api_termination);
  EXPECT_EQ(data->image_id, ami);
  EXPECT_EQ(data->instance_type, "t3.micro");

  // Each attribute as DescribeInstanceAttribute reads it, to show both calls agree.
  Result<InstanceAttribute> user_data =
      clients_->ec2->DescribeInstanceAttribute({id, InstanceAttributeName::kUserData});
  ASSERT_TRUE(user_data.ok()) << user_data.error().ToString();
  EXPECT_EQ(user_data->value, data->user_data_base64);

  // A change shows on the next read.
  ModifyInstanceCreditSpecificationRequest credits;
  credits.specifications = {{id, "unlimited"}};
  ASSERT_TRUE(clients_->ec2->ModifyInstanceCreditSpecification(credits).ok());
  stop_protection.disable_api_stop = false;
  ASSERT_TRUE(clients_->ec2->ModifyInstanceAttribute(stop_protection).ok());
  data = clients_->ec2->GetLaunchTemplateData({id});
  ASSERT_TRUE(data.ok()) << data.error().ToString();
  EXPECT_EQ(data->cpu_credits, "unlimited");
  EXPECT_FALSE(data->disable_api_stop);

  // An unknown instance is an error naming EC2's code.
  Result<InstanceLaunchData> missing =
      clients_->ec2->GetLaunchTemplateData({"i-0000000000000dead"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().aws_code, "InvalidInstanceID.NotFound") << missing.error().ToString();

  ASSERT_TRUE(clients_->ec2->TerminateInstances({{id}}).ok());
}

// An instance that is not burstable has no credit option and, launched without them, no user data.
TEST_F(Ec2LaunchDataMoto, PlainInstanceHasNoUserDataOrCreditOption) {
  auto [vpc_id, subnet_id] = MakeSubnet(54);
  auto [ami, other_ami] = TwoAmis();
  RunInstancesRequest run;
  run.image_id = ami;
  run.instance_type = "m5.large";
  run.subnet_id = subnet_id;
  Result<RunInstancesResponse> launched = clients_->ec2->RunInstances(run);
  ASSERT_TRUE(launched.ok()) << launched.error().ToString();
  const std::string id = launched->instances.at(0).id;
  Result<InstanceLaunchData> data = clients_->ec2->GetLaunchTemplateData({id});
  ASSERT_TRUE(data.ok()) << data.error().ToString();
  EXPECT_EQ(data->user_data_base64, "");
  EXPECT_EQ(data->cpu_credits, "");
  EXPECT_EQ(data->instance_initiated_shutdown_behavior, "stop");
  ASSERT_TRUE(clients_->ec2->TerminateInstances({{id}}).ok());
}

}  // namespace
}  // namespace fleetkeeper::aws::moto_test
