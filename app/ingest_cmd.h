// `fleetkeeper ingest [--config FILE] [--listen 127.0.0.1:8080]`: the HTTP endpoint of
// consumers/http/ingest_server.h producing to the events topic (docs/ingest.md). The shared secret
// comes from the environment (FLEETKEEPER_INGEST_SECRET), never the command line. Runs until
// SIGTERM or SIGINT; exit 0 then, 2 on bad usage or configuration, 1 when it cannot start.
#pragma once

#include <string>

#include "app/commands.h"
#include "consumers/http/ingest_handler.h"

namespace fleetkeeper::app {

using consumers::http::IngestOptions;

int Ingest(const CommonOptions& options, const std::string& listen, IngestOptions ingest);

}  // namespace fleetkeeper::app
