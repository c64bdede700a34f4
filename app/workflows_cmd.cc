#include "app/workflows_cmd.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>
#include <thread>

#include "app/config.h"
#include "app/control.h"
#include "common/clock.h"
#include "common/raii_kafka.h"
#include "consumers/kafka.h"
#include "consumers/kafka_clients.h"
#include "consumers/record_sender.h"
#include "consumers/state_restore.h"
#include "consumers/topics.h"

namespace fleetkeeper::app {
namespace {

constexpr int kTimeoutMs = 30000;
// The runtime's due_at_ms for a wait with no timer (handlers/engine/partition_state.h).
constexpr int64_t kNoTimer = std::numeric_limits<int64_t>::max();

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Duration(int64_t ms) {
  if (ms < 0) ms = 0;
  const int64_t s = ms / 1000;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d{:02}h", s / 86400, (s % 86400) / 3600);
}

std::string WhoAmI() {
  const char* user = std::getenv("USER");
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return fmt::format("{}@{}", user && *user ? user : "unknown", host[0] ? host : "unknown");
}

// A read_committed consumer over the state topic that commits nothing.
Result<KafkaPtr> StateReader(const v1::WorkerConfig& config) {
  if (BootstrapServers(config).empty()) {
    return InvalidInput(
        "kafka.bootstrap.servers is not set: the embedded broker lives inside `fleetkeeper run` "
        "and cannot be read from another command; set it (or "
        "FLEETKEEPER_KAFKA_BOOTSTRAP_SERVERS)");
  }
  consumers::KafkaProperties props = consumers::PropertiesFor(
      consumers::ClientRole::kReader, {config.kafka().begin(), config.kafka().end()});
  // Its own group id: librdkafka 2.0.2 wants one even for assign(); nothing is committed.
  props["group.id"] = KafkaGroupId(config) + ".workflows";
  props["enable.auto.commit"] = "false";
  props["enable.auto.offset.store"] = "false";
  props["isolation.level"] = "read_committed";
  props["enable.partition.eof"] = "true";
  consumers::ClientCallbacks callbacks;
  callbacks.log_through_spdlog = false;  // a command's librdkafka lines go to stderr as they are
  return consumers::NewClient(consumers::ClientRole::kReader, props, callbacks, "state reader");
}

}  // namespace

Result<std::vector<v1::WorkflowCheckpoint>> ReadWorkflows(const v1::WorkerConfig& config,
                                                          int timeout_ms) {
  auto made = StateReader(config);
  if (!made.ok()) return std::move(made).take_error();
  std::map<std::string, v1::WorkflowCheckpoint> latest;
  Status read = consumers::ReadWholeStateLog(
      std::move(*made), StateTopic(config), timeout_ms,
      [&latest](int32_t, std::string_view key, const char* value, size_t size) {
        if (key.rfind("wf:", 0) != 0) return;
        if (value == nullptr) {
          latest.erase(std::string(key.substr(3)));
          return;
        }
        v1::StateRecord record;
        if (!record.ParseFromArray(value, static_cast<int>(size)) || !record.has_workflow()) {
          return;  // not a checkpoint this version understands; the workers report those
        }
        latest[record.workflow().workflow_id()] = record.workflow();
      });
  if (!read.ok()) return std::move(read).take_error();
  std::vector<v1::WorkflowCheckpoint> out;
  out.reserve(latest.size());
  for (auto& [id, wf] : latest) out.push_back(std::move(wf));
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.created_at_ms() < b.created_at_ms();
  });
  return out;
}

std::string WorkflowStatus(const v1::WorkflowCheckpoint& wf) {
  if (!wf.has_final_result()) return "RUNNING";
  return v1::Result::Status_Name(wf.final_result().status());
}

std::string WaitingOn(const v1::WorkflowCheckpoint& wf, int64_t now_ms) {
  if (wf.has_final_result()) return "";
  if (wf.cancel_requested()) return "cancel requested: ends at its next step";
  const std::string& note = wf.waiting_on();
  // A hold (freeze, lock, guard alarm, blackout window) is current until the step runs; a timer
  // or signal wait only until due.
  for (const char* hold : {"frozen", "waiting for", "paused by alarm", "blackout window"}) {
    if (note.rfind(hold, 0) == 0) return note;
  }
  if (wf.due_at_ms() == kNoTimer) return note.empty() ? "a signal" : note;
  if (wf.due_at_ms() > now_ms) {
    return fmt::format("{}{}due in {}", note, note.empty() ? "" : ", ",
                       Duration(wf.due_at_ms() - now_ms));
  }
  return "";  // due: running or about to run
}

