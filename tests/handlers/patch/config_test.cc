// Patch request validation, the plan over handlers.patch defaults, the maintenance window, and
// the factory's config checks.
#include "handlers/patch/config.h"

#include <gtest/gtest.h>

#include "handlers/patch/handler.h"
#include "handlers/patch/window.h"

namespace fleetkeeper::handlers::patch {
namespace {

v1::PatchRequest Valid() {
  v1::PatchRequest r;
  r.set_request_id("chg-1");
  r.set_requested_by("alice");
  r.add_targets()->set_landing_zone("prod");
  return r;
}

bool Names(const std::vector<std::string>& problems, const std::string& field) {
  for (const auto& p : problems) {
    if (p.rfind(field + ":", 0) == 0) return true;
  }
  return false;
}

TEST(PatchRequest, AValidRequestHasNoProblem) { EXPECT_TRUE(ValidateRequest(Valid()).empty()); }

TEST(PatchRequest, EveryBadFieldIsNamed) {
  struct Case {
    std::string field;
    std::function<void(v1::PatchRequest&)> spoil;
  };
  const std::vector<Case> cases = {
      {"request_id", [](auto& r) { r.clear_request_id(); }},
      {"requested_by", [](auto& r) { r.clear_requested_by(); }},
      {"targets", [](auto& r) { r.clear_targets(); }},
      {"targets[0]", [](auto& r) { r.mutable_targets(0)->clear_landing_zone(); }},
      {"targets[0].instance_ids[0]",
       [](auto& r) { r.mutable_targets(0)->add_instance_ids("web-1"); }},
      {"targets[0].account", [](auto& r) { r.mutable_targets(0)->set_account("12"); }},
      {"targets[0].region", [](auto& r) { r.mutable_targets(0)->set_region("Mars"); }},
      {"max_concurrency", [](auto& r) { r.set_max_concurrency("ten"); }},
      {"max_concurrency", [](auto& r) { r.set_max_concurrency("0"); }},
      {"max_concurrency", [](auto& r) { r.set_max_concurrency("120%"); }},
      {"max_errors", [](auto& r) { r.set_max_errors("-1"); }},
      {"operation", [](auto& r) { r.set_operation("Upgrade"); }},
      {"reboot_option", [](auto& r) { r.set_reboot_option("Always"); }},
      {"rollback_policy", [](auto& r) { r.set_rollback_policy("pray"); }},
      {"notify_topic_arn", [](auto& r) { r.set_notify_topic_arn("topic"); }},
      {"role_arn", [](auto& r) { r.set_role_arn("arn:aws:iam::1:user/x"); }},
      {"health_check.url", [](auto& r) { r.mutable_health_check()->set_url("ftp://x"); }},
      {"health_check.timeout",
       [](auto& r) {
         r.mutable_health_check()->set_url("http://{private_ip}/");
         r.mutable_health_check()->set_timeout("soon");
       }},
      {"health_check.expect_status",
       [](auto& r) {
         r.mutable_health_check()->set_url("http://{private_ip}/");
         r.mutable_health_check()->set_expect_status(999);
       }},
      {"maintenance_window.start",
       [](auto& r) { r.mutable_maintenance_window()->set_start("25:00"); }},
      {"maintenance_window.end",
       [](auto& r) {
         r.mutable_maintenance_window()->set_start("22:00");
         r.mutable_maintenance_window()->set_end("2am");
       }},
      {"maintenance_window.days[0]",
       [](auto& r) {
         auto* w = r.mutable_maintenance_window();
         w->set_start("22:00");
         w->set_end("02:00");
         w->add_days("Funday");
       }},
      {"maintenance_window.time_zone",
       [](auto& r) {
         auto* w = r.mutable_maintenance_window();
         w->set_start("22:00");
         w->set_end("02:00");
         w->set_time_zone("Mars/Olympus_Mons");
       }},
      {"maintenance_window.time_zone",
       [](auto& r) {
         auto* w = r.mutable_maintenance_window();
         w->set_start("22:00");
         w->set_end("02:00");
         w->set_time_zone("+02:00");  // an offset, not a zone: Etc/GMT-2 is the zone
       }},
  };
  for (const auto& c : cases) {
    v1::PatchRequest r = Valid();
    c.spoil(r);
    const auto problems = ValidateRequest(r);
    EXPECT_TRUE(Names(problems, c.field))
        << c.field << ": " << (problems.empty() ? "no problem" : problems.front());
  }
}

TEST(PatchPlan, RequestOverDefaults) {
  v1::PatchConfig config;
  ApplyPatchDefaults(config);
  v1::PatchRequest r = Valid();
  auto plan = ResolvePlan(r, config);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->max_concurrency.Of(40), 4);  // 10%
  EXPECT_EQ(plan->max_concurrency.Of(5), 1);   // never below one
  EXPECT_EQ(plan->max_errors.Of(40), 1);
  EXPECT_TRUE(plan->backup_ami);
  EXPECT_EQ(plan->rollback_policy, "instance");
  EXPECT_EQ(plan->operation, "Install");
  EXPECT_EQ(plan->reboot_option, "RebootIfNeeded");
  EXPECT_EQ(plan->command_timeout_ms, 2 * 3600 * 1000);
  EXPECT_EQ(plan->status_ok_timeout_ms, 20 * 60 * 1000);
  EXPECT_EQ(plan->metrics_namespace, "FleetKeeper/Patch");
  r.set_max_concurrency("25%");
  r.set_backup_ami(false);
  r.set_operation("Scan");
  plan = ResolvePlan(r, config);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->max_concurrency.Of(20), 5);
  EXPECT_FALSE(plan->backup_ami);
  EXPECT_EQ(plan->operation, "Scan");
}

