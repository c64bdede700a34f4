// AWS IAM policy simulation, for `doctor`'s permission checks. Handlers depend on the abstract Iam
// interface; MakeIamClient() is the query-protocol wire implementation (iam_query.cc).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "awsclient/transport.h"
#include "common/error.h"

namespace fleetkeeper::aws {

struct SimulatePrincipalPolicyRequest {
  std::string policy_source_arn;           // the user, group or role whose policies are simulated
  std::vector<std::string> action_names;   // e.g. "ec2:RunInstances"
  std::vector<std::string> resource_arns;  // empty = "*"
  std::string next_token;                  // Marker
};

struct EvaluationResult {
  std::string action_name;
  std::string resource_name;
  std::string decision;  // allowed | explicitDeny | implicitDeny
  std::vector<std::string> missing_context_values;
};

struct SimulatePrincipalPolicyResponse {
  std::vector<EvaluationResult> results;
  std::string next_token;  // Marker, when IsTruncated
};

// Thread-safe.
class Iam {
 public:
  virtual ~Iam() = default;
  virtual Result<SimulatePrincipalPolicyResponse> SimulatePrincipalPolicy(
      const SimulatePrincipalPolicyRequest& r) = 0;
};

std::unique_ptr<Iam> MakeIamClient(std::shared_ptr<Transport> transport);

Result<SimulatePrincipalPolicyResponse> ParseSimulatePrincipalPolicy(const std::string& xml);

}  // namespace fleetkeeper::aws
