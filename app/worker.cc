#include "app/worker.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <csignal>
#include <thread>
#include <cstdlib>
#include <cstring>

#include "app/aws_wiring.h"
#include "app/config.h"
#include "common/callback.h"
#include "common/log.h"
#include "common/metrics.h"
#include "fleetkeeper/v1/workflow.pb.h"
#include "handlers/testing/effect_handler.h"

namespace fleetkeeper::app {
namespace {

constexpr int kAdminTimeoutMs = 15000;

std::string HostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  return buf;
}

template <typename T>
T OrDefault(bool has, T value, T fallback) {
  return has ? value : fallback;
}

std::string OrDefault(const std::string& value, const char* fallback) {
  return value.empty() ? std::string(fallback) : value;
}

// An empty batch ends after this long so that the runtime's timers are looked at this often,
// however long batch_max_time lets a busy batch stay open.
constexpr int64_t kIdlePumpMs = 100;

}  // namespace

WorkerHooks WorkerHooks::FromEnvironment() {
  WorkerHooks h;
  if (const char* v = std::getenv("FK_TEST_CRASH_BEFORE_COMMIT"))
    h.crash_before_commit_batch = std::atoi(v);
  if (const char* v = std::getenv("FK_TEST_ABORT_BATCH")) h.abort_batch = std::atoi(v);
  if (const char* v = std::getenv("FK_TEST_SLOW_COMMIT_BATCH")) h.slow_commit_batch = std::atoi(v);
  if (const char* v = std::getenv("FK_TEST_HOLD_BEFORE_COMMIT")) {
    h.hold_before_commit_batch = std::atoi(v);
  }
  if (const char* v = std::getenv("FK_TEST_LINGER_AFTER_FENCE_MS")) {
    h.linger_after_fence_ms = std::atoi(v);
  }
  return h;
}

Worker::Worker(const v1::WorkerConfig& config, WorkerHooks hooks)
    : config_(config), hooks_(hooks), clock_(SystemClock::Instance()) {
  for (const auto& [k, v] : config_.kafka()) kafka_props_[k] = v;
  if (!kafka_props_.count("group.id")) kafka_props_["group.id"] = "fleetkeeper";
  const auto& t = config_.topics();
  for (const auto& in : t.inputs()) plan_.inputs.push_back(in);
  if (plan_.inputs.empty()) plan_.inputs = {"fleet.events", "fleet.commands"};
  plan_.work = OrDefault(t.work(), "fleet.work");
  plan_.results = OrDefault(t.results(), "fleet.results");
  plan_.dlq = OrDefault(t.dlq(), "fleet.dlq");
  plan_.state = OrDefault(t.state(), "fleet.state");
  plan_.control = OrDefault(t.control(), "fleet.control");
  plan_.create = OrDefault(t.has_create(), t.create(), true);
  plan_.partitions = OrDefault(t.has_partitions(), t.partitions(), 12);
  plan_.max_message_bytes =
      OrDefault<int64_t>(t.has_max_message_bytes(), t.max_message_bytes(), 4 * 1024 * 1024);
  plan_.replication_factor = OrDefault(t.has_replication_factor(), t.replication_factor(), -1);
  input_topics_.insert(plan_.inputs.begin(), plan_.inputs.end());

  out_topics_.work = plan_.work;
  out_topics_.results = plan_.results;
  out_topics_.dlq = plan_.dlq;
  out_topics_.dlq_max_message_bytes = plan_.max_message_bytes;
  out_topics_.result_format = config_.runtime().results_format() == "protobuf"
                                  ? consumers::ResultFormat::kProtobuf
                                  : consumers::ResultFormat::kJson;
  normalize_options_.default_account = config_.aws().default_account();
  normalize_options_.default_region = config_.aws().region();
  batch_max_records_ = BatchMaxRecords(config_);
  batch_max_ms_ = BatchMaxTimeMs(config_);
  if (batch_max_ms_ <= 0) batch_max_ms_ = kDefaultBatchMaxTimeMs;
}

Worker::~Worker() { Close(); }

void Worker::SetFatal(int code, const std::string& why) {
  int expected = 0;
  if (fatal_code_.compare_exchange_strong(expected, code)) {
    fatal_reason_ = why;
    spdlog::critical("{}", why);
  }
  if (code == kExitFenced) metrics::ProcessHealth().fenced = true;
  metrics::ProcessHealth().stopping = true;
  stop_.store(true);
}

Status Worker::StartEmbeddedBroker() {
  auto broker = consumers::EmbeddedBroker::Start(plan_, hooks_.embedded_cluster);
  if (!broker.ok()) return std::move(broker).take_error();
  embedded_broker_ = std::move(*broker);
  bootstrap_ = embedded_broker_->bootstrap();
  kafka_props_["bootstrap.servers"] = bootstrap_;
  return Ok{};
}

