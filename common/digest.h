// SHA-256 for the ids fleetkeeper derives from content (result ids, workflow ids, idempotency
// tokens): the same input gives the same id after a crash or an aborted batch.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fleetkeeper {

// The first `bytes` bytes (at most 32) of SHA-256(data), in lowercase hex.
std::string Sha256Hex(std::string_view data, size_t bytes = 32);

}  // namespace fleetkeeper
