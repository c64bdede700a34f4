// The typed clients against moto's server (scripts/moto.sh start --auth; the filled gaps come
// from scripts/motofill). Needs FK_MOTO_ENDPOINT and the IAM user's AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY; region us-east-1. Fixtures the clients have no operation for are made
// with RawQuery / RawJson over the same signed transport; every name is unique per run.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>

#include <pugixml.hpp>

#include "awsclient/clients.h"
#include "awsclient/credentials.h"
#include "awsclient/json_protocol.h"
#include "awsclient/query_protocol.h"
#include "awsclient/signed_transport.h"

namespace fleetkeeper::aws {
namespace {

std::string Unique(const std::string& prefix) {
  return prefix + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000000);
}

class FixedCredentials final : public CredentialsProvider {
 public:
  explicit FixedCredentials(Credentials c) : c_(std::move(c)) {}
  Result<Credentials> Resolve() override { return c_; }
  std::string name() const override { return "test"; }

 private:
  Credentials c_;
};

std::shared_ptr<Transport> MotoTransport(CredentialsProviderPtr credentials) {
  TransportOptions options;
  options.region = "us-east-1";
  options.endpoints.profile_endpoint_url = std::getenv("FK_MOTO_ENDPOINT");
  options.retry.max_attempts = 2;
  return std::make_shared<SignedTransport>(std::move(credentials), std::move(options));
}

class MotoClients : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::getenv("FK_MOTO_ENDPOINT") == nullptr) {
      FAIL() << "FK_MOTO_ENDPOINT is not set: start moto with `scripts/moto.sh start --auth` and "
                "export the variables of .cache/moto-default.env";
    }
    transport_ = MotoTransport(std::make_shared<EnvironmentProvider>());
    clients_ = MakeCellClients(transport_);
  }

  // A query-protocol call for fixtures; returns the parsed result node's document.
  XmlResponse RawQuery(const std::string& service, QueryParams params) {
    Result<XmlResponse> r = CallQuery(*transport_, service, params);
    EXPECT_TRUE(r.ok()) << params.action() << ": " << r.error().ToString();
    return r.ok() ? std::move(r).value() : XmlResponse{};
  }

  std::shared_ptr<Transport> transport_;
  std::unique_ptr<CellClients> clients_;
};

TEST_F(MotoClients, CallerIdentityAndWrongSecret) {
  Result<CallerIdentity> me = clients_->sts->GetCallerIdentity();
  ASSERT_TRUE(me.ok()) << me.error().ToString();
  EXPECT_FALSE(me->account.empty());
  EXPECT_NE(me->arn.find("fleetkeeper-test"), std::string::npos) << me->arn;

  Credentials wrong;
  wrong.access_key_id = std::getenv("AWS_ACCESS_KEY_ID") ? std::getenv("AWS_ACCESS_KEY_ID") : "";
  wrong.secret_access_key = "not-the-secret";
  std::unique_ptr<CellClients> bad =
      MakeCellClients(MotoTransport(std::make_shared<FixedCredentials>(wrong)));
  Result<CallerIdentity> refused = bad->sts->GetCallerIdentity();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnauthorized) << refused.error().ToString();
  EXPECT_EQ(refused.error().aws_code, "SignatureDoesNotMatch") << refused.error().ToString();
  EXPECT_FALSE(refused.error().retriable);
  // EC2 answers a bad signature with AuthFailure (moto: inside <ErrorResponse>, HTTP 401).
  Result<DescribeInstancesResponse> ec2_refused = bad->ec2->DescribeInstances({});
  ASSERT_FALSE(ec2_refused.ok());
  EXPECT_EQ(ec2_refused.error().code, ErrorCode::kUnauthorized) << ec2_refused.error().ToString();
  EXPECT_NE(ec2_refused.error().ToString().find("AuthFailure"), std::string::npos)
      << ec2_refused.error().ToString();
}

