// The pipeline's at-least-once path on the embedded broker (librdkafka's mock cluster) with faults
// injected into it: failed offset commits, failed produce requests, the broker down and up again.
// Whatever happens, every input record must end with at least one outcome: a result on the results
// topic or a DLQ record (DESIGN.md "Guarantees"; duplicates are allowed at least once).
#include <gtest/gtest.h>
#include <google/protobuf/util/json_util.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "awsclient/clients.h"
#include "common/executor.h"
#include "common/raii_kafka.h"
#include "consumers/pipeline.h"
#include "consumers/pipeline_clients.h"
#include "fleetkeeper/v1/event.pb.h"
#include "fleetkeeper/v1/result.pb.h"
#include "handlers/engine/blackout.h"
#include "handlers/engine/dispatcher.h"
#include "handlers/engine/guards.h"
#include "handlers/engine/runtime.h"
#include "handlers/registry.h"
#include "tests/testing/effect_handler.h"

namespace fleetkeeper::consumers {
namespace {

using Clock = std::chrono::steady_clock;
using Source = std::tuple<std::string, int32_t, int64_t>;  // input topic, partition, offset

// Kafka protocol API keys (https://kafka.apache.org/protocol#protocol_api_keys).
constexpr int16_t kProduceApi = 0;
constexpr int16_t kOffsetCommitApi = 8;

constexpr char kEvents[] = "mock.events";
constexpr char kCommands[] = "mock.commands";
constexpr char kWork[] = "mock.work";
constexpr char kResults[] = "mock.results";
constexpr char kDlq[] = "mock.dlq";
constexpr int kPartitions = 3;

std::string ReadFixture(const std::string& relative) {
  std::ifstream in(std::string(FK_TEST_FIXTURES) + "/events/" + relative, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_FALSE(ss.str().empty()) << "missing fixture " << relative;
  return ss.str();
}

// Inputs that end without any AWS call: an alarm no rule matches, an instance refresh event with no
// workflow, a deleted parameter, an approval naming an unknown workflow (the fixtures cite the AWS
// pages they follow, see tests/fixtures/events/README.md). Each copy gets its own event id, so that
// no record is a redelivery of another.
class GoodInputs {
 public:
  GoodInputs() {
    for (const char* f : {"eventbridge/cloudwatch-alarm-metric-math.json",
                          "eventbridge/autoscaling-instance-refresh-failed.json",
                          "eventbridge/ssm-parameter-store-change-delete.json"}) {
      envelopes_.push_back(nlohmann::json::parse(ReadFixture(f)));
    }
    approval_ = nlohmann::json::parse(ReadFixture("native/approval-by-workflow.json"));
  }

  // The i-th good record and the topic it belongs on.
  std::pair<std::string, std::string> Make(int i) const {
    if (i % 4 == 3) {
      // An approval's event id comes from the workflow it names.
      nlohmann::json ev = approval_;
      ev["approval"]["workflow_id"] = "444455556666/eu-west-1/patch-" + std::to_string(i);
      return {kCommands, ev.dump()};
    }
    nlohmann::json ev = envelopes_[static_cast<size_t>(i % 4)];
    ev["id"] = "mock-" + std::to_string(i);
    return {kEvents, ev.dump()};
  }

 private:
  std::vector<nlohmann::json> envelopes_;
  nlohmann::json approval_;
};

// Records the normalizer must refuse: not JSON, truncated, a JSON array, a wrong field type.
const std::vector<std::string> kUnreadable = {
    std::string("\x00\x01\x02garbage\xff\xfe", 10),
    R"({"version":"0","id":"x","detail-type":"Parameter Store Change")",
    "[1,2,3]",
    R"({"version":"0","id":"x","detail-type":"Parameter Store Change","source":"aws.ssm",)"
    R"("account":"111122223333","time":"2024-05-14T11:00:00Z","region":"us-east-1",)"
    R"("resources":[],"detail":{"name":7,"operation":"Update"}})",
};

KafkaConfPtr MakeConf(const std::map<std::string, std::string>& props) {
  KafkaConfPtr conf(rd_kafka_conf_new());
  char errstr[512];
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
      ADD_FAILURE() << k << ": " << errstr;
    }
  }
  return conf;
}

KafkaPtr NewClient(rd_kafka_type_t type, KafkaConfPtr conf) {
  char errstr[512];
  KafkaPtr rk(rd_kafka_new(type, conf.release(), errstr, sizeof(errstr)));
  if (!rk) ADD_FAILURE() << "rd_kafka_new: " << errstr;
  return rk;
}

// Produces test inputs and remembers the coordinates the broker gave each one.
class InputProducer {
 public:
  explicit InputProducer(const std::string& bootstrap) {
    KafkaConfPtr conf = MakeConf({{"bootstrap.servers", bootstrap},
                                  {"enable.idempotence", "true"},
                                  {"linger.ms", "2"},
                                  {"log_level", "2"}});
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &InputProducer::OnDelivery);
    rk_ = NewClient(RD_KAFKA_PRODUCER, std::move(conf));
  }

