#include "consumers/pipeline_clients.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace fleetkeeper::consumers {
namespace {

constexpr int kAdminTimeoutMs = 15000;
// How long the producer's authentication may keep failing before its start gives up: a broker
// that refuses the credentials refuses them again, but one refusal may be a race (a SCRAM user
// just created, an MSK IAM token being refreshed).
constexpr int64_t kAuthGraceMs = 5000;

}  // namespace

Result<std::unique_ptr<PipelineClients>> PipelineClients::Open(PipelineOptions options,
                                                               std::string transactional_id,
                                                               PipelineStop& stop,
                                                               const Clock& clock,
                                                               rd_kafka_mock_cluster_t* adopted) {
  std::unique_ptr<PipelineClients> clients(new PipelineClients(std::move(options), stop, clock));
  PipelineClients& c = *clients;
  c.transactional_id_ = std::move(transactional_id);
  auto bs = c.options_.kafka.find("bootstrap.servers");
  c.embedded_ = bs == c.options_.kafka.end() || bs->second.empty() || adopted != nullptr;
  const std::string& mode = c.options_.transactions;
  c.transactional_ = mode == "on" || ((mode.empty() || mode == "auto") && !c.embedded_);
  if (c.embedded_) {
    if (auto st = c.StartBroker(adopted); !st.ok()) return std::move(st).take_error();
    spdlog::info(
        "embedded Kafka-protocol broker listening on {} (in memory: nothing is kept "
        "across restarts)",
        c.bootstrap_);
    std::printf("embedded broker: %s (in memory)\n", c.bootstrap_.c_str());
    std::fflush(stdout);
  } else {
    c.bootstrap_ = bs->second;
  }
  if (!c.transactional_) {
    spdlog::warn(
        "running at-least-once: a batch's offsets are committed after its records are "
        "acknowledged; a crash may repeat a batch ({})",
        c.embedded_ ? "the embedded broker does not store offsets committed in a transaction"
                    : "kafka_transactions: off");
  }
  if (auto st = c.CreateProducer(); !st.ok()) return std::move(st).take_error();
  if (!c.embedded_) {
    if (auto st = EnsureTopics(c.output_->client(), c.options_.plan, kAdminTimeoutMs); !st.ok()) {
      return std::move(st).take_error();
    }
  }
  auto parts = PartitionCount(c.output_->client(), c.options_.plan.work, kAdminTimeoutMs);
  if (!parts.ok()) return std::move(parts).take_error();
  c.options_.outputs.work_partitions = *parts;
  // Freeze state first: no mutating step may start before fleet.control is read to its end.
  c.control_ =
      std::make_unique<ControlLog>(c.ReaderProperties(".control"), c.options_.plan.control, clock);
  if (auto st = c.control_->Open(); !st.ok()) return std::move(st).take_error();
  return clients;
}

Status PipelineClients::StartBroker(rd_kafka_mock_cluster_t* adopted) {
  auto broker = EmbeddedBroker::Start(options_.plan, adopted);
  if (!broker.ok()) return std::move(broker).take_error();
  embedded_broker_ = std::move(*broker);
  bootstrap_ = embedded_broker_->bootstrap();
  options_.kafka["bootstrap.servers"] = bootstrap_;
  return Ok{};
}

