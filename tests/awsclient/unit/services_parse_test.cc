// Auto Scaling, ELBv2, SNS, STS, SSM and ECS parsing and serialization against third-party data:
// botocore's recorded XML (botocore-xml), botocore's service examples (rendered as the query
// protocol's XML for the query services: element names are the member names, lists are
// <member>), and go-cloud's recorded SSM JSON 1.1 traffic (ssm-recorded).
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "awsclient/autoscaling.h"
#include "awsclient/clients.h"
#include "awsclient/ecs.h"
#include "awsclient/elbv2.h"
#include "awsclient/sns.h"
#include "awsclient/ssm.h"
#include "awsclient/sts.h"
#include "common/clock.h"
#include "tests/testing/aws_mocks.h"
#include "tests/awsclient/unit/fake_transport.h"

namespace fleetkeeper::aws {
namespace {

using nlohmann::json;
using testing::FakeTransport;
using testing::ReadTestdata;

std::string Str(const json& obj, const char* key) {
  return obj.contains(key) ? obj[key].get<std::string>() : std::string();
}

json Example(const std::string& file, const std::string& operation, size_t index = 0) {
  json all = json::parse(ReadTestdata("aws-responses/botocore-service-examples/" + file));
  return all["examples"][operation][index]["output"];
}

void AppendXml(const json& value, std::string& out) {
  if (value.is_object()) {
    for (const auto& [key, member] : value.items()) {
      out += "<" + key + ">";
      AppendXml(member, out);
      out += "</" + key + ">";
    }
  } else if (value.is_array()) {
    for (const json& element : value) {
      out += "<member>";
      AppendXml(element, out);
      out += "</member>";
    }
  } else if (value.is_string()) {
    out += value.get<std::string>();  // examples hold no markup characters
  } else {
    out += value.dump();
  }
}

// The query-protocol response a service would send for `output`.
std::string QueryXml(const std::string& action, const json& output) {
  std::string out =
      "<" + action + "Response xmlns=\"https://example.com/doc/\"><" + action + "Result>";
  AppendXml(output, out);
  out += "</" + action +
         "Result><ResponseMetadata><RequestId>req-1</RequestId>"
         "</ResponseMetadata></" +
         action + "Response>";
  return out;
}

TEST(AutoScalingParse, RecordedEmptyDescribeAutoScalingGroups) {
  Result<DescribeAutoScalingGroupsResponse> parsed = ParseDescribeAutoScalingGroups(
      ReadTestdata("aws-responses/botocore-xml/autoscaling-describe-auto-scaling-groups.xml"));
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_TRUE(parsed->groups.empty());
  EXPECT_EQ(parsed->next_token, "");
}

TEST(AutoScalingParse, DescribeAutoScalingGroupsExample) {
  json expected = Example("autoscaling-2011-01-01-examples-1.json", "DescribeAutoScalingGroups");
  Result<DescribeAutoScalingGroupsResponse> parsed =
      ParseDescribeAutoScalingGroups(QueryXml("DescribeAutoScalingGroups", expected));
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  ASSERT_EQ(parsed->groups.size(), expected["AutoScalingGroups"].size());
  const json& e = expected["AutoScalingGroups"][0];
  const AutoScalingGroup& g = parsed->groups[0];
  EXPECT_EQ(g.name, Str(e, "AutoScalingGroupName"));
  EXPECT_EQ(g.arn, Str(e, "AutoScalingGroupARN"));
  EXPECT_EQ(g.launch_configuration_name, Str(e, "LaunchConfigurationName"));
  EXPECT_FALSE(g.launch_template.has_value());
  EXPECT_EQ(g.min_size, e["MinSize"].get<int64_t>());
  EXPECT_EQ(g.max_size, e["MaxSize"].get<int64_t>());
  EXPECT_EQ(g.desired_capacity, e["DesiredCapacity"].get<int64_t>());
  EXPECT_EQ(g.default_cooldown, e["DefaultCooldown"].get<int64_t>());
  EXPECT_EQ(g.availability_zones, e["AvailabilityZones"].get<std::vector<std::string>>());
  EXPECT_EQ(g.vpc_zone_identifier, Str(e, "VPCZoneIdentifier"));
  EXPECT_EQ(g.health_check_type, Str(e, "HealthCheckType"));
  EXPECT_EQ(g.health_check_grace_period, e["HealthCheckGracePeriod"].get<int64_t>());
  EXPECT_EQ(g.target_group_arns, e["TargetGroupARNs"].get<std::vector<std::string>>());
  EXPECT_EQ(g.created_time_ms, ParseRfc3339Ms(Str(e, "CreatedTime")));
  ASSERT_EQ(g.instances.size(), e["Instances"].size());
  for (size_t i = 0; i < g.instances.size(); ++i) {
    const json& ei = e["Instances"][i];
    EXPECT_EQ(g.instances[i].instance_id, Str(ei, "InstanceId"));
    EXPECT_EQ(g.instances[i].instance_type, Str(ei, "InstanceType"));
    EXPECT_EQ(g.instances[i].availability_zone, Str(ei, "AvailabilityZone"));
    EXPECT_EQ(g.instances[i].lifecycle_state, Str(ei, "LifecycleState"));
    EXPECT_EQ(g.instances[i].health_status, Str(ei, "HealthStatus"));
    EXPECT_EQ(g.instances[i].launch_configuration_name, Str(ei, "LaunchConfigurationName"));
    EXPECT_EQ(g.instances[i].protected_from_scale_in, ei["ProtectedFromScaleIn"].get<bool>());
  }
}

TEST(AutoScalingParse, LaunchTemplateMixedPolicyAndTags) {
  Result<DescribeAutoScalingGroupsResponse> parsed = ParseDescribeAutoScalingGroups(
      "<DescribeAutoScalingGroupsResponse><DescribeAutoScalingGroupsResult><AutoScalingGroups>"
      "<member><AutoScalingGroupName>web</AutoScalingGroupName>"
      "<MixedInstancesPolicy><LaunchTemplate><LaunchTemplateSpecification>"
      "<LaunchTemplateId>lt-1</LaunchTemplateId><LaunchTemplateName>web</LaunchTemplateName>"
      "<Version>$Latest</Version></LaunchTemplateSpecification><Overrides><member>"
      "<InstanceType>m5.large</InstanceType><WeightedCapacity>2</WeightedCapacity></member>"
      "</Overrides></LaunchTemplate><InstancesDistribution><OnDemandBaseCapacity>1"
      "</OnDemandBaseCapacity><SpotAllocationStrategy>price-capacity-optimized"
      "</SpotAllocationStrategy></InstancesDistribution></MixedInstancesPolicy>"
      "<Instances><member><InstanceId>i-1</InstanceId><LaunchTemplate>"
      "<LaunchTemplateId>lt-1</LaunchTemplateId><Version>4</Version></LaunchTemplate>"
      "<LifecycleState>InService</LifecycleState></member></Instances>"
      "<Tags><member><Key>fleetkeeper:ami-parameter</Key><Value>/ami/linux</Value>"
      "<PropagateAtLaunch>true</PropagateAtLaunch></member></Tags>"
      "<MinSize>1</MinSize><MaxSize>4</MaxSize><DesiredCapacity>2</DesiredCapacity>"
      "</member></AutoScalingGroups><NextToken>page-2</NextToken>"
      "</DescribeAutoScalingGroupsResult></DescribeAutoScalingGroupsResponse>");
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  const AutoScalingGroup& g = parsed->groups.at(0);
  ASSERT_TRUE(g.mixed_instances_policy.has_value());
  EXPECT_EQ(g.mixed_instances_policy->launch_template.id, "lt-1");
  EXPECT_EQ(g.mixed_instances_policy->launch_template.version, "$Latest");
  EXPECT_EQ(g.mixed_instances_policy->overrides.at(0).instance_type, "m5.large");
  EXPECT_EQ(g.mixed_instances_policy->instances_distribution->on_demand_base_capacity, 1);
  EXPECT_EQ(g.instances.at(0).launch_template->version, "4");
  EXPECT_EQ(g.tags.at("fleetkeeper:ami-parameter"), "/ami/linux");
  EXPECT_EQ(parsed->next_token, "page-2");
}

TEST(AutoScalingParse, DescribeInstanceRefreshesExample) {
  json expected = Example("autoscaling-2011-01-01-examples-1.json", "DescribeInstanceRefreshes");
  Result<DescribeInstanceRefreshesResponse> parsed =
      ParseDescribeInstanceRefreshes(QueryXml("DescribeInstanceRefreshes", expected));
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  ASSERT_EQ(parsed->refreshes.size(), expected["InstanceRefreshes"].size());
  for (size_t i = 0; i < parsed->refreshes.size(); ++i) {
    const json& e = expected["InstanceRefreshes"][i];
    const InstanceRefresh& f = parsed->refreshes[i];
    EXPECT_EQ(f.id, Str(e, "InstanceRefreshId"));
    EXPECT_EQ(f.asg_name, Str(e, "AutoScalingGroupName"));
    EXPECT_EQ(f.status, Str(e, "Status"));
    EXPECT_EQ(f.status_reason, Str(e, "StatusReason"));
    EXPECT_EQ(f.percentage_complete, e["PercentageComplete"].get<int64_t>());
    EXPECT_EQ(f.instances_to_update, e["InstancesToUpdate"].get<int64_t>());
    EXPECT_EQ(f.start_time_ms, ParseRfc3339Ms(Str(e, "StartTime")));
    EXPECT_EQ(f.end_time_ms, e.contains("EndTime") ? ParseRfc3339Ms(Str(e, "EndTime")) : 0);
    if (e.contains("Preferences") && e["Preferences"].contains("AutoRollback")) {
      EXPECT_EQ(f.auto_rollback, e["Preferences"]["AutoRollback"].get<bool>());
    }
  }
}

TEST(AutoScalingClient, StartInstanceRefreshSendsEveryPreference) {
  auto transport = std::make_shared<FakeTransport>();
  transport->Respond(
      QueryXml("StartInstanceRefresh",
               Example("autoscaling-2011-01-01-examples-1.json", "StartInstanceRefresh")));
  StartInstanceRefreshRequest r;
  r.asg_name = "web";
  r.desired_configuration = RefreshDesiredConfiguration{LaunchTemplateSpec{"lt-1", "", "7"}, {}};
  r.preferences.min_healthy_percentage = 0;  // a meaningful zero is still sent
  r.preferences.max_healthy_percentage = 110;
  r.preferences.instance_warmup = 60;
  r.preferences.checkpoint_percentages = {50, 100};
  r.preferences.checkpoint_delay = 30;
  r.preferences.skip_matching = true;
  r.preferences.auto_rollback = false;
  r.preferences.scale_in_protected_instances = "Wait";
  r.preferences.standby_instances = "Ignore";
  r.preferences.alarms = {"web-5xx"};
  Result<StartInstanceRefreshResponse> answer =
      MakeAutoScalingClient(transport)->StartInstanceRefresh(r);
  ASSERT_TRUE(answer.ok()) << answer.error().ToString();
  EXPECT_EQ(answer->instance_refresh_id,
            Str(Example("autoscaling-2011-01-01-examples-1.json", "StartInstanceRefresh"),
                "InstanceRefreshId"));
  EXPECT_EQ(transport->last().service, "autoscaling");
  EXPECT_EQ(transport->last().body,
            "Action=StartInstanceRefresh&Version=2011-01-01&AutoScalingGroupName=web&"
            "Strategy=Rolling&DesiredConfiguration.LaunchTemplate.LaunchTemplateId=lt-1&"
            "DesiredConfiguration.LaunchTemplate.Version=7&"
            "Preferences.MinHealthyPercentage=0&Preferences.MaxHealthyPercentage=110&"
            "Preferences.InstanceWarmup=60&Preferences.CheckpointPercentages.member.1=50&"
            "Preferences.CheckpointPercentages.member.2=100&Preferences.CheckpointDelay=30&"
            "Preferences.SkipMatching=true&Preferences.AutoRollback=false&"
            "Preferences.ScaleInProtectedInstances=Wait&Preferences.StandbyInstances=Ignore&"
            "Preferences.AlarmSpecification.Alarms.member.1=web-5xx");
}

TEST(AutoScalingClient, TerminateAndStandbyActivities) {
  auto transport = std::make_shared<FakeTransport>();
  json terminate =
      Example("autoscaling-2011-01-01-examples-1.json", "TerminateInstanceInAutoScalingGroup");
  json standby = Example("autoscaling-2011-01-01-examples-1.json", "EnterStandby");
  transport->Respond(QueryXml("TerminateInstanceInAutoScalingGroup", terminate));
  transport->Respond(QueryXml("EnterStandby", standby));
  std::unique_ptr<AutoScaling> asg = MakeAutoScalingClient(transport);
  Result<ScalingActivity> activity = asg->TerminateInstanceInAutoScalingGroup({"i-1", false});
  ASSERT_TRUE(activity.ok()) << activity.error().ToString();
  EXPECT_EQ(activity->activity_id, Str(terminate["Activity"], "ActivityId"));
  EXPECT_EQ(activity->status_code, Str(terminate["Activity"], "StatusCode"));
  EXPECT_EQ(transport->requests()[0].body,
            "Action=TerminateInstanceInAutoScalingGroup&Version=2011-01-01&InstanceId=i-1&"
            "ShouldDecrementDesiredCapacity=false");
  Result<ScalingActivities> activities = asg->EnterStandby({"web", {"i-1", "i-2"}, true});
  ASSERT_TRUE(activities.ok()) << activities.error().ToString();
  ASSERT_EQ(activities->activities.size(), standby["Activities"].size());
  EXPECT_EQ(activities->activities[0].description, Str(standby["Activities"][0], "Description"));
}

TEST(Elbv2Parse, TargetHealthAndTargetGroupsExamples) {
  json health = Example("elbv2-2015-12-01-examples-1.json", "DescribeTargetHealth");
  Result<DescribeTargetHealthResponse> parsed =
      ParseDescribeTargetHealth(QueryXml("DescribeTargetHealth", health));
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  ASSERT_EQ(parsed->descriptions.size(), health["TargetHealthDescriptions"].size());
  for (size_t i = 0; i < parsed->descriptions.size(); ++i) {
    const json& e = health["TargetHealthDescriptions"][i];
    EXPECT_EQ(parsed->descriptions[i].target.id, Str(e["Target"], "Id"));
    EXPECT_EQ(parsed->descriptions[i].target.port, e["Target"]["Port"].get<int>());
    EXPECT_EQ(parsed->descriptions[i].state, Str(e["TargetHealth"], "State"));
    EXPECT_EQ(parsed->descriptions[i].reason, Str(e["TargetHealth"], "Reason"));
  }
  json groups = Example("elbv2-2015-12-01-examples-1.json", "DescribeTargetGroups");
  Result<DescribeTargetGroupsResponse> tg =
      ParseDescribeTargetGroups(QueryXml("DescribeTargetGroups", groups));
  ASSERT_TRUE(tg.ok()) << tg.error().ToString();
  ASSERT_EQ(tg->target_groups.size(), groups["TargetGroups"].size());
  const json& e = groups["TargetGroups"][0];
  EXPECT_EQ(tg->target_groups[0].arn, Str(e, "TargetGroupArn"));
  EXPECT_EQ(tg->target_groups[0].name, Str(e, "TargetGroupName"));
  EXPECT_EQ(tg->target_groups[0].vpc_id, Str(e, "VpcId"));
  EXPECT_EQ(tg->target_groups[0].port, e["Port"].get<int64_t>());
  EXPECT_EQ(tg->target_groups[0].load_balancer_arns,
            e["LoadBalancerArns"].get<std::vector<std::string>>());
}

// The AWS documentation's example of DescribeTags (botocore's elbv2 examples), in the query
// protocol's XML form.
TEST(Elbv2Parse, DescribeTagsByResource) {
  json tags = Example("elbv2-2015-12-01-examples-1.json", "DescribeTags");
  Result<DescribeTagsResponse> parsed = ParseDescribeTags(QueryXml("DescribeTags", tags));
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  const json& d = tags["TagDescriptions"][0];
  ASSERT_EQ(parsed->tags.size(), 1u);
  const auto& got = parsed->tags.at(Str(d, "ResourceArn"));
  ASSERT_EQ(got.size(), d["Tags"].size());
  for (const json& t : d["Tags"]) EXPECT_EQ(got.at(Str(t, "Key")), Str(t, "Value"));
}

TEST(SnsParse, RecordedPublish) {
  json expected = json::parse(ReadTestdata("aws-responses/botocore-xml/sns-publish.json"));
  Result<PublishResponse> parsed =
      ParsePublish(ReadTestdata("aws-responses/botocore-xml/sns-publish.xml"));
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed->message_id, Str(expected, "MessageId"));
}

TEST(SnsClient, PublishSerializesMessageAttributesAsAMap) {
  auto transport = std::make_shared<FakeTransport>();
  transport->Respond(ReadTestdata("aws-responses/botocore-xml/sns-publish.xml"));
  PublishRequest r{
      "arn:aws:sns:us-east-1:1:ops", "Patched", "ok", {{"severity", {"String", "low"}}}};
  ASSERT_TRUE(MakeSnsClient(transport)->Publish(r).ok());
  EXPECT_EQ(transport->last().body,
            "Action=Publish&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3Aops&"
            "Subject=Patched&Message=ok&MessageAttributes.entry.1.Name=severity&"
            "MessageAttributes.entry.1.Value.DataType=String&"
            "MessageAttributes.entry.1.Value.StringValue=low");
}

TEST(StsParse, RecordedCredentials) {
  json expected =
      json::parse(ReadTestdata("aws-responses/botocore-xml/sts-get-session-token.json"));
  Result<AssumeRoleResponse> parsed = ParseAssumeRole(
      "GetSessionToken", ReadTestdata("aws-responses/botocore-xml/sts-get-session-token.xml"));
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  const json& c = expected["Credentials"];
  EXPECT_EQ(parsed->credentials.access_key_id, Str(c, "AccessKeyId"));
  EXPECT_EQ(parsed->credentials.secret_access_key, Str(c, "SecretAccessKey"));
  EXPECT_EQ(parsed->credentials.session_token, Str(c, "SessionToken"));
  EXPECT_EQ(parsed->credentials.expiration_ms, ParseRfc3339Ms(Str(c, "Expiration")));
}

// go-cloud's recorded SSM traffic: our GetParameter request must be the one the Go SDK sent, and
// our parse of the recorded answer must match the JSON field by field.
TEST(SsmRecorded, GetParameterRequestsAndAnswers) {
  const std::filesystem::path dir =
      std::filesystem::path(FK_SHARED_TESTDATA) / "aws-responses/ssm-recorded/testdata";
  int compared = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    json exchanges = json::parse(
        ReadTestdata(std::filesystem::relative(entry.path(), FK_SHARED_TESTDATA).string()));
    for (const json& x : exchanges) {
      const json& headers = x["request"]["headers"];
      if (!headers.contains("X-Amz-Target") ||
          headers["X-Amz-Target"][0] != "AmazonSSM.GetParameter" ||
          x["response"]["status"] != 200) {
        continue;
      }
      SCOPED_TRACE(entry.path().filename().string());
      json sent_by_sdk = json::parse(x["request"]["body"].get<std::string>());
      auto transport = std::make_shared<FakeTransport>();
      transport->Respond(x["response"]["body"].get<std::string>());
      Result<Parameter> p = MakeSsmClient(transport)->GetParameter(
          {sent_by_sdk["Name"].get<std::string>(), sent_by_sdk["WithDecryption"].get<bool>()});
      ASSERT_TRUE(p.ok()) << p.error().ToString();
      EXPECT_EQ(json::parse(transport->last().body), sent_by_sdk);
      EXPECT_EQ(testing::HeaderOf(transport->last(), "X-Amz-Target"), "AmazonSSM.GetParameter");
      EXPECT_EQ(testing::HeaderOf(transport->last(), "Content-Type"),
                x["request"]["mediaType"].get<std::string>());
      json e = json::parse(x["response"]["body"].get<std::string>())["Parameter"];
      EXPECT_EQ(p->name, Str(e, "Name"));
      EXPECT_EQ(p->value, Str(e, "Value"));
      EXPECT_EQ(p->type, Str(e, "Type"));
      EXPECT_EQ(p->arn, Str(e, "ARN"));
      EXPECT_EQ(p->data_type, Str(e, "DataType"));
      EXPECT_EQ(p->version, e["Version"].get<int64_t>());
      EXPECT_EQ(p->last_modified_ms,
                static_cast<int64_t>(std::llround(e["LastModifiedDate"].get<double>() * 1000)));
      ++compared;
    }
  }
  EXPECT_GE(compared, 5);
}

