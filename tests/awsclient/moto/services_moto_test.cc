// ELBv2, CloudWatch, SNS, ECS, IAM and CodeDeploy operations of the clients against moto with
// authentication on. SimulatePrincipalPolicy and StopDeployment are filled by the launcher
// (scripts/motofill/iam.py, codedeploy.py). SNS Publish leaves no state a client can read back,
// so that test reads moto's request recording (FK_MOTO_RECORDING) instead.
#include <algorithm>
#include <ctime>
#include <fstream>
#include <map>
#include <set>

#include "awsclient/pagination.h"
#include "tests/awsclient/moto/moto_fixture.h"

namespace fleetkeeper::aws::moto_test {
namespace {

bool Contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::string DecodeBase64(const std::string& in) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : in) {
    size_t v = kAlphabet.find(c);
    if (v == std::string::npos) continue;  // padding and line breaks
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

// The request bodies moto's recorder has written so far (one JSON object per line).
std::vector<std::string> RecordedBodies() {
  std::vector<std::string> bodies;
  std::ifstream in(Env("FK_MOTO_RECORDING"));
  std::string line;
  while (std::getline(in, line)) {
    auto entry = nlohmann::json::parse(line, nullptr, false);
    if (!entry.is_object() || !entry.contains("body") || !entry["body"].is_string()) continue;
    std::string body = entry["body"].get<std::string>();
    if (entry.value("body_encoded", false)) body = DecodeBase64(body);
    bodies.push_back(std::move(body));
  }
  return bodies;
}

class ServicesMoto : public MotoTest {};

TEST_F(ServicesMoto, Elbv2TargetsRegisterDescribeDeregister) {
  auto [vpc_id, subnet_id] = MakeSubnet(71);
  auto [ami, other_ami] = TwoAmis();
  const std::string first = LaunchInstance(ami, subnet_id);
  const std::string second = LaunchInstance(ami, subnet_id);
  const std::string name = Unique("fk-tg").substr(0, 32);
  QueryParams create(QueryFlavor::kQuery, "CreateTargetGroup", kElbv2Version);
  create.Set("Name", name);
  create.Set("Protocol", "HTTP");
  create.Set("Port", 8080);
  create.Set("VpcId", vpc_id);
  create.Set("TargetType", "instance");
  create.Set("HealthCheckPath", "/healthz");
  XmlResponse created = Query("elasticloadbalancing", create);
  const std::string arn =
      created.result.child("TargetGroups").child("member").child_value("TargetGroupArn");
  ASSERT_FALSE(arn.empty());

  Result<DescribeTargetGroupsResponse> by_name =
      clients_->elbv2->DescribeTargetGroups({{}, {name}, "", {}, ""});
  ASSERT_TRUE(by_name.ok()) << by_name.error().ToString();
  ASSERT_EQ(by_name->target_groups.size(), 1u);
  const TargetGroup& group = by_name->target_groups[0];
  EXPECT_EQ(group.arn, arn);
  EXPECT_EQ(group.name, name);
  EXPECT_EQ(group.protocol, "HTTP");
  EXPECT_EQ(group.port, 8080);
  EXPECT_EQ(group.vpc_id, vpc_id);
  EXPECT_EQ(group.target_type, "instance");
  EXPECT_EQ(group.health_check_path, "/healthz");
  Result<DescribeTargetGroupsResponse> by_arn =
      clients_->elbv2->DescribeTargetGroups({{arn}, {}, "", {}, ""});
  ASSERT_TRUE(by_arn.ok()) << by_arn.error().ToString();
  ASSERT_EQ(by_arn->target_groups.size(), 1u);
  EXPECT_EQ(by_arn->target_groups[0].name, name);

  Result<RequestReceipt> registered_call =
      clients_->elbv2->RegisterTargets({arn, {{first, 8080, ""}, {second, {}, ""}}});
  ASSERT_TRUE(registered_call.ok()) << registered_call.error().ToString();
  EXPECT_FALSE(registered_call->request_id.empty()) << "the request id goes into results";
  Result<DescribeTargetHealthResponse> health = clients_->elbv2->DescribeTargetHealth({arn, {}});
  ASSERT_TRUE(health.ok()) << health.error().ToString();
  ASSERT_EQ(health->descriptions.size(), 2u);
  std::set<std::string> registered;
  for (const TargetHealthDescription& d : health->descriptions) {
    registered.insert(d.target.id);
    EXPECT_FALSE(d.state.empty());
  }
  EXPECT_EQ(registered, (std::set<std::string>{first, second}));
  EXPECT_TRUE(WaitFor([&] {
    Result<DescribeTargetHealthResponse> h =
        clients_->elbv2->DescribeTargetHealth({arn, {{first, 8080, ""}}});
    return h.ok() && h->descriptions.size() == 1 && h->descriptions[0].state == "healthy";
  })) << "a running instance becomes healthy";

  Result<RequestReceipt> deregistered =
      clients_->elbv2->DeregisterTargets({arn, {{second, {}, ""}}});
  ASSERT_TRUE(deregistered.ok()) << deregistered.error().ToString();
  EXPECT_FALSE(deregistered->request_id.empty());
  EXPECT_TRUE(WaitFor([&] {
    Result<DescribeTargetHealthResponse> h = clients_->elbv2->DescribeTargetHealth({arn, {}});
    if (!h.ok()) return false;
    for (const TargetHealthDescription& d : h->descriptions) {
      if (d.target.id == second && d.state != "draining") return false;
    }
    return true;
  })) << "the deregistered target is gone or draining";
  Result<DescribeTargetGroupsResponse> unknown =
      clients_->elbv2->DescribeTargetGroups({{}, {Unique("absent").substr(0, 32)}, "", {}, ""});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound) << unknown.error().ToString();
  ASSERT_TRUE(clients_->ec2->TerminateInstances({{first, second}}).ok());
}

TEST_F(ServicesMoto, Elbv2DescribeTagsOfTargetGroups) {
  auto [vpc_id, subnet_id] = MakeSubnet(72);
  std::vector<std::string> arns;
  for (int i = 0; i < 2; ++i) {
    QueryParams create(QueryFlavor::kQuery, "CreateTargetGroup", kElbv2Version);
    create.Set("Name", Unique("fk-tags").substr(0, 30) + std::to_string(i));
    create.Set("Protocol", "HTTP");
    create.Set("Port", 80);
    create.Set("VpcId", vpc_id);
    if (i == 0) {
      create.Set("Tags.member.1.Key", "fleetkeeper:guard-alarms");
      create.Set("Tags.member.1.Value", "web-5xx, web-latency-*");
      create.Set("Tags.member.2.Key", "team");
      create.Set("Tags.member.2.Value", "");
    }
    XmlResponse created = Query("elasticloadbalancing", create);
    arns.push_back(
        created.result.child("TargetGroups").child("member").child_value("TargetGroupArn"));
    ASSERT_FALSE(arns.back().empty());
  }
  Result<DescribeTagsResponse> tags = clients_->elbv2->DescribeTags({arns});
  ASSERT_TRUE(tags.ok()) << tags.error().ToString();
  ASSERT_EQ(tags->tags.count(arns[0]), 1u);
  EXPECT_EQ(tags->tags.at(arns[0]),
            (std::map<std::string, std::string>{
                {"fleetkeeper:guard-alarms", "web-5xx, web-latency-*"}, {"team", ""}}));
  // A group without tags: listed with none, or not at all.
  EXPECT_TRUE(tags->tags.count(arns[1]) == 0 || tags->tags.at(arns[1]).empty());
  Result<DescribeTagsResponse> none = clients_->elbv2->DescribeTags({{}});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("1 to 20 resource ARNs"), std::string::npos);
}

