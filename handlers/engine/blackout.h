// Blackout windows (docs/safety.md, "Blackout windows"): like an SSM Change Calendar, windows
// that open at each occurrence of a cron expression in a time zone and last a fixed duration.
// Inside a window that applies to a workflow (every cell and resource, or the cells, lock names
// and group tags the window lists) no mutating step starts; self-healing may be exempt. A held
// workflow waits for the window's end on a timer. A window by tag matches the tags the workflow
// recorded of its groups (`tagged_guards`, handlers/group_guards.h).
//
// Thread-safety: const methods may be called from any thread; the poll thread calls them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/config_check.h"
#include "common/cron.h"
#include "fleetkeeper/v1/config.pb.h"
#include "fleetkeeper/v1/workflow.pb.h"
#include "handlers/safety_config.h"

namespace fleetkeeper::handlers {

// `safety.blackout` and `safety.exempt_self_healing`: defaults and checks, errors naming the key.
void ApplyBlackoutDefaults(v1::SafetyConfig& safety);
void ValidateBlackout(const v1::SafetyConfig& safety, ConfigChecker& check);

struct BlackoutHold {
  // "blackout window <name> until <local time> (<cron> <zone>, <duration>)", and for a window by
  // tag ", for <lock> tagged <key>=<value>"
  std::string reason;
  int64_t until_ms = 0;  // when the window closes
};

class BlackoutCalendar {
 public:
  // From a validated config; a window that does not parse (a config that skipped validation) is
  // logged and left out.
  explicit BlackoutCalendar(const v1::SafetyConfig& safety);

  bool empty() const { return windows_.empty(); }

  // The hold of a mutating step of `wf`, changing `locks`, at `now_ms`: the open window that
  // applies and closes last, or nullopt. Windows by `resources` match `locks`; windows by tag
  // read `wf.tagged_guards` for the groups of `groups` (the ones the workflow takes capacity out
  // of: its PausingResources, which a patch or self-healing workflow does not lock), by default
  // `locks`.
  std::optional<BlackoutHold> HoldAt(const v1::WorkflowCheckpoint& wf,
                                     const std::vector<std::string>& locks, int64_t now_ms) const {
    return HoldAt(wf, locks, locks, now_ms);
  }
  std::optional<BlackoutHold> HoldAt(const v1::WorkflowCheckpoint& wf,
                                     const std::vector<std::string>& locks,
                                     const std::vector<std::string>& groups, int64_t now_ms) const;

 private:
  struct Window {
    std::string name;
    RecurringWindow recurring;
    std::vector<std::string> cells;
    std::vector<std::string> resources;
    std::map<std::string, std::string> tags;  // key -> value glob, "" any value
  };
  // Whether `w` holds `wf`; `*why` then says, for a window by tag, which group's tag it matched.
  bool Applies(const Window& w, const v1::WorkflowCheckpoint& wf,
               const std::vector<std::string>& locks, const std::vector<std::string>& groups,
               std::string* why) const;

  std::vector<Window> windows_;
  bool exempt_self_healing_ = false;
};

}  // namespace fleetkeeper::handlers