TEST(SsmClient, SendCommandBodyAndMalformedAnswer) {
  auto transport = std::make_shared<FakeTransport>();
  transport->Respond(R"({"Command":{"CommandId":"c-1","Status":"Pending",
                          "RequestedDateTime":1.7e9,"InstanceIds":["i-1"]}})");
  transport->Respond(R"({"Command":{"CommandId":42}})");
  std::unique_ptr<Ssm> ssm = MakeSsmClient(transport);
  SendCommandRequest r;
  r.document_name = "AWS-RunPatchBaseline";
  r.targets = {{"tag:Environment", {"prod"}}};
  r.parameters = {{"Operation", {"Install"}}, {"RebootOption", {"RebootIfNeeded"}}};
  r.timeout_seconds = 600;
  r.max_concurrency = "10%";
  r.max_errors = "1";
  r.comment = "patch wave 1";
  Result<Command> sent = ssm->SendCommand(r);
  ASSERT_TRUE(sent.ok()) << sent.error().ToString();
  EXPECT_EQ(sent->command_id, "c-1");
  EXPECT_EQ(sent->requested_ms, 1'700'000'000'000);
  EXPECT_EQ(json::parse(transport->last().body), json::parse(R"({
      "DocumentName":"AWS-RunPatchBaseline",
      "Targets":[{"Key":"tag:Environment","Values":["prod"]}],
      "Parameters":{"Operation":["Install"],"RebootOption":["RebootIfNeeded"]},
      "TimeoutSeconds":600,"MaxConcurrency":"10%","MaxErrors":"1","Comment":"patch wave 1"})"));
  Result<Command> bad = ssm->SendCommand(r);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "SendCommand: malformed response: field 'CommandId' is not a string");
}

