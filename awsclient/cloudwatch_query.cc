// CloudWatch over the query protocol (API version 2010-08-01).
#include <utility>

#include "awsclient/cloudwatch.h"
#include "awsclient/query_protocol.h"
#include "common/clock.h"

namespace fleetkeeper::aws {
namespace {

constexpr const char* kVersion = "2010-08-01";
constexpr const char* kService = "monitoring";

QueryParams Params(const char* action) {
  return QueryParams(QueryFlavor::kQuery, action, kVersion);
}

void SetDimensions(QueryParams& p, const std::string& prefix,
                   const std::vector<MetricDimension>& dimensions) {
  for (size_t i = 0; i < dimensions.size(); ++i) {
    std::string base = p.ListKey(prefix, i + 1);
    p.Set(base + ".Name", dimensions[i].name);
    p.Set(base + ".Value", dimensions[i].value);
  }
}

std::vector<MetricDimension> ReadDimensions(XmlReader& r, pugi::xml_node parent) {
  std::vector<MetricDimension> out;
  for (pugi::xml_node d : r.Members(parent, "Dimensions")) {
    out.push_back({r.Text(d, "Name"), r.Text(d, "Value")});
  }
  return out;
}

auto ReadAlarms = [](XmlReader& r, pugi::xml_node result) {
  DescribeAlarmsResponse out;
  for (pugi::xml_node n : r.Members(result, "MetricAlarms")) {
    MetricAlarm a;
    a.name = r.Text(n, "AlarmName");
    a.arn = r.Text(n, "AlarmArn");
    a.state_value = r.Text(n, "StateValue");
    a.state_reason = r.Text(n, "StateReason");
    a.state_updated_ms = r.TimeMs(n, "StateUpdatedTimestamp");
    a.metric_namespace = r.Text(n, "Namespace");
    a.metric_name = r.Text(n, "MetricName");
    a.dimensions = ReadDimensions(r, n);
    a.statistic = r.Text(n, "Statistic");
    a.period = r.OptInt(n, "Period");
    a.threshold = r.OptDouble(n, "Threshold");
    a.comparison_operator = r.Text(n, "ComparisonOperator");
    a.evaluation_periods = r.OptInt(n, "EvaluationPeriods");
    a.actions_enabled = r.Bool(n, "ActionsEnabled");
    a.alarm_actions = r.MemberTexts(n, "AlarmActions");
    out.metric_alarms.push_back(std::move(a));
  }
  for (pugi::xml_node n : r.Members(result, "CompositeAlarms")) {
    CompositeAlarm a;
    a.name = r.Text(n, "AlarmName");
    a.arn = r.Text(n, "AlarmArn");
    a.state_value = r.Text(n, "StateValue");
    a.state_reason = r.Text(n, "StateReason");
    a.state_updated_ms = r.TimeMs(n, "StateUpdatedTimestamp");
    a.alarm_rule = r.Text(n, "AlarmRule");
    a.actions_enabled = r.Bool(n, "ActionsEnabled");
    a.alarm_actions = r.MemberTexts(n, "AlarmActions");
    out.composite_alarms.push_back(std::move(a));
  }
  out.next_token = r.Text(result, "NextToken");
  return out;
};

class CloudWatchQueryClient final : public CloudWatch {
 public:
  explicit CloudWatchQueryClient(std::shared_ptr<Transport> t) : t_(std::move(t)) {}

  Status PutMetricData(const PutMetricDataRequest& r) override {
    QueryParams p = Params("PutMetricData");
    p.Set("Namespace", r.metric_namespace);
    for (size_t i = 0; i < r.metrics.size(); ++i) {
      const MetricDatum& m = r.metrics[i];
      std::string base = p.ListKey("MetricData", i + 1);
      p.Set(base + ".MetricName", m.metric_name);
      SetDimensions(p, base + ".Dimensions", m.dimensions);
      p.Set(base + ".Value", m.value);
      p.SetIfNotEmpty(base + ".Unit", m.unit);
      if (m.timestamp_ms != 0) p.Set(base + ".Timestamp", FormatRfc3339(m.timestamp_ms));
      p.SetIf(base + ".StorageResolution", m.storage_resolution);
    }
    return CallNoOutput(*t_, kService, p);
  }

  Result<DescribeAlarmsResponse> DescribeAlarms(const DescribeAlarmsRequest& r) override {
    QueryParams p = Params("DescribeAlarms");
    p.SetListIfNotEmpty("AlarmNames", r.alarm_names);
    p.SetIfNotEmpty("AlarmNamePrefix", r.alarm_name_prefix);
    p.SetIfNotEmpty("StateValue", r.state_value);
    p.SetListIfNotEmpty("AlarmTypes", r.alarm_types);
    p.SetIf("MaxRecords", r.max_records);
    p.SetIfNotEmpty("NextToken", r.next_token);
    return CallAndRead<DescribeAlarmsResponse>(*t_, kService, p, ReadAlarms);
  }

  Result<GetMetricStatisticsResponse> GetMetricStatistics(
      const GetMetricStatisticsRequest& r) override {
    QueryParams p = Params("GetMetricStatistics");
    p.Set("Namespace", r.metric_namespace);
    p.Set("MetricName", r.metric_name);
    SetDimensions(p, "Dimensions", r.dimensions);
    p.Set("StartTime", FormatRfc3339(r.start_ms));
    p.Set("EndTime", FormatRfc3339(r.end_ms));
    p.Set("Period", r.period_seconds);
    p.SetListIfNotEmpty("Statistics", r.statistics);
    p.SetIfNotEmpty("Unit", r.unit);
    return CallAndRead<GetMetricStatisticsResponse>(
        *t_, kService, p, [](XmlReader& x, pugi::xml_node result) {
          GetMetricStatisticsResponse out;
          out.label = x.Text(result, "Label");
          for (pugi::xml_node d : x.Members(result, "Datapoints")) {
            Datapoint point;
            point.timestamp_ms = x.TimeMs(d, "Timestamp");
            point.sample_count = x.OptDouble(d, "SampleCount");
            point.average = x.OptDouble(d, "Average");
            point.sum = x.OptDouble(d, "Sum");
            point.minimum = x.OptDouble(d, "Minimum");
            point.maximum = x.OptDouble(d, "Maximum");
            point.unit = x.Text(d, "Unit");
            out.datapoints.push_back(std::move(point));
          }
          return out;
        });
  }

 private:
  std::shared_ptr<Transport> t_;
};

}  // namespace

std::unique_ptr<CloudWatch> MakeCloudWatchClient(std::shared_ptr<Transport> transport) {
  return std::make_unique<CloudWatchQueryClient>(std::move(transport));
}

Result<DescribeAlarmsResponse> ParseDescribeAlarms(const std::string& xml) {
  return ParseAndRead<DescribeAlarmsResponse>(QueryFlavor::kQuery, "DescribeAlarms", xml,
                                              ReadAlarms);
}

}  // namespace fleetkeeper::aws