Status Worker::CreateProducer() {
  const consumers::ClientRole role = transactional_ ? consumers::ClientRole::kTransactionalProducer
                                                    : consumers::ClientRole::kProducer;
  consumers::KafkaProperties props = consumers::PropertiesFor(role, kafka_props_);
  // A full producer queue may hold the poll thread for a third of max.poll.interval.ms at most.
  int64_t max_poll_interval_ms = 300000;  // librdkafka's default
  if (auto it = kafka_props_.find("max.poll.interval.ms"); it != kafka_props_.end()) {
    const std::string& v = it->second;
    std::from_chars(v.data(), v.data() + v.size(), max_poll_interval_ms);
  }
  const int64_t queue_full_limit_ms = std::max<int64_t>(1000, max_poll_interval_ms / 3);
  if (transactional_) {
    props["transactional.id"] = transactional_id_;
    // Back-to-back transactions: the coordinator answers the next transaction's first
    // AddPartitionsToTxn with CONCURRENT_TRANSACTIONS until the previous one's markers are
    // written, and librdkafka 2.0.2 retries it after retry.backoff.ms (100 ms by default), which
    // the commit then waits out: 1 commit in 16 took 100 ms longer under load. The Java client
    // retries that error after 20 ms (KAFKA-5477); librdkafka has one backoff for every request.
    if (!props.count("retry.backoff.ms")) props["retry.backoff.ms"] = "20";
  }
  props["enable.idempotence"] = "true";
  // Results are keyed by correlation id and partitioned by librdkafka: with the Java client's
  // murmur2, as fleet.work is (consumers::Murmur2Partition), so that every client puts a key on
  // the same partition, and without the per-record CRC-32 of librdkafka's default.
  if (!props.count("partitioner")) props["partitioner"] = "murmur2_random";
  // Reports only for failures: a success needs no action (the commit, or the flush at least
  // once, already waits for every record), and not reporting it saves the poll thread a
  // callback per record.
  if (!props.count("delivery.report.only.error")) props["delivery.report.only.error"] = "true";
  // A batch's records go out in fewer, larger produce requests (the broker's CPU per event fell
  // by a tenth, bench/README.md). It costs no latency: a commit sends what is queued at once.
  if (!props.count("linger.ms")) props["linger.ms"] = "50";
  // Room for the largest record a topic accepts plus framing.
  props["message.max.bytes"] = std::to_string(plan_.max_message_bytes + 64 * 1024);
  consumers::OutputProducer::Options options;
  options.role = role;
  options.properties = std::move(props);
  options.topics = {plan_.work, plan_.results, plan_.state, plan_.dlq};
  options.outputs = out_topics_;
  // At least once, state records wait for the commit (consumers/output_producer.h).
  if (!transactional_) options.held_topic = plan_.state;
  options.queue_full_limit_ms = queue_full_limit_ms;
  consumers::OutputProducer::Hooks hooks;
  hooks.on_error = [this](rd_kafka_t* rk, int err, const char* reason) {
    ClientError(rk, err, reason);
  };
  hooks.on_fatal = [this](const std::string& why) {
    SetFatal(kExitFenced, fmt::format("fatal producer error for transactional.id {}: {}",
                                      transactional_id_, why));
  };
  hooks.stopped = [this] { return fatal_code_.load() != 0; };
  auto output = consumers::OutputProducer::Create(std::move(options), std::move(hooks), clock_);
  if (!output.ok()) return std::move(output).take_error();
  output_ = std::move(*output);
  if (!transactional_) return Ok{};
  txn_ = std::make_unique<consumers::Transaction>(output_->client(), transactional_id_);
  return txn_->Init(60000);
}

Status Worker::CreateConsumer() {
  consumers::KafkaProperties props =
      consumers::PropertiesFor(consumers::ClientRole::kGroupConsumer, kafka_props_);
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
  consumers::GroupConsumer::Hooks hooks;
  hooks.on_rebalance = [this](const consumers::GroupConsumer::Change& change) {
    Rebalance(change);
  };
  hooks.on_error = [this](rd_kafka_t* rk, int err, const char* reason) {
    ClientError(rk, err, reason);
  };
  std::vector<std::string> topics = plan_.inputs;
  topics.push_back(plan_.work);
  auto consumer = consumers::GroupConsumer::Create(props, topics, std::move(hooks));
  if (!consumer.ok()) return std::move(consumer).take_error();
  consumer_ = std::move(*consumer);
  return Ok{};
}