nlohmann::json WorkflowJson(const v1::WorkflowCheckpoint& wf, int64_t now_ms) {
  nlohmann::json j;
  j["workflow_id"] = wf.workflow_id();
  j["status"] = WorkflowStatus(wf);
  j["cell"] = wf.cell();
  j["kind"] = wf.kind();
  j["handler"] = wf.handler();
  j["step"] = wf.step();
  j["attempt"] = wf.attempt();
  j["age_s"] = std::max<int64_t>(0, now_ms - wf.created_at_ms()) / 1000;
  j["waiting_on"] = WaitingOn(wf, now_ms);
  j["created_at"] = FormatRfc3339(wf.created_at_ms());
  j["updated_at"] = FormatRfc3339(wf.updated_at_ms());
  if (wf.deadline_ms() > 0) j["deadline"] = FormatRfc3339(wf.deadline_ms());
  j["event_id"] = wf.trigger().id();
  j["dedup_key"] = wf.trigger().dedup_key();
  j["locks"] = std::vector<std::string>(wf.locks().begin(), wf.locks().end());
  // Rolling back on a guard alarm (docs/safety.md): why, naming the alarm.
  if (!wf.guard_rollback().empty()) j["guard_rollback"] = wf.guard_rollback();
  // What it holds out of service in the cell's blast-radius ledger (docs/safety.md).
  nlohmann::json capacity = nlohmann::json::array();
  for (const auto& r : wf.reservations()) {
    capacity.push_back({{"group", r.group()},
                        {"unit", r.unit()},
                        {"since", FormatRfc3339(r.since_ms())},
                        {"max_unavailable", r.max_unavailable()}});
  }
  j["capacity"] = std::move(capacity);
  j["schema_version"] = wf.schema_version();
  if (wf.has_final_result()) {
    j["reason"] = wf.final_result().reason();
    j["finished_at"] = FormatRfc3339(wf.finished_at_ms());
  }
  nlohmann::json actions = nlohmann::json::array();
  for (const auto& a : wf.actions()) {
    actions.push_back({{"resource", a.resource()},
                       {"action", a.action()},
                       {"status", a.status()},
                       {"detail", a.detail()}});
  }
  j["actions"] = std::move(actions);
  return j;
}

std::string WorkflowTable(const std::vector<v1::WorkflowCheckpoint>& workflows, int64_t now_ms) {
  size_t id_width = 8;
  size_t cell_width = 4;
  size_t step_width = 4;
  for (const auto& wf : workflows) {
    id_width = std::max(id_width, wf.workflow_id().size());
    cell_width = std::max(cell_width, wf.cell().size());
    step_width = std::max(step_width, wf.step().size());
  }
  std::string out =
      fmt::format("{:<{}}  {:<10}  {:<{}}  {:<{}}  {:>7}  {}\n", "WORKFLOW", id_width, "STATUS",
                  "CELL", cell_width, "STEP", step_width, "AGE", "WAITING ON");
  for (const auto& wf : workflows) {
    std::string waiting = WaitingOn(wf, now_ms);
    out += fmt::format("{:<{}}  {:<10}  {:<{}}  {:<{}}  {:>7}  {}\n", wf.workflow_id(), id_width,
                       WorkflowStatus(wf), wf.cell(), cell_width, wf.step(), step_width,
                       Duration(now_ms - wf.created_at_ms()), waiting.empty() ? "-" : waiting);
  }
  return out;
}

Result<std::string> CancelRecord(const std::string& workflow_id, const std::string& reason,
                                 const std::string& requested_by) {
  const size_t first = workflow_id.find('/');
  const size_t second = first == std::string::npos ? first : workflow_id.find('/', first + 1);
  if (first == std::string::npos || first == 0 || second == std::string::npos ||
      second == first + 1 || second + 1 >= workflow_id.size()) {
    return InvalidInput("workflow id " + workflow_id +
                        ": expected <account>/<region>/<kind>-<hash> (see `workflows list`)");
  }
  nlohmann::json cancel = {{"workflow_id", workflow_id},
                           {"reason", reason.empty() ? "cancelled by " + requested_by : reason},
                           {"requested_by", requested_by}};
  return nlohmann::json{{"cancel", cancel}}.dump();
}

