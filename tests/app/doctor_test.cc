// `fleetkeeper doctor`'s decisions with mocked AWS clients: which lines it prints, which of them
// fail, and which actions it asks IAM to simulate. SimulatePrincipalPolicy decisions follow
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html (allowed,
// explicitDeny, implicitDeny).
#include "app/doctor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "handlers/registry.h"
#include "tests/testing/aws_mocks.h"

namespace fleetkeeper::app {
namespace {

using ::testing::_;
using ::testing::Return;

class FakeCredentials final : public aws::CredentialsProvider {
 public:
  explicit FakeCredentials(bool present) : present_(present) {}
  Result<aws::Credentials> Resolve() override {
    if (!present_) return Error(ErrorCode::kNotFound, "no provider in the chain answered");
    aws::Credentials c;
    c.access_key_id = "AKIDEXAMPLE";
    c.secret_access_key = "very-secret";
    c.source = "profile ops";
    return c;
  }
  std::string name() const override { return "chain"; }

 private:
  bool present_;
};

bool Has(const std::vector<std::string>& v, const std::string& item) {
  return std::find(v.begin(), v.end(), item) != v.end();
}

const DoctorCheck* Find(const std::vector<DoctorCheck>& checks, const std::string& name) {
  for (const auto& c : checks) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

aws::SimulatePrincipalPolicyResponse Decisions(
    std::vector<std::pair<std::string, std::string>> decisions, std::string next = "") {
  aws::SimulatePrincipalPolicyResponse r;
  for (auto& [action, decision] : decisions) r.results.push_back({action, "*", decision, {}});
  r.next_token = std::move(next);
  return r;
}

// Allows every action it is asked about, and records the requests.
struct AllowAll {
  std::vector<aws::SimulatePrincipalPolicyRequest>* seen;
  Result<aws::SimulatePrincipalPolicyResponse> operator()(
      const aws::SimulatePrincipalPolicyRequest& r) const {
    seen->push_back(r);
    aws::SimulatePrincipalPolicyResponse out;
    for (const auto& a : r.action_names) out.results.push_back({a, "*", "allowed", {}});
    return out;
  }
};

v1::WorkerConfig HealingOnly() {
  v1::WorkerConfig config;
  config.mutable_aws()->set_region("us-east-1");
  config.mutable_handlers()->mutable_ami_rollout()->set_enabled(false);
  config.mutable_handlers()->mutable_patch()->set_enabled(false);
  config.mutable_handlers()->mutable_ecs()->set_enabled(false);
  auto* rule = config.mutable_handlers()->mutable_self_healing()->add_rules();
  rule->set_name("scale");
  rule->mutable_action()->set_type("scale_out");
  return config;
}

TEST(DoctorFormat, OneLinePerCheckWithAStatusColumn) {
  EXPECT_EQ(FormatCheck({CheckOutcome::kOk, "kafka", "b:9092 reachable"}),
            "ok    kafka: b:9092 reachable");
  EXPECT_EQ(FormatCheck({CheckOutcome::kFail, "topics", "x missing"}), "FAIL  topics: x missing");
  EXPECT_EQ(FormatCheck({CheckOutcome::kWarn, "permissions a", "y"}), "warn  permissions a: y");
  EXPECT_FALSE(AnyFailed({{CheckOutcome::kOk, "a", ""}, {CheckOutcome::kWarn, "b", ""}}));
  EXPECT_TRUE(AnyFailed({{CheckOutcome::kOk, "a", ""}, {CheckOutcome::kFail, "b", ""}}));
}

TEST(DoctorActions, AssumedRoleSessionsAreSimulatedAsTheirRole) {
  EXPECT_EQ(PolicySourceArn("arn:aws:sts::111122223333:assumed-role/fleetkeeper/i-0abc"),
            "arn:aws:iam::111122223333:role/fleetkeeper");
  EXPECT_EQ(PolicySourceArn("arn:aws-cn:sts::111122223333:assumed-role/ops/s"),
            "arn:aws-cn:iam::111122223333:role/ops");
  EXPECT_EQ(PolicySourceArn("arn:aws:iam::111122223333:user/alice"),
            "arn:aws:iam::111122223333:user/alice");
  EXPECT_EQ(PolicySourceArn("not an arn"), "not an arn");
}

class DoctorAwsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ON_CALL(*cell_.sts, GetCallerIdentity())
        .WillByDefault(Return(aws::CallerIdentity{
            "999988887777", "arn:aws:sts::999988887777:assumed-role/ops/alice", "AROA:alice"}));
  }
  aws::testing::MockCellClients cell_;
  FakeCredentials credentials_{true};
  std::vector<aws::SimulatePrincipalPolicyRequest> seen_;
};

TEST_F(DoctorAwsTest, AllAllowedIsAllOkAndNeverShowsTheSecret) {
  EXPECT_CALL(*cell_.iam, SimulatePrincipalPolicy(_)).WillRepeatedly(AllowAll{&seen_});
  auto checks = AwsChecks(HealingOnly(), credentials_, cell_.provider);
  EXPECT_FALSE(AnyFailed(checks));
  ASSERT_NE(Find(checks, "credentials"), nullptr);
  EXPECT_EQ(Find(checks, "credentials")->detail, "from profile ops");
  EXPECT_EQ(Find(checks, "caller identity")->detail,
            "account 999988887777, arn:aws:sts::999988887777:assumed-role/ops/alice");
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].policy_source_arn, "arn:aws:iam::999988887777:role/ops");
  // Exactly what the handler declares: no second list in doctor.
  EXPECT_EQ(seen_[0].action_names, handlers::HandlerPermissions(HealingOnly())[0].actions);
  EXPECT_TRUE(Has(seen_[0].action_names, "autoscaling:SetDesiredCapacity"));
  EXPECT_EQ(Find(checks, "permissions self_healing")->outcome, CheckOutcome::kOk);
  for (const auto& c : checks) EXPECT_EQ(FormatCheck(c).find("very-secret"), std::string::npos);
}

