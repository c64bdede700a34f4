#include "handlers/report.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace fleetkeeper::handlers {
namespace {

v1::Action Reported(const std::string& resource, const std::string& action, bool ok,
                    const std::string& detail) {
  v1::Action a;
  a.set_resource(resource);
  a.set_action(action);
  a.set_status(ok ? "succeeded" : "failed");
  a.set_detail(detail);
  return a;
}

}  // namespace

v1::Action PublishSummary(aws::Sns& sns, const std::string& topic_arn, const std::string& subject,
                          const std::vector<std::string>& lines) {
  aws::PublishRequest p;
  p.topic_arn = topic_arn;
  p.subject = subject;
  p.message = fmt::format("{}", fmt::join(lines, "\n"));
  auto r = sns.Publish(p);
  return Reported(topic_arn, "sns-publish", r.ok(),
                  r.ok() ? "summary " + r->message_id : r.error().ToString());
}

v1::Action PutMetrics(aws::CloudWatch& cloudwatch, const aws::PutMetricDataRequest& request,
                      const std::string& summary) {
  Status put = cloudwatch.PutMetricData(request);
  return Reported("metrics:" + request.metric_namespace, "put-metric-data", put.ok(),
                  put.ok() ? summary : put.error().ToString());
}

}  // namespace fleetkeeper::handlers
