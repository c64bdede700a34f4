#include "handlers/engine/blackout.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/duration.h"
#include "common/glob.h"
#include "fleetkeeper/v1/safety_guards.pb.h"

namespace fleetkeeper::handlers {

namespace {
std::string WindowName(const v1::BlackoutWindow& w, int index) {
  return w.name().empty() ? fmt::format("blackout[{}]", index) : w.name();
}

std::string ZoneName(const v1::BlackoutWindow& w) {
  return w.time_zone().empty() ? "UTC" : w.time_zone();
}

bool AnyGlobMatches(const std::vector<std::string>& patterns, const std::string& text) {
  for (const auto& p : patterns) {
    if (GlobMatch(p, text)) return true;
  }
  return false;
}
}  // namespace

void ApplyBlackoutDefaults(v1::SafetyConfig& safety) {
  if (!safety.has_exempt_self_healing()) safety.set_exempt_self_healing(false);
  for (auto& w : *safety.mutable_blackout()) {
    if (w.time_zone().empty()) w.set_time_zone("UTC");
  }
}

void ValidateBlackout(const v1::SafetyConfig& safety, ConfigChecker& check) {
  for (int i = 0; i < safety.blackout_size(); ++i) {
    const v1::BlackoutWindow& w = safety.blackout(i);
    const std::string path = IndexPath("safety.blackout", static_cast<size_t>(i));
    std::string error;
    auto zone = TimeZone::Find(ZoneName(w), &error);
    if (!zone) {
      check.Fail(ChildPath(path, "time_zone"), error);
      zone = TimeZone::Utc();  // still check the expression
    }
    if (IsBlank(w.cron())) {
      check.Fail(ChildPath(path, "cron"),
                 "a window names its cron expression, e.g. \"0 9 * * MON\"");
    } else if (!Schedule::Parse(w.cron(), *zone, &error)) {
      check.Fail(ChildPath(path, "cron"), error);
    }
    if (!w.has_duration()) {
      check.Fail(ChildPath(path, "duration"), "a window has a duration, e.g. 2h");
    } else {
      check.Positive(ChildPath(path, "duration"), w.duration());
    }
    check.NonEmptyNames(ChildPath(path, "cells"), w.cells());
    check.NonEmptyNames(ChildPath(path, "resources"), w.resources());
    for (const auto& [key, value] : w.tags()) {
      // AWS tag limits: keys of 1-128 characters, values of at most 256.
      if (IsBlank(key)) {
        check.Fail(ChildPath(path, "tags"),
                   "a tag key cannot be blank (for any value of a key, give it the value \"\")");
      } else if (key.size() > 128) {
        check.Fail(KeyPath(ChildPath(path, "tags"), key), "a tag key has at most 128 characters");
      } else if (value.size() > 256) {
        check.Fail(KeyPath(ChildPath(path, "tags"), key),
                   "a tag value (or its glob) has at most 256 characters");
      }
    }
  }
}

BlackoutCalendar::BlackoutCalendar(const v1::SafetyConfig& safety)
    : exempt_self_healing_(safety.exempt_self_healing()) {
  for (int i = 0; i < safety.blackout_size(); ++i) {
    const v1::BlackoutWindow& w = safety.blackout(i);
    std::string error;
    auto zone = TimeZone::Find(ZoneName(w), &error);
    std::optional<Schedule> schedule;
    if (zone) schedule = Schedule::Parse(w.cron(), *zone, &error);
    if (!schedule || DurationMs(w.duration()) <= 0) {
      spdlog::error("safety.blackout[{}] left out: {}", i, error.empty() ? "no duration" : error);
      continue;
    }
    windows_.push_back(Window{WindowName(w, i),
                              RecurringWindow(std::move(*schedule), DurationMs(w.duration())),
                              {w.cells().begin(), w.cells().end()},
                              {w.resources().begin(), w.resources().end()},
                              {w.tags().begin(), w.tags().end()}});
  }
}

bool BlackoutCalendar::Applies(const Window& w, const v1::WorkflowCheckpoint& wf,
                               const std::vector<std::string>& locks,
                               const std::vector<std::string>& groups, std::string* why) const {
  if (!w.cells.empty() && !AnyGlobMatches(w.cells, wf.cell())) return false;
  if (w.resources.empty() && w.tags.empty()) return true;
  for (const auto& lock : locks) {
    if (AnyGlobMatches(w.resources, lock)) return true;
  }
  // By tag: the groups' tags as the workflow recorded them, for the groups it changes now.
  for (const auto& tagged : wf.tagged_guards()) {
    if (!tagged.has_value()) continue;
    auto it = w.tags.find(tagged.tag());
    if (it == w.tags.end()) continue;
    if (!it->second.empty() && !GlobMatch(it->second, tagged.value())) continue;
    if (std::find(groups.begin(), groups.end(), tagged.lock()) == groups.end()) continue;
    *why = fmt::format(", for {} tagged {}={}", tagged.lock(), tagged.tag(), tagged.value());
    return true;
  }
  return false;
}

std::optional<BlackoutHold> BlackoutCalendar::HoldAt(const v1::WorkflowCheckpoint& wf,
                                                     const std::vector<std::string>& locks,
                                                     const std::vector<std::string>& groups,
                                                     int64_t now_ms) const {
  // Self-healing workflows are the ones an alarm started.
  if (exempt_self_healing_ && wf.trigger().has_alarm()) return std::nullopt;
  const Window* holding = nullptr;
  int64_t until = 0;
  std::string holding_why;
  for (const auto& w : windows_) {
    std::string why;
    if (!Applies(w, wf, locks, groups, &why)) continue;
    auto closes = w.recurring.OpenUntil(now_ms);
    if (closes && *closes > until) {
      until = *closes;
      holding = &w;
      holding_why = std::move(why);
    }
  }
  if (holding == nullptr) return std::nullopt;
  const Schedule& s = holding->recurring.schedule();
  return BlackoutHold{
      fmt::format("blackout window {} until {} ({} {}, {}){}", holding->name,
                  s.zone().FormatLocal(until), s.expression(), s.zone().name(),
                  FormatDuration(DurationOfMs(holding->recurring.duration_ms())), holding_why),
      until};
}

}  // namespace fleetkeeper::handlers