TEST_F(ServicesMoto, CloudWatchMetricsAndAlarms) {
  const std::string ns = "FleetKeeper/" + Unique("test");
  const int64_t now = NowMs();
  MetricDatum one{"RecoveryActions", {{"Rule", "cpu"}}, 1, "Count", now, {}};
  MetricDatum three{"RecoveryActions", {{"Rule", "cpu"}}, 3, "Count", now, {}};
  Status put = clients_->cloudwatch->PutMetricData({ns, {one, three}});
  ASSERT_TRUE(put.ok()) << put.error().ToString();

  GetMetricStatisticsRequest stats;
  stats.metric_namespace = ns;
  stats.metric_name = "RecoveryActions";
  stats.dimensions = {{"Rule", "cpu"}};
  stats.start_ms = now - 10 * 60 * 1000;
  stats.end_ms = now + 60 * 1000;
  stats.period_seconds = 3600;
  stats.statistics = {"Sum", "Maximum", "SampleCount"};
  Result<GetMetricStatisticsResponse> got = clients_->cloudwatch->GetMetricStatistics(stats);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_EQ(got->label, "RecoveryActions");
  double sum = 0, count = 0, maximum = 0;
  for (const Datapoint& p : got->datapoints) {
    sum += p.sum.value_or(0);
    count += p.sample_count.value_or(0);
    maximum = std::max(maximum, p.maximum.value_or(0));
  }
  EXPECT_EQ(sum, 4);
  EXPECT_EQ(count, 2);
  EXPECT_EQ(maximum, 3);

  const std::string alarm = Unique("fk-alarm");
  QueryParams put_alarm(QueryFlavor::kQuery, "PutMetricAlarm", kCloudWatchVersion);
  put_alarm.Set("AlarmName", alarm);
  put_alarm.Set("Namespace", ns);
  put_alarm.Set("MetricName", "RecoveryActions");
  put_alarm.Set("Dimensions.member.1.Name", "Rule");
  put_alarm.Set("Dimensions.member.1.Value", "cpu");
  put_alarm.Set("Statistic", "Sum");
  put_alarm.Set("Period", 60);
  put_alarm.Set("EvaluationPeriods", 2);
  put_alarm.Set("Threshold", 5.5);
  put_alarm.Set("ComparisonOperator", "GreaterThanThreshold");
  put_alarm.Set("ActionsEnabled", true);
  Query("monitoring", put_alarm);
  QueryParams set_state(QueryFlavor::kQuery, "SetAlarmState", kCloudWatchVersion);
  set_state.Set("AlarmName", alarm);
  set_state.Set("StateValue", "ALARM");
  set_state.Set("StateReason", "test");
  Query("monitoring", set_state);
  // (moto has no composite alarms: PutCompositeAlarm is not implemented.)
  Result<DescribeAlarmsResponse> alarms = clients_->cloudwatch->DescribeAlarms(
      {{alarm}, "", "", {"MetricAlarm", "CompositeAlarm"}, {}, ""});
  ASSERT_TRUE(alarms.ok()) << alarms.error().ToString();
  ASSERT_EQ(alarms->metric_alarms.size(), 1u);
  const MetricAlarm& metric = alarms->metric_alarms[0];
  EXPECT_EQ(metric.name, alarm);
  EXPECT_EQ(metric.state_value, "ALARM");
  EXPECT_EQ(metric.metric_namespace, ns);
  EXPECT_EQ(metric.threshold, 5.5);
  EXPECT_EQ(metric.evaluation_periods, 2);
  EXPECT_EQ(metric.comparison_operator, "GreaterThanThreshold");
  ASSERT_EQ(metric.dimensions.size(), 1u);
  EXPECT_EQ(metric.dimensions[0].value, "cpu");
  EXPECT_TRUE(alarms->composite_alarms.empty());

  Result<DescribeAlarmsResponse> firing =
      clients_->cloudwatch->DescribeAlarms({{}, alarm, "ALARM", {}, {}, ""});
  ASSERT_TRUE(firing.ok()) << firing.error().ToString();
  ASSERT_EQ(firing->metric_alarms.size(), 1u);
  EXPECT_EQ(firing->metric_alarms[0].name, alarm);
}

