#include "app/run_cmd.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "app/aws_wiring.h"
#include "app/config.h"
#include "common/clock.h"
#include "common/executor.h"
#include "consumers/kafka.h"
#include "consumers/pipeline.h"
#include "consumers/pipeline_clients.h"
#include "handlers/engine/dispatcher.h"
#include "handlers/engine/runtime.h"

namespace fleetkeeper::app {
namespace {

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

int StartFailed(const std::string& why) {
  spdlog::error("cannot start: {}", why);
  std::fprintf(stderr, "fleetkeeper: cannot start: %s\n", why.c_str());
  return kExitStartFailed;
}

}  // namespace

consumers::PipelineOptions PipelineOptionsFrom(const v1::WorkerConfig& config) {
  consumers::PipelineOptions o;
  for (const auto& [k, v] : config.kafka()) o.kafka[k] = v;
  if (!o.kafka.count("group.id")) o.kafka["group.id"] = "fleetkeeper";
  consumers::TopicPlan& plan = o.plan;
  const auto& t = config.topics();
  for (const auto& in : t.inputs()) plan.inputs.push_back(in);
  if (plan.inputs.empty()) plan.inputs = {"fleet.events", "fleet.commands"};
  plan.work = OrDefault(t.work(), "fleet.work");
  plan.results = OrDefault(t.results(), "fleet.results");
  plan.dlq = OrDefault(t.dlq(), "fleet.dlq");
  plan.state = OrDefault(t.state(), "fleet.state");
  plan.control = OrDefault(t.control(), "fleet.control");
  plan.create = OrDefault(t.has_create(), t.create(), true);
  plan.partitions = OrDefault(t.has_partitions(), t.partitions(), 12);
  plan.max_message_bytes =
      OrDefault<int64_t>(t.has_max_message_bytes(), t.max_message_bytes(), 4 * 1024 * 1024);
  plan.replication_factor = OrDefault(t.has_replication_factor(), t.replication_factor(), -1);
  o.outputs.work = plan.work;
  o.outputs.results = plan.results;
  o.outputs.dlq = plan.dlq;
  o.outputs.dlq_max_message_bytes = plan.max_message_bytes;
  o.outputs.result_format = config.runtime().results_format() == "protobuf"
                                ? consumers::ResultFormat::kProtobuf
                                : consumers::ResultFormat::kJson;
  o.normalize.default_account = config.aws().default_account();
  o.normalize.default_region = config.aws().region();
  o.transactions = config.kafka_transactions();
  o.batch_max_records = BatchMaxRecords(config);
  o.batch_max_ms = BatchMaxTimeMs(config);
  if (o.batch_max_ms <= 0) o.batch_max_ms = kDefaultBatchMaxTimeMs;
  o.max_pending_per_partition = MaxPendingPerPartition(config);
  return o;
}

Worker::Worker(const v1::WorkerConfig& config, RunHooks hooks)
    : config_(config), hooks_(std::move(hooks)) {}

int Worker::Run() {
  const Clock& clock = SystemClock::Instance();
  consumers::PipelineOptions options = PipelineOptionsFrom(config_);
  const std::string transactional_id = options.kafka.count("transactional.id")
                                           ? options.kafka["transactional.id"]
                                           : options.kafka["group.id"] + "-" + HostName();
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
  // Built in order, stopped in reverse (the clients last: the pipeline's revoke runs in their
  // close).
  auto opened =
      consumers::PipelineClients::Open(std::move(options), transactional_id, stop_, clock);
  if (!opened.ok()) return StartFailed(opened.error().message);
  std::unique_ptr<consumers::PipelineClients> clients = std::move(*opened);
  const int32_t work_partitions = clients->options().outputs.work_partitions;

  auto dispatcher = std::make_unique<handlers::Dispatcher>(
      config_, clock,
      hooks_.handler_overrides
          ? hooks_.handler_overrides()
          : std::vector<std::pair<handlers::EventKind, std::unique_ptr<handlers::Handler>>>{});
  auto executor = std::make_unique<Executor>(IoThreads(config_));
  std::unique_ptr<aws::ClientProvider> aws_clients = MakeClientProvider(config_);
  handlers::RuntimeOptions ropts;
  ropts.dry_run = config_.dry_run();
  ropts.max_running_steps = 4 * static_cast<size_t>(IoThreads(config_));
  if (config_.runtime().has_dedup_retention()) {
    ropts.dedup_retention_ms = config_.runtime().dedup_retention().seconds() * 1000;
  }
  // Timed workflows (ECS schedules) go to the partition their cell's work items go to.
  ropts.partition_of_cell = [work_partitions](const std::string& cell) {
    return consumers::Murmur2Partition(cell, work_partitions);
  };
  auto runtime = std::make_unique<handlers::WorkflowRuntime>(config_, ropts, *dispatcher,
                                                             aws_clients.get(), *executor, clock);

  auto pipeline = std::make_unique<consumers::Pipeline>(*clients, *runtime, stop_, stats_, clock,
                                                        hooks_.commit_faults);
  if (auto st = pipeline->Start(); !st.ok()) {
    pipeline->Stop();
    executor.reset();
    clients->Close(false);
    return StartFailed(st.error().message);
  }
  std::string active;
  for (const auto& h : dispatcher->ActiveHandlers()) active += (active.empty() ? "" : ", ") + h;
  spdlog::info(
      "worker started: bootstrap {}, group {}, {}, work topic {} ({} partitions), "
      "handlers: {}",
      clients->bootstrap(), clients->options().kafka.at("group.id"),
      clients->transactional() ? "transactional.id " + transactional_id : "at-least-once",
      clients->options().plan.work, work_partitions, active.empty() ? "none" : active);

  pipeline->Run();
  pipeline->Stop();
  executor.reset();  // no step completes (and wakes the consumer) after this
  clients->Close(!stop_.failed());
  pipeline.reset();
  runtime.reset();
  aws_clients.reset();
  dispatcher.reset();
  clients.reset();

  const int code = stop_.code();  // the last commit, or the ingest lane, may have failed since
  if (code != 0) {
    std::fprintf(stderr, "fleetkeeper: %s\n", stop_.reason().c_str());
    if (code == kExitFenced && hooks_.linger_after_fence_ms > 0) {
      // Test hook: the operator listener answers (503, fenced) a while before the process exits.
      std::this_thread::sleep_for(std::chrono::milliseconds(hooks_.linger_after_fence_ms));
    }
  } else {
    spdlog::info("stopped: {} records done in {} batches, {} ms of them committing",
                 stats_.records_done.load(), stats_.batches_committed.load(),
                 stats_.commit_ms.load());
  }
  return code;
}

}  // namespace fleetkeeper::app
