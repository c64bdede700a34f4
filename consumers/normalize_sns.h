// Internal to the normalizer: SNS messages, as POSTed to an HTTP(S) subscription and as delivered
// to Lambda ({"Records":[{"EventSource":"aws:sns","Sns":{...}}]}).
#pragma once

#include "consumers/normalize_json.h"
#include "consumers/normalizer.h"

namespace fleetkeeper::consumers {

bool LooksLikeSnsHttp(const JsonValue& document);
bool LooksLikeSnsLambda(const JsonValue& document);

// Normalizes either form with source_format "sns". The Message holds a CloudWatch alarm
// notification or an EventBridge envelope; anything else is skipped. Leaves event.source to the
// caller.
Normalized NormalizeSns(const JsonValue& document, const NormalizeOptions& options);

}  // namespace fleetkeeper::consumers
