// The work stage's router: each normalized event goes by kind to its handler from the registry, or
// is delivered as a signal to the workflow it concerns. Runs on the poll thread; no I/O.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "handlers/handler.h"

namespace fleetkeeper::handlers {

struct Dispatch {
  v1::Result::Status status = v1::Result::SKIPPED;
  std::string handler;
  std::string reason;
  std::string workflow_id;
  // Set when the handler admitted the event as a durable workflow: its initial checkpoint.
  std::optional<v1::WorkflowCheckpoint> workflow;
};

class WorkflowHandler;

class Dispatcher {
 public:
  // `overrides` (event kind -> handler) replace the catalog's handler for those kinds: for tests,
  // and for the test-only handlers of the test executable (tests/testing/test_hooks.h).
  Dispatcher(const v1::WorkerConfig& config, const Clock& clock,
             std::vector<std::pair<EventKind, std::unique_ptr<Handler>>> overrides = {});

  // The outcome of one work item. Events that need a workflow are admitted by their handler; the
  // durable runtime owns what happens next.
  Dispatch Route(const v1::Event& event, bool frozen, CellStore* store = nullptr);

  // The workflow handler registered under `name`, or null.
  WorkflowHandler* WorkflowHandlerNamed(const std::string& name) const;

  // The workflow handlers built and enabled, each once.
  std::vector<WorkflowHandler*> WorkflowHandlers() const;

  // Names of the handlers built and enabled, for the start-up line.
  std::vector<std::string> ActiveHandlers() const;

 private:
  const v1::WorkerConfig& config_;
  const Clock& clock_;
  std::map<EventKind, std::unique_ptr<Handler>> by_kind_;  // kind -> handler (owned)
  std::map<EventKind, std::string> disabled_;              // kind -> reason it is not served
};

}  // namespace fleetkeeper::handlers
