#include "handlers/engine/guards.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <iterator>
#include <set>
#include <string_view>

#include "awsclient/clients.h"
#include "awsclient/cloudwatch.h"
#include "awsclient/pagination.h"
#include "common/clock.h"
#include "common/duration.h"
#include "common/glob.h"
#include "fleetkeeper/v1/safety_guards.pb.h"
#include "handlers/engine/blackout.h"

namespace fleetkeeper::handlers {

namespace {
constexpr int64_t kDefaultGuardPollMs = 60 * 1000;
// DescribeAlarms pages read per cell and poll: a cell with more matching alarms than this is
// read in part, and says so in the log.
constexpr int kMaxAlarmPages = 20;

bool EndsWith(const std::string& text, const std::string& tail) {
  return text.size() >= tail.size() &&
         text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

const std::string* Dimension(const v1::AlarmStateChange& alarm, const char* name) {
  auto it = alarm.dimensions().find(name);
  return it == alarm.dimensions().end() ? nullptr : &it->second;
}

// The literal start of a glob: what DescribeAlarms can filter by (AlarmNamePrefix).
std::string LiteralPrefix(const std::string& pattern) {
  return pattern.substr(0, pattern.find_first_of("*?"));
}

bool IsGlob(const std::string& pattern) { return pattern.find_first_of("*?") != std::string::npos; }

// The workflow handlers, and those whose workflows can roll back what they changed, per instance.
constexpr std::string_view kHandlerNames[] = {"ami_rollout", "patch", "self_healing", "ecs"};
}  // namespace

void ApplyAlarmGuardDefaults(v1::SafetyConfig& safety) {
  if (safety.on_guard_alarm().empty()) safety.set_on_guard_alarm("pause");
  if (!safety.has_guard_poll_interval()) {
    *safety.mutable_guard_poll_interval() = DurationOfMs(kDefaultGuardPollMs);
  }
  for (auto& guard : *safety.mutable_guards()) {
    if (guard.scope().empty()) guard.set_scope("any");
  }
}

void ValidateAlarmGuards(const v1::SafetyConfig& safety, ConfigChecker& check) {
  for (int i = 0; i < safety.guards_size(); ++i) {
    const v1::AlarmGuard& g = safety.guards(i);
    const std::string path = IndexPath("safety.guards", static_cast<size_t>(i));
    if (!g.tag().empty() && !g.alarm_name().empty()) {
      check.Fail(ChildPath(path, "tag"),
                 "a guard names its alarms either with alarm_name or with a tag on the group, "
                 "not both");
    } else if (!g.tag().empty()) {
      if (IsBlank(g.tag()) || g.tag().size() > 128) {
        check.Fail(ChildPath(path, "tag"), "a tag key of 1 to 128 characters");
      }
      if (!g.resources().empty()) {
        check.Fail(ChildPath(path, "resources"),
                   "a tag guard guards the group that carries the tag; resources are for "
                   "alarm_name guards");
      }
    } else if (IsBlank(g.alarm_name())) {
      check.Fail(ChildPath(path, "alarm_name"),
                 "a guard names its alarm (a name or a glob), or a tag on the group listing them");
    }
    check.OneOfValues(ChildPath(path, "scope"), g.scope(),
                      {"any", "asg", "target_group", "instance", "ecs_service"});
    check.NonEmptyNames(ChildPath(path, "resources"), g.resources());
  }
  check.OneOfValues("safety.on_guard_alarm", safety.on_guard_alarm(), {"pause", "rollback"});
  for (const auto& [handler, action] : safety.on_guard_alarm_per_handler()) {
    const std::string path = KeyPath("safety.on_guard_alarm_per_handler", handler);
    check.OneOfValues(path, action, {"pause", "rollback"});
    const bool known = std::find(std::begin(kHandlerNames), std::end(kHandlerNames), handler) !=
                       std::end(kHandlerNames);
    if (!known) {
      check.Fail(path, fmt::format("no handler is named {}; handlers: {}", handler,
                                   fmt::join(kHandlerNames, ", ")));
    } else if (action == "rollback" && !CanRollBackOnGuardAlarm(handler)) {
      check.Fail(path, fmt::format("{} has no rollback on a guard alarm (only {}); use pause",
                                   handler, fmt::join(kGuardRollbackHandlers, ", ")));
    }
  }
  if (DurationMs(safety.guard_poll_interval()) < 0) {
    check.Fail("safety.guard_poll_interval", "must not be negative (0s: alarm events only)");
  }
}

const v1::AlarmGuard* GuardFor(const v1::SafetyConfig& safety, const std::string& alarm_name) {
  for (const auto& g : safety.guards()) {
    if (!g.alarm_name().empty() && GlobMatch(g.alarm_name(), alarm_name)) return &g;
  }
  return nullptr;
}

bool AlarmWatches(const v1::AlarmGuard& guard, const v1::AlarmStateChange& alarm,
                  const std::string& lock) {
  for (const auto& pattern : guard.resources()) {
    if (GlobMatch(pattern, lock)) return true;
  }
  const std::string& scope = guard.scope();
  const bool any = scope.empty() || scope == "any";
  if (any || scope == "asg") {
    const std::string* asg = Dimension(alarm, "AutoScalingGroupName");
    if (asg != nullptr && lock == "asg:" + *asg) return true;
  }
  if (any || scope == "instance") {
    const std::string* id = Dimension(alarm, "InstanceId");
    if (id != nullptr && lock == "instance:" + *id) return true;
  }
  if (any || scope == "target_group") {
    // The dimension is the ARN's last part, "targetgroup/<name>/<id>".
    const std::string* tg = Dimension(alarm, "TargetGroup");
    if (tg != nullptr && !tg->empty() && lock.rfind("tg:", 0) == 0 && EndsWith(lock, ":" + *tg)) {
      return true;
    }
  }
  if (any || scope == "ecs_service") {
    const std::string* cluster = Dimension(alarm, "ClusterName");
    const std::string* service = Dimension(alarm, "ServiceName");
    if (cluster != nullptr && service != nullptr && lock == "ecs:" + *cluster + "/" + *service) {
      return true;
    }
  }
  return false;
}

v1::AlarmStateChange AlarmStateOf(const aws::MetricAlarm& alarm) {
  v1::AlarmStateChange out;
  out.set_alarm_name(alarm.name);
  out.set_alarm_arn(alarm.arn);
  out.set_state(alarm.state_value);
  out.set_reason(alarm.state_reason);
  if (alarm.state_updated_ms > 0) out.set_state_time(FormatRfc3339(alarm.state_updated_ms));
  out.set_namespace_(alarm.metric_namespace);
  out.set_metric_name(alarm.metric_name);
  for (const auto& d : alarm.dimensions) (*out.mutable_dimensions())[d.name] = d.value;
  return out;
}

bool ObserveGuardAlarm(const v1::SafetyConfig& safety, const v1::AlarmStateChange& alarm,
                       CellStore& store) {
  if (alarm.alarm_name().empty()) return false;
  // A tag on some group may name any alarm: with tag guards every alarm that fires is kept.
  if (GuardFor(safety, alarm.alarm_name()) == nullptr && GuardTagKeys(safety).empty()) {
    return false;
  }
  v1::GuardAlarmStates states;
  if (const auto* any = store.Get(kGuardAlarmsKey)) any->UnpackTo(&states);
  auto it = states.alarms().find(alarm.alarm_name());
  if (it != states.alarms().end()) {
    const v1::AlarmStateChange& known = it->second;
    const int64_t known_ms = ParseRfc3339Ms(known.state_time());
    const int64_t new_ms = ParseRfc3339Ms(alarm.state_time());
    // An older report (a late event, a read that crossed a newer event) changes nothing.
    if (known_ms >= 0 && new_ms >= 0 && new_ms < known_ms) return false;
    if (known.state() == alarm.state() && known.dimensions_size() >= alarm.dimensions_size()) {
      return false;
    }
  } else if (alarm.state() != "ALARM") {
    return false;  // an alarm that never fired here needs no record
  }
  v1::AlarmStateChange kept = alarm;
  // What matching needs; the rest (the reason text) only makes the record larger.
  kept.clear_reason();
  kept.clear_previous_state();
  if (it != states.alarms().end() && kept.dimensions().empty()) {
    *kept.mutable_dimensions() = it->second.dimensions();
  }
  (*states.mutable_alarms())[alarm.alarm_name()] = std::move(kept);
  store.Put(kGuardAlarmsKey, states);
  spdlog::info("guard alarm {} is {} (since {})", alarm.alarm_name(), alarm.state(),
               alarm.state_time().empty() ? "unknown" : alarm.state_time());
  return true;
}

std::string GuardAlarmFiring(const v1::SafetyConfig& safety, const v1::WorkflowCheckpoint& wf,
                             const std::vector<std::string>& locks, const CellStore& store) {
  if (safety.guards_size() == 0) return "";
  const auto* any = store.Get(kGuardAlarmsKey);
  v1::GuardAlarmStates states;
  if (any == nullptr || !any->UnpackTo(&states)) return "";
  for (const auto& [name, alarm] : states.alarms()) {
    if (alarm.state() != "ALARM") continue;
    // Self-healing acts on what its own alarm reports; that alarm must not stop it.
    if (wf.trigger().has_alarm() && wf.trigger().alarm().alarm_name() == name) continue;
    const std::string since = alarm.state_time().empty() ? "unknown" : alarm.state_time();
    if (const v1::AlarmGuard* guard = GuardFor(safety, name)) {
      for (const auto& lock : locks) {
        if (AlarmWatches(*guard, alarm, lock)) {
          return fmt::format("alarm {} (in ALARM since {}, guarding {})", name, since, lock);
        }
      }
    }
    if (std::string lock = TaggedGuardOf(safety, wf, locks, name); !lock.empty()) {
      return fmt::format("alarm {} (in ALARM since {}, guarding {})", name, since, lock);
    }
  }
  return "";
}

std::string TaggedGuardOf(const v1::SafetyConfig& safety, const v1::WorkflowCheckpoint& wf,
                          const std::vector<std::string>& locks, const std::string& alarm_name) {
  if (wf.tagged_guards().empty()) return "";
  const std::vector<std::string> keys = GuardTagKeys(safety);
  for (const auto& tagged : wf.tagged_guards()) {
    // A tag no guard names any more (the config changed) guards nothing.
    if (std::find(keys.begin(), keys.end(), tagged.tag()) == keys.end()) continue;
    if (std::find(locks.begin(), locks.end(), tagged.lock()) == locks.end()) continue;
    for (const auto& pattern : tagged.alarms()) {
      if (GlobMatch(pattern, alarm_name)) {
        return fmt::format("{}, named by its tag {}", tagged.lock(), tagged.tag());
      }
    }
  }
  return "";
}

std::string AlarmHold(const v1::SafetyConfig& safety, const v1::WorkflowCheckpoint& wf,
                      const std::vector<std::string>& locks, const CellStore& store) {
  std::string alarm = GuardAlarmFiring(safety, wf, locks, store);
  return alarm.empty() ? "" : "paused by " + alarm;
}

// --- DescribeAlarms fallback -------------------------------------------------------------------

GuardAlarmPoller::GuardAlarmPoller(const v1::WorkerConfig& config, aws::ClientProvider* clients,
                                   Executor& executor)
    : config_(config),
      clients_(clients),
      executor_(executor),
      interval_ms_(DurationMs(config.safety().guard_poll_interval())) {}

int64_t GuardAlarmPoller::Poll(int32_t partition, uint64_t generation, const std::string& account,
                               const std::string& region, int64_t now_ms,
                               const std::function<void()>& notify) {
  constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
  const auto& safety = config_.safety();
  if (clients_ == nullptr || interval_ms_ <= 0 || safety.guards_size() == 0) return kNever;
  const std::string cell = account + "/" + region;
  int64_t& next = next_read_ms_[cell];
  if (now_ms < next) return next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (reading_[cell]) return now_ms + interval_ms_;
    reading_[cell] = true;
  }
  next = now_ms + interval_ms_;
  std::string role;
  auto acct = config_.aws().accounts().find(account);
  if (acct != config_.aws().accounts().end()) role = acct->second.role_arn();
  // What to ask for: the exact names in one list, each glob by its literal prefix; a glob with
  // no prefix lists every alarm of the cell.
  std::vector<std::string> names;
  std::set<std::string> prefixes;
  // Alarms a tag names are known only from the groups: every alarm of the cell is read.
  bool all = !GuardTagKeys(safety).empty();
  for (const auto& g : safety.guards()) {
    if (g.alarm_name().empty()) continue;
    if (!IsGlob(g.alarm_name())) {
      names.push_back(g.alarm_name());
    } else if (std::string p = LiteralPrefix(g.alarm_name()); p.empty()) {
      all = true;
    } else {
      prefixes.insert(p);
    }
  }
  executor_.Submit(
      [this, partition, generation, account, region, role, cell, names, prefixes, all, notify]() {
        Answer answer{partition, generation, cell, {}};
        auto read = [&](aws::DescribeAlarmsRequest request) {
          auto clients = clients_->For(account, region, role);
          if (!clients.ok()) {
            spdlog::warn("guard alarms of {}: {}", cell, clients.error().ToString());
            return;
          }
          auto& cloudwatch = *(*clients)->cloudwatch;
          const Status paged = aws::ForEachPage(
              std::move(request), [&](const auto& r) { return cloudwatch.DescribeAlarms(r); },
              [&](const aws::DescribeAlarmsResponse& page) -> Status {
                for (const auto& a : page.metric_alarms) answer.alarms.push_back(AlarmStateOf(a));
                for (const auto& c : page.composite_alarms) {
                  v1::AlarmStateChange s;
                  s.set_alarm_name(c.name);
                  s.set_alarm_arn(c.arn);
                  s.set_state(c.state_value);
                  if (c.state_updated_ms > 0) s.set_state_time(FormatRfc3339(c.state_updated_ms));
                  answer.alarms.push_back(std::move(s));
                }
                return Ok{};
              },
              kMaxAlarmPages);
          // The pages read before the error (or the cap) count: the alarms are read in part.
          if (!paged.ok()) {
            spdlog::warn("guard alarms of {}: DescribeAlarms: {}; read in part", cell,
                         paged.error().ToString());
          }
        };
        auto request = [](std::vector<std::string> alarm_names, std::string prefix) {
          aws::DescribeAlarmsRequest r;
          r.alarm_names = std::move(alarm_names);
          r.alarm_name_prefix = std::move(prefix);
          r.alarm_types = {"MetricAlarm", "CompositeAlarm"};
          return r;
        };
        if (all) {
          read(request({}, ""));
        } else {
          // DescribeAlarms takes at most 100 names per call.
          for (size_t i = 0; i < names.size(); i += 100) {
            read(request({names.begin() + i, names.begin() + std::min(names.size(), i + 100)}, ""));
          }
          for (const auto& p : prefixes) read(request({}, p));
        }
        {
          std::lock_guard<std::mutex> lock(mu_);
          reading_[cell] = false;
          answers_.push_back(std::move(answer));
        }
        if (notify) notify();
      });
  return next;
}

void GuardAlarmPoller::Collect(const Apply& apply) {
  std::vector<Answer> answers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    answers.swap(answers_);
  }
  for (const auto& a : answers) {
    for (const auto& alarm : a.alarms) apply(a.partition, a.generation, a.cell, alarm);
  }
}

}  // namespace fleetkeeper::handlers