TEST(PatchConfig, DefaultsKeepWhatTheUserSetAndErrorsNameTheKey) {
  v1::WorkerConfig config;
  config.mutable_handlers()->mutable_patch()->mutable_defaults()->set_max_errors("3");
  config.mutable_handlers()->mutable_patch()->mutable_defaults()->set_rollback_policy("sometimes");
  config.mutable_handlers()->mutable_patch()->mutable_defaults()->set_max_concurrency("0%");
  Factory().ApplyDefaults(config);
  EXPECT_EQ(config.handlers().patch().defaults().max_errors(), "3");
  EXPECT_EQ(config.handlers().patch().metrics().namespace_(), "FleetKeeper/Patch");
  std::vector<ConfigError> errors;
  std::vector<std::string> warnings;
  ConfigChecker check(errors, warnings);
  Factory().Validate(config, check);
  std::set<std::string> paths;
  for (const auto& e : errors) paths.insert(e.path);
  EXPECT_EQ(paths, (std::set<std::string>{"handlers.patch.defaults.max_concurrency",
                                          "handlers.patch.defaults.rollback_policy"}));
}

// 2023-11-14 (a Tuesday) 22:13:20 UTC.
constexpr int64_t kTuesdayEvening = 1'700'000'000'000;
constexpr int64_t kMinute = 60'000;

TEST(MaintenanceWindow, InsideAcrossMidnightAndNextOpening) {
  v1::MaintenanceWindow in;
  in.set_start("23:00");
  in.set_end("02:00");
  in.add_days("Tue");
  auto w = ParseWindow(in);
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_FALSE(InsideWindow(*w, kTuesdayEvening));
  const int64_t opens = NextOpening(*w, kTuesdayEvening);
  EXPECT_EQ(opens - kTuesdayEvening, 46 * kMinute + 40'000);  // 23:00 the same Tuesday
  EXPECT_TRUE(InsideWindow(*w, opens));
  EXPECT_TRUE(InsideWindow(*w, opens + 150 * kMinute));   // 01:30 on Wednesday
  EXPECT_FALSE(InsideWindow(*w, opens + 180 * kMinute));  // 02:00: closed
  // The next one is a week later: only Tuesdays open it.
  EXPECT_EQ(NextOpening(*w, opens + 1), opens + 7 * 24 * 60 * kMinute);
}

TEST(MaintenanceWindow, AnIanaTimeZoneShiftsTheLocalClockAndUtcIsTheDefault) {
  v1::MaintenanceWindow in;
  in.set_start("23:00");
  in.set_end("00:00");
  in.add_days("tue");
  auto utc = ParseWindow(in);
  ASSERT_TRUE(utc.ok()) << utc.error().message;
  EXPECT_FALSE(InsideWindow(*utc, kTuesdayEvening));  // 22:13 UTC
  in.set_time_zone("Europe/Berlin");  // 23:13 local in November (UTC+1), still Tuesday
  auto berlin = ParseWindow(in);
  ASSERT_TRUE(berlin.ok()) << berlin.error().message;
  EXPECT_TRUE(InsideWindow(*berlin, kTuesdayEvening));
  in.set_time_zone("America/New_York");  // 17:13 local: opens at 23:00 local = 04:00 UTC
  auto ny = ParseWindow(in);
  ASSERT_TRUE(ny.ok()) << ny.error().message;
  EXPECT_FALSE(InsideWindow(*ny, kTuesdayEvening));
  EXPECT_EQ(NextOpening(*ny, kTuesdayEvening) - kTuesdayEvening,
            5 * 60 * kMinute + 46 * kMinute + 40'000);
}

TEST(MaintenanceWindow, TheCronExpressionOfAWindow) {
  v1::MaintenanceWindow in;
  in.set_start("22:30");
  in.set_end("04:00");
  in.add_days("Sat");
  in.add_days("Sunday");
  EXPECT_EQ(*WindowExpression(in), "30 22 * * 6,0");
  in.clear_days();
  EXPECT_EQ(*WindowExpression(in), "30 22 * * *");
}

}  // namespace
}  // namespace fleetkeeper::handlers::patch
