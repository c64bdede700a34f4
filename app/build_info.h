// Facts about the build, generated at CMake configure time (app/build_info.cc.in).
#pragma once

namespace fleetkeeper::app {

extern const char kBuildVersion[];  // the project version, e.g. "0.1.0"
// `git rev-parse --short HEAD` of the source tree, or "unknown" when it is not a git checkout.
extern const char kBuildCommit[];

}  // namespace fleetkeeper::app
