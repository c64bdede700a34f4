// A guard alarm's state as the alarm guards record it (handlers/engine/guards.h), for the tests of
// the guards and of the handlers they hold.
#pragma once

#include <map>
#include <string>

#include "fleetkeeper/v1/event.pb.h"

namespace fleetkeeper::handlers::testing {

inline v1::AlarmStateChange Alarm(const std::string& name, const std::string& state,
                                  const std::string& time,
                                  const std::map<std::string, std::string>& dimensions = {}) {
  v1::AlarmStateChange a;
  a.set_alarm_name(name);
  a.set_state(state);
  a.set_state_time(time);
  for (const auto& [k, v] : dimensions) (*a.mutable_dimensions())[k] = v;
  return a;
}

}  // namespace fleetkeeper::handlers::testing