TEST(EcsParse, DescribeServicesExample) {
  json expected = Example("ecs-2014-11-13-examples-1.json", "DescribeServices");
  Result<DescribeServicesResponse> parsed = ParseDescribeServices(expected.dump());
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  ASSERT_EQ(parsed->services.size(), expected["services"].size());
  const json& e = expected["services"][0];
  const EcsService& s = parsed->services[0];
  EXPECT_EQ(s.arn, Str(e, "serviceArn"));
  EXPECT_EQ(s.name, Str(e, "serviceName"));
  EXPECT_EQ(s.cluster_arn, Str(e, "clusterArn"));
  EXPECT_EQ(s.status, Str(e, "status"));
  EXPECT_EQ(s.desired_count, e["desiredCount"].get<int64_t>());
  EXPECT_EQ(s.running_count, e["runningCount"].get<int64_t>());
  EXPECT_EQ(s.pending_count, e["pendingCount"].get<int64_t>());
  ASSERT_EQ(s.deployments.size(), e["deployments"].size());
  EXPECT_EQ(s.deployments[0].id, Str(e["deployments"][0], "id"));
  EXPECT_EQ(s.deployments[0].status, Str(e["deployments"][0], "status"));
  EXPECT_EQ(s.deployments[0].created_ms, ParseRfc3339Ms(Str(e["deployments"][0], "createdAt")));
  EXPECT_TRUE(parsed->failures.empty());
}

