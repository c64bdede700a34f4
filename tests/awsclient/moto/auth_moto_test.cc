// Authentication against moto with authentication on: the test user's identity, clear errors for
// a wrong secret, an unknown key and an action outside the user's policy, STS AssumeRole and
// AssumeRoleWithWebIdentity through the typed client, and the per-cell TransportFactory whose
// AssumeRole credentials moto accepts and authorizes with the role's own policy.
#include "awsclient/transport_factory.h"
#include "tests/awsclient/moto/moto_fixture.h"

namespace fleetkeeper::aws::moto_test {
namespace {

class AuthMoto : public MotoTest {
 protected:
  std::unique_ptr<CellClients> ClientsWithSecret(const std::string& key,
                                                 const std::string& secret) {
    Credentials c;
    c.access_key_id = key;
    c.secret_access_key = secret;
    return MakeCellClients(MotoTransport(std::make_shared<FixedCredentials>(c)));
  }

  // A role in the test account that trusts the test user and may only describe EC2 resources;
  // with `external_id`, only when the caller passes it (the trust policy of "Access to AWS
  // accounts owned by third parties", IAM User Guide,
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html).
  std::string MakeRole(const std::string& name, const std::string& trusted_arn,
                       const std::string& external_id = "") {
    nlohmann::json trust = {{"Version", "2012-10-17"},
                            {"Statement",
                             {{{"Effect", "Allow"},
                               {"Principal", {{"AWS", trusted_arn}}},
                               {"Action", {"sts:AssumeRole", "sts:AssumeRoleWithWebIdentity"}}}}}};
    if (!external_id.empty()) {
      trust["Statement"][0]["Condition"] = {{"StringEquals", {{"sts:ExternalId", external_id}}}};
    }
    QueryParams create(QueryFlavor::kQuery, "CreateRole", kIamVersion);
    create.Set("RoleName", name);
    create.Set("AssumeRolePolicyDocument", trust.dump());
    XmlResponse role = Query("iam", create);
    nlohmann::json policy = {
        {"Version", "2012-10-17"},
        {"Statement", {{{"Effect", "Allow"}, {"Action", {"ec2:Describe*"}}, {"Resource", "*"}}}}};
    QueryParams put(QueryFlavor::kQuery, "PutRolePolicy", kIamVersion);
    put.Set("RoleName", name);
    put.Set("PolicyName", "describe-only");
    put.Set("PolicyDocument", policy.dump());
    Query("iam", put);
    return role.result.child("Role").child_value("Arn");
  }
};

TEST_F(AuthMoto, CallerIdentityOfTheTestUser) {
  Result<CallerIdentity> me = clients_->sts->GetCallerIdentity();
  ASSERT_TRUE(me.ok()) << me.error().ToString();
  EXPECT_EQ(me->account.size(), 12u);
  EXPECT_EQ(me->arn, "arn:aws:iam::" + me->account + ":user/fleetkeeper-test");
  EXPECT_FALSE(me->user_id.empty());
}

TEST_F(AuthMoto, WrongSecretIsAClearSignatureError) {
  std::unique_ptr<CellClients> bad = ClientsWithSecret(Env("AWS_ACCESS_KEY_ID"), "not-the-secret");
  Result<CallerIdentity> refused = bad->sts->GetCallerIdentity();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnauthorized) << refused.error().ToString();
  EXPECT_EQ(refused.error().aws_code, "SignatureDoesNotMatch") << refused.error().ToString();
  EXPECT_EQ(refused.error().http_status, 403);
  EXPECT_FALSE(refused.error().retriable);
  EXPECT_NE(refused.error().message.find("SignatureDoesNotMatch"), std::string::npos);
  EXPECT_EQ(refused.error().message.find("not-the-secret"), std::string::npos);

  // EC2 calls a bad signature AuthFailure (HTTP 401).
  Result<DescribeInstancesResponse> ec2_refused = bad->ec2->DescribeInstances({});
  ASSERT_FALSE(ec2_refused.ok());
  EXPECT_EQ(ec2_refused.error().code, ErrorCode::kUnauthorized);
  EXPECT_EQ(ec2_refused.error().aws_code, "AuthFailure") << ec2_refused.error().ToString();