Status Worker::Start() {
  auto bs = kafka_props_.find("bootstrap.servers");
  embedded_ = bs == kafka_props_.end() || bs->second.empty() || hooks_.embedded_cluster != nullptr;
  const std::string& mode = config_.kafka_transactions();
  transactional_ = mode == "on" || ((mode.empty() || mode == "auto") && !embedded_);
  transactional_id_ = kafka_props_.count("transactional.id")
                          ? kafka_props_["transactional.id"]
                          : kafka_props_["group.id"] + "-" + HostName();
  {
    // Credentials are resolved before anything touches Kafka (MSK IAM would need them).
    auto credentials = MakeCredentials();
    auto source = ResolveCredentialsAtStart(*credentials);
    if (source.ok()) {
      spdlog::info("AWS credentials from {}", *source);
    } else {
      spdlog::warn("no AWS credentials ({}): steps that call AWS will fail",
                   source.error().message);
    }
  }
  if (embedded_) {
    if (auto st = StartEmbeddedBroker(); !st.ok()) return st;
    spdlog::info(
        "embedded Kafka-protocol broker listening on {} (in memory: nothing is kept "
        "across restarts)",
        bootstrap_);
    std::printf("embedded broker: %s (in memory)\n", bootstrap_.c_str());
    std::fflush(stdout);
  } else {
    bootstrap_ = bs->second;
  }
  if (embedded_) bs = kafka_props_.find("bootstrap.servers");
  if (!transactional_) {
    spdlog::warn(
        "running at-least-once: a batch's offsets are committed after its records are "
        "acknowledged; a crash may repeat a batch ({})",
        embedded_ ? "the embedded broker does not store offsets committed in a transaction"
                  : "kafka_transactions: off");
  }
  if (auto st = CreateProducer(); !st.ok()) return st;
  if (!embedded_) {
    if (auto st = consumers::EnsureTopics(output_->client(), plan_, kAdminTimeoutMs); !st.ok()) {
      return st;
    }
  }
  auto parts = consumers::PartitionCount(output_->client(), plan_.work, kAdminTimeoutMs);
  if (!parts.ok()) return std::move(parts).take_error();
  out_topics_.work_partitions = *parts;
  std::vector<std::pair<handlers::EventKind, std::unique_ptr<handlers::Handler>>> overrides;
  if (const char* test = std::getenv("FK_TEST_HANDLERS");
      test != nullptr && std::strstr(test, "effect") != nullptr) {
    // The durability tests' handler (handlers/testing/effect_handler.h): never in production.
    spdlog::critical(
        "TEST-ONLY handler active (FK_TEST_HANDLERS={}): ecs_command events go to "
        "test_effect, which POSTs to FK_TEST_EFFECT_URL instead of calling ECS",
        test);
    overrides.emplace_back(v1::Event::kEcsCommand,
                           std::make_unique<handlers::testing::EffectHandler>(
                               handlers::testing::EffectHandlerOptions::FromEnvironment()));
  }
  dispatcher_ = std::make_unique<handlers::Dispatcher>(config_, clock_, std::move(overrides));
  executor_ = std::make_unique<Executor>(IoThreads(config_));
  aws_clients_ = MakeClientProvider(config_);
  handlers::RuntimeOptions ropts;
  ropts.dry_run = config_.dry_run();
  ropts.max_running_steps = 4 * static_cast<size_t>(IoThreads(config_));
  if (config_.runtime().has_dedup_retention()) {
    ropts.dedup_retention_ms = config_.runtime().dedup_retention().seconds() * 1000;
  }
  // Timed workflows (ECS schedules) go to the partition their cell's work items go to.
  ropts.partition_of_cell = [n = out_topics_.work_partitions](const std::string& cell) {
    return consumers::Murmur2Partition(cell, n);
  };
  runtime_ = std::make_unique<handlers::WorkflowRuntime>(config_, ropts, *dispatcher_,
                                                         aws_clients_.get(), *executor_, clock_);
  // Freeze state first: no mutating step may start before fleet.control is read to its end.
  if (auto st = StartControl(); !st.ok()) return st;
  if (auto st = CreateConsumer(); !st.ok()) return st;
  consumers::KafkaProperties reader = ReaderProps(".reader");
  reader["enable.partition.eof"] = "true";
  restores_ = std::make_unique<consumers::PartitionRestores>(std::move(reader), consumer_->client(),
                                                             plan_.work, plan_.state, clock_);
  consumers::IngestStage::Hooks ingest;
  ingest.fail_batch = [this](std::string why) { FailBatch(std::move(why)); };
  ingest.stopped = [this] { return fatal_code_.load() != 0; };
  ingest_ = std::make_unique<consumers::IngestStage>(*output_, out_topics_, normalize_options_,
                                                     clock_, std::move(ingest));
  // A completed step wakes the consumer poll, so that the next step (or the result) does not wait
  // for the batch to close: the executor refills as fast as steps finish.
  runtime_->SetCompletionNotifier([c = consumer_.get()] { c->Wake(); });
  std::string active;
  for (const auto& h : dispatcher_->ActiveHandlers()) active += (active.empty() ? "" : ", ") + h;
  spdlog::info(
      "worker started: bootstrap {}, group {}, {}, work topic {} ({} partitions), "
      "handlers: {}",
      bootstrap_, kafka_props_["group.id"],
      transactional_ ? "transactional.id " + transactional_id_ : "at-least-once", plan_.work,
      out_topics_.work_partitions, active.empty() ? "none" : active);
  return Ok{};
}

int Worker::Run() {
  if (auto st = Start(); !st.ok()) {
    spdlog::error("cannot start: {}", st.error().message);
    std::fprintf(stderr, "fleetkeeper: cannot start: %s\n", st.error().message.c_str());
    Close();
    return kExitStartFailed;
  }
  int64_t last_report = clock_.MonotonicMs();
  int64_t last_records = 0;
  int64_t last_batches = 0;
  int64_t last_commit_ms = 0;
  while (!stop_.load()) {
    PollBatch();
    if (output_) output_->Poll(0);
    int64_t now = clock_.MonotonicMs();
    ReportHealth(now);
    if (now - last_report >= 10000) {
      const int64_t records = records_done_.load() - last_records;
      const int64_t batches = batches_committed_ - last_batches;
      spdlog::info(
          "progress: {} records done, {} in the last {} s in {} batches ({} records and {} ms of "
          "commit per batch)",
          records_done_.load(), records, (now - last_report) / 1000, batches,
          batches ? records / batches : 0,
          batches ? (commit_ms_total_ - last_commit_ms) / batches : 0);
      last_report = now;
      last_records = records_done_.load();
      last_batches = batches_committed_;
      last_commit_ms = commit_ms_total_;
    }
  }
  metrics::ProcessHealth().stopping = true;
  int code = fatal_code_.load();
  if (code == 0) {
    // Graceful: finish the open batch, then leave the group (the revoke callback commits too).
    if (CommitRunning()) FinishCommit();
    if (BatchOpen()) CommitBatch();
  }
  Close();
  code = fatal_code_.load();  // the last commit, or the ingest lane, may have failed since
  if (code != 0) {
    std::fprintf(stderr, "fleetkeeper: %s\n", fatal_reason_.c_str());
    if (code == kExitFenced && hooks_.linger_after_fence_ms > 0) {
      // Test hook: the operator listener answers (503, fenced) a while before the process exits.
      std::this_thread::sleep_for(std::chrono::milliseconds(hooks_.linger_after_fence_ms));
    }
  } else {
    spdlog::info("stopped: {} records done in {} batches, {} ms of them committing",
                 records_done_.load(), batches_committed_, commit_ms_total_);
  }
  return code;
}