TEST_F(ServicesMoto, SnsPublishIsSentAsAsked) {
  QueryParams create(QueryFlavor::kQuery, "CreateTopic", kSnsVersion);
  create.Set("Name", Unique("fk-topic"));
  XmlResponse topic = Query("sns", create);
  const std::string topic_arn = topic.result.child_value("TopicArn");
  ASSERT_FALSE(topic_arn.empty());
  const std::string message = Unique("instance i-1 recovered");
  Result<PublishResponse> published = clients_->sns->Publish(
      {topic_arn, "fleetkeeper", message, {{"rule", {"String", "cpu-high"}}}});
  ASSERT_TRUE(published.ok()) << published.error().ToString();
  EXPECT_FALSE(published->message_id.empty());

  if (Env("FK_MOTO_RECORDING").empty()) GTEST_SKIP() << "no FK_MOTO_RECORDING to check";
  std::string sent;
  for (const std::string& body : RecordedBodies()) {
    if (body.find("Action=Publish") != std::string::npos &&
        body.find(FormEncode(message)) != std::string::npos) {
      sent = body;
    }
  }
  ASSERT_FALSE(sent.empty()) << "the recording has no Publish of the message";
  EXPECT_NE(sent.find("TopicArn=" + FormEncode(topic_arn)), std::string::npos) << sent;
  EXPECT_NE(sent.find("Subject=fleetkeeper"), std::string::npos) << sent;
  EXPECT_NE(sent.find("StringValue=cpu-high"), std::string::npos) << sent;

  Result<PublishResponse> nowhere = clients_->sns->Publish({topic_arn + "-absent", "", "x", {}});
  ASSERT_FALSE(nowhere.ok());
  EXPECT_EQ(nowhere.error().code, ErrorCode::kNotFound) << nowhere.error().ToString();
}

