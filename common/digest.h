// SHA-256 and hex, for the ids fleetkeeper derives from content (result ids, workflow ids,
// idempotency tokens: the same input gives the same id after a crash or an aborted batch) and for
// SigV4's payload and canonical-request hashes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fleetkeeper {

// Lowercase hex of raw bytes.
std::string HexEncode(std::string_view bytes);

// The first `bytes` bytes (at most 32) of SHA-256(data), in lowercase hex.
std::string Sha256Hex(std::string_view data, size_t bytes = 32);

}  // namespace fleetkeeper
