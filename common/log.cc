#include "common/log.h"

#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>

#include "common/clock.h"
#include "common/secrets.h"

namespace fleetkeeper {
namespace {

thread_local std::string t_event_id;
thread_local LogWorkflow t_workflow;

void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

int64_t ToEpochMs(spdlog::log_clock::time_point tp) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line = "{\"ts\":\"" + FormatRfc3339(ToEpochMs(msg.time)) + "\",\"level\":";
    auto level = spdlog::level::to_string_view(msg.level);
    AppendJsonString(line, std::string_view(level.data(), level.size()));
    auto field = [&line](const char* name, const std::string& value) {
      if (value.empty()) return;
      line += ",\"";
      line += name;
      line += "\":";
      AppendJsonString(line, value);
    };
    field("event_id", t_event_id);
    field("workflow_id", t_workflow.workflow_id);
    field("cell", t_workflow.cell);
    field("handler", t_workflow.handler);
    field("step", t_workflow.step);
    line += ",\"msg\":";
    AppendJsonString(line, ScrubSecrets(std::string_view(msg.payload.data(), msg.payload.size())));
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

class TextFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto level = spdlog::level::to_string_view(msg.level);
    std::string line =
        FormatRfc3339(ToEpochMs(msg.time)) + " " + std::string(level.data(), level.size());
    if (!t_event_id.empty()) line += " [" + t_event_id + "]";
    line += " ";
    line += ScrubSecrets(std::string_view(msg.payload.data(), msg.payload.size()));
    line += "\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<TextFormatter>();
  }
};

}  // namespace

std::unique_ptr<spdlog::formatter> MakeLogFormatter(const std::string& format) {
  if (format == "json") return std::make_unique<JsonFormatter>();
  return std::make_unique<TextFormatter>();
}

void InitLogging(const std::string& format, const std::string& level) {
  auto logger = spdlog::stderr_logger_mt("fleetkeeper");
  logger->set_formatter(MakeLogFormatter(format));
  logger->set_level(level.empty() ? spdlog::level::info : spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

LogEventScope::LogEventScope(const std::string& event_id) : previous_(t_event_id) {
  t_event_id = event_id;
}

LogEventScope::~LogEventScope() { t_event_id = previous_; }

const std::string& CurrentLogEventId() { return t_event_id; }

LogWorkflowScope::LogWorkflowScope(const std::string& event_id, LogWorkflow workflow)
    : event_(event_id), previous_(std::move(t_workflow)) {
  t_workflow = std::move(workflow);
}

LogWorkflowScope::~LogWorkflowScope() { t_workflow = std::move(previous_); }

void LogWorkflowScope::SetStep(const std::string& step) { t_workflow.step = step; }

}  // namespace fleetkeeper