TEST(EcsParse, ListExamples) {
  for (auto [operation, key] :
       {std::pair{"ListClusters", "clusterArns"}, std::pair{"ListServices", "serviceArns"},
        std::pair{"ListTasks", "taskArns"},
        std::pair{"ListContainerInstances", "containerInstanceArns"}}) {
    json expected = Example("ecs-2014-11-13-examples-1.json", operation);
    Result<ArnPage> page = ParseArnPage(operation, expected.dump());
    ASSERT_TRUE(page.ok()) << page.error().ToString();
    EXPECT_EQ(page->arns, expected[key].get<std::vector<std::string>>()) << operation;
  }
}

TEST(EcsClient, UpdateServiceAndTags) {
  auto transport = std::make_shared<FakeTransport>();
  transport->Respond(R"({"service":{"serviceName":"api","desiredCount":0,"runningCount":2}})");
  transport->Respond("");
  transport->Respond(Example("ecs-2014-11-13-examples-1.json", "ListTagsForResource").dump());
  std::unique_ptr<Ecs> ecs = MakeEcsClient(transport);
  Result<EcsService> updated = ecs->UpdateService({"prod", "api", 0, true, ""});
  ASSERT_TRUE(updated.ok()) << updated.error().ToString();
  EXPECT_EQ(updated->desired_count, 0);
  EXPECT_EQ(json::parse(transport->requests()[0].body),
            json::parse(R"({"service":"api","cluster":"prod","desiredCount":0,
                            "forceNewDeployment":true})"));
  EXPECT_EQ(testing::HeaderOf(transport->requests()[0], "X-Amz-Target"),
            "AmazonEC2ContainerServiceV20141113.UpdateService");
  ASSERT_TRUE(ecs->TagResource({"arn:svc", {{"fleetkeeper:previous-desired", "4"}}}).ok());
  EXPECT_EQ(json::parse(transport->requests()[1].body), json::parse(R"({"resourceArn":"arn:svc",
                            "tags":[{"key":"fleetkeeper:previous-desired","value":"4"}]})"));
  Result<Tags> tags = ecs->ListTagsForResource({"arn:cluster"});
  ASSERT_TRUE(tags.ok()) << tags.error().ToString();
  json expected = Example("ecs-2014-11-13-examples-1.json", "ListTagsForResource")["tags"];
  ASSERT_EQ(tags->size(), expected.size());
  for (const json& t : expected) EXPECT_EQ(tags->at(Str(t, "key")), Str(t, "value"));
}