Status PipelineClients::CreateProducer() {
  {
    std::lock_guard lock(auth_mu_);
    auth_failure_.clear();  // an earlier producer's
    auth_failing_since_ms_ = 0;
  }
  const KafkaProperties& kafka = options_.kafka;
  const ClientRole role =
      transactional_ ? ClientRole::kTransactionalProducer : ClientRole::kProducer;
  KafkaProperties props = PropertiesFor(role, kafka);
  // A full producer queue may hold the poll thread for a third of max.poll.interval.ms at most.
  int64_t max_poll_interval_ms = 300000;  // librdkafka's default
  if (auto it = kafka.find("max.poll.interval.ms"); it != kafka.end()) {
    const std::string& v = it->second;
    std::from_chars(v.data(), v.data() + v.size(), max_poll_interval_ms);
  }
  const int64_t queue_full_limit_ms = std::max<int64_t>(1000, max_poll_interval_ms / 3);
  if (transactional_) {
    props["transactional.id"] = transactional_id_;
    // Back-to-back transactions: the coordinator answers the next transaction's first request
    // with CONCURRENT_TRANSACTIONS until the previous one's markers are written (a few ms, more
    // with more partitions). librdkafka 2.0.2 retries an AddPartitionsToTxn after a fixed 20 ms,
    // but an AddOffsetsToTxn after retry.backoff.ms (100 ms by default): so a transaction begins
    // by re-sending an offset the last one committed (Batch::Begin) and is admitted within 5 ms
    // of the markers, not 20 (bench/README.md, "Latency").
    if (!props.count("retry.backoff.ms")) props["retry.backoff.ms"] = "5";
  }
  props["enable.idempotence"] = "true";
  // Results are keyed by correlation id and partitioned by librdkafka: with the Java client's
  // murmur2, as fleet.work is (Murmur2Partition), so that every client puts a key on the same
  // partition, and without the per-record CRC-32 of librdkafka's default.
  if (!props.count("partitioner")) props["partitioner"] = "murmur2_random";
  // Reports only for failures: a success needs no action (the commit, or the flush at least
  // once, already waits for every record), and not reporting it saves the poll thread a
  // callback per record.
  if (!props.count("delivery.report.only.error")) props["delivery.report.only.error"] = "true";
  // A batch's records go out in fewer, larger produce requests (the broker's CPU per event fell
  // by a tenth, bench/README.md). It costs no latency: a commit sends what is queued at once.
  if (!props.count("linger.ms")) props["linger.ms"] = "50";
  // Room for the largest record a topic accepts plus framing.
  props["message.max.bytes"] = std::to_string(options_.plan.max_message_bytes + 64 * 1024);
  const TopicPlan& plan = options_.plan;
  OutputProducer::Options producer;
  producer.role = role;
  producer.properties = std::move(props);
  producer.topics = {plan.work, plan.results, plan.state, plan.dlq};
  producer.outputs = options_.outputs;
  // At least once, state records wait for the commit (consumers/output_producer.h).
  if (!transactional_) producer.held_topic = plan.state;
  producer.queue_full_limit_ms = queue_full_limit_ms;
  OutputProducer::Hooks hooks;
  hooks.on_error = [this](rd_kafka_t* rk, int err, const char* reason) {
    if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION) {
      std::lock_guard lock(auth_mu_);
      auth_failure_ = reason;
      if (auth_failing_since_ms_ == 0) auth_failing_since_ms_ = clock_.MonotonicMs();
    }
    if (err == RD_KAFKA_RESP_ERR__FATAL && transactional_ && !ProducerFenced(rk)) {
      ProducerFatal(rk, reason);
      return;
    }
    stop_.ClientError(rk, err, reason, transactional_id_, clock_);
  };
  hooks.on_fatal = [this](const std::string& why) {
    if (transactional_ && output_ && !ProducerFenced(output_->client())) {
      ProducerFatal(output_->client(), why);
      return;
    }
    stop_.Fail(kExitFenced, fmt::format("fatal producer error for transactional.id {}: {}",
                                        transactional_id_, why));
  };
  hooks.stopped = [this] { return stop_.failed(); };
  auto output = OutputProducer::Create(std::move(producer), std::move(hooks), clock_);
  if (!output.ok()) return std::move(output).take_error();
  output_ = std::move(*output);
  if (!transactional_) return Ok{};
  txn_ = std::make_unique<Transaction>(output_->client(), transactional_id_);
  return txn_->Init(60000, [this]() -> std::optional<std::string> {
    std::lock_guard lock(auth_mu_);
    if (auth_failure_.empty() || clock_.MonotonicMs() - auth_failing_since_ms_ < kAuthGraceMs) {
      return std::nullopt;
    }
    return "the broker refused the producer's authentication: " + auth_failure_;
  });
}

