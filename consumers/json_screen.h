// A screen run over a JSON text before a recursive parser reads it: one pass that checks UTF-8 and
// the nesting depth, so that no parser recurses into an arbitrarily deep document and a bad byte
// is named by its offset. Used by the normalizer's JSON reader and the SNS signature check.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fleetkeeper::consumers {

// UTF-8 well-formedness (RFC 3629) and bracket depth outside strings. Returns a reason starting
// with `what` ("payload", "SNS message"), or "". Brackets inside strings do not count; a malformed
// structure is left to the parser.
std::string ScreenJsonText(std::string_view text, size_t max_depth, std::string_view what);

}  // namespace fleetkeeper::consumers
