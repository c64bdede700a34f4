// What `fleetkeeper replay` sends: the records of recorded-event files, read in full before the
// first one is produced, so that a bad path replays nothing rather than part of a set.
#pragma once

#include <string>
#include <vector>

#include "common/error.h"

namespace fleetkeeper::app {

struct ReplayFile {
  std::string path;
  std::vector<std::string> records;
};

// Each path is a file or a directory. A directory stands for its *.json, *.jsonl and *.ndjson
// files, recursively, in path order; a directory without any is an error naming it. A .jsonl or
// .ndjson file holds one record per non-blank line (a trailing \r is dropped); any other file is
// one record. An error names the path that could not be read.
Result<std::vector<ReplayFile>> ReadReplayFiles(const std::vector<std::string>& paths);

}  // namespace fleetkeeper::app
