#include "common/file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fleetkeeper {

Result<std::string> ReadFileContents(const std::string& path) {
  std::error_code ec;
  // An ifstream opens a directory on Linux and then reads nothing, which looks like an empty file.
  if (std::filesystem::is_directory(path, ec)) {
    return InvalidInput(path + ": is a directory, not a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error(ErrorCode::kNotFound, "cannot read " + path + ": " + std::strerror(errno));
  }
  std::ostringstream data;
  data << in.rdbuf();
  if (in.bad()) {
    return Error(ErrorCode::kNotFound, "cannot read " + path + ": " + std::strerror(errno));
  }
  return data.str();
}

}  // namespace fleetkeeper
