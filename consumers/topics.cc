#include "consumers/topics.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "common/raii_kafka.h"
#include "consumers/kafka.h"

namespace fleetkeeper::consumers {
namespace {

struct Wanted {
  int32_t partitions;
  bool compacted;
};

std::map<std::string, Wanted> WantedTopics(const TopicPlan& plan) {
  std::map<std::string, Wanted> out;
  for (const auto& t : plan.inputs) out[t] = {plan.partitions, false};
  out[plan.work] = {plan.partitions, false};
  out[plan.state] = {plan.partitions, true};
  out[plan.results] = {plan.partitions, false};
  out[plan.dlq] = {plan.partitions, false};
  // Every worker reads the control topic in full; one partition keeps freeze/unfreeze ordered.
  out[plan.control] = {1, true};
  return out;
}

Result<std::map<std::string, int32_t>> ExistingTopics(rd_kafka_t* rk, int timeout_ms) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &md, timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return KafkaError(err, "reading cluster metadata");
  std::map<std::string, int32_t> out;
  for (int i = 0; i < md->topic_cnt; ++i) {
    // A topic created a moment ago may still be electing its leaders: it exists all the same.
    if (md->topics[i].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
      out[md->topics[i].topic] = md->topics[i].partition_cnt;
    }
  }
  rd_kafka_metadata_destroy(md);
  return out;
}

// Waits for one admin result event on `queue`.
KafkaEventPtr WaitAdminResult(rd_kafka_queue_t* queue, int timeout_ms) {
  return KafkaEventPtr(rd_kafka_queue_poll(queue, timeout_ms));
}

Status CreateTopics(rd_kafka_t* rk, const std::map<std::string, Wanted>& missing,
                    const TopicPlan& plan, int timeout_ms) {
  char errstr[512];
  std::vector<KafkaNewTopicPtr> owned;
  std::vector<rd_kafka_NewTopic_t*> raw;
  for (const auto& [name, want] : missing) {
    KafkaNewTopicPtr nt(rd_kafka_NewTopic_new(name.c_str(), want.partitions,
                                              plan.replication_factor, errstr, sizeof(errstr)));
    if (!nt) return Error(ErrorCode::kKafka, fmt::format("topic {}: {}", name, errstr));
    rd_kafka_NewTopic_set_config(nt.get(), "max.message.bytes",
                                 std::to_string(plan.max_message_bytes).c_str());
    if (want.compacted) rd_kafka_NewTopic_set_config(nt.get(), "cleanup.policy", "compact");
    raw.push_back(nt.get());
    owned.push_back(std::move(nt));
  }
  KafkaQueuePtr queue(rd_kafka_queue_new(rk));
  KafkaAdminOptionsPtr opts(rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS));
  rd_kafka_AdminOptions_set_operation_timeout(opts.get(), timeout_ms, errstr, sizeof(errstr));
  rd_kafka_CreateTopics(rk, raw.data(), raw.size(), opts.get(), queue.get());
  KafkaEventPtr ev = WaitAdminResult(queue.get(), timeout_ms + 2000);
  if (!ev) return Error(ErrorCode::kTimeout, "creating topics: no answer from the broker");
  if (rd_kafka_event_error(ev.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Error(ErrorCode::kKafka,
                 fmt::format("creating topics: {}", rd_kafka_event_error_string(ev.get())));
  }
  const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev.get());
  size_t cnt = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &cnt);
  for (size_t i = 0; i < cnt; ++i) {
    rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      const char* msg = rd_kafka_topic_result_error_string(results[i]);
      return Error(ErrorCode::kKafka, fmt::format("topic {}: cannot create it: {}",
                                                  rd_kafka_topic_result_name(results[i]),
                                                  msg ? msg : rd_kafka_err2str(err)));
    }
    spdlog::info("created topic {}", rd_kafka_topic_result_name(results[i]));
  }
  return Ok{};
}