std::string CommandsTopic(const v1::WorkerConfig& config) {
  auto inputs = InputTopics(config);
  for (const auto& t : inputs) {
    if (t.size() >= 8 && t.compare(t.size() - 8, 8, "commands") == 0) return t;
  }
  return inputs.empty() ? "" : inputs.front();
}

namespace {

int Cancel(const v1::WorkerConfig& config, const std::string& workflow_id,
           const std::string& reason, bool json) {
  auto record = CancelRecord(workflow_id, reason, WhoAmI());
  if (!record.ok()) {
    std::fprintf(stderr, "fleetkeeper workflows cancel: %s\n", record.error().message.c_str());
    return 2;
  }
  auto producer = MakeCommandProducer(config, &consumers::RecordSender::ConfigureDelivery);
  if (!producer.ok()) {
    std::fprintf(stderr, "fleetkeeper workflows cancel: %s\n", producer.error().message.c_str());
    return producer.error().code == ErrorCode::kInvalidInput ? 2 : 1;
  }
  const std::string topic = CommandsTopic(config);
  consumers::RecordSender sender(std::move(*producer));
  std::string err =
      sender.Send(topic, workflow_id, *record, {{"content-type", "application/json"}});
  if (err.empty()) err = sender.Flush(kTimeoutMs).Why();
  if (!err.empty()) {
    std::fprintf(stderr, "fleetkeeper workflows cancel: producing to %s: %s\n", topic.c_str(),
                 err.c_str());
    return 1;
  }
  if (json) {
    std::printf("%s\n", nlohmann::json{{"workflow_id", workflow_id},
                                       {"topic", topic},
                                       {"cancel", nlohmann::json::parse(*record)}}
                            .dump()
                            .c_str());
  } else {
    std::printf("cancel for %s sent to %s: it ends at its next step boundary (CANCELLED)\n",
                workflow_id.c_str(), topic.c_str());
  }
  return 0;
}

}  // namespace

int Workflows(const CommonOptions& options, const std::string& action,
              const std::string& workflow_id, const std::string& reason, bool json) {
  const std::string command = "workflows " + action;
  v1::WorkerConfig config;
  if (!LoadCommandConfig(options, command.c_str(), &config)) return 2;
  if ((action == "show" || action == "cancel") && workflow_id.empty()) {
    std::fprintf(stderr, "fleetkeeper %s: needs a workflow id\n", command.c_str());
    return 2;
  }
  if (action == "cancel") return Cancel(config, workflow_id, reason, json);
  if (action != "list" && action != "show") {
    std::fprintf(stderr, "fleetkeeper workflows: unknown action %s (list, show, cancel)\n",
                 action.c_str());
    return 2;
  }
  auto workflows = ReadWorkflows(config, kTimeoutMs);
  if (!workflows.ok()) {
    std::fprintf(stderr, "fleetkeeper %s: %s\n", command.c_str(),
                 workflows.error().message.c_str());
    return workflows.error().code == ErrorCode::kInvalidInput ? 2 : 1;
  }
  const int64_t now = NowMs();
  if (action == "list") {
    if (json) {
      nlohmann::json rows = nlohmann::json::array();
      for (const auto& wf : *workflows) rows.push_back(WorkflowJson(wf, now));
      std::printf("%s\n", rows.dump(2).c_str());
    } else {
      std::printf("%s", WorkflowTable(*workflows, now).c_str());
    }
    return 0;
  }
  auto it = std::find_if(workflows->begin(), workflows->end(),
                         [&](const auto& wf) { return wf.workflow_id() == workflow_id; });
  if (it == workflows->end()) {
    std::fprintf(stderr, "fleetkeeper workflows show: no workflow %s in %s\n", workflow_id.c_str(),
                 StateTopic(config).c_str());
    return 1;
  }
  nlohmann::json j = WorkflowJson(*it, now);
  if (json) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  for (const auto& [key, value] : j.items()) {
    std::printf("%-15s %s\n", (key + ":").c_str(),
                value.is_string() ? value.get<std::string>().c_str() : value.dump().c_str());
  }
  return 0;
}

}  // namespace fleetkeeper::app