TEST_F(ServicesMoto, EcsClusterServiceTasksAndContainerInstances) {
  auto [vpc_id, subnet_id] = MakeSubnet(72);
  auto [ami, other_ami] = TwoAmis();
  const std::string host = LaunchInstance(ami, subnet_id);
  const std::string cluster = Unique("fk-cluster");
  nlohmann::json created =
      Json("ecs", kEcsTargetPrefix, "CreateCluster", {{"clusterName", cluster}});
  const std::string cluster_arn = created["cluster"].value("clusterArn", "");
  ASSERT_FALSE(cluster_arn.empty());
  nlohmann::json instance =
      Json("ecs", kEcsTargetPrefix, "RegisterContainerInstance",
           {{"cluster", cluster},
            {"instanceIdentityDocument", nlohmann::json{{"instanceId", host}}.dump()}});
  const std::string container_instance_arn =
      instance["containerInstance"].value("containerInstanceArn", "");
  nlohmann::json task_definition =
      Json("ecs", kEcsTargetPrefix, "RegisterTaskDefinition",
           {{"family", cluster},
            {"containerDefinitions",
             {{{"name", "web"}, {"image", "nginx"}, {"memory", 128}, {"cpu", 128}}}}});
  const std::string task_definition_arn =
      task_definition["taskDefinition"].value("taskDefinitionArn", "");
  Json("ecs", kEcsTargetPrefix, "CreateService",
       {{"cluster", cluster},
        {"serviceName", "web"},
        {"taskDefinition", task_definition_arn},
        {"desiredCount", 1}});
  nlohmann::json ran = Json("ecs", kEcsTargetPrefix, "RunTask",
                            {{"cluster", cluster}, {"taskDefinition", task_definition_arn}});
  ASSERT_FALSE(ran["tasks"].empty()) << ran.dump();
  const std::string task_arn = ran["tasks"][0].value("taskArn", "");

  Result<ArnPage> clusters = clients_->ecs->ListClusters({});
  ASSERT_TRUE(clusters.ok()) << clusters.error().ToString();
  EXPECT_TRUE(Contains(clusters->arns, cluster_arn));

  Result<ArnPage> services = clients_->ecs->ListServices({cluster, "", {}, ""});
  ASSERT_TRUE(services.ok()) << services.error().ToString();
  ASSERT_EQ(services->arns.size(), 1u);
  Result<DescribeServicesResponse> described =
      clients_->ecs->DescribeServices({cluster, {"web"}, true});
  ASSERT_TRUE(described.ok()) << described.error().ToString();
  ASSERT_EQ(described->services.size(), 1u);
  EXPECT_EQ(described->services[0].arn, services->arns[0]);
  EXPECT_EQ(described->services[0].name, "web");
  EXPECT_EQ(described->services[0].status, "ACTIVE");
  EXPECT_EQ(described->services[0].desired_count, 1);
  EXPECT_EQ(described->services[0].task_definition, task_definition_arn);
  Result<DescribeServicesResponse> missing =
      clients_->ecs->DescribeServices({cluster, {"absent"}, false});
  ASSERT_TRUE(missing.ok()) << missing.error().ToString();
  EXPECT_TRUE(missing->services.empty());
  ASSERT_EQ(missing->failures.size(), 1u);
  EXPECT_EQ(missing->failures[0].reason, "MISSING");

  Result<EcsService> updated = clients_->ecs->UpdateService({cluster, "web", 3, true, ""});
  ASSERT_TRUE(updated.ok()) << updated.error().ToString();
  EXPECT_EQ(updated->desired_count, 3);
  EXPECT_EQ(updated->name, "web");

  Result<ArnPage> tasks = clients_->ecs->ListTasks({cluster, "", "", "", {}, ""});
  ASSERT_TRUE(tasks.ok()) << tasks.error().ToString();
  EXPECT_TRUE(Contains(tasks->arns, task_arn));
  Result<EcsTask> stopped = clients_->ecs->StopTask({cluster, task_arn, "fleetkeeper: drain"});
  ASSERT_TRUE(stopped.ok()) << stopped.error().ToString();
  EXPECT_EQ(stopped->arn, task_arn);
  EXPECT_EQ(stopped->desired_status, "STOPPED");
  EXPECT_EQ(stopped->stopped_reason, "fleetkeeper: drain");

  Result<ArnPage> container_instances =
      clients_->ecs->ListContainerInstances({cluster, "", "", {}, ""});
  ASSERT_TRUE(container_instances.ok()) << container_instances.error().ToString();
  EXPECT_EQ(container_instances->arns, std::vector<std::string>{container_instance_arn});
  Result<UpdateContainerInstancesStateResponse> draining =
      clients_->ecs->UpdateContainerInstancesState({cluster, {container_instance_arn}, "DRAINING"});
  ASSERT_TRUE(draining.ok()) << draining.error().ToString();
  ASSERT_EQ(draining->container_instances.size(), 1u);
  EXPECT_EQ(draining->container_instances[0].status, "DRAINING");
  EXPECT_EQ(draining->container_instances[0].ec2_instance_id, host);
  Result<ArnPage> drained =
      clients_->ecs->ListContainerInstances({cluster, "DRAINING", "", {}, ""});
  ASSERT_TRUE(drained.ok()) << drained.error().ToString();
  EXPECT_EQ(drained->arns, std::vector<std::string>{container_instance_arn});
  Result<ArnPage> active = clients_->ecs->ListContainerInstances({cluster, "ACTIVE", "", {}, ""});
  ASSERT_TRUE(active.ok()) << active.error().ToString();
  EXPECT_TRUE(active->arns.empty());

  ASSERT_TRUE(clients_->ecs->TagResource({cluster_arn, {{"fleetkeeper:test", "1"}}}).ok());
  Result<Tags> tags = clients_->ecs->ListTagsForResource({cluster_arn});
  ASSERT_TRUE(tags.ok()) << tags.error().ToString();
  EXPECT_EQ(*tags, (Tags{{"fleetkeeper:test", "1"}}));
  ASSERT_TRUE(clients_->ecs->UntagResource({cluster_arn, {"fleetkeeper:test"}}).ok());
  Result<Tags> untagged = clients_->ecs->ListTagsForResource({cluster_arn});
  ASSERT_TRUE(untagged.ok()) << untagged.error().ToString();
  EXPECT_TRUE(untagged->empty());

  Result<DescribeClustersResponse> described_clusters =
      clients_->ecs->DescribeClusters({{cluster, "absent-" + cluster}});
  ASSERT_TRUE(described_clusters.ok()) << described_clusters.error().ToString();
  ASSERT_EQ(described_clusters->clusters.size(), 1u);
  EXPECT_EQ(described_clusters->clusters[0].arn, cluster_arn);
  EXPECT_EQ(described_clusters->clusters[0].name, cluster);
  EXPECT_EQ(described_clusters->clusters[0].status, "ACTIVE");
  EXPECT_EQ(described_clusters->clusters[0].registered_container_instances, 1);
  ASSERT_EQ(described_clusters->failures.size(), 1u);
  EXPECT_EQ(described_clusters->failures[0].reason, "MISSING");

  Result<DescribeTasksResponse> described_tasks =
      clients_->ecs->DescribeTasks({cluster, {task_arn}});
  ASSERT_TRUE(described_tasks.ok()) << described_tasks.error().ToString();
  ASSERT_EQ(described_tasks->tasks.size(), 1u);
  EXPECT_EQ(described_tasks->tasks[0].arn, task_arn);
  EXPECT_EQ(described_tasks->tasks[0].desired_status, "STOPPED");
  EXPECT_EQ(described_tasks->tasks[0].task_definition, task_definition_arn);

  Result<DescribeContainerInstancesResponse> described_instances =
      clients_->ecs->DescribeContainerInstances({cluster, {container_instance_arn}});
  ASSERT_TRUE(described_instances.ok()) << described_instances.error().ToString();
  ASSERT_EQ(described_instances->container_instances.size(), 1u);
  EXPECT_EQ(described_instances->container_instances[0].status, "DRAINING");
  EXPECT_EQ(described_instances->container_instances[0].ec2_instance_id, host);
  ASSERT_TRUE(clients_->ec2->TerminateInstances({{host}}).ok());
}