TEST_F(DoctorAwsTest, DeniedActionsFailNamingEachAction) {
  EXPECT_CALL(*cell_.iam, SimulatePrincipalPolicy(_))
      .WillOnce(Return(Decisions({{"autoscaling:DescribeAutoScalingGroups", "allowed"},
                                  {"autoscaling:SetDesiredCapacity", "implicitDeny"}},
                                 "page2")))
      .WillOnce(Return(Decisions({{"cloudwatch:PutMetricData", "explicitDeny"}})));
  auto checks = AwsChecks(HealingOnly(), credentials_, cell_.provider);
  EXPECT_TRUE(AnyFailed(checks));
  const DoctorCheck* perms = Find(checks, "permissions self_healing");
  ASSERT_NE(perms, nullptr);
  EXPECT_EQ(perms->outcome, CheckOutcome::kFail);
  EXPECT_EQ(perms->detail,
            "2 of 3 actions not allowed for arn:aws:iam::999988887777:role/ops: "
            "autoscaling:SetDesiredCapacity (implicitDeny), cloudwatch:PutMetricData "
            "(explicitDeny)");
}

TEST_F(DoctorAwsTest, ADeniedSimulationIsSaidPlainlyAndIsNotAFailure) {
  Error denied(ErrorCode::kUnauthorized,
               "User is not authorized to perform "
               "iam:SimulatePrincipalPolicy");
  denied.aws_code = "AccessDenied";
  denied.http_status = 403;
  EXPECT_CALL(*cell_.iam, SimulatePrincipalPolicy(_))
      .WillOnce(Return(Result<aws::SimulatePrincipalPolicyResponse>(denied)));
  auto checks = AwsChecks(HealingOnly(), credentials_, cell_.provider);
  EXPECT_FALSE(AnyFailed(checks));
  const DoctorCheck* perms = Find(checks, "permissions self_healing");
  ASSERT_NE(perms, nullptr);
  EXPECT_EQ(perms->outcome, CheckOutcome::kWarn);
  EXPECT_THAT(perms->detail, ::testing::HasSubstr("may not call iam:SimulatePrincipalPolicy"));
  EXPECT_THAT(perms->detail, ::testing::HasSubstr("not checked"));
}

TEST_F(DoctorAwsTest, NoCredentialsFailsAndCallsNothing) {
  FakeCredentials none(false);
  EXPECT_CALL(cell_.provider, For(_, _, _)).Times(0);
  auto checks = AwsChecks(HealingOnly(), none, cell_.provider);
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].outcome, CheckOutcome::kFail);
  EXPECT_THAT(checks[0].detail, ::testing::HasSubstr("no AWS credentials"));
  EXPECT_EQ(checks[1].outcome, CheckOutcome::kSkip);
}

