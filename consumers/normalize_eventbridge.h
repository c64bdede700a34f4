// Internal to the normalizer: EventBridge envelopes, whether they arrive bare or inside an SNS
// Message.
#pragma once

#include "consumers/normalize_json.h"
#include "consumers/normalizer.h"

namespace fleetkeeper::consumers {

// True when a JSON object has the keys that mark an EventBridge envelope.
bool LooksLikeEventBridge(const JsonValue& document);

// Normalizes one envelope with source_format "eventbridge". `path` prefixes field names in
// reasons ("" for a bare envelope, "Message" inside SNS). Leaves event.source to the caller.
Normalized NormalizeEventBridge(const JsonValue& envelope, const std::string& path,
                                const NormalizeOptions& options);

}  // namespace fleetkeeper::consumers