  void Send(const std::string& topic, const std::string& value, bool good,
            int32_t partition = RD_KAFKA_PARTITION_UA) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<intptr_t>(good ? 1 : 0))),
        RD_KAFKA_V_END);
    ASSERT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
    rd_kafka_poll(rk_.get(), 0);
  }

  // Waits until every record sent so far is acknowledged; the broker may be down for a while.
  void Flush() {
    ASSERT_EQ(rd_kafka_flush(rk_.get(), 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_TRUE(errors_.empty()) << errors_.front();
  }

  const std::map<Source, bool>& delivered() const { return delivered_; }  // source -> good

 private:
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
    auto* self = static_cast<InputProducer*>(opaque);
    if (msg->err) {
      self->errors_.push_back(rd_kafka_err2str(msg->err));
      return;
    }
    self->delivered_[{rd_kafka_topic_name(msg->rkt), msg->partition, msg->offset}] =
        msg->_private != nullptr;
  }

  KafkaPtr rk_;
  std::map<Source, bool> delivered_;
  std::vector<std::string> errors_;
};

struct Outcome {
  std::string kind;    // a Result status name, or "DLQ"
  std::string reason;  // the result's reason or the DLQ record's fk-error
};

std::string Header(const rd_kafka_message_t* msg, const char* name) {
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(msg, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return "";
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_last(hdrs, name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      value == nullptr) {
    return "";
  }
  return std::string(static_cast<const char*>(value), size);
}

// Reads the results and DLQ topics from the start with a plain consumer, as a user would, until
// every expected input has an outcome or the deadline passes.
std::map<Source, std::vector<Outcome>> CollectOutcomes(const std::string& bootstrap,
                                                       const std::map<Source, bool>& expected,
                                                       std::chrono::seconds timeout) {
  KafkaPtr consumer = NewClient(RD_KAFKA_CONSUMER, MakeConf({{"bootstrap.servers", bootstrap},
                                                             {"group.id", "outcome-reader"},
                                                             {"auto.offset.reset", "earliest"},
                                                             {"enable.auto.commit", "false"},
                                                             {"log_level", "2"}}));
  std::map<Source, std::vector<Outcome>> out;
  if (!consumer) return out;
  rd_kafka_poll_set_consumer(consumer.get());
  KafkaTopicPartitionsPtr topics(rd_kafka_topic_partition_list_new(2));
  rd_kafka_topic_partition_list_add(topics.get(), kResults, RD_KAFKA_PARTITION_UA);
  rd_kafka_topic_partition_list_add(topics.get(), kDlq, RD_KAFKA_PARTITION_UA);
  EXPECT_EQ(rd_kafka_subscribe(consumer.get(), topics.get()), RD_KAFKA_RESP_ERR_NO_ERROR);
  size_t covered = 0;
  const auto deadline = Clock::now() + timeout;
  while (covered < expected.size() && Clock::now() < deadline) {
    KafkaMessagePtr msg(rd_kafka_consumer_poll(consumer.get(), 200));
    if (!msg || msg->err) continue;
    std::string topic = rd_kafka_topic_name(msg->rkt);
    std::string value(static_cast<const char*>(msg->payload), msg->payload ? msg->len : 0);
    Source src;
    Outcome o;
    if (topic == kDlq) {
      src = {Header(msg.get(), "fk-source-topic"),
             std::atoi(Header(msg.get(), "fk-source-partition").c_str()),
             std::atoll(Header(msg.get(), "fk-source-offset").c_str())};
      o = {"DLQ", Header(msg.get(), "fk-error")};
      // A work item that failed is dead-lettered as itself; the event inside names its input.
      v1::Event event;
      if (std::get<0>(src) == kWork &&
          event.ParseFromArray(msg->payload, static_cast<int>(msg->len))) {
        src = {event.source().topic(), event.source().partition(), event.source().offset()};
      }
    } else {
      v1::Result r;
      google::protobuf::util::JsonParseOptions opts;
      opts.ignore_unknown_fields = true;
      auto st = google::protobuf::util::JsonStringToMessage(value, &r, opts);
      EXPECT_TRUE(st.ok()) << "unreadable result: " << value;
      if (r.status() == v1::Result::IN_PROGRESS) continue;
      src = {r.source().topic(), r.source().partition(), r.source().offset()};
      o = {v1::Result::Status_Name(r.status()), r.reason()};
    }
    auto& list = out[src];
    if (list.empty() && expected.count(src)) ++covered;
    list.push_back(std::move(o));
  }
  rd_kafka_consumer_close(consumer.get());
  return out;
}

// How a test runs the pipeline.
struct MockRun {
  KafkaProperties extra_kafka;  // more `kafka:` properties
  int batch_max_records = 50;
  int64_t batch_max_ms = 300;
  // ecs_command events go to the test-only effect handler, which waits `effect_await_ms` for an
  // approval.
  bool effect_handler = false;
  int64_t effect_await_ms = 1500;
};

// The options app/ would resolve from the configuration. No bootstrap.servers: the pipeline uses
// the embedded broker, here the test's mock cluster.
PipelineOptions MockOptions(const MockRun& run) {
  PipelineOptions o;
  o.kafka = {{"group.id", "mock-workers"},
             {"session.timeout.ms", "6000"},
             {"heartbeat.interval.ms", "1000"}};
  for (const auto& [k, v] : run.extra_kafka) o.kafka[k] = v;
  o.plan.inputs = {kEvents, kCommands};
  o.plan.work = kWork;
  o.plan.results = kResults;
  o.plan.dlq = kDlq;
  o.plan.state = "mock.state";
  o.plan.control = "mock.control";
  o.plan.partitions = kPartitions;
  o.outputs.work = kWork;
  o.outputs.results = kResults;
  o.outputs.dlq = kDlq;
  o.outputs.dlq_max_message_bytes = o.plan.max_message_bytes;
  o.normalize.default_account = "111122223333";
  o.normalize.default_region = "us-east-1";
  o.batch_max_records = run.batch_max_records;
  o.batch_max_ms = run.batch_max_ms;
  return o;
}

// The workflow engine's configuration: every handler's defaults.
v1::WorkerConfig EngineConfig() {
  v1::WorkerConfig c;
  c.mutable_aws()->set_region("us-east-1");
  c.mutable_aws()->set_default_account("111122223333");
  for (const handlers::HandlerFactory* factory : handlers::HandlerCatalog()) {
    factory->ApplyDefaults(c);
  }
  handlers::ApplyAlarmGuardDefaults(*c.mutable_safety());
  handlers::ApplyBlackoutDefaults(*c.mutable_safety());
  return c;
}

// Every cell gets clients that reach no service: the tests' inputs make no AWS call.
class NoServiceClients final : public aws::ClientProvider {
 public:
  Result<aws::CellClients*> For(const std::string&, const std::string&,
                                const std::string&) override {
    return &none_;
  }

 private:
  aws::CellClients none_;
};

// The pipeline wired as `fleetkeeper run` wires it (app/run_cmd.cc).
class MockWorker {
 public:
  MockWorker(const MockRun& run, rd_kafka_mock_cluster_t* cluster)
      : run_(run), cluster_(cluster), config_(EngineConfig()) {}

  // Runs until RequestStop; returns the exit code.
  int Run() {
    const fleetkeeper::Clock& clock = SystemClock::Instance();
    auto opened = PipelineClients::Open(MockOptions(run_), "mock-txn", stop_, clock, cluster_);
    if (!opened.ok()) {
      ADD_FAILURE() << "cannot start: " << opened.error().message;
      return kExitStartFailed;
    }
    std::unique_ptr<PipelineClients> clients = std::move(*opened);
    std::vector<std::pair<handlers::EventKind, std::unique_ptr<handlers::Handler>>> overrides;
    if (run_.effect_handler) {
      handlers::testing::EffectHandlerOptions effect;
      effect.await_wait_ms = run_.effect_await_ms;
      overrides.emplace_back(v1::Event::kEcsCommand,
                             std::make_unique<handlers::testing::EffectHandler>(effect));
    }
    handlers::Dispatcher dispatcher(config_, clock, std::move(overrides));
    auto executor = std::make_unique<Executor>(4);
    handlers::RuntimeOptions ropts;
    ropts.max_running_steps = 16;
    const int32_t partitions = clients->options().outputs.work_partitions;
    ropts.partition_of_cell = [partitions](const std::string& cell) {
      return Murmur2Partition(cell, partitions);
    };
    NoServiceClients aws_clients;
    handlers::WorkflowRuntime runtime(config_, ropts, dispatcher, &aws_clients, *executor, clock);
    Pipeline pipeline(*clients, runtime, stop_, stats_, clock);
    if (auto st = pipeline.Start(); !st.ok()) {
      ADD_FAILURE() << "cannot start: " << st.error().message;
      return kExitStartFailed;
    }
    pipeline.Run();
    pipeline.Stop();
    executor.reset();
    clients->Close(!stop_.failed());
    return stop_.code();
  }
  void RequestStop() { stop_.Request(); }

  int64_t records_done() const { return stats_.records_done.load(); }
  int64_t batches_failed() const { return stats_.batches_failed.load(); }
  int64_t commits_failed() const { return stats_.commits_failed.load(); }
  size_t poisoned_inputs() const { return stats_.poisoned_inputs.load(); }

 private:
  const MockRun run_;
  rd_kafka_mock_cluster_t* const cluster_;
  const v1::WorkerConfig config_;
  PipelineStop stop_;
  BatchStats stats_;
};

class WorkerMockClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    // The cluster lives in a client handle that has no brokers of its own.
    owner_ = NewClient(RD_KAFKA_PRODUCER, MakeConf({{"log_level", "2"}}));
    ASSERT_TRUE(owner_);
    cluster_ = rd_kafka_mock_cluster_new(owner_.get(), 1);
    ASSERT_NE(cluster_, nullptr);
    bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);
    // The input topics exist before the worker starts, so that inputs can be produced at once;
    // the worker creates the others (and accepts those that already exist).
    for (const char* t : {kEvents, kCommands}) {
      ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, t, kPartitions, 1),
                RD_KAFKA_RESP_ERR_NO_ERROR);
    }
  }

  void TearDown() override {
    StopWorker();
    // librdkafka asserts that a cluster is destroyed before the handle it lives in.
    if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
    owner_.reset();
    spdlog::set_level(spdlog::level::info);
  }

  void StartWorker(const MockRun& run = {}) {
    worker_ = std::make_unique<MockWorker>(run, cluster_);
    thread_ = std::thread([this] { exit_code_ = worker_->Run(); });
  }

  int StopWorker() {
    if (!worker_) return exit_code_.load();
    worker_->RequestStop();
    if (thread_.joinable()) thread_.join();
    worker_.reset();
    return exit_code_.load();
  }

  KafkaPtr owner_;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;  // lives in owner_, destroyed first
  std::string bootstrap_;
  std::unique_ptr<MockWorker> worker_;
  std::thread thread_;
  std::atomic<int> exit_code_{-1};
};

