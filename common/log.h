// Logging set-up: text or JSON lines (one object per line), and the id of the event being handled
// on this thread, which every line carries.
#pragma once

#include <memory>
#include <string>

#include <spdlog/formatter.h>

namespace fleetkeeper {

// format: "text" | "json"; level: trace | debug | info | warn | error. Logs go to stderr.
void InitLogging(const std::string& format, const std::string& level);

// The formatter InitLogging installs for `format`: a line per message, with the event id of the
// thread, and every registered secret (common/secrets.h) replaced by "<redacted>".
std::unique_ptr<spdlog::formatter> MakeLogFormatter(const std::string& format);

// While alive, log lines from this thread carry `event_id`.
class LogEventScope {
 public:
  explicit LogEventScope(const std::string& event_id);
  ~LogEventScope();
  LogEventScope(const LogEventScope&) = delete;
  LogEventScope& operator=(const LogEventScope&) = delete;

 private:
  std::string previous_;
};

const std::string& CurrentLogEventId();

// What a log line knows of the workflow it is about. JSON lines carry each non-empty field under
// its name (workflow_id, cell, handler, step); text lines carry none of them.
struct LogWorkflow {
  std::string workflow_id;
  std::string cell;
  std::string handler;
  std::string step;
};

// While alive, log lines from this thread carry `event_id` (the workflow's trigger) and the
// workflow's fields.
class LogWorkflowScope {
 public:
  LogWorkflowScope(const std::string& event_id, LogWorkflow workflow);
  ~LogWorkflowScope();
  LogWorkflowScope(const LogWorkflowScope&) = delete;
  LogWorkflowScope& operator=(const LogWorkflowScope&) = delete;
  // The step changed (the line about the change names the new one).
  void SetStep(const std::string& step);

 private:
  LogEventScope event_;
  LogWorkflow previous_;
};

}  // namespace fleetkeeper