void Worker::ReportHealth(int64_t now_ms) {
  metrics::Health& health = metrics::ProcessHealth();
  health.last_poll_ms = now_ms;
  // Ready: the group has given this worker its partitions (possibly none: more workers than
  // partitions) and every one of them is restored.
  health.restored = assigned_once_ && restores_ && restores_->in_flight() == 0;
  const bool frozen = control_ && control_->frozen();
  metrics::Frozen().Set(frozen ? 1 : 0);
  // librdkafka says when every broker connection is down, not when one is back: ask for the
  // broker list (no topics) once a second until a broker answers.
  const int64_t down_since = health.brokers_down_since_ms.load();
  if (down_since != 0 && output_ && now_ms - last_broker_probe_ms_ >= 1000) {
    last_broker_probe_ms_ = now_ms;
    const rd_kafka_metadata_t* metadata = nullptr;
    if (rd_kafka_metadata(output_->client(), 0, nullptr, &metadata, 200) ==
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_metadata_destroy(metadata);
      health.brokers_down_since_ms = 0;
      spdlog::info("kafka: a broker answers again after {} ms", now_ms - down_since);
    }
  }
  // The gauges that cost a scan: once a second.
  if (now_ms - gauges_reported_ms_ < 1000) return;
  gauges_reported_ms_ = now_ms;
  if (consumer_) consumer_->ReportLag();
  if (runtime_) metrics::SetWorkflows(runtime_->LiveWorkflowsByState());
}

std::map<std::string, std::string> Worker::ReaderProps(const std::string& group_suffix) {
  consumers::KafkaProperties props =
      consumers::PropertiesFor(consumers::ClientRole::kReader, kafka_props_);
  // Its own group id: librdkafka 2.0.2 wants one even for assign(); nothing is ever committed.
  props["group.id"] = kafka_props_["group.id"] + group_suffix;
  props["enable.auto.commit"] = "false";
  props["enable.auto.offset.store"] = "false";
  props["isolation.level"] = "read_committed";
  return props;
}

Status Worker::StartControl() {
  control_ =
      std::make_unique<consumers::ControlLog>(ReaderProps(".control"), plan_.control, clock_);
  return control_->Open();
}

void Worker::PauseResume(int32_t partition, bool pause) {
  consumer_->Pause(plan_.work, partition, pause);
}

void Worker::StartRestore(int32_t partition) {
  PauseResume(partition, true);
  restores_->Start(partition);
}

void Worker::DrainRestores() {
  for (auto& done : restores_->TakeDone()) {
    runtime_->Install(done.partition, done.records);
    work_committed_[done.partition] = done.resume_offset;
    PauseResume(done.partition, false);
  }
}

size_t Worker::RunPump() {
  std::vector<consumers::OutRecord> outs;
  consumers::RuntimeRecords records(plan_.state, out_topics_, &outs);
  std::set<int32_t> touched;
  runtime_->Pump(control_->frozen(), records, &touched);
  return ProduceStateRecords(outs, touched);
}

size_t Worker::ProduceStateRecords(const std::vector<consumers::OutRecord>& outs,
                                   const std::set<int32_t>& touched) {
  if (outs.empty()) return 0;
  if (!EnsureTransaction()) return 0;
  for (auto& out : outs) {
    if (rd_kafka_resp_err_t err = output_->Produce(out); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // A checkpoint or result the batch cannot carry: the batch must not commit without it.
      FailBatch(fmt::format("cannot produce a workflow record to {}: {}", out.topic,
                            rd_kafka_err2str(err)));
    }
  }
  if (transactional_) {
    // Fencing: every transaction that writes a cell's state carries an offset for its partition.
    for (int32_t p : touched) {
      PartitionKey key{plan_.work, p};
      if (batch_offsets_.count(key)) continue;
      auto c = work_committed_.find(p);
      if (c != work_committed_.end() && c->second >= 0) batch_offsets_[key] = c->second;
    }
  }
  return outs.size();
}

void Worker::Close() {
  // The lane must reach the committing batch's mark: before the lane goes.
  if (CommitRunning()) FinishCommit();
  if (restores_) restores_->Stop();
  // Before the producer it produces with. Drained unless the worker failed: the revoke in
  // rd_kafka_consumer_close commits the open batch, which must not go without its outputs.
  if (ingest_ && fatal_code_.load() == 0) ingest_->Drain();
  ingest_.reset();
  // Records still held (the worker failed with a batch staged, and went with the lane) go before
  // their consumer: rd_kafka_destroy waits for every message of its handle and would hang.
  held_.clear();
  if (restores_) restores_->Close();  // before the consumer they ask for committed offsets
  executor_.reset();                  // no step completes (and wakes the consumer) after this
  // The revoke in a graceful close commits the open batch; the consumer stays usable meanwhile.
  if (consumer_) consumer_->Close(fatal_code_.load() == 0);
  if (output_) {
    if (fatal_code_.load() == 0) output_->Flush(5000);
    output_.reset();
  }
  embedded_broker_.reset();  // after every client that talks to it
}

