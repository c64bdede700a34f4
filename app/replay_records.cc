#include "app/replay_records.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "common/file.h"

namespace fleetkeeper::app {
namespace {

namespace fs = std::filesystem;

bool IsLines(const fs::path& path) {
  const auto ext = path.extension().string();
  return ext == ".jsonl" || ext == ".ndjson";
}

bool IsRecordFile(const fs::path& path) { return path.extension() == ".json" || IsLines(path); }

std::vector<std::string> RecordsOf(const fs::path& path, const std::string& data) {
  if (!IsLines(path)) return {data};
  std::vector<std::string> out;
  std::istringstream lines(data);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") != std::string::npos) out.push_back(line);
  }
  return out;
}

Result<std::vector<fs::path>> FilesIn(const fs::path& dir) {
  std::vector<fs::path> inside;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file() && IsRecordFile(it->path())) inside.push_back(it->path());
  }
  if (ec) return Error(ErrorCode::kNotFound, "cannot read " + dir.string() + ": " + ec.message());
  if (inside.empty()) {
    return InvalidInput(dir.string() + ": no .json, .jsonl or .ndjson files in this directory");
  }
  std::sort(inside.begin(), inside.end());
  return inside;
}

}  // namespace

Result<std::vector<ReplayFile>> ReadReplayFiles(const std::vector<std::string>& paths) {
  std::vector<fs::path> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (!fs::is_directory(p, ec)) {
      files.emplace_back(p);
      continue;
    }
    auto inside = FilesIn(p);
    if (!inside.ok()) return inside.error();
    files.insert(files.end(), inside->begin(), inside->end());
  }
  std::vector<ReplayFile> out;
  for (const auto& f : files) {
    auto data = ReadFileContents(f.string());
    if (!data.ok()) return data.error();
    out.push_back({f.string(), RecordsOf(f, *data)});
  }
  return out;
}

}  // namespace fleetkeeper::app
