// IAM over the query protocol (API version 2010-05-08). IAM is a global service; the transport
// resolves its endpoint.
#include <utility>

#include "awsclient/iam.h"
#include "awsclient/query_protocol.h"

namespace fleetkeeper::aws {
namespace {

constexpr const char* kVersion = "2010-05-08";
constexpr const char* kService = "iam";

auto ReadSimulation = [](XmlReader& r, pugi::xml_node result) {
  SimulatePrincipalPolicyResponse out;
  for (pugi::xml_node n : r.Members(result, "EvaluationResults")) {
    EvaluationResult e;
    e.action_name = r.Text(n, "EvalActionName");
    e.resource_name = r.Text(n, "EvalResourceName");
    r.Require(n, "EvalDecision");
    e.decision = r.Text(n, "EvalDecision");
    e.missing_context_values = r.MemberTexts(n, "MissingContextValues");
    out.results.push_back(std::move(e));
  }
  if (r.Bool(result, "IsTruncated")) out.next_token = r.Text(result, "Marker");
  return out;
};

class IamQueryClient final : public Iam {
 public:
  explicit IamQueryClient(std::shared_ptr<Transport> t) : t_(std::move(t)) {}

  Result<SimulatePrincipalPolicyResponse> SimulatePrincipalPolicy(
      const SimulatePrincipalPolicyRequest& r) override {
    QueryParams p(QueryFlavor::kQuery, "SimulatePrincipalPolicy", kVersion);
    p.Set("PolicySourceArn", r.policy_source_arn);
    p.SetList("ActionNames", r.action_names);
    p.SetListIfNotEmpty("ResourceArns", r.resource_arns);
    p.SetIfNotEmpty("Marker", r.next_token);
    return CallAndRead<SimulatePrincipalPolicyResponse>(*t_, kService, p, ReadSimulation);
  }

 private:
  std::shared_ptr<Transport> t_;
};

}  // namespace

std::unique_ptr<Iam> MakeIamClient(std::shared_ptr<Transport> transport) {
  return std::make_unique<IamQueryClient>(std::move(transport));
}

Result<SimulatePrincipalPolicyResponse> ParseSimulatePrincipalPolicy(const std::string& xml) {
  return ParseAndRead<SimulatePrincipalPolicyResponse>(
      QueryFlavor::kQuery, "SimulatePrincipalPolicy", xml, ReadSimulation);
}

}  // namespace fleetkeeper::aws