void Worker::PollBatch() {
  if (CommitRunning()) OverlapCommit();
  if (fatal_code_.load() != 0) return;
  DrainRestores();
  control_->Poll(0);
  const int64_t opened = clock_.MonotonicMs();
  if (!BatchOpen()) batch_opened_ms_ = opened;
  // The debug line per batch: how long it waited in consumer_poll (records did not keep it busy).
  // Timed only when it is logged, not twice per record for nothing.
  const bool trace = spdlog::should_log(spdlog::level::debug);
  int64_t waited_ms = 0;
  const int64_t deadline = opened + batch_max_ms_;
  const int64_t idle_deadline = opened + std::min(batch_max_ms_, kIdlePumpMs);
  // Workflows the last commit made runnable start now, not after this batch.
  size_t pumped = fatal_code_.load() == 0 ? RunPump() : 0;
  while (!stop_.load() && batch_records_ < batch_max_records_) {
    if (runtime_->HasCompletions()) {
      pumped += RunPump();
      if (fatal_code_.load() != 0) return;
    }
    const int64_t now = clock_.MonotonicMs();
    const int64_t remaining = deadline - now;
    if (remaining <= 0) break;
    // A batch with records closes as soon as the consumer has nothing more queued. The commit
    // overlaps the next batch's reads, so under a steady rate a batch holds what arrived during
    // the previous commit (batches grow with the rate, group commit style); under a backlog the
    // prefetched queue does not run dry and batches fill to batch_max_records or batch_max_time.
    // Waiting for one more record instead (a 2 ms linger, before) kept a batch open until
    // batch_max_time whenever records came more often than that. An empty batch ends after
    // kIdlePumpMs (the pump's cadence for timers); a completed step wakes it early.
    const bool has_content = batch_records_ > 0 || pumped > 0;
    if (!has_content && now >= idle_deadline) break;
    const int64_t wait = has_content ? 0 : idle_deadline - now;
    const int64_t poll_started = trace ? clock_.MonotonicMs() : 0;
    KafkaMessagePtr msg = consumer_->Poll(static_cast<int>(wait));
    if (trace) waited_ms += clock_.MonotonicMs() - poll_started;
    if (!msg) {
      if (has_content && !runtime_->HasCompletions()) break;
      continue;
    }
    if (msg->err) {
      if (!ConsumerErrorOk(msg.get())) return;
      continue;
    }
    if (!EnsureTransaction()) return;
    Admit(msg);
    if (fatal_code_.load() != 0) return;
    if (batch_failing_.load()) break;  // it will be read again: stop adding to it
  }
  if (fatal_code_.load() == 0) RunPump();
  if (BatchOpen() && fatal_code_.load() == 0) {
    const int64_t records = batch_records_;
    const int64_t closed = clock_.MonotonicMs();
    if (transactional_) {
      StartCommit();  // finished by the next PollBatch, which reads meanwhile
      spdlog::debug("batch of {} records: filled in {} ms ({} ms waiting for records)", records,
                    closed - opened, waited_ms);
      return;
    }
    const bool committed = CommitBatch();
    spdlog::debug("batch of {} records: filled in {} ms ({} ms waiting for records), {} in {} ms",
                  records, closed - opened, waited_ms, committed ? "committed" : "not committed",
                  clock_.MonotonicMs() - closed);
  }
}

bool Worker::ConsumerErrorOk(const rd_kafka_message_t* msg) {
  if (std::optional<std::string> fatal = consumer_->Fatal(msg)) {
    SetFatal(kExitKafkaFatal, fmt::format("fatal consumer error: {}", *fatal));
    return false;
  }
  return true;
}

bool Worker::Admit(KafkaMessagePtr& msg) {
  // Records come in runs per partition: the run's offset slot is kept, not looked up (and its
  // key built) for each record.
  const rd_kafka_topic_t* rkt = msg->rkt;
  const int32_t partition = msg->partition;
  const int64_t next = msg->offset + 1;
  const bool same_run = last_slot_ != nullptr && rkt == last_rkt_ && partition == last_partition_;
  std::optional<PartitionKey> where;
  if (!same_run) where.emplace(rd_kafka_topic_name(rkt), partition);
  if (!Process(msg)) return false;  // an input record now belongs to the ingest lane
  if (!same_run) {
    last_slot_ = &batch_offsets_[std::move(*where)];
    last_rkt_ = rkt;
    last_partition_ = partition;
  }
  *last_slot_ = next;
  ++batch_records_;
  return true;
}

void Worker::OverlapCommit() {
  // Inputs go to the lane, which stages their outputs; work items wait in held_ (processing one
  // changes memory that must not run ahead of the commit). The committer yields the consumer
  // queue when it is done, so the poll below returns at once.
  while (CommitRunning() && !commit_done_.load() && !stop_.load() && fatal_code_.load() == 0 &&
         batch_records_ < batch_max_records_) {
    KafkaMessagePtr msg = consumer_->Poll(static_cast<int>(kIdlePumpMs));
    if (!msg) continue;
    if (msg->err) {
      if (!ConsumerErrorOk(msg.get())) break;
      continue;
    }
    // A rebalance in the poll above finished the commit and began the next batch: carry on
    // normally.
    if (!CommitRunning()) {
      if (!EnsureTransaction()) return;
      Admit(msg);
      return;
    }
    if (rd_kafka_topic_name(msg->rkt) == plan_.work) {
      held_.push_back(std::move(msg));
      ++batch_records_;
    } else {
      Admit(msg);  // its offset goes into the next batch's batch_offsets_
    }
  }
  if (CommitRunning()) FinishCommit();
}

bool Worker::EnsureTransaction() {
  if (!transactional_ || txn_open_) return true;
  const consumers::TxnResult begun = txn_->Begin();
  if (!begun.ok()) {
    if (begun.kind == consumers::TxnResult::Kind::kFenced) {
      SetFatal(kExitFenced, begun.why);
    } else {
      spdlog::error("{}", begun.why);
    }
    return false;
  }
  txn_open_ = true;
  return true;
}