  // A JSON 1.1 service gets the same code.
  Result<Parameter> ssm_refused = bad->ssm->GetParameter({"/fk/anything", false});
  ASSERT_FALSE(ssm_refused.ok());
  EXPECT_EQ(ssm_refused.error().aws_code, "SignatureDoesNotMatch")
      << ssm_refused.error().ToString();
}

TEST_F(AuthMoto, UnknownKeyIsAnInvalidClientToken) {
  std::unique_ptr<CellClients> stranger =
      ClientsWithSecret("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
  Result<Parameter> refused = stranger->ssm->GetParameter({"/fk/anything", false});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnauthorized);
  EXPECT_EQ(refused.error().aws_code, "InvalidClientTokenId") << refused.error().ToString();
}

TEST_F(AuthMoto, ActionOutsideThePolicyIsAccessDenied) {
  // SQS is not among the test user's allowed prefixes.
  Result<XmlResponse> denied =
      CallQuery(*transport_, "sqs", QueryParams(QueryFlavor::kQuery, "ListQueues", "2012-11-05"));
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, ErrorCode::kUnauthorized) << denied.error().ToString();
  EXPECT_EQ(denied.error().aws_code, "AccessDenied") << denied.error().ToString();
  EXPECT_NE(denied.error().message.find("sqs:ListQueues"), std::string::npos)
      << denied.error().message;
}

TEST_F(AuthMoto, TypedAssumeRoleAndWebIdentity) {
  Result<CallerIdentity> me = clients_->sts->GetCallerIdentity();
  ASSERT_TRUE(me.ok()) << me.error().ToString();
  const std::string role_name = Unique("fk-role");
  const std::string role_arn = MakeRole(role_name, me->arn);
  ASSERT_FALSE(role_arn.empty());

  Result<AssumeRoleResponse> assumed =
      clients_->sts->AssumeRole({role_arn, "fk-session", 900, "", ""});
  ASSERT_TRUE(assumed.ok()) << assumed.error().ToString();
  EXPECT_FALSE(assumed->credentials.access_key_id.empty());
  EXPECT_FALSE(assumed->credentials.secret_access_key.empty());
  EXPECT_FALSE(assumed->credentials.session_token.empty());
  EXPECT_GT(assumed->credentials.expiration_ms, NowMs());
  EXPECT_EQ(assumed->assumed_role_arn,
            "arn:aws:sts::" + me->account + ":assumed-role/" + role_name + "/fk-session");
  EXPECT_FALSE(assumed->assumed_role_id.empty());

  Result<AssumeRoleResponse> web = clients_->sts->AssumeRoleWithWebIdentity(
      {role_arn, "fk-web", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2ln", 900, ""});
  ASSERT_TRUE(web.ok()) << web.error().ToString();
  EXPECT_FALSE(web->credentials.access_key_id.empty());
  EXPECT_FALSE(web->credentials.session_token.empty());
  EXPECT_NE(web->assumed_role_arn.find(role_name), std::string::npos) << web->assumed_role_arn;

  // A role whose trust policy names someone else is refused. (moto does not check that a role
  // exists: an unknown role ARN is assumed.)
  const std::string untrusted =
      MakeRole(Unique("fk-untrusted"), "arn:aws:iam::" + me->account + ":user/someone-else");
  Result<AssumeRoleResponse> refused = clients_->sts->AssumeRole({untrusted, "s", {}, "", ""});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnauthorized) << refused.error().ToString();
  EXPECT_EQ(refused.error().aws_code, "AccessDenied") << refused.error().ToString();
}

TEST_F(AuthMoto, TransportFactoryAssumesTheCellsRole) {
  Result<CallerIdentity> me = clients_->sts->GetCallerIdentity();
  ASSERT_TRUE(me.ok()) << me.error().ToString();
  const std::string role_name = Unique("fk-cell-role");
  const std::string role_arn = MakeRole(role_name, me->arn);

  TransportFactory factory(std::make_shared<EnvironmentProvider>(), MotoOptions());
  Result<std::shared_ptr<Transport>> cell = factory.Get(me->account, MotoRegion(), role_arn);
  ASSERT_TRUE(cell.ok()) << cell.error().ToString();
  std::unique_ptr<CellClients> role_clients = MakeCellClients(*cell);

  // Every call of the cell is signed with the role's session: moto knows who is calling ...
  Result<CallerIdentity> as_role = role_clients->sts->GetCallerIdentity();
  ASSERT_TRUE(as_role.ok()) << as_role.error().ToString();
  EXPECT_EQ(as_role->arn,
            "arn:aws:sts::" + me->account + ":assumed-role/" + role_name + "/fleetkeeper");
  // ... and authorizes with the role's policy, not the user's: describe yes, SSM no.
  Result<DescribeInstancesResponse> described = role_clients->ec2->DescribeInstances({});
  EXPECT_TRUE(described.ok()) << described.error().ToString();
  Result<Parameter> ssm = role_clients->ssm->GetParameter({"/fk/anything", false});
  ASSERT_FALSE(ssm.ok());
  EXPECT_EQ(ssm.error().aws_code, "AccessDenied") << ssm.error().ToString();

  // The cell's transport is made once; the base credentials' cell is another one.
  Result<std::shared_ptr<Transport>> same = factory.Get(me->account, MotoRegion(), role_arn);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->get(), cell->get());
  Result<std::shared_ptr<Transport>> base = factory.Get("", MotoRegion(), "");
  ASSERT_TRUE(base.ok()) << base.error().ToString();
  Result<CallerIdentity> as_user = MakeCellClients(*base)->sts->GetCallerIdentity();
  ASSERT_TRUE(as_user.ok()) << as_user.error().ToString();
  EXPECT_EQ(as_user->arn, me->arn);
  EXPECT_EQ(factory.size(), 2u);

  // A role the user may not assume fails at the first call of the cell, naming the role.
  const std::string untrusted =
      MakeRole(Unique("fk-untrusted"), "arn:aws:iam::" + me->account + ":user/someone-else");
  Result<std::shared_ptr<Transport>> denied_cell =
      factory.Get(me->account, MotoRegion(), untrusted);
  ASSERT_TRUE(denied_cell.ok()) << denied_cell.error().ToString();
  Result<CallerIdentity> refused = MakeCellClients(*denied_cell)->sts->GetCallerIdentity();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnauthorized) << refused.error().ToString();
}