Result<std::map<std::string, std::string>> CleanupPolicies(rd_kafka_t* rk,
                                                           const std::vector<std::string>& topics,
                                                           int timeout_ms) {
  char errstr[512];
  std::vector<KafkaConfigResourcePtr> owned;
  std::vector<rd_kafka_ConfigResource_t*> raw;
  for (const auto& t : topics) {
    KafkaConfigResourcePtr r(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, t.c_str()));
    raw.push_back(r.get());
    owned.push_back(std::move(r));
  }
  KafkaQueuePtr queue(rd_kafka_queue_new(rk));
  KafkaAdminOptionsPtr opts(rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS));
  rd_kafka_AdminOptions_set_request_timeout(opts.get(), timeout_ms, errstr, sizeof(errstr));
  rd_kafka_DescribeConfigs(rk, raw.data(), raw.size(), opts.get(), queue.get());
  KafkaEventPtr ev = WaitAdminResult(queue.get(), timeout_ms + 2000);
  if (!ev) return Error(ErrorCode::kTimeout, "describing topic configs: no answer");
  if (rd_kafka_event_error(ev.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Error(ErrorCode::kKafka, fmt::format("describing topic configs: {}",
                                                rd_kafka_event_error_string(ev.get())));
  }
  const rd_kafka_DescribeConfigs_result_t* res = rd_kafka_event_DescribeConfigs_result(ev.get());
  size_t cnt = 0;
  const rd_kafka_ConfigResource_t** rs = rd_kafka_DescribeConfigs_result_resources(res, &cnt);
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < cnt; ++i) {
    std::string name = rd_kafka_ConfigResource_name(rs[i]);
    rd_kafka_resp_err_t err = rd_kafka_ConfigResource_error(rs[i]);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // kNotFound for a topic this broker does not know yet (EnsureTopics waits that out).
      return Error(
          err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ? ErrorCode::kNotFound : ErrorCode::kKafka,
          fmt::format("topic {}: cannot read its configuration: {}", name,
                      rd_kafka_ConfigResource_error_string(rs[i])));
    }
    size_t ecnt = 0;
    const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(rs[i], &ecnt);
    for (size_t j = 0; j < ecnt; ++j) {
      if (std::string(rd_kafka_ConfigEntry_name(entries[j])) == "cleanup.policy") {
        const char* v = rd_kafka_ConfigEntry_value(entries[j]);
        out[name] = v ? v : "";
      }
    }
  }
  return out;
}