TEST_F(ServicesMoto, IamSimulatesTheTestUsersPolicy) {
  Result<CallerIdentity> me = clients_->sts->GetCallerIdentity();
  ASSERT_TRUE(me.ok()) << me.error().ToString();
  Result<SimulatePrincipalPolicyResponse> simulated = clients_->iam->SimulatePrincipalPolicy(
      {me->arn, {"ec2:DescribeInstances", "monitoring:PutMetricData", "s3:GetObject"}, {}, ""});
  ASSERT_TRUE(simulated.ok()) << simulated.error().ToString();
  std::map<std::string, std::string> decisions;
  for (const EvaluationResult& r : simulated->results) decisions[r.action_name] = r.decision;
  EXPECT_EQ(decisions, (std::map<std::string, std::string>{{"ec2:DescribeInstances", "allowed"},
                                                           {"monitoring:PutMetricData", "allowed"},
                                                           {"s3:GetObject", "implicitDeny"}}));
}

TEST_F(ServicesMoto, CodeDeployStopWithRollback) {
  const std::string app = Unique("fk-app");
  Json("codedeploy", kCodeDeployTargetPrefix, "CreateApplication",
       {{"applicationName", app}, {"computePlatform", "Server"}});
  Json("codedeploy", kCodeDeployTargetPrefix, "CreateDeploymentGroup",
       {{"applicationName", app},
        {"deploymentGroupName", app},
        {"serviceRoleArn", "arn:aws:iam::123456789012:role/codedeploy"}});
  nlohmann::json revision = {
      {"revisionType", "S3"},
      {"s3Location", {{"bucket", "b"}, {"key", "k"}, {"bundleType", "zip"}}}};
  nlohmann::json created =
      Json("codedeploy", kCodeDeployTargetPrefix, "CreateDeployment",
           {{"applicationName", app}, {"deploymentGroupName", app}, {"revision", revision}});
  const std::string deployment_id = created.value("deploymentId", "");
  ASSERT_FALSE(deployment_id.empty());

  Result<StopDeploymentResponse> stopped =
      clients_->codedeploy->StopDeployment({deployment_id, true});
  ASSERT_TRUE(stopped.ok()) << stopped.error().ToString();
  EXPECT_EQ(stopped->status, "Pending") << "a rollback deployment was started";
  Result<DeploymentInfo> info = clients_->codedeploy->GetDeployment({deployment_id});
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  EXPECT_EQ(info->status, "Stopped");
  ASSERT_FALSE(info->rollback_deployment_id.empty());
  EXPECT_TRUE(WaitFor([&] {
    Result<DeploymentInfo> rollback =
        clients_->codedeploy->GetDeployment({info->rollback_deployment_id});
    return rollback.ok() && rollback->status == "Succeeded";
  }));
  Result<DeploymentInfo> rollback =
      clients_->codedeploy->GetDeployment({info->rollback_deployment_id});
  ASSERT_TRUE(rollback.ok()) << rollback.error().ToString();
  EXPECT_EQ(rollback->rollback_triggering_deployment_id, deployment_id);

  Result<StopDeploymentResponse> again = clients_->codedeploy->StopDeployment({deployment_id, {}});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().aws_code, "DeploymentAlreadyCompletedException");
}