TEST_F(WorkerMockClusterTest, EveryInputGetsAnOutcomeThroughCommitProduceAndBrokerFaults) {
  InputProducer inputs(bootstrap_);
  GoodInputs good;
  int n = 0;
  auto send = [&](int count) {
    for (int i = 0; i < count; ++i, ++n) {
      if (n % 9 == 4) {
        const std::string& bad = kUnreadable[static_cast<size_t>(n) % kUnreadable.size()];
        inputs.Send(n % 2 ? kEvents : kCommands, bad, false);
      } else {
        auto [topic, value] = good.Make(n);
        inputs.Send(topic, value, true);
      }
    }
  };

  // 1. A backlog is waiting when the worker starts. The mock's error stacks are shared by every
  //    client, so the Produce errors are pushed once the test's own inputs are acknowledged: from
  //    then on only the worker produces (and only the worker commits offsets). Its first produce
  //    requests fail, transiently (the producer retries) and then permanently (the record whose
  //    output failed goes to the DLQ); its first two offset commits fail (the batches are re-read
  //    and produced again).
  send(300);
  inputs.Flush();
  rd_kafka_mock_push_request_errors(
      cluster_, kProduceApi, 3, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  rd_kafka_mock_push_request_errors(cluster_, kOffsetCommitApi, 2,
                                    RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID,
                                    RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE);
  StartWorker();
  // Inputs and work items both count: past 300, the worker is through the first faults.
  const auto deadline = Clock::now() + std::chrono::seconds(25);
  while (worker_->records_done() < 300 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GE(worker_->records_done(), 300) << "the worker made no progress";

  // 2. The broker goes down in the middle of a stream of inputs and comes back 2 s later; an
  //    offset commit fails once more after that.
  send(150);
  ASSERT_EQ(rd_kafka_mock_broker_set_down(cluster_, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ASSERT_EQ(rd_kafka_mock_broker_set_up(cluster_, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_mock_push_request_errors(cluster_, kOffsetCommitApi, 1,
                                    RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS);
  send(150);
  inputs.Flush();

  auto outcomes = CollectOutcomes(bootstrap_, inputs.delivered(), std::chrono::seconds(20));
  worker_->RequestStop();
  thread_.join();
  // Dead-lettered inputs are forgotten once their batch commits: nothing is left to remember.
  EXPECT_EQ(worker_->poisoned_inputs(), 0u) << "inputs remembered as poison after their commit";
  EXPECT_EQ(StopWorker(), kExitOk);

  ASSERT_EQ(inputs.delivered().size(), static_cast<size_t>(n));
  int missing = 0, repeated = 0, produce_failures_reported = 0;
  for (const auto& [src, is_good] : inputs.delivered()) {
    auto it = outcomes.find(src);
    if (it == outcomes.end()) {
      if (++missing <= 5) {
        ADD_FAILURE() << "no outcome for " << std::get<0>(src) << "/" << std::get<1>(src) << "@"
                      << std::get<2>(src);
      }
      continue;
    }
    if (it->second.size() > 1) ++repeated;
    for (const Outcome& o : it->second) {
      if (o.kind == "DLQ" && o.reason.find("Message size too large") != std::string::npos) {
        ++produce_failures_reported;
      }
      if (!is_good) {
        EXPECT_EQ(o.kind, "DLQ") << "an unreadable record got a result: " << o.reason;
        EXPECT_FALSE(o.reason.empty()) << "a DLQ record must say why";
      } else if (o.kind == "DLQ") {
        // Only a failed produce of its output may send a readable record to the DLQ.
        EXPECT_NE(o.reason.find("producing to"), std::string::npos) << o.reason;
      } else {
        EXPECT_TRUE(o.kind == "SKIPPED" || o.kind == "REJECTED") << o.kind << ": " << o.reason;
      }
    }
  }
  EXPECT_EQ(missing, 0) << missing << " of " << n << " inputs have no outcome";
  for (const auto& [src, list] : outcomes) {
    EXPECT_TRUE(inputs.delivered().count(src))
        << "outcome for an input never produced: " << std::get<0>(src) << "/" << std::get<1>(src)
        << "@" << std::get<2>(src);
  }
  // The faults took effect: failed commits re-read batches (repeats), and the permanent produce
  // error dead-lettered the record whose output failed, naming the error. (Which output it hits,
  // a work item, a result or a DLQ record, depends on which partition's request comes third.)
  EXPECT_GT(repeated, 0) << "no input was processed twice: the failed commits had no effect";
  EXPECT_GT(produce_failures_reported, 0)
      << "no DLQ record names the permanent produce error (MSG_SIZE_TOO_LARGE)";
}

TEST_F(WorkerMockClusterTest, AFullProducerQueueRetriesTheBatchInsteadOfStallingThePollLoop) {
  // The worker's producer queue holds 10 messages and the broker answers its first produce
  // requests after 2.5 s each, so the queue fills and stays full. The poll thread may wait for
  // room for a third of max.poll.interval.ms (2 s here); then the batch is read again from its
  // committed offsets: not dead-lettered, not committed without its outputs.
  InputProducer inputs(bootstrap_);
  GoodInputs good;
  for (int n = 0; n < 200; ++n) {
    auto [topic, value] = good.Make(n);
    inputs.Send(topic, value, true);
  }
  inputs.Flush();
  // Pushed once the test's own inputs are acknowledged: from then on only the worker produces.
  rd_kafka_mock_broker_push_request_error_rtts(
      cluster_, 1, kProduceApi, 6, RD_KAFKA_RESP_ERR_NO_ERROR, 2500, RD_KAFKA_RESP_ERR_NO_ERROR,
      2500, RD_KAFKA_RESP_ERR_NO_ERROR, 2500, RD_KAFKA_RESP_ERR_NO_ERROR, 2500,
      RD_KAFKA_RESP_ERR_NO_ERROR, 2500, RD_KAFKA_RESP_ERR_NO_ERROR, 2500);
  StartWorker(
      {.extra_kafka = {{"queue.buffering.max.messages", "10"}, {"max.poll.interval.ms", "6000"}}});

  auto outcomes = CollectOutcomes(bootstrap_, inputs.delivered(), std::chrono::seconds(90));
  const int64_t failed = worker_->batches_failed();
  EXPECT_EQ(StopWorker(), kExitOk);
  int missing = 0;
  for (const auto& [src, is_good] : inputs.delivered()) {
    auto it = outcomes.find(src);
    if (it == outcomes.end()) {
      ++missing;
      continue;
    }
    for (const Outcome& o : it->second) {
      EXPECT_NE(o.kind, "DLQ") << "a full queue dead-lettered an input: " << o.reason;
    }
  }
  EXPECT_EQ(missing, 0) << missing << " of " << inputs.delivered().size()
                        << " inputs have no outcome";
  EXPECT_GT(failed, 0) << "the queue never stayed full past the bound: the test proved nothing";
}

TEST_F(WorkerMockClusterTest, AtLeastOnceStateIsWrittenOnlyAfterTheOutcomesItRemembers) {
  // Work items that end REJECTED at once: each writes an event-id record to fleet.state and a
  // result. The producer queue holds 9 messages and the first produce requests are answered after
  // 2.5 s, so the batch cannot carry every output and is read again. If the event-id records were
  // written with the results, one of them would be durable while its result never got into the
  // queue (outputs 1-9 are four pairs and the fifth event-id record), and the re-read item would
  // count as seen and get no outcome at all.
  ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, kWork, kPartitions, 1),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  InputProducer work(bootstrap_);
  for (int i = 0; i < 12; ++i) {
    v1::Event ev;
    ev.set_id("state-order-" + std::to_string(i));
    ev.set_source_format("native");
    ev.set_account("111122223333");
    ev.set_region("us-east-1");
    ev.mutable_ecs_command()->set_request_id(ev.id());
    ev.mutable_ecs_command()->set_action("restart");
    // Offsets of an empty partition: the result names the work item as its source.
    auto* src = ev.mutable_source();
    src->set_topic(kWork);
    src->set_partition(0);
    src->set_offset(i);
    work.Send(kWork, ev.SerializeAsString(), true, 0);
  }
  work.Flush();
  rd_kafka_mock_broker_push_request_error_rtts(
      cluster_, 1, kProduceApi, 4, RD_KAFKA_RESP_ERR_NO_ERROR, 2500, RD_KAFKA_RESP_ERR_NO_ERROR,
      2500, RD_KAFKA_RESP_ERR_NO_ERROR, 2500, RD_KAFKA_RESP_ERR_NO_ERROR, 2500);
  StartWorker(
      {.extra_kafka = {{"queue.buffering.max.messages", "9"}, {"max.poll.interval.ms", "6000"}}});

  auto outcomes = CollectOutcomes(bootstrap_, work.delivered(), std::chrono::seconds(60));
  const int64_t failed = worker_->batches_failed();
  EXPECT_EQ(StopWorker(), kExitOk);
  EXPECT_GT(failed, 0) << "the queue never stayed full past the bound: the test proved nothing";
  for (const auto& [src, good] : work.delivered()) {
    auto it = outcomes.find(src);
    EXPECT_TRUE(it != outcomes.end()) << "no outcome for work item @" << std::get<2>(src);
    if (it == outcomes.end()) continue;
    for (const Outcome& o : it->second) EXPECT_EQ(o.kind, "REJECTED") << o.reason;
  }
}

TEST_F(WorkerMockClusterTest, ABatchClosesWhenNothingIsQueuedWhileRecordsKeepArriving) {
  // Records arrive every millisecond for as long as the test runs, and a batch may stay open for a
  // minute and a million records. A batch closes as soon as the consumer has nothing more queued,
  // so the first input's outcome is committed while the others keep coming. Had a batch stayed
  // open while records kept arriving (as when it closed only after a 2 ms linger with no record),
  // the outcome would come after a minute, long past the 30 s this test waits for it.
  InputProducer first(bootstrap_);
  GoodInputs good;
  auto [topic, value] = good.Make(0);
  first.Send(topic, value, true);
  first.Flush();
  StartWorker({.extra_kafka = {}, .batch_max_records = 1000000, .batch_max_ms = 60000});
  std::atomic<bool> done{false};
  std::thread feeder([&] {
    InputProducer more(bootstrap_);
    for (int i = 1; !done.load(); ++i) {
      auto [t, v] = good.Make(i);
      more.Send(t, v, true);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    more.Flush();
  });
  auto outcomes = CollectOutcomes(bootstrap_, first.delivered(), std::chrono::seconds(30));
  done.store(true);
  feeder.join();
  EXPECT_EQ(StopWorker(), kExitOk);
  ASSERT_EQ(first.delivered().size(), 1u);
  auto it = outcomes.find(first.delivered().begin()->first);
  ASSERT_TRUE(it != outcomes.end())
      << "no outcome while records kept arriving: the batch stayed open";
  const std::string& kind = it->second.front().kind;
  EXPECT_TRUE(kind == "SKIPPED" || kind == "REJECTED") << kind << ": " << it->second.front().reason;
}

TEST_F(WorkerMockClusterTest, TimersFireOnAnIdleWorkerHoweverLongABatchMayStayOpen) {
  // A workflow of the test-only effect handler waits on two timers (300 ms, then 200 ms), then
  // fails for want of an effect URL. Nothing else arrives, so every batch is empty: an empty batch
  // ends after 100 ms and the runtime looks at its timers then, whatever batch_max_time allows a
  // busy batch. Were an empty batch to wait out batch_max_time (60 s here), the result would come
  // after two minutes, long past the 30 s this test waits for it.
  InputProducer inputs(bootstrap_);
  nlohmann::json command = nlohmann::json::parse(ReadFixture("native/ecs-command-wrapped.json"));
  command["ecs_command"]["request_id"] = "idle-timers-1";
  inputs.Send(kCommands, command.dump(), true);
  inputs.Flush();
  StartWorker({.extra_kafka = {},
               .batch_max_records = 50,
               .batch_max_ms = 60000,
               .effect_handler = true,
               .effect_await_ms = 200});

  auto outcomes = CollectOutcomes(bootstrap_, inputs.delivered(), std::chrono::seconds(30));
  const int64_t commits_failed = worker_->commits_failed();
  EXPECT_EQ(StopWorker(), kExitOk);
  ASSERT_EQ(inputs.delivered().size(), 1u);
  auto it = outcomes.find(inputs.delivered().begin()->first);
  ASSERT_TRUE(it != outcomes.end()) << "no result: the workflow's timers were not looked at";
  ASSERT_EQ(it->second.size(), 1u);
  // The batches after the input's carried only timers and steps: no offset to commit, and no
  // failure either (a commit of nothing used to count as failed, rewind and restore the cell).
  EXPECT_EQ(commits_failed, 0);
  EXPECT_EQ(it->second.front().kind, "FAILED");
  EXPECT_NE(it->second.front().reason.find("FK_TEST_EFFECT_URL is not set"), std::string::npos)
      << it->second.front().reason;
}

}  // namespace
}  // namespace fleetkeeper::consumers
