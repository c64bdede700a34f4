// The pipeline on the embedded broker (librdkafka's mock cluster), wired as `fleetkeeper run`
// wires it, and the inputs and outcome readers its tests share.
#pragma once

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

  // Sends GoodInputs' records 0 to count - 1 and waits until the broker has them all.
  void SendGood(int count) {
    GoodInputs good;
    for (int n = 0; n < count; ++n) {
      auto [topic, value] = good.Make(n);
      Send(topic, value, true);
    }
    Flush();
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
  std::string transactions = "auto";  // "auto": at least once, on the embedded broker
  CommitFaults* faults = nullptr;
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
  o.transactions = run.transactions;
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
    Pipeline pipeline(*clients, runtime, stop_, stats_, clock, run_.faults);
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
  int64_t producers_replaced() const { return stats_.producers_replaced.load(); }

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

}  // namespace
}  // namespace fleetkeeper::consumers