// Topics just created are known to the controller before the broker answering has applied them
// (KRaft propagates metadata asynchronously, even on one node): for a moment the metadata leaves
// them out and DescribeConfigs answers UNKNOWN_TOPIC_OR_PART. Waits, up to `timeout_ms`, until
// every name in `wanted` is listed, and returns the listing.
Result<std::map<std::string, int32_t>> WaitListed(rd_kafka_t* rk,
                                                  const std::map<std::string, Wanted>& wanted,
                                                  int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto existing = ExistingTopics(rk, timeout_ms);
    if (!existing.ok()) return existing;
    std::string absent;
    for (const auto& [name, want] : wanted) {
      if (!existing->count(name)) absent = name;
    }
    if (absent.empty()) return existing;
    if (std::chrono::steady_clock::now() >= deadline) {
      return Error(ErrorCode::kTimeout,
                   fmt::format("topic {}: created, but the broker does not list it after {} ms",
                               absent, timeout_ms));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// CleanupPolicies, retried while a topic created a moment ago is still unknown to the broker.
Result<std::map<std::string, std::string>> CleanupPoliciesOnceKnown(
    rd_kafka_t* rk, const std::vector<std::string>& topics, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto policies = CleanupPolicies(rk, topics, timeout_ms);
    if (policies.ok() || policies.error().code != ErrorCode::kNotFound ||
        std::chrono::steady_clock::now() >= deadline) {
      return policies;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

Result<int32_t> PartitionCount(rd_kafka_t* rk, const std::string& topic, int timeout_ms) {
  auto existing = ExistingTopics(rk, timeout_ms);
  if (!existing.ok()) return std::move(existing).take_error();
  auto it = existing->find(topic);
  if (it == existing->end()) return Error(ErrorCode::kNotFound, "topic " + topic + " is missing");
  return it->second;
}

Result<std::vector<std::string>> MissingTopics(rd_kafka_t* rk,
                                               const std::vector<std::string>& topics,
                                               int timeout_ms) {
  auto existing = ExistingTopics(rk, timeout_ms);
  if (!existing.ok()) return std::move(existing).take_error();
  std::vector<std::string> missing;
  for (const auto& topic : topics) {
    if (!existing->count(topic)) missing.push_back(topic);
  }
  return missing;
}

Status EnsureTopics(rd_kafka_t* rk, const TopicPlan& plan, int timeout_ms) {
  auto wanted = WantedTopics(plan);
  auto existing = ExistingTopics(rk, timeout_ms);
  if (!existing.ok()) return std::move(existing).take_error();
  std::map<std::string, Wanted> missing;
  for (const auto& [name, want] : wanted) {
    if (!existing->count(name)) missing[name] = want;
  }
  if (!missing.empty()) {
    if (!plan.create) {
      return Error(
          ErrorCode::kNotFound,
          fmt::format("topic {} is missing and topics.create is false", missing.begin()->first));
    }
    if (auto st = CreateTopics(rk, missing, plan, timeout_ms); !st.ok()) return st;
    existing = WaitListed(rk, wanted, timeout_ms);
    if (!existing.ok()) return std::move(existing).take_error();
  }
  auto policies = CleanupPoliciesOnceKnown(rk, {plan.state, plan.control}, timeout_ms);
  if (!policies.ok()) return std::move(policies).take_error();
  for (const auto& t : {plan.state, plan.control}) {
    const std::string& policy = (*policies)[t];
    if (policy.find("compact") == std::string::npos) {
      return Error(ErrorCode::kInvalidInput,
                   fmt::format("topic {} must be compacted (cleanup.policy=compact), it has "
                               "cleanup.policy={}",
                               t, policy.empty() ? "unknown" : policy));
    }
  }
  int32_t work_parts = (*existing)[plan.work];
  int32_t state_parts = (*existing)[plan.state];
  if (work_parts != state_parts) {
    return Error(ErrorCode::kInvalidInput,
                 fmt::format("topic {} has {} partitions but topic {} has {}: they must match, "
                             "since each workflow's checkpoints live on the partition of its work",
                             plan.state, state_parts, plan.work, work_parts));
  }
  return Ok{};
}

Status CreateMockTopics(rd_kafka_mock_cluster_t* cluster, const TopicPlan& plan) {
  for (const auto& [name, want] : WantedTopics(plan)) {
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster, name.c_str(), want.partitions, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      return KafkaError(err, "creating topic " + name + " on the embedded broker");
    }
  }
  return Ok{};
}

Result<ClusterView> DescribeCluster(rd_kafka_t* rk, const std::set<std::string>& wanted,
                                    int timeout_ms) {
  ClusterView view;
  for (int attempt = 0;; ++attempt) {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &md, timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Error(ErrorCode::kKafka,
                   fmt::format("not reachable in {} ms: {}", timeout_ms, rd_kafka_err2str(err)));
    }
    view.brokers = md->broker_cnt;
    view.topics.clear();
    for (int i = 0; i < md->topic_cnt; ++i) {
      if (md->topics[i].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        view.topics.insert(md->topics[i].topic);
      }
    }
    rd_kafka_metadata_destroy(md);
    bool all_there = true;
    for (const auto& t : wanted) all_there = all_there && view.topics.count(t) > 0;
    if (all_there || attempt >= 5) return view;
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
  }
}

}  // namespace fleetkeeper::consumers
