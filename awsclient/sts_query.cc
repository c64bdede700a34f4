// STS over the query protocol (API version 2011-06-15).
#include <utility>

#include "awsclient/query_protocol.h"
#include "awsclient/sts.h"

namespace fleetkeeper::aws {
namespace {

constexpr const char* kVersion = "2011-06-15";
constexpr const char* kService = "sts";

auto ReadCallerIdentity = [](XmlReader& r, pugi::xml_node result) {
  r.Require(result, "Account");
  return CallerIdentity{r.Text(result, "Account"), r.Text(result, "Arn"), r.Text(result, "UserId")};
};

auto ReadAssumedRole = [](XmlReader& r, pugi::xml_node result) {
  AssumeRoleResponse out;
  pugi::xml_node c = result.child("Credentials");
  r.Require(result, "Credentials");
  r.Require(c, "AccessKeyId");
  r.Require(c, "SecretAccessKey");
  out.credentials.access_key_id = r.Text(c, "AccessKeyId");
  out.credentials.secret_access_key = r.Text(c, "SecretAccessKey");
  out.credentials.session_token = r.Text(c, "SessionToken");
  out.credentials.expiration_ms = r.TimeMs(c, "Expiration");
  out.assumed_role_arn = r.Text(result.child("AssumedRoleUser"), "Arn");
  out.assumed_role_id = r.Text(result.child("AssumedRoleUser"), "AssumedRoleId");
  out.subject_from_web_identity_token = r.Text(result, "SubjectFromWebIdentityToken");
  out.audience = r.Text(result, "Audience");
  out.provider = r.Text(result, "Provider");
  return out;
};

class StsQueryClient final : public Sts {
 public:
  explicit StsQueryClient(std::shared_ptr<Transport> t) : t_(std::move(t)) {}

  Result<CallerIdentity> GetCallerIdentity() override {
    QueryParams p(QueryFlavor::kQuery, "GetCallerIdentity", kVersion);
    return CallAndRead<CallerIdentity>(*t_, kService, p, ReadCallerIdentity);
  }

  Result<AssumeRoleResponse> AssumeRole(const AssumeRoleRequest& r) override {
    QueryParams p(QueryFlavor::kQuery, "AssumeRole", kVersion);
    p.Set("RoleArn", r.role_arn);
    p.Set("RoleSessionName", r.role_session_name);
    p.SetIf("DurationSeconds", r.duration_seconds);
    p.SetIfNotEmpty("ExternalId", r.external_id);
    p.SetIfNotEmpty("Policy", r.policy);
    return CallAndRead<AssumeRoleResponse>(*t_, kService, p, ReadAssumedRole);
  }

  Result<AssumeRoleResponse> AssumeRoleWithWebIdentity(
      const AssumeRoleWithWebIdentityRequest& r) override {
    QueryParams p(QueryFlavor::kQuery, "AssumeRoleWithWebIdentity", kVersion);
    p.Set("RoleArn", r.role_arn);
    p.Set("RoleSessionName", r.role_session_name);
    p.Set("WebIdentityToken", r.web_identity_token);
    p.SetIf("DurationSeconds", r.duration_seconds);
    p.SetIfNotEmpty("ProviderId", r.provider_id);
    return CallAndRead<AssumeRoleResponse>(*t_, kService, p, ReadAssumedRole);
  }

 private:
  std::shared_ptr<Transport> t_;
};

}  // namespace

std::unique_ptr<Sts> MakeStsClient(std::shared_ptr<Transport> transport) {
  return std::make_unique<StsQueryClient>(std::move(transport));
}

Result<CallerIdentity> ParseGetCallerIdentity(const std::string& xml) {
  return ParseAndRead<CallerIdentity>(QueryFlavor::kQuery, "GetCallerIdentity", xml,
                                      ReadCallerIdentity);
}

Result<AssumeRoleResponse> ParseAssumeRole(const std::string& action, const std::string& xml) {
  return ParseAndRead<AssumeRoleResponse>(QueryFlavor::kQuery, action, xml, ReadAssumedRole);
}

}  // namespace fleetkeeper::aws
