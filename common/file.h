// Reading a whole file named on the command line or in a config: the error names the path and
// says why (a directory, missing, no permission) instead of reading nothing.
#pragma once

#include <string>

#include "common/error.h"

namespace fleetkeeper {

// The file's bytes. A directory is kInvalidInput ("PATH: is a directory, not a file"); a file that
// cannot be opened or read is kNotFound ("cannot read PATH: <strerror>").
Result<std::string> ReadFileContents(const std::string& path);

}  // namespace fleetkeeper
