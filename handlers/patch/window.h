// A request's maintenance window (PatchRequest.maintenance_window): no batch starts outside it.
#pragma once

#include <cstdint>

#include "common/error.h"
#include "fleetkeeper/v1/event.pb.h"

namespace fleetkeeper::handlers::patch {

struct Window {
  int start_minute = 0;    // minutes after local midnight
  int end_minute = 0;      // at or before start: the window runs past midnight
  int days = 0x7f;         // bit 0 = Monday ... bit 6 = Sunday: the day the window opens
  int offset_minutes = 0;  // local time = UTC + offset
};

// Errors name the field ("maintenance_window.start: ...").
Result<Window> ParseWindow(const v1::MaintenanceWindow& w);

// Whether `now_ms` (epoch) lies inside a window.
bool InsideWindow(const Window& w, int64_t now_ms);
// The epoch ms at which the next window opens after `now_ms`.
int64_t NextOpening(const Window& w, int64_t now_ms);

}  // namespace fleetkeeper::handlers::patch
