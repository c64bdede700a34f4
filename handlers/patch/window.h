// A request's maintenance window (PatchRequest.maintenance_window): no batch starts outside it.
// The window opens at `start` on each of its `days` in its IANA time zone (UTC by default) and
// stays open until `end` (common/cron.h: a recurring window over a cron schedule).
#pragma once

#include <cstdint>
#include <string>

#include "common/cron.h"
#include "common/error.h"
#include "fleetkeeper/v1/event.pb.h"

namespace fleetkeeper::handlers::patch {

struct Window {
  RecurringWindow recurring;
};

// Errors name the field ("maintenance_window.start: ...").
Result<Window> ParseWindow(const v1::MaintenanceWindow& w);

// The cron expression a window opens on: "MM HH * * <days>" (days of week, 0 = Sunday), or an
// error naming the field.
Result<std::string> WindowExpression(const v1::MaintenanceWindow& w);

// Whether `now_ms` (epoch) lies inside a window.
bool InsideWindow(const Window& w, int64_t now_ms);
// The epoch ms at which the next window opens after `now_ms`.
int64_t NextOpening(const Window& w, int64_t now_ms);

}  // namespace fleetkeeper::handlers::patch
