// What a patch request asks for, resolved once at admission: the request's own fields over
// `handlers.patch.defaults`, each checked, every refusal naming the field. DESIGN.md "Patch request
// -> rolling patch workflow".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/config_check.h"
#include "common/error.h"
#include "fleetkeeper/v1/config.pb.h"
#include "fleetkeeper/v1/event.pb.h"

namespace fleetkeeper::handlers::patch {

inline constexpr char kHandlerName[] = "patch";
inline constexpr char kWorkflowKind[] = "patch";
inline constexpr char kDocument[] = "AWS-RunPatchBaseline";

// "10%" of a total, or a count. A percentage rounds down but never below one.
struct Share {
  bool percent = false;
  int64_t value = 0;
  int64_t Of(int64_t total) const;
};
// Parses "10%" (1..100) or a count >= min_count; the error says what was wrong with `text`.
Result<Share> ParseShare(const std::string& text, int64_t min_count);

// "90s", "250ms", "5m", "2h" as milliseconds.
Result<int64_t> ParseDurationMs(const std::string& text);

// Everything a workflow needs that is not in its state, read from the request and the config.
struct PatchPlan {
  Share max_concurrency;
  Share max_errors;
  bool backup_ami = true;
  std::string rollback_policy;  // none | instance | abort
  std::string operation;        // Install | Scan
  std::string reboot_option;    // RebootIfNeeded | NoReboot
  bool start_stopped = false;
  bool approval_required = false;
  int64_t command_timeout_ms = 0;
  int64_t status_ok_timeout_ms = 0;
  int64_t approval_timeout_ms = 0;
  int64_t backup_timeout_ms = 0;
  int64_t drain_timeout_ms = 0;
  int64_t poll_interval_ms = 0;
  Share max_unavailable;
  int64_t health_timeout_ms = 5'000;
  int health_expect_status = 200;
  int health_retries = 3;
  std::string metrics_namespace;
  int parallel_instances = 1;  // handlers.patch.parallel_instances
};

// The plan of a valid request under a config whose defaults are filled in; otherwise the first
// problem, naming the request field ("max_concurrency: ...").
Result<PatchPlan> ResolvePlan(const v1::PatchRequest& request, const v1::PatchConfig& config);

// Every problem with the request's fields, each naming its field; empty when valid.
std::vector<std::string> ValidateRequest(const v1::PatchRequest& request);

// handlers.patch defaults (DESIGN.md "Configuration"), keeping what the user set.
void ApplyPatchDefaults(v1::PatchConfig& config);
// handlers.patch checks, errors under `handlers.patch.…`.
void ValidatePatchConfig(const v1::PatchConfig& config, ConfigChecker& check);

}  // namespace fleetkeeper::handlers::patch
