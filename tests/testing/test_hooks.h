// The test hooks the environment asks for (FK_TEST_*): faults in the commit of a batch, a linger
// after a fence, and the durability tests' effect handler (tests/testing/effect_handler.h). Only
// the test executable `fleetkeeper-test` reads them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "app/run_cmd.h"
#include "consumers/commit_faults.h"

namespace fleetkeeper::app {

class EnvironmentFaults final : public consumers::CommitFaults {
 public:
  // FK_TEST_CRASH_BEFORE_COMMIT=N: SIGKILL the process between send_offsets_to_transaction and
  // commit_transaction of the Nth batch. FK_TEST_ABORT_BATCH=N: the Nth commit fails as an
  // abortable error would. FK_TEST_SLOW_COMMIT_BATCH=N: the Nth commit waits a second before it
  // starts, so that the next batch is read meanwhile. FK_TEST_HOLD_BEFORE_COMMIT=N: the Nth
  // commit holds 5 s between send_offsets_to_transaction and commit_transaction, after logging
  // so (the broker fault tests restart the transaction coordinator right then).
  static EnvironmentFaults FromEnvironment();

  std::optional<std::string> BeforeOffsets(int64_t batch_no) override;
  void BeforeCommit(int64_t batch_no) override;

 private:
  int64_t crash_before_commit_batch_ = 0;
  int64_t abort_batch_ = 0;
  int64_t slow_commit_batch_ = 0;
  int64_t hold_before_commit_batch_ = 0;
};

// The hooks of the environment; `faults` (which outlives them) gets the commit faults.
// FK_TEST_LINGER_AFTER_FENCE_MS: a fenced worker's linger. FK_TEST_HANDLERS containing "effect":
// ecs_command events go to the effect handler.
RunHooks HooksFromEnvironment(EnvironmentFaults* faults);

}  // namespace fleetkeeper::app
