// Self-healing on alarms (DESIGN.md "Alarm -> self-healing").
#pragma once

#include <memory>

#include "handlers/handler.h"

namespace fleetkeeper::handlers::self_healing {

std::unique_ptr<Handler> MakeHandler(const v1::WorkerConfig& config);

}  // namespace fleetkeeper::handlers::self_healing
