// Reporting that handlers share at the end of a workflow: an SNS summary and CloudWatch metrics.
// Best effort: each returns the result action saying what happened, and a failed publish never
// changes the workflow's outcome.
#pragma once

#include <string>
#include <vector>

#include "awsclient/cloudwatch.h"
#include "awsclient/sns.h"
#include "fleetkeeper/v1/result.pb.h"

namespace fleetkeeper::handlers {

// Publishes `lines` (joined by newlines) with `subject` to `topic_arn`. The action: resource
// `topic_arn`, action "sns-publish", status "succeeded" ("summary <message id>") or "failed"
// (the error).
v1::Action PublishSummary(aws::Sns& sns, const std::string& topic_arn, const std::string& subject,
                          const std::vector<std::string>& lines);

// Puts `request`. The action: resource "metrics:<namespace>", action "put-metric-data", status
// "succeeded" (`summary`) or "failed" (the error).
v1::Action PutMetrics(aws::CloudWatch& cloudwatch, const aws::PutMetricDataRequest& request,
                      const std::string& summary);

}  // namespace fleetkeeper::handlers
