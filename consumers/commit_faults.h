// Faults a test injects into the commit of a batch (the test executable's FK_TEST_* settings,
// tests/testing/test_hooks.h). The production executable has none: the pipeline is given null.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace fleetkeeper::consumers {

class CommitFaults {
 public:
  virtual ~CommitFaults() = default;
  // On the committer thread before the batch's offsets join its transaction (`batch_no` counts
  // from 1). A reason makes the commit fail as an abortable error would.
  virtual std::optional<std::string> BeforeOffsets(int64_t batch_no) = 0;
  // Between send_offsets_to_transaction and commit_transaction.
  virtual void BeforeCommit(int64_t batch_no) = 0;
};

}  // namespace fleetkeeper::consumers