TEST_F(AuthMoto, TransportFactoryAssumesTheRoleWithItsExternalId) {
  Result<CallerIdentity> me = clients_->sts->GetCallerIdentity();
  ASSERT_TRUE(me.ok()) << me.error().ToString();
  const std::string role_name = Unique("fk-ext-role");
  const std::string role_arn = MakeRole(role_name, me->arn, "fk-external-1");

  TransportFactory factory(std::make_shared<EnvironmentProvider>(), MotoOptions());
  Result<std::shared_ptr<Transport>> cell =
      factory.Get(me->account, MotoRegion(), role_arn, "fk-external-1");
  ASSERT_TRUE(cell.ok()) << cell.error().ToString();
  Result<CallerIdentity> as_role = MakeCellClients(*cell)->sts->GetCallerIdentity();
  ASSERT_TRUE(as_role.ok()) << as_role.error().ToString();
  EXPECT_EQ(as_role->arn,
            "arn:aws:sts::" + me->account + ":assumed-role/" + role_name + "/fleetkeeper");

  // Without the id, or with another, the trust policy refuses: the error names the role.
  for (const std::string external_id : {"", "fk-external-2"}) {
    Result<std::shared_ptr<Transport>> other =
        factory.Get(me->account, MotoRegion(), role_arn, external_id);
    ASSERT_TRUE(other.ok()) << other.error().ToString();
    EXPECT_NE(other->get(), cell->get());
    Result<CallerIdentity> refused = MakeCellClients(*other)->sts->GetCallerIdentity();
    ASSERT_FALSE(refused.ok()) << "external id '" << external_id << "'";
    EXPECT_EQ(refused.error().code, ErrorCode::kUnauthorized) << refused.error().ToString();
    EXPECT_EQ(refused.error().aws_code, "AccessDenied") << refused.error().ToString();
    EXPECT_NE(refused.error().message.find("sts:AssumeRole on resource: " + role_arn),
              std::string::npos)
        << refused.error().message;
  }
}

}  // namespace
}  // namespace fleetkeeper::aws::moto_test