bool Worker::Process(KafkaMessagePtr& owned) {
  const rd_kafka_message_t* msg = owned.get();
  const std::string_view topic = rd_kafka_topic_name(msg->rkt);
  if (input_topics_.count(topic)) {
    ingest_->Push(std::move(owned));
  } else if (topic == plan_.work) {
    if (!runtime_->Owns(msg->partition)) {
      // Fetched before the partition was paused for a restore: read it again afterwards.
      consumer_->SeekBack(msg);
      return false;
    }
    ProcessWork(msg);
  }
  return true;
}

void Worker::ProcessWork(const rd_kafka_message_t* msg) {
  consumers::InputRecord in = consumers::InputOf(msg, /*with_headers=*/false);
  auto dead_letter = [&](const std::string& why) {
    const consumers::InputRecord whole = consumers::InputOf(msg);
    ProduceFor(whole, consumers::DlqRecord(whole, why, out_topics_));
  };
  if (std::optional<std::string> why = output_->Poisoned(in)) {
    dead_letter(*why);
    return;
  }
  // Reused from one work item to the next: parsing into it keeps its strings' buffers.
  v1::Event& event = work_event_;
  if (in.payload.empty() ||
      !event.ParseFromArray(in.payload.data(), static_cast<int>(in.payload.size())) ||
      event.id().empty()) {
    dead_letter("work item is not a fleetkeeper.v1.Event");
    return;
  }
  LogEventScope scope(event.id());
  std::vector<consumers::OutRecord> outs;
  consumers::RuntimeRecords records(plan_.state, out_topics_, &outs);
  runtime_->OnWorkItem(in.partition, event, control_->frozen(), records);
  for (auto& out : outs) ProduceFor(in, std::move(out));
}

void Worker::ProduceFor(const consumers::InputRecord& input, consumers::OutRecord out) {
  if (std::optional<std::string> failed = output_->ProduceFor(input, std::move(out))) {
    FailBatch(std::move(*failed));
  }
}

void Worker::FailBatch(std::string why) {
  spdlog::error("{}; the batch will be retried", why);
  ++batches_failed_;
  std::lock_guard<std::mutex> lock(batch_failed_mu_);
  if (batch_failed_.empty()) batch_failed_ = std::move(why);
  batch_failing_.store(true);
}

void Worker::ClearBatchFailure() {
  std::lock_guard<std::mutex> lock(batch_failed_mu_);
  batch_failed_.clear();
  batch_failing_.store(false);
}

bool Worker::CommitBatch() {
  if (transactional_) {
    if (CommitRunning()) FinishCommit();
    StartCommit();
    return FinishCommit();
  }
  const int64_t started = clock_.MonotonicMs();
  // Every output of the batch's inputs is produced before the batch commits.
  if (ingest_) ingest_->Drain();
  ProduceBatchSeen();
  const bool ok = CommitAtLeastOnce();
  const int64_t took = clock_.MonotonicMs() - started;
  commit_ms_total_ += took;
  if (ok) {
    metrics::CommitDuration().Observe(static_cast<double>(took) / 1000.0);
    metrics::BatchDuration().Observe(static_cast<double>(clock_.MonotonicMs() - batch_opened_ms_) /
                                     1000.0);
  }
  if (ok) Committed(batch_offsets_, batch_records_);
  batch_offsets_.clear();
  last_slot_ = nullptr;
  batch_records_ = 0;
  output_->EndBatch();
  return ok;
}

void Worker::ProduceBatchSeen() {
  if (!runtime_) return;
  // The event ids the batch's work items carried, a record per partition.
  std::vector<consumers::OutRecord> outs;
  consumers::RuntimeRecords records(plan_.state, out_topics_, &outs);
  std::set<int32_t> touched;
  runtime_->EndBatch(records, &touched);
  ProduceStateRecords(outs, touched);
}

void Worker::Committed(const std::map<PartitionKey, int64_t>& offsets, int64_t records) {
  ++batches_committed_;
  records_done_ += records;
  for (const auto& [tp, off] : offsets) {
    if (tp.first == plan_.work) work_committed_[tp.second] = off;
  }
  if (runtime_) runtime_->OnCommitted();
}

void Worker::StartCommit() {
  commit_started_ms_ = clock_.MonotonicMs();
  // The lane marks where the batch ends; the committer waits for the mark, so that every output
  // of the batch's inputs is in the transaction, while the poll thread goes on reading.
  std::shared_future<void> lane_closed;
  if (ingest_) {
    lane_closed = ingest_->CloseBatch();
  } else {
    std::promise<void> none;
    none.set_value();
    lane_closed = none.get_future().share();
  }
  ProduceBatchSeen();
  committing_offsets_ = std::move(batch_offsets_);
  batch_offsets_.clear();
  last_slot_ = nullptr;
  committing_records_ = batch_records_;
  committing_opened_ms_ = batch_opened_ms_;
  batch_opened_ms_ = commit_started_ms_;  // what is read meanwhile belongs to the next batch
  batch_records_ = 0;
  commit_done_.store(false);
  committer_ = std::thread([this, lane_closed] {
    pthread_setname_np(pthread_self(), "fk:commit");
    commit_outcome_ = RunCommit(lane_closed);
    commit_done_.store(true);
    consumer_->Wake();  // the poll thread waits in a poll
  });
}

