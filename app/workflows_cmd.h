// `fleetkeeper workflows list | show ID | cancel ID [--json]`: what the durable workflows are
// doing, read from fleet.state (DESIGN.md "Topics"), and a way to cancel one.
//
// list / show read every partition of the state topic to its end under read_committed (what the
// workers would restore), with a consumer of their own group id (`<group.id>.workflows`, assign()
// only, nothing committed), keeping the latest checkpoint of each workflow; a tombstone removes
// one.
// cancel produces a native Cancel in the JSON wrapper form ({"cancel": {...}}) to the commands
// topic; the worker that owns the workflow's cell ends it at its next step boundary (CANCELLED).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/commands.h"
#include "common/error.h"
#include "fleetkeeper/v1/config.pb.h"
#include "fleetkeeper/v1/workflow.pb.h"

namespace fleetkeeper::app {

// The latest committed checkpoint of every workflow in the state topic, oldest first.
Result<std::vector<v1::WorkflowCheckpoint>> ReadWorkflows(const v1::WorkerConfig& config,
                                                          int timeout_ms);

// "RUNNING" for a live workflow, else its final status ("SUCCEEDED", "CANCELLED", ...).
std::string WorkflowStatus(const v1::WorkflowCheckpoint& wf);
// What a live workflow waits on, as of `now_ms` ("" when it is finished or about to run).
std::string WaitingOn(const v1::WorkflowCheckpoint& wf, int64_t now_ms);
// One workflow as JSON (the --json form of list rows and of show).
nlohmann::json WorkflowJson(const v1::WorkflowCheckpoint& wf, int64_t now_ms);
// The list as a table: WORKFLOW, STATUS, CELL, STEP, AGE, WAITING ON.
std::string WorkflowTable(const std::vector<v1::WorkflowCheckpoint>& workflows, int64_t now_ms);

// The native Cancel record for `workflow_id`. Fails when the id is not
// "<account>/<region>/<kind>-<hash>" (it could not be routed to the workflow's cell).
Result<std::string> CancelRecord(const std::string& workflow_id, const std::string& reason,
                                 const std::string& requested_by);
// Where cancels go: the input topic named like "*commands", else the first input topic.
std::string CommandsTopic(const v1::WorkerConfig& config);

// The command. Exit codes: 0 done, 1 not found / not written, 2 bad usage or configuration.
int Workflows(const CommonOptions& options, const std::string& action,
              const std::string& workflow_id, const std::string& reason, bool json);

}  // namespace fleetkeeper::app
