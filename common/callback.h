// No exception crosses into C: every librdkafka / libcurl / OpenSSL callback body runs through
// InvokeCallback, which catches, logs and returns the fallback value the C API expects.
#pragma once

#include <spdlog/spdlog.h>

#include <exception>
#include <utility>

namespace fleetkeeper {

template <typename R, typename F>
R InvokeCallback(const char* name, R fallback, F&& body) noexcept {
  try {
    return std::forward<F>(body)();
  } catch (const std::exception& e) {
    spdlog::error("callback {} threw: {}", name, e.what());
  } catch (...) {
    spdlog::error("callback {} threw a non-standard exception", name);
  }
  return fallback;
}

template <typename F>
void InvokeCallback(const char* name, F&& body) noexcept {
  try {
    std::forward<F>(body)();
  } catch (const std::exception& e) {
    spdlog::error("callback {} threw: {}", name, e.what());
  } catch (...) {
    spdlog::error("callback {} threw a non-standard exception", name);
  }
}

}  // namespace fleetkeeper
