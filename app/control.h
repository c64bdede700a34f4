// `fleetkeeper freeze --reason TEXT` and `fleetkeeper unfreeze` (DESIGN.md "Cancel and freeze"):
// one ControlRecord written to the control log (consumers/control_log.h), which every worker reads
// in full.
#pragma once

#include <cstdint>
#include <string>

#include "app/commands.h"
#include "common/error.h"
#include "common/raii_kafka.h"
#include "consumers/control_log.h"
#include "consumers/kafka_clients.h"
#include "fleetkeeper/v1/config.pb.h"
#include "fleetkeeper/v1/workflow.pb.h"

namespace fleetkeeper::app {

// `by` is who asked (user@host), `at_ms` the epoch time written as RFC 3339 UTC.
v1::ControlRecord MakeControlRecord(bool frozen, const std::string& reason, const std::string& by,
                                    int64_t at_ms);

// An idempotent producer (acks=all) from the config's `kafka:` properties, without the worker's
// consumer and transaction settings, for the commands that write to Kafka (freeze, unfreeze,
// ingest). `conf_hook`, when given, may set callbacks and an opaque on the conf before creation.
// Fails when no broker is configured: the embedded one lives inside `fleetkeeper run`.
Result<KafkaPtr> MakeCommandProducer(const v1::WorkerConfig& config,
                                     consumers::ConfHook conf_hook = nullptr,
                                     void* hook_arg = nullptr);

// Loads --config (or the defaults) and the environment overrides for a command; on error prints
// it to stderr prefixed with `command` and returns false.
bool LoadCommandConfig(const CommonOptions& options, const char* command, v1::WorkerConfig* out);

using consumers::ControlWrite;

// Produces `record` to the config's control topic and waits for the broker's acknowledgement.
// Fails when no broker is configured (the embedded one lives inside `run`), when the topic is
// missing, or when the record is not acknowledged within `timeout_ms`.
Result<ControlWrite> WriteControlRecord(const v1::WorkerConfig& config,
                                        const v1::ControlRecord& record, int timeout_ms);

// The commands. Exit codes: 0 written, 1 not written, 2 bad usage or configuration.
int Freeze(const CommonOptions& options, const std::string& reason);
int Unfreeze(const CommonOptions& options, const std::string& reason);

}  // namespace fleetkeeper::app
