#include "handlers/ecs/schedules.h"

#include <fmt/format.h>
#include <fnmatch.h>

#include <cctype>
#include <optional>
#include <set>

#include "common/clock.h"
#include "handlers/ecs/handler.h"
#include "handlers/ecs/intake.h"
#include "handlers/ecs/steps.h"

namespace fleetkeeper::handlers::ecs {
namespace {

constexpr char kPath[] = "handlers.ecs.schedules";

bool IsGlob(const std::string& name) { return name.find_first_of("*?[") != std::string::npos; }

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

std::string ZoneName(const v1::EcsSchedule& s) {
  return s.time_zone().empty() ? "UTC" : s.time_zone();
}

// The entry's cron and cell, or the first thing wrong with it (path, message).
struct Checked {
  std::optional<ScheduleEntry> entry;
  std::string path;
  std::string error;
};

Checked Check(const v1::WorkerConfig& config, int index) {
  const v1::EcsSchedule& s = config.handlers().ecs().schedules(index);
  const std::string at = IndexPath(kPath, static_cast<size_t>(index));
  auto fail = [&](std::string_view key, std::string why) {
    return Checked{std::nullopt, ChildPath(at, key), std::move(why)};
  };
  if (!ValidName(s.name())) {
    return fail("name", s.name().empty() ? "missing: each schedule has a unique name"
                                         : fmt::format("\"{}\" is not a name (letters, digits, "
                                                       "'-', '_', '.'; at most 64)",
                                                       s.name()));
  }
  std::string error;
  std::optional<TimeZone> zone = TimeZone::Find(ZoneName(s), &error);
  if (!zone) return fail("time_zone", error);
  if (s.cron().empty()) return fail("cron", "missing: e.g. \"0 19 * * MON-FRI\"");
  std::optional<Schedule> cron = Schedule::Parse(s.cron(), *zone, &error);
  if (!cron) return fail("cron", error);
  if (s.select().cluster().empty()) return fail("select.cluster", "missing: the cluster");
  for (int i = 0; i < s.select().services_size(); ++i) {
    if (s.select().services(i).empty()) {
      return fail(fmt::format("select.services[{}]", i), "must not be empty");
    }
  }
  const std::string& tag = s.select().tag();
  if (!tag.empty() && (tag.find('=') == std::string::npos || tag.front() == '=')) {
    return fail("select.tag", fmt::format("\"{}\" is not key=value", tag));
  }
  const std::string& type = s.action().type();
  if (type == kScale) {
    if (!s.action().has_to())
      return fail("action.to", "missing: scale needs the count (0 or more)");
    if (s.action().to() < 0) {
      return fail("action.to", fmt::format("must not be negative, got {}", s.action().to()));
    }
  } else if (type == kRestore) {
    if (s.action().has_to()) return fail("action.to", "not used by restore");
  } else {
    return fail("action.type",
                fmt::format("{}; expected scale | restore",
                            type.empty() ? "missing" : fmt::format("unknown \"{}\"", type)));
  }
  // The cell: the worker's default account and region.
  ScheduleEntry e{s, *cron, config.aws().default_account(), config.aws().region()};
  if (e.account.empty()) {
    return fail("name", "a schedule acts in aws.default_account, which is not set");
  }
  if (e.region.empty()) return fail("name", "a schedule acts in aws.region, which is not set");
  return Checked{std::move(e), "", ""};
}

}  // namespace

void ValidateSchedules(const v1::WorkerConfig& config, ConfigChecker& check) {
  std::set<std::string> names;
  const auto& list = config.handlers().ecs().schedules();
  for (int i = 0; i < list.size(); ++i) {
    Checked c = Check(config, i);
    if (!c.entry) {
      check.Fail(c.path, c.error);
      continue;
    }
    if (!names.insert(list[i].name()).second) {
      check.Fail(ChildPath(IndexPath(kPath, static_cast<size_t>(i)), "name"),
                 fmt::format("\"{}\" is the name of an earlier schedule", list[i].name()));
    }
  }
}

std::vector<ScheduleEntry> ReadSchedules(const v1::WorkerConfig& config) {
  std::vector<ScheduleEntry> out;
  for (int i = 0; i < config.handlers().ecs().schedules_size(); ++i) {
    Checked c = Check(config, i);
    if (c.entry) out.push_back(std::move(*c.entry));
  }
  return out;
}

v1::WorkflowCheckpoint OccurrenceWorkflow(const ScheduleEntry& e, int64_t occurrence_ms,
                                          const v1::EcsConfig& ecs) {
  const v1::EcsSchedule& s = e.config;
  const std::string when = FormatRfc3339(occurrence_ms);
  v1::Event event;
  event.set_id(fmt::format("ecs-schedule:{}@{}", s.name(), when));
  event.set_dedup_key(event.id());
  event.set_source_format("schedule");
  event.set_account(e.account);
  event.set_region(e.region);
  event.set_time(when);
  event.set_origin("handlers.ecs.schedules " + s.name());
  v1::EcsCommand& c = *event.mutable_ecs_command();
  c.set_request_id(event.id());
  c.set_requested_by("schedule " + s.name());
  c.set_account(e.account);
  c.set_region(e.region);
  c.set_action(s.action().type());
  c.set_cluster(s.select().cluster());
  if (s.action().type() == kScale) c.set_desired_count(s.action().to());
  c.set_reason(fmt::format("schedule {} ({}, {}) at {}", s.name(), s.cron(), ZoneName(s),
                           e.cron.zone().FormatLocal(occurrence_ms)));
  // Plain names are named; globs and tags select from every service of the cluster at discover.
  bool every = !s.select().tag().empty() || s.select().services().empty();
  for (const auto& name : s.select().services()) every = every || IsGlob(name);
  if (every) {
    c.add_services(std::string(kAllServices));
  } else {
    for (const auto& name : s.select().services()) c.add_services(name);
  }
  auto state = ReadCommand(c, ecs);
  v1::EcsWorkflowState st = state.ok() ? std::move(*state) : v1::EcsWorkflowState();
  st.set_schedule(s.name());
  st.set_occurrence_ms(occurrence_ms);
  if (every) {
    for (const auto& name : s.select().services()) {
      if (name != kAllServices) st.add_select_globs(name);
    }
  }
  st.set_select_tag(s.select().tag());
  st.set_grace_ms(kScheduleGraceMs);
  v1::WorkflowCheckpoint cp =
      NewWorkflow(event, kWorkflowKind, kHandlerName, kStepDiscover, st, occurrence_ms);
  cp.set_due_at_ms(occurrence_ms);
  return cp;
}

bool NameSelected(const v1::EcsWorkflowState& state, const std::string& service) {
  if (state.select_globs().empty()) return true;
  for (const auto& glob : state.select_globs()) {
    if (fnmatch(glob.c_str(), service.c_str(), 0) == 0) return true;
  }
  return false;
}

bool TagSelected(const v1::EcsWorkflowState& state,
                 const std::map<std::string, std::string>& tags) {
  const std::string& tag = state.select_tag();
  if (tag.empty()) return true;
  const size_t eq = tag.find('=');
  auto it = tags.find(tag.substr(0, eq));
  return it != tags.end() && it->second == tag.substr(eq + 1);
}

}  // namespace fleetkeeper::handlers::ecs
