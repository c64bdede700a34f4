// Amazon CloudWatch, the operations fleetkeeper's handlers make. Handlers depend on the abstract
// CloudWatch interface; MakeCloudWatchClient() is the query-protocol wire implementation
// (cloudwatch_query.cc). Times are epoch milliseconds.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "awsclient/transport.h"
#include "common/error.h"

namespace fleetkeeper::aws {

struct MetricDimension {
  std::string name;
  std::string value;
};

struct MetricDatum {
  std::string metric_name;
  std::vector<MetricDimension> dimensions;
  double value = 0;
  std::string unit;                       // Count | Seconds | Percent | ... ; empty = None
  int64_t timestamp_ms = 0;               // 0 = the time CloudWatch receives it
  std::optional<int> storage_resolution;  // 1 = high resolution
};

struct PutMetricDataRequest {
  std::string metric_namespace;
  std::vector<MetricDatum> metrics;  // at most 1000 per call
};

struct DescribeAlarmsRequest {
  std::vector<std::string> alarm_names;
  std::string alarm_name_prefix;
  std::string state_value;  // OK | ALARM | INSUFFICIENT_DATA
  // MetricAlarm and/or CompositeAlarm. Empty: CloudWatch returns metric alarms only.
  std::vector<std::string> alarm_types;
  std::optional<int> max_records;
  std::string next_token;
};

struct MetricAlarm {
  std::string name;
  std::string arn;
  std::string state_value;
  std::string state_reason;
  int64_t state_updated_ms = 0;
  std::string metric_namespace;  // empty for metric-math alarms
  std::string metric_name;
  std::vector<MetricDimension> dimensions;
  std::string statistic;
  std::optional<int64_t> period;
  std::optional<double> threshold;
  std::string comparison_operator;
  std::optional<int64_t> evaluation_periods;
  bool actions_enabled = false;
  std::vector<std::string> alarm_actions;
};

struct CompositeAlarm {
  std::string name;
  std::string arn;
  std::string state_value;
  std::string state_reason;
  int64_t state_updated_ms = 0;
  std::string alarm_rule;
  bool actions_enabled = false;
  std::vector<std::string> alarm_actions;
};

struct DescribeAlarmsResponse {
  std::vector<MetricAlarm> metric_alarms;
  std::vector<CompositeAlarm> composite_alarms;
  std::string next_token;
};

struct GetMetricStatisticsRequest {
  std::string metric_namespace;
  std::string metric_name;
  std::vector<MetricDimension> dimensions;
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  int period_seconds = 60;
  std::vector<std::string> statistics;  // SampleCount | Average | Sum | Minimum | Maximum
  std::string unit;
};

struct Datapoint {
  int64_t timestamp_ms = 0;
  std::optional<double> sample_count;
  std::optional<double> average;
  std::optional<double> sum;
  std::optional<double> minimum;
  std::optional<double> maximum;
  std::string unit;
};

struct GetMetricStatisticsResponse {
  std::string label;
  std::vector<Datapoint> datapoints;  // in no particular order, as CloudWatch returns them
};

// Thread-safe.
class CloudWatch {
 public:
  virtual ~CloudWatch() = default;
  virtual Status PutMetricData(const PutMetricDataRequest& r) = 0;
  virtual Result<DescribeAlarmsResponse> DescribeAlarms(const DescribeAlarmsRequest& r) = 0;
  virtual Result<GetMetricStatisticsResponse> GetMetricStatistics(
      const GetMetricStatisticsRequest& r) = 0;
};

std::unique_ptr<CloudWatch> MakeCloudWatchClient(std::shared_ptr<Transport> transport);

Result<DescribeAlarmsResponse> ParseDescribeAlarms(const std::string& xml);

}  // namespace fleetkeeper::aws