// What stop_deployment reads to find the deployments an alarm guards: the applications, their
// groups, the groups' alarm configuration (moto's own answer is empty; scripts/motofill fills it)
// and the active deployments of a group.
TEST_F(ServicesMoto, CodeDeployFindsTheActiveDeploymentsOfTheGroupsAnAlarmGuards) {
  const std::string app = Unique("fk-app");
  const std::string alarm = app + "-5xx";
  Json("codedeploy", kCodeDeployTargetPrefix, "CreateApplication",
       {{"applicationName", app}, {"computePlatform", "Server"}});
  for (const std::string group : {"guarded", "plain"}) {
    nlohmann::json body = {{"applicationName", app},
                           {"deploymentGroupName", group},
                           {"serviceRoleArn", "arn:aws:iam::123456789012:role/codedeploy"}};
    if (group == "guarded") {
      body["alarmConfiguration"] = {{"enabled", true}, {"alarms", {{{"name", alarm}}}}};
    }
    Json("codedeploy", kCodeDeployTargetPrefix, "CreateDeploymentGroup", body);
  }
  nlohmann::json revision = {
      {"revisionType", "S3"},
      {"s3Location", {{"bucket", "b"}, {"key", "k"}, {"bundleType", "zip"}}}};
  const std::string deployment_id =
      Json("codedeploy", kCodeDeployTargetPrefix, "CreateDeployment",
           {{"applicationName", app}, {"deploymentGroupName", "guarded"}, {"revision", revision}})
          .value("deploymentId", "");

  Result<std::vector<std::string>> apps = CollectAll(
      ListApplicationsRequest{},
      [&](const auto& r) { return clients_->codedeploy->ListApplications(r); },
      &ListApplicationsResponse::applications);
  ASSERT_TRUE(apps.ok()) << apps.error().ToString();
  EXPECT_EQ(std::count(apps->begin(), apps->end(), app), 1);

  Result<ListDeploymentGroupsResponse> groups =
      clients_->codedeploy->ListDeploymentGroups({app, ""});
  ASSERT_TRUE(groups.ok()) << groups.error().ToString();
  EXPECT_EQ(
      std::set<std::string>(groups->deployment_groups.begin(), groups->deployment_groups.end()),
      (std::set<std::string>{"guarded", "plain"}));

  Result<BatchGetDeploymentGroupsResponse> infos =
      clients_->codedeploy->BatchGetDeploymentGroups({app, {"guarded", "plain", "gone"}});
  ASSERT_TRUE(infos.ok()) << infos.error().ToString();
  std::map<std::string, DeploymentGroupInfo> by_name;
  for (const auto& g : infos->deployment_groups) by_name[g.deployment_group_name] = g;
  ASSERT_EQ(by_name.size(), 2u);
  EXPECT_TRUE(by_name["guarded"].alarms_enabled);
  EXPECT_EQ(by_name["guarded"].alarm_names, std::vector<std::string>{alarm});
  EXPECT_EQ(by_name["guarded"].application_name, app);
  EXPECT_TRUE(by_name["plain"].alarm_names.empty());
  EXPECT_NE(infos->error_message.find("gone"), std::string::npos) << infos->error_message;

  ListDeploymentsRequest active{app, "guarded", {"Created", "Queued", "InProgress", "Ready"}, ""};
  Result<ListDeploymentsResponse> listed = clients_->codedeploy->ListDeployments(active);
  ASSERT_TRUE(listed.ok()) << listed.error().ToString();
  EXPECT_EQ(listed->deployments, std::vector<std::string>{deployment_id});
  ASSERT_TRUE(clients_->codedeploy->StopDeployment({deployment_id, {}}).ok());
  listed = clients_->codedeploy->ListDeployments(active);
  ASSERT_TRUE(listed.ok()) << listed.error().ToString();
  EXPECT_TRUE(listed->deployments.empty());
}

}  // namespace
}  // namespace fleetkeeper::aws::moto_test
