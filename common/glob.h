// Shell-style name globs, as the config writes them for alarm names and resources.
#pragma once

#include <string_view>

namespace fleetkeeper {

// '*' any run, '?' one character. Case-sensitive, as AWS names are.
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace fleetkeeper