TEST_F(MotoClients, Ec2InstanceLifecycle) {
  XmlResponse vpc = RawQuery("ec2", [] {
    QueryParams p(QueryFlavor::kEc2, "CreateVpc", "2016-11-15");
    p.Set("CidrBlock", "10.42.0.0/16");
    return p;
  }());
  std::string vpc_id = vpc.result.child("vpc").child_value("vpcId");
  ASSERT_FALSE(vpc_id.empty());
  XmlResponse subnet = RawQuery("ec2", [&] {
    QueryParams p(QueryFlavor::kEc2, "CreateSubnet", "2016-11-15");
    p.Set("VpcId", vpc_id);
    p.Set("CidrBlock", "10.42.1.0/24");
    return p;
  }());
  std::string subnet_id = subnet.result.child("subnet").child_value("subnetId");
  Result<DescribeImagesResponse> images = clients_->ec2->DescribeImages({{}, {}, {}, 5, ""});
  ASSERT_TRUE(images.ok()) << images.error().ToString();
  ASSERT_FALSE(images->images.empty());
  const std::string ami = images->images[0].id;

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
  // The same ClientToken returns the same instance (AWS idempotency; filled in by the launcher).
  Result<RunInstancesResponse> again = clients_->ec2->RunInstances(run);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  ASSERT_EQ(again->instances.size(), 1u);
  EXPECT_EQ(again->instances[0].id, id);

  Result<DescribeInstancesResponse> by_token =
      clients_->ec2->DescribeInstances({{}, {{"client-token", {run.client_token}}}, {}, ""});
  ASSERT_TRUE(by_token.ok()) << by_token.error().ToString();
  ASSERT_EQ(by_token->instances.size(), 1u);
  EXPECT_EQ(by_token->instances[0].id, id);
  EXPECT_EQ(by_token->instances[0].tags.at("Name"), "fk-moto");
  EXPECT_EQ(by_token->instances[0].image_id, ami);

  ASSERT_TRUE(clients_->ec2->CreateTags({{id}, {{"fleetkeeper:owner", "test"}}}).ok());
  Result<InstanceAttribute> shutdown = clients_->ec2->DescribeInstanceAttribute(
      {id, InstanceAttributeName::kInstanceInitiatedShutdownBehavior});
  ASSERT_TRUE(shutdown.ok()) << shutdown.error().ToString();
  EXPECT_EQ(shutdown->value, "stop");

  Result<DescribeVolumesResponse> volumes =
      clients_->ec2->DescribeVolumes({{}, {{"attachment.instance-id", {id}}}, {}, ""});
  ASSERT_TRUE(volumes.ok()) << volumes.error().ToString();
  ASSERT_FALSE(volumes->volumes.empty());
  EXPECT_EQ(volumes->volumes[0].attachments.at(0).instance_id, id);

  Result<InstanceStateChanges> stopped = clients_->ec2->StopInstances({{id}, {}, {}});
  ASSERT_TRUE(stopped.ok()) << stopped.error().ToString();
  EXPECT_EQ(stopped->changes.at(0).instance_id, id);
  ASSERT_TRUE(clients_->ec2->StartInstances({{id}}).ok());
  ASSERT_TRUE(clients_->ec2->RebootInstances({{id}}).ok());
  Result<DescribeInstanceStatusResponse> status =
      clients_->ec2->DescribeInstanceStatus({{id}, {}, true, {}, ""});
  ASSERT_TRUE(status.ok()) << status.error().ToString();
  EXPECT_EQ(status->statuses.at(0).instance_id, id);

  Result<CreateImageResponse> image =
      clients_->ec2->CreateImage({id, Unique("fk-image"), "", true, {}});
  ASSERT_TRUE(image.ok()) << image.error().ToString();
  Result<DescribeImagesResponse> mine = clients_->ec2->DescribeImages({{image->image_id}, {}, {},
                                                                       {}, ""});
  ASSERT_TRUE(mine.ok()) << mine.error().ToString();
  EXPECT_EQ(mine->images.at(0).id, image->image_id);
  EXPECT_TRUE(clients_->ec2->DeregisterImage({image->image_id}).ok());

  XmlResponse eip = RawQuery("ec2", [] {
    QueryParams p(QueryFlavor::kEc2, "AllocateAddress", "2016-11-15");
    p.Set("Domain", "vpc");
    return p;
  }());
  std::string allocation = eip.result.child_value("allocationId");
  Result<AssociateAddressResponse> associated =
      clients_->ec2->AssociateAddress({allocation, "", id, "", "", true});
  ASSERT_TRUE(associated.ok()) << associated.error().ToString();
  Result<DescribeAddressesResponse> addresses =
      clients_->ec2->DescribeAddresses({{}, {allocation}, {}});
  ASSERT_TRUE(addresses.ok()) << addresses.error().ToString();
  EXPECT_EQ(addresses->addresses.at(0).instance_id, id);

  Result<ReplaceRootVolumeTask> task =
      clients_->ec2->CreateReplaceRootVolumeTask({id, ami, "", true, Unique("rrv"), {}});
  ASSERT_TRUE(task.ok()) << task.error().ToString();
  EXPECT_EQ(task->instance_id, id);
  Result<DescribeReplaceRootVolumeTasksResponse> tasks =
      clients_->ec2->DescribeReplaceRootVolumeTasks({{task->id}, {}, {}, ""});
  ASSERT_TRUE(tasks.ok()) << tasks.error().ToString();
  EXPECT_EQ(tasks->tasks.at(0).id, task->id);

  Result<InstanceStateChanges> terminated = clients_->ec2->TerminateInstances({{id}});
  ASSERT_TRUE(terminated.ok()) << terminated.error().ToString();
}