Worker::CommitOutcome Worker::RunCommit(std::shared_future<void> lane_closed) {
  lane_closed.wait();
  CommitOutcome outcome;
  {
    std::lock_guard<std::mutex> lock(batch_failed_mu_);
    if (!batch_failed_.empty()) {
      outcome.why = batch_failed_;
      return outcome;
    }
  }
  if (!txn_open_) {  // nothing was read or produced
    outcome.ok = true;
    return outcome;
  }
  auto failed = [&](const consumers::TxnResult& result) {
    if (result.kind == consumers::TxnResult::Kind::kFenced) outcome.fatal_code = kExitFenced;
    outcome.why = result.why;
    return outcome;
  };
  const int64_t batch_no = batches_committed_ + 1;
  if (hooks_.slow_commit_batch > 0 && batch_no == hooks_.slow_commit_batch) {
    hooks_.slow_commit_batch = 0;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  if (hooks_.abort_batch > 0 && batch_no == hooks_.abort_batch) {
    hooks_.abort_batch = 0;
    outcome.why = "injected abortable error (test hook)";
    return outcome;
  }
  if (consumers::TxnResult sent = txn_->SendOffsets(consumer_->client(), committing_offsets_);
      !sent.ok()) {
    return failed(sent);
  }
  if (hooks_.crash_before_commit_batch > 0 && batch_no == hooks_.crash_before_commit_batch) {
    spdlog::warn("test hook: SIGKILL between send_offsets_to_transaction and commit_transaction");
    std::raise(SIGKILL);
  }
  if (hooks_.hold_before_commit_batch > 0 && batch_no == hooks_.hold_before_commit_batch) {
    hooks_.hold_before_commit_batch = 0;
    spdlog::warn(
        "test hook: batch {} holds 5 s between send_offsets_to_transaction and "
        "commit_transaction",
        batch_no);
    std::this_thread::sleep_for(std::chrono::seconds(5));
  }
  if (consumers::TxnResult committed = txn_->Commit(); !committed.ok()) return failed(committed);
  outcome.ok = true;
  return outcome;
}

bool Worker::FinishCommit() {
  committer_.join();
  const CommitOutcome outcome = std::move(commit_outcome_);
  commit_outcome_ = CommitOutcome();
  const int64_t took = clock_.MonotonicMs() - commit_started_ms_;
  commit_ms_total_ += took;
  std::vector<KafkaMessagePtr> held;
  held.swap(held_);
  batch_records_ -= static_cast<int>(held.size());  // counted again as they are admitted
  // The partitions of the held work items (inputs read meanwhile are in batch_offsets_).
  auto held_partitions = [&held](std::vector<PartitionKey> parts) {
    for (const auto& m : held) parts.emplace_back(rd_kafka_topic_name(m->rkt), m->partition);
    return parts;
  };
  spdlog::debug("commit of {} records: {} in {} ms, {} records read meanwhile", committing_records_,
                outcome.ok ? "committed" : "failed", took,
                batch_records_ + static_cast<int>(held.size()));
  if (outcome.fatal_code != 0) SetFatal(outcome.fatal_code, outcome.why);
  if (fatal_code_.load() != 0) {
    committing_offsets_.clear();
    return false;  // nothing commits again; the lane's staged outputs go with it
  }
  if (!outcome.ok) {
    // Both batches go: the one that did not commit and the one read meanwhile.
    ++commits_failed_;
    spdlog::warn("commit of {} records failed; the {} records read meanwhile are read again too",
                 committing_records_, batch_records_ + static_cast<int>(held.size()));
    std::vector<PartitionKey> committing;
    for (const auto& [tp, off] : committing_offsets_) committing.push_back(tp);
    committing_offsets_.clear();
    AbortBatch(outcome.why, held_partitions(std::move(committing)));
    return false;
  }
  ClearBatchFailure();
  txn_open_ = false;
  metrics::Transactions(true).Increment();
  metrics::CommitDuration().Observe(static_cast<double>(took) / 1000.0);
  metrics::BatchDuration().Observe(
      static_cast<double>(clock_.MonotonicMs() - committing_opened_ms_) / 1000.0);
  output_->EndBatch();
  output_->ForgetCommittedPoison(committing_offsets_);
  Committed(committing_offsets_, committing_records_);
  committing_offsets_.clear();
  // What was read meanwhile joins a new transaction: the lane produces the staged outputs, and the
  // work items are processed now, in the order they came.
  if ((!batch_offsets_.empty() || !held.empty()) && !EnsureTransaction()) {
    AbortBatch("cannot begin the next transaction", held_partitions({}));
    return true;
  }
  if (ingest_) ingest_->OpenBatch();
  // A partition sought back (its cells are being restored) is read again from that record: the
  // held records after it are read again too, not processed now.
  std::set<std::pair<const rd_kafka_topic_t*, int32_t>> sought_back;
  for (auto& m : held) {
    if (sought_back.count({m->rkt, m->partition})) continue;
    const std::pair<const rd_kafka_topic_t*, int32_t> where{m->rkt, m->partition};
    if (!Admit(m)) sought_back.insert(where);
    if (fatal_code_.load() != 0) break;
  }
  return true;
}

bool Worker::CommitAtLeastOnce() {
  // Outputs first, then the state that remembers them (see Produce), then the offsets.
  auto acknowledged = [this] {
    rd_kafka_resp_err_t ferr = output_->Flush(30000);
    output_->CollectDeliveryFailures();
    const bool delivered = !output_->TakeFailures();
    return ferr == RD_KAFKA_RESP_ERR_NO_ERROR && batch_failed_.empty() && delivered;
  };
  std::vector<PartitionKey> parts;
  for (const auto& [tp, off] : batch_offsets_) parts.push_back(tp);
  std::vector<consumers::OutRecord> state = output_->TakeHeld();
  bool failed = !acknowledged();
  if (!failed && !state.empty()) {
    for (const auto& record : state) {
      if (rd_kafka_resp_err_t err = output_->ProduceNow(record);
          err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        FailBatch(fmt::format("cannot produce a state record to {}: {}", record.topic,
                              rd_kafka_err2str(err)));
        break;
      }
    }
    failed = !acknowledged();
  }
  ClearBatchFailure();
  if (failed) {
    spdlog::warn("batch not fully acknowledged; re-reading it");
    RewindPartitions(parts);
    RestoreTouched();
    return false;
  }
  // A batch that consumed no input (a timer fired, a step finished) has no offset to commit:
  // its outputs are acknowledged, and that is all it needs. librdkafka answers a commit of an
  // empty list with __NO_OFFSET, which is not a failure of this batch.
  if (batch_offsets_.empty()) return true;
  rd_kafka_resp_err_t err = consumer_->Commit(batch_offsets_);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // The records are acknowledged; a failed commit means they may be processed again.
    spdlog::warn("offset commit failed: {}; the batch may be repeated", rd_kafka_err2str(err));
    ++commits_failed_;
    RewindPartitions(parts);
    RestoreTouched();
    return false;
  }
  output_->ForgetCommittedPoison(batch_offsets_);
  return true;
}

