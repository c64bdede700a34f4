#include "handlers/patch/config.h"

#include <fmt/format.h>

#include <charconv>

#include "handlers/handler.h"
#include "handlers/patch/window.h"

namespace fleetkeeper::handlers::patch {
namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;

google::protobuf::Duration DurationOf(int64_t ms) {
  google::protobuf::Duration d;
  d.set_seconds(ms / 1000);
  d.set_nanos(static_cast<int32_t>((ms % 1000) * 1'000'000));
  return d;
}

void DefaultDuration(google::protobuf::Duration* d, bool has, int64_t ms) {
  if (!has) *d = DurationOf(ms);
}

bool ParseInt(std::string_view text, int64_t* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

int64_t Share::Of(int64_t total) const {
  if (!percent) return value;
  const int64_t n = total * value / 100;
  return n < 1 ? 1 : n;
}

Result<Share> ParseShare(const std::string& text, int64_t min_count) {
  Share s;
  std::string_view v(text);
  if (!v.empty() && v.back() == '%') {
    s.percent = true;
    v.remove_suffix(1);
  }
  if (!ParseInt(v, &s.value)) {
    return InvalidInput(
        fmt::format("{} is neither a count nor a percentage (\"10%\" or \"5\")", Quoted(text)));
  }
  if (s.percent && (s.value < 1 || s.value > 100)) {
    return InvalidInput(fmt::format("{} is not a percentage from 1% to 100%", Quoted(text)));
  }
  if (!s.percent && s.value < min_count) {
    return InvalidInput(fmt::format("{} is below {}", Quoted(text), min_count));
  }
  return s;
}

Result<int64_t> ParseDurationMs(const std::string& text) {
  static const std::pair<std::string_view, int64_t> kUnits[] = {
      {"ms", 1}, {"s", kSecond}, {"m", kMinute}, {"h", kHour}};
  for (const auto& [unit, scale] : kUnits) {
    if (text.size() <= unit.size() || text.compare(text.size() - unit.size(), unit.size(), unit)) {
      continue;
    }
    int64_t n = 0;
    if (!ParseInt(std::string_view(text).substr(0, text.size() - unit.size()), &n) || n < 0) {
      continue;
    }
    return n * scale;
  }
  return InvalidInput(
      fmt::format("{} is not a duration (\"5s\", \"250ms\", \"2m\")", Quoted(text)));
}

std::vector<std::string> ValidateRequest(const v1::PatchRequest& r) {
  std::vector<std::string> out;
  auto fail = [&](std::string field, std::string why) {
    out.push_back(fmt::format("{}: {}", field, why));
  };
  if (r.request_id().empty()) fail("request_id", "required");
  if (r.requested_by().empty()) {
    fail("requested_by", "required (approvals must come from someone else)");
  }
  if (!r.account().empty() && !IsAccountId(r.account())) {
    fail("account", Quoted(r.account()) + " is not a 12-digit account id");
  }
  if (!r.region().empty() && !IsRegion(r.region())) {
    fail("region", Quoted(r.region()) + " is not a region");
  }
  if (r.targets().empty()) {
    fail("targets", "at least one target (instance ids, tags or landing zone)");
  }
  for (int i = 0; i < r.targets_size(); ++i) {
    const auto& t = r.targets(i);
    const std::string at = fmt::format("targets[{}]", i);
    if (t.instance_ids().empty() && t.tags().empty() && t.landing_zone().empty()) {
      fail(at, "names no instance_ids, tags or landing_zone");
    }
    for (int j = 0; j < t.instance_ids_size(); ++j) {
      if (!IsInstanceId(t.instance_ids(j))) {
        fail(fmt::format("{}.instance_ids[{}]", at, j),
             Quoted(t.instance_ids(j)) + " is not an instance id");
      }
    }
    for (const auto& [key, value] : t.tags()) {
      if (key.empty()) fail(at + ".tags", "a tag key is empty");
      if (key == "Environment" && !t.landing_zone().empty() && value != t.landing_zone()) {
        fail(at + ".tags", "tag Environment contradicts landing_zone " + Quoted(t.landing_zone()));
      }
    }
    if (!t.account().empty() && !IsAccountId(t.account())) {
      fail(at + ".account", Quoted(t.account()) + " is not a 12-digit account id");
    }
    if (!t.region().empty() && !IsRegion(t.region())) {
      fail(at + ".region", Quoted(t.region()) + " is not a region");
    }
  }
  if (!r.max_concurrency().empty()) {
    if (auto s = ParseShare(r.max_concurrency(), 1); !s.ok()) {
      fail("max_concurrency", s.error().message);
    }
  }
  if (!r.max_errors().empty()) {
    if (auto s = ParseShare(r.max_errors(), 0); !s.ok()) fail("max_errors", s.error().message);
  }
  if (!r.operation().empty() && r.operation() != "Install" && r.operation() != "Scan") {
    fail("operation", Quoted(r.operation()) + " is not Install or Scan");
  }
  if (!r.reboot_option().empty() && r.reboot_option() != "RebootIfNeeded" &&
      r.reboot_option() != "NoReboot") {
    fail("reboot_option", Quoted(r.reboot_option()) + " is not RebootIfNeeded or NoReboot");
  }
  if (!r.rollback_policy().empty() && r.rollback_policy() != "none" &&
      r.rollback_policy() != "instance" && r.rollback_policy() != "abort") {
    fail("rollback_policy", Quoted(r.rollback_policy()) + " is not none, instance or abort");
  }
  if (!r.notify_topic_arn().empty() && !IsSnsTopicArn(r.notify_topic_arn())) {
    fail("notify_topic_arn", Quoted(r.notify_topic_arn()) + " is not an SNS topic ARN");
  }
  if (!r.role_arn().empty() && !IsRoleArn(r.role_arn())) {
    fail("role_arn", Quoted(r.role_arn()) + " is not an IAM role ARN");
  }
  if (r.has_health_check()) {
    const auto& h = r.health_check();
    if (h.url().rfind("http://", 0) != 0 && h.url().rfind("https://", 0) != 0) {
      fail("health_check.url", Quoted(h.url()) + " is not an http(s) URL");
    }
    if (h.has_expect_status() && (h.expect_status() < 100 || h.expect_status() > 599)) {
      fail("health_check.expect_status",
           fmt::format("{} is not an HTTP status", h.expect_status()));
    }
    if (!h.timeout().empty()) {
      if (auto d = ParseDurationMs(h.timeout()); !d.ok()) {
        fail("health_check.timeout", d.error().message);
      } else if (*d <= 0 || *d > 60'000) {
        fail("health_check.timeout", "must be above 0 and at most 60s");
      }
    }
    if (h.has_retries() && (h.retries() < 0 || h.retries() > 20)) {
      fail("health_check.retries", fmt::format("{} is not from 0 to 20", h.retries()));
    }
  }
  if (r.has_maintenance_window()) {
    if (auto w = ParseWindow(r.maintenance_window()); !w.ok()) out.push_back(w.error().message);
  }
  return out;
}

Result<PatchPlan> ResolvePlan(const v1::PatchRequest& r, const v1::PatchConfig& config) {
  const auto problems = ValidateRequest(r);
  if (!problems.empty()) return InvalidInput(problems.front());
  const auto& d = config.defaults();
  PatchPlan p;
  auto share = [](const std::string& own, const std::string& fallback, int64_t min) {
    return ParseShare(own.empty() ? fallback : own, min);
  };
  auto mc = share(r.max_concurrency(), d.max_concurrency(), 1);
  if (!mc.ok()) {
    return InvalidInput("handlers.patch.defaults.max_concurrency: " + mc.error().message);
  }
  auto me = share(r.max_errors(), d.max_errors(), 0);
  if (!me.ok()) return InvalidInput("handlers.patch.defaults.max_errors: " + me.error().message);
  auto mu = ParseShare(d.max_unavailable(), 1);
  if (!mu.ok()) {
    return InvalidInput("handlers.patch.defaults.max_unavailable: " + mu.error().message);
  }
  p.max_concurrency = *mc;
  p.max_errors = *me;
  p.max_unavailable = *mu;
  p.backup_ami = r.has_backup_ami() ? r.backup_ami() : (!d.has_backup_ami() || d.backup_ami());
  p.rollback_policy = r.rollback_policy().empty() ? d.rollback_policy() : r.rollback_policy();
  p.operation = r.operation().empty() ? "Install" : r.operation();
  p.reboot_option = r.reboot_option().empty() ? "RebootIfNeeded" : r.reboot_option();
  p.start_stopped = r.start_stopped();
  p.approval_required = r.approval_required();
  p.command_timeout_ms = DurationMs(d.command_timeout());
  p.status_ok_timeout_ms = DurationMs(d.status_ok_timeout());
  p.approval_timeout_ms = DurationMs(d.approval_timeout());
  p.backup_timeout_ms = DurationMs(d.backup_timeout());
  p.drain_timeout_ms = DurationMs(d.drain_timeout());
  p.poll_interval_ms = DurationMs(d.poll_interval());
  if (r.has_health_check()) {
    const auto& h = r.health_check();
    if (!h.timeout().empty()) p.health_timeout_ms = *ParseDurationMs(h.timeout());
    if (h.has_expect_status()) p.health_expect_status = h.expect_status();
    if (h.has_retries()) p.health_retries = h.retries();
  }
  p.metrics_namespace = config.metrics().namespace_();
  p.parallel_instances = config.has_parallel_instances() ? config.parallel_instances() : 1;
  return p;
}

void ApplyPatchDefaults(v1::PatchConfig& c) {
  auto* d = c.mutable_defaults();
  if (d->max_concurrency().empty()) d->set_max_concurrency("10%");
  if (d->max_errors().empty()) d->set_max_errors("1");
  if (!d->has_backup_ami()) d->set_backup_ami(true);
  if (d->rollback_policy().empty()) d->set_rollback_policy("instance");
  DefaultDuration(d->mutable_command_timeout(), d->has_command_timeout(), 2 * kHour);
  DefaultDuration(d->mutable_status_ok_timeout(), d->has_status_ok_timeout(), 20 * kMinute);
  DefaultDuration(d->mutable_approval_timeout(), d->has_approval_timeout(), 4 * kHour);
  DefaultDuration(d->mutable_backup_timeout(), d->has_backup_timeout(), kHour);
  DefaultDuration(d->mutable_drain_timeout(), d->has_drain_timeout(), 10 * kMinute);
  DefaultDuration(d->mutable_poll_interval(), d->has_poll_interval(), 15 * kSecond);
  if (d->max_unavailable().empty()) d->set_max_unavailable("1");
  if (c.metrics().namespace_().empty()) c.mutable_metrics()->set_namespace_("FleetKeeper/Patch");
  if (!c.has_parallel_instances()) c.set_parallel_instances(16);
}

void ValidatePatchConfig(const v1::PatchConfig& c, ConfigChecker& check) {
  const std::string base = "handlers.patch.defaults";
  const auto& d = c.defaults();
  auto share = [&](const char* key, const std::string& v, int64_t min) {
    if (auto s = ParseShare(v, min); !s.ok()) check.Fail(ChildPath(base, key), s.error().message);
  };
  share("max_concurrency", d.max_concurrency(), 1);
  share("max_errors", d.max_errors(), 0);
  share("max_unavailable", d.max_unavailable(), 1);
  check.OneOfValues(ChildPath(base, "rollback_policy"), d.rollback_policy(),
                    {"none", "instance", "abort"});
  check.Positive(ChildPath(base, "command_timeout"), d.command_timeout());
  check.Positive(ChildPath(base, "status_ok_timeout"), d.status_ok_timeout());
  check.Positive(ChildPath(base, "approval_timeout"), d.approval_timeout());
  check.Positive(ChildPath(base, "backup_timeout"), d.backup_timeout());
  check.Positive(ChildPath(base, "drain_timeout"), d.drain_timeout());
  check.Positive(ChildPath(base, "poll_interval"), d.poll_interval());
  check.MetricsNamespace("handlers.patch.metrics.namespace", c.metrics().namespace_());
  check.InRange("handlers.patch.parallel_instances", c.parallel_instances(), 1, 64);
}

}  // namespace fleetkeeper::handlers::patch
