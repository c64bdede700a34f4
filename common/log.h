// Logging set-up: text or JSON lines (one object per line), and the id of the event being handled
// on this thread, which every line carries.
#pragma once

#include <string>

namespace fleetkeeper {

// format: "text" | "json"; level: trace | debug | info | warn | error. Logs go to stderr.
void InitLogging(const std::string& format, const std::string& level);

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

}  // namespace fleetkeeper