void Worker::ReportMissingOutputTopics() {
  // librdkafka's reason for an aborted transaction ("Erroneous state", "Unknown topic or
  // partition") names no topic: a deleted output topic would abort every batch unexplained.
  const int64_t now = clock_.MonotonicMs();
  if (!output_ || (last_topic_check_ms_ != 0 && now - last_topic_check_ms_ < 10000)) return;
  last_topic_check_ms_ = now;
  auto missing = consumers::MissingTopics(
      output_->client(), {plan_.work, plan_.results, plan_.dlq, plan_.state}, 2000);
  if (!missing.ok()) return;  // the broker is away: that is reported on its own
  for (const auto& topic : *missing) {
    spdlog::error(
        "output topic {} does not exist: every batch aborts and is read again until it "
        "does (create it; topics.create makes missing topics only at start)",
        topic);
  }
}

void Worker::AbortBatch(const std::string& reason, const std::vector<PartitionKey>& also) {
  if (ingest_) {
    ingest_->Drain();  // nothing more is produced into the transaction it aborts
    // Outputs the lane staged for a batch read during a commit go with it (the lane is idle).
    ingest_->DropStaged();
  }
  const std::string why = reason;  // it may be batch_failed_ itself
  spdlog::warn("aborting the batch: {}", why);
  ReportMissingOutputTopics();
  if (transactional_) metrics::Transactions(false).Increment();
  ClearBatchFailure();
  if (txn_) {
    if (consumers::TxnResult aborted = txn_->Abort(txn_open_); !aborted.ok()) {
      SetFatal(aborted.kind == consumers::TxnResult::Kind::kFenced ? kExitFenced : kExitKafkaFatal,
               aborted.why);
      return;
    }
  }
  txn_open_ = false;
  output_->CollectDeliveryFailures();
  output_->EndBatch();
  std::set<PartitionKey> parts(also.begin(), also.end());
  for (const auto& [tp, off] : batch_offsets_) parts.insert(tp);
  RewindPartitions({parts.begin(), parts.end()});
  batch_offsets_.clear();
  last_slot_ = nullptr;
  batch_records_ = 0;
  RestoreTouched();
}

void Worker::RestoreTouched() {
  // Memory is never ahead of what is committed: rebuild every cell the batch touched.
  if (!runtime_ || fatal_code_.load() != 0) return;
  for (int32_t p : runtime_->OnAborted()) StartRestore(p);
}

void Worker::RewindPartitions(const std::vector<PartitionKey>& partitions) {
  if (partitions.empty() || !consumer_) return;
  if (Status st = consumer_->Rewind(partitions); !st.ok()) {
    SetFatal(kExitKafkaFatal, st.error().message);
  }
}

void Worker::Rebalance(const consumers::GroupConsumer::Change& change) {
  if (change.assigned) {
    assigned_once_ = true;
    // A work partition stays paused until its cells are restored from fleet.state.
    for (const auto& [topic, p] : change.partitions) {
      if (topic == plan_.work) StartRestore(p);
    }
    return;
  }
  // Revoke or lost: close the open batch first, so that after this returns nothing more is
  // written for these partitions.
  if (CommitRunning()) FinishCommit();
  if (ingest_) ingest_->Drain();
  if (fatal_code_.load() != 0) {
    // The worker is stopping on a fatal error (its producer fenced, say): nothing can commit, and
    // the next owner reads the open batch again from the committed offsets.
  } else if (txn_open_ || (!transactional_ && BatchOpen())) {
    if (change.lost && transactional_) {
      AbortBatch("assignment lost");
    } else {
      CommitBatch();
    }
  } else if (change.lost) {
    batch_offsets_.clear();
    last_slot_ = nullptr;
    batch_records_ = 0;
  }
  for (const auto& [topic, p] : change.partitions) {
    if (topic != plan_.work) continue;
    restores_->Cancel(p);  // a restore in flight is discarded
    runtime_->Drop(p);
    work_committed_.erase(p);
    PauseResume(p, false);  // every paused partition is resumed before it is unassigned
  }
}

void Worker::ClientError(rd_kafka_t* rk, int err, const char* reason) {
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof(buf));
    int code = orig == RD_KAFKA_RESP_ERR__FENCED || orig == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
                       orig == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH
                   ? kExitFenced
                   : kExitKafkaFatal;
    SetFatal(code,
             fmt::format("fatal Kafka error (transactional.id {}): {}", transactional_id_, buf));
    return;
  }
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    int64_t none = 0;
    metrics::ProcessHealth().brokers_down_since_ms.compare_exchange_strong(none,
                                                                           clock_.MonotonicMs());
  }
  spdlog::warn("kafka: {}: {}", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason);
}

}  // namespace fleetkeeper::app