void PipelineClients::ProducerFatal(rd_kafka_t* rk, const std::string& why) {
  char buf[512];
  rd_kafka_fatal_error(rk, buf, sizeof(buf));
  spdlog::error(
      "fatal producer error for transactional.id {}: {} ({}); the batch aborts and a new "
      "producer takes over",
      transactional_id_, buf, why);
}

Status PipelineClients::ReplaceProducer() {
  output_.reset();  // a failed producer's records fail at once: nothing to wait for
  txn_.reset();
  return CreateProducer();
}

Status PipelineClients::OpenConsumer(GroupConsumer::Hooks hooks) {
  KafkaProperties props = PropertiesFor(ClientRole::kGroupConsumer, options_.kafka);
  props["enable.auto.commit"] = "false";
  props["enable.auto.offset.store"] = "false";
  props["isolation.level"] = "read_committed";
  if (!props.count("partition.assignment.strategy")) {
    props["partition.assignment.strategy"] = "cooperative-sticky";
  }
  if (!props.count("auto.offset.reset")) props["auto.offset.reset"] = "earliest";
  // librdkafka 2.0.2 stops fetching once its queue holds queued.min.messages (100 000 by
  // default; inputs and work items share the queue) and looks again only at its next wake-up, up
  // to a second later: under a backlog the worker drained those records in half that time and
  // then waited, about once a second, 15-70 ms for records that were on the broker (pipeline
  // 0.77x kcat before, 0.88x after; bench/README.md). The prefetch stays bounded by
  // queued.max.messages.kbytes (64 MiB by default); the peak RSS did not change.
  if (!props.count("queued.min.messages")) props["queued.min.messages"] = "1000000";
  // A partition that becomes fetchable (assigned, or resumed after its restore) is first fetched
  // when the fetch in flight returns, and with nothing to read the broker holds that one for up
  // to fetch.wait.max.ms (500 by default): a worker started with inputs waiting read the first
  // one ~0.5 s after its partitions were ready (bench/README.md, start). An idle worker makes 10
  // fetch requests a second instead of 2.
  if (!props.count("fetch.wait.max.ms")) props["fetch.wait.max.ms"] = "100";
  hooks.on_error = [this](rd_kafka_t* rk, int err, const char* reason) {
    stop_.ClientError(rk, err, reason, transactional_id_, clock_);
  };
  std::vector<std::string> topics = options_.plan.inputs;
  topics.push_back(options_.plan.work);
  auto consumer = GroupConsumer::Create(props, topics, std::move(hooks));
  if (!consumer.ok()) return std::move(consumer).take_error();
  consumer_ = std::move(*consumer);
  return Ok{};
}

KafkaProperties PipelineClients::ReaderProperties(const std::string& group_suffix) const {
  KafkaProperties props = PropertiesFor(ClientRole::kReader, options_.kafka);
  // Its own group id: librdkafka 2.0.2 wants one even for assign(); nothing is ever committed.
  auto group = options_.kafka.find("group.id");
  props["group.id"] =
      (group == options_.kafka.end() ? std::string() : group->second) + group_suffix;
  props["enable.auto.commit"] = "false";
  props["enable.auto.offset.store"] = "false";
  props["isolation.level"] = "read_committed";
  return props;
}

void PipelineClients::Close(bool graceful) {
  // The revoke in a graceful close commits the open batch; the consumer stays usable meanwhile.
  if (consumer_) consumer_->Close(graceful);
  if (output_) {
    if (graceful) output_->Flush(5000);
    output_.reset();
  }
  txn_.reset();
  control_.reset();
  consumer_.reset();
  embedded_broker_.reset();  // after every client that talks to it
}

}  // namespace fleetkeeper::consumers