TEST_F(MotoClients, SsmParameterAndCommands) {
  const std::string name = "/fk/" + Unique("ami");
  Result<nlohmann::json> put = CallJson(
      *transport_, "ssm", kSsmTargetPrefix, "PutParameter",
      {{"Name", name}, {"Value", "ami-12345678"}, {"Type", "String"}, {"Overwrite", true}});
  ASSERT_TRUE(put.ok()) << put.error().ToString();
  Result<Parameter> p = clients_->ssm->GetParameter({name, true});
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(p->value, "ami-12345678");
  EXPECT_EQ(p->version, 1);
  Result<Parameter> missing = clients_->ssm->GetParameter({name + "-absent", false});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().aws_code, "ParameterNotFound");

  SendCommandRequest send;
  send.document_name = "AWS-RunShellScript";
  send.instance_ids = {"i-0123456789abcdef0"};
  send.parameters = {{"commands", {"uptime"}}};
  send.comment = "fleetkeeper moto test";
  Result<Command> command = clients_->ssm->SendCommand(send);
  ASSERT_TRUE(command.ok()) << command.error().ToString();
  ASSERT_FALSE(command->command_id.empty());
  Result<ListCommandInvocationsResponse> invocations =
      clients_->ssm->ListCommandInvocations({command->command_id, "", true, {}, ""});
  ASSERT_TRUE(invocations.ok()) << invocations.error().ToString();
  Result<DescribeInstanceInformationResponse> info =
      clients_->ssm->DescribeInstanceInformation({{{"PingStatus", {"Online"}}}, {}, ""});
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  Result<DescribeInstancePatchStatesResponse> patch =
      clients_->ssm->DescribeInstancePatchStates({{"i-0123456789abcdef0"}, {}, ""});
  ASSERT_TRUE(patch.ok()) << patch.error().ToString();
}

TEST_F(MotoClients, CloudWatchSnsEcsIam) {
  MetricDatum datum{"RecoveryActions", {{"Rule", "cpu"}}, 1, "Count", 0, {}};
  Status put = clients_->cloudwatch->PutMetricData({"FleetKeeper/Test", {datum}});
  ASSERT_TRUE(put.ok()) << put.error().ToString();
  Result<DescribeAlarmsResponse> alarms =
      clients_->cloudwatch->DescribeAlarms({{}, "", "", {"MetricAlarm", "CompositeAlarm"}, {}, ""});
  ASSERT_TRUE(alarms.ok()) << alarms.error().ToString();

  XmlResponse topic = RawQuery("sns", [] {
    QueryParams p(QueryFlavor::kQuery, "CreateTopic", "2010-03-31");
    p.Set("Name", Unique("fk-topic"));
    return p;
  }());
  std::string topic_arn = topic.result.child_value("TopicArn");
  Result<PublishResponse> published =
      clients_->sns->Publish({topic_arn, "subject", "message", {{"k", {"String", "v"}}}});
  ASSERT_TRUE(published.ok()) << published.error().ToString();
  EXPECT_FALSE(published->message_id.empty());

  const std::string cluster = Unique("fk-cluster");
  Result<nlohmann::json> created =
      CallJson(*transport_, "ecs", kEcsTargetPrefix, "CreateCluster", {{"clusterName", cluster}});
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  std::string cluster_arn = (*created)["cluster"]["clusterArn"].get<std::string>();
  Result<ArnPage> clusters = clients_->ecs->ListClusters({});
  ASSERT_TRUE(clusters.ok()) << clusters.error().ToString();
  EXPECT_NE(std::find(clusters->arns.begin(), clusters->arns.end(), cluster_arn),
            clusters->arns.end());
  ASSERT_TRUE(clients_->ecs->TagResource({cluster_arn, {{"fleetkeeper:test", "1"}}}).ok());
  Result<Tags> tags = clients_->ecs->ListTagsForResource({cluster_arn});
  ASSERT_TRUE(tags.ok()) << tags.error().ToString();
  EXPECT_EQ(tags->at("fleetkeeper:test"), "1");

  Result<CallerIdentity> me = clients_->sts->GetCallerIdentity();
  ASSERT_TRUE(me.ok());
  Result<SimulatePrincipalPolicyResponse> simulated =
      clients_->iam->SimulatePrincipalPolicy({me->arn, {"ec2:DescribeInstances"}, {}, ""});
  ASSERT_TRUE(simulated.ok()) << simulated.error().ToString();
  ASSERT_EQ(simulated->results.size(), 1u);
  EXPECT_EQ(simulated->results[0].action_name, "ec2:DescribeInstances");
}

}  // namespace
}  // namespace fleetkeeper::aws