TEST(CellClients, ProviderCachesPerCellAndRetriesFailures) {
  int made = 0;
  bool fail_next = true;
  CachingClientProvider provider([&](const CellKey& key) -> Result<std::shared_ptr<Transport>> {
    if (fail_next) {
      fail_next = false;
      return Error(ErrorCode::kUnauthorized, "no credentials for " + key.role_arn);
    }
    ++made;
    return std::shared_ptr<Transport>(std::make_shared<FakeTransport>());
  });
  Result<CellClients*> first = provider.For("111", "us-east-1", "arn:role");
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, ErrorCode::kUnauthorized);
  Result<CellClients*> second = provider.For("111", "us-east-1", "arn:role");
  ASSERT_TRUE(second.ok());
  Result<CellClients*> again = provider.For("111", "us-east-1", "arn:role");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*second, *again);
  EXPECT_EQ((*second)->region, "us-east-1");
  ASSERT_NE((*second)->ec2, nullptr);
  ASSERT_NE((*second)->codedeploy, nullptr);
  Result<CellClients*> other = provider.For("111", "eu-west-1", "arn:role");
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*other, *second);
  EXPECT_EQ(made, 2);
  EXPECT_EQ(provider.cell_count(), 2u);
  EXPECT_FALSE(provider.For("111", "", "").ok());
}

// The mocks compile and can stand in for the real clients behind a ClientProvider.
TEST(Mocks, StandInForEveryService) {
  testing::MockCellClients mocks;
  EXPECT_CALL(*mocks.ec2, RebootInstances(::testing::_)).WillOnce(::testing::Return(Ok{}));
  EXPECT_CALL(mocks.provider, For("111", "us-east-1", ""))
      .WillOnce(::testing::Return(Result<CellClients*>(&mocks.clients)));
  Result<CellClients*> cell = mocks.provider.For("111", "us-east-1", "");
  ASSERT_TRUE(cell.ok());
  EXPECT_TRUE((*cell)->ec2->RebootInstances({{"i-1"}}).ok());
}

}  // namespace
}  // namespace fleetkeeper::aws
