// Blackout windows (docs/safety.md, "Blackout windows"): like an SSM Change Calendar, windows
// that open at each occurrence of a cron expression in a time zone and last a fixed duration.
// Inside a window that applies to a workflow (every cell and resource, or the cells and lock
// names the window lists) no mutating step starts; self-healing may be exempt. A held workflow
// waits for the window's end on a timer.
//
// Thread-safety: const methods may be called from any thread; the poll thread calls them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/config_check.h"
#include "common/cron.h"
#include "fleetkeeper/v1/config.pb.h"
#include "fleetkeeper/v1/workflow.pb.h"

namespace fleetkeeper::handlers {

// `safety.blackout` and `safety.exempt_self_healing`: defaults and checks, errors naming the key.
void ApplyBlackoutDefaults(v1::SafetyConfig& safety);
void ValidateBlackout(const v1::SafetyConfig& safety, ConfigChecker& check);

struct BlackoutHold {
  std::string reason;    // "blackout window <name> until <local time> (<cron> <zone>, <duration>)"
  int64_t until_ms = 0;  // when the window closes
};

class BlackoutCalendar {
 public:
  // From a validated config; a window that does not parse (a config that skipped validation) is
  // logged and left out.
  explicit BlackoutCalendar(const v1::SafetyConfig& safety);

  bool empty() const { return windows_.empty(); }

  // The hold of a mutating step of `wf`, changing `locks`, at `now_ms`: the open window that
  // applies and closes last, or nullopt.
  std::optional<BlackoutHold> HoldAt(const v1::WorkflowCheckpoint& wf,
                                     const std::vector<std::string>& locks, int64_t now_ms) const;

 private:
  struct Window {
    std::string name;
    RecurringWindow recurring;
    std::vector<std::string> cells;
    std::vector<std::string> resources;
  };
  bool Applies(const Window& w, const v1::WorkflowCheckpoint& wf,
               const std::vector<std::string>& locks) const;

  std::vector<Window> windows_;
  bool exempt_self_healing_ = false;
};

}  // namespace fleetkeeper::handlers