TEST_F(DoctorAwsTest, EachConfiguredRoleIsAssumedAndSimulated) {
  aws::testing::MockCellClients role;
  ON_CALL(*role.sts, GetCallerIdentity())
      .WillByDefault(Return(aws::CallerIdentity{
          "111122223333", "arn:aws:sts::111122223333:assumed-role/fleetkeeper/fleetkeeper", "x"}));
  std::vector<aws::SimulatePrincipalPolicyRequest> role_seen;
  EXPECT_CALL(*role.iam, SimulatePrincipalPolicy(_)).WillRepeatedly(AllowAll{&role_seen});
  EXPECT_CALL(*cell_.iam, SimulatePrincipalPolicy(_)).WillRepeatedly(AllowAll{&seen_});
  ON_CALL(cell_.provider, For("111122223333", "", ""))
      .WillByDefault(Return(Result<aws::CellClients*>(&role.clients)));
  Error unreachable(ErrorCode::kAws, "not authorized to perform sts:AssumeRole");
  unreachable.aws_code = "AccessDenied";
  ON_CALL(*cell_.sts, GetCallerIdentity())
      .WillByDefault(Return(
          aws::CallerIdentity{"999988887777", "arn:aws:iam::999988887777:user/ops", "AIDA"}));
  aws::testing::MockCellClients broken;
  ON_CALL(*broken.sts, GetCallerIdentity())
      .WillByDefault(Return(Result<aws::CallerIdentity>(unreachable)));
  ON_CALL(cell_.provider, For("444455556666", "", ""))
      .WillByDefault(Return(Result<aws::CellClients*>(&broken.clients)));

  v1::WorkerConfig config = HealingOnly();
  auto& accounts = *config.mutable_aws()->mutable_accounts();
  accounts["111122223333"].set_role_arn("arn:aws:iam::111122223333:role/fleetkeeper");
  accounts["444455556666"].set_role_arn("arn:aws:iam::444455556666:role/fleetkeeper");
  auto checks = AwsChecks(config, credentials_, cell_.provider);

  EXPECT_EQ(Find(checks, "role 111122223333")->outcome, CheckOutcome::kOk);
  const DoctorCheck* broken_role = Find(checks, "role 444455556666");
  ASSERT_NE(broken_role, nullptr);
  EXPECT_EQ(broken_role->outcome, CheckOutcome::kFail);
  EXPECT_THAT(broken_role->detail,
              ::testing::HasSubstr("cannot act as arn:aws:iam::444455556666:role/fleetkeeper"));
  // The caller identity: the handler's actions, and its own sts:AssumeRole on both roles; each
  // role: the handler's actions only.
  ASSERT_EQ(seen_.size(), 2u);
  EXPECT_EQ(seen_[0].policy_source_arn, "arn:aws:iam::999988887777:user/ops");
  EXPECT_EQ(seen_[0].action_names, std::vector<std::string>{"sts:AssumeRole"});
  EXPECT_EQ(seen_[0].resource_arns,
            (std::vector<std::string>{"arn:aws:iam::111122223333:role/fleetkeeper",
                                      "arn:aws:iam::444455556666:role/fleetkeeper"}));
  EXPECT_EQ(Find(checks, "permissions worker")->outcome, CheckOutcome::kOk);
  EXPECT_TRUE(Has(seen_[1].action_names, "autoscaling:SetDesiredCapacity"));
  EXPECT_TRUE(seen_[1].resource_arns.empty());
  ASSERT_EQ(role_seen.size(), 1u);
  EXPECT_EQ(role_seen[0].policy_source_arn, "arn:aws:iam::111122223333:role/fleetkeeper");
  EXPECT_FALSE(Has(role_seen[0].action_names, "sts:AssumeRole"));
}

TEST_F(DoctorAwsTest, ADeniedAssumeRoleNamesTheRole) {
  EXPECT_CALL(*cell_.iam, SimulatePrincipalPolicy(_))
      .WillRepeatedly([this](const aws::SimulatePrincipalPolicyRequest& r) {
        seen_.push_back(r);
        aws::SimulatePrincipalPolicyResponse out;
        if (r.action_names == std::vector<std::string>{"sts:AssumeRole"}) {
          out.results.push_back({"sts:AssumeRole", r.resource_arns.at(0), "implicitDeny", {}});
          return Result<aws::SimulatePrincipalPolicyResponse>(out);
        }
        for (const auto& a : r.action_names) out.results.push_back({a, "*", "allowed", {}});
        return Result<aws::SimulatePrincipalPolicyResponse>(out);
      });
  v1::WorkerConfig config = HealingOnly();
  (*config.mutable_aws()->mutable_accounts())["111122223333"].set_role_arn(
      "arn:aws:iam::111122223333:role/fleetkeeper");
  auto checks = AwsChecks(config, credentials_, cell_.provider);
  const DoctorCheck* worker = Find(checks, "permissions worker");
  ASSERT_NE(worker, nullptr);
  EXPECT_EQ(worker->outcome, CheckOutcome::kFail);
  EXPECT_THAT(worker->detail,
              ::testing::HasSubstr("sts:AssumeRole on arn:aws:iam::111122223333:role/fleetkeeper "
                                   "(implicitDeny)"));
}

}  // namespace
}  // namespace fleetkeeper::app
