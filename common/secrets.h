// Values the configuration read through a `${env:NAME}` or `${file:/path}` reference are secrets:
// they never appear in a log line, in `doctor` or in `validate-config` output. The config loader
// registers each such value; the log formatters and the commands' printers scrub them.
#pragma once

#include <string>
#include <string_view>

namespace fleetkeeper {

inline constexpr std::string_view kRedactedSecret = "<redacted>";

// Remembers `value` as a secret. Values shorter than 4 characters are not secrets anyone could
// keep, and scrubbing them would garble every line; they are ignored. Thread-safe.
void RegisterSecret(std::string_view value);

// `text` with every registered secret replaced by "<redacted>". Cheap when none is registered.
std::string ScrubSecrets(std::string_view text);

// For tests: forgets every registered secret.
void ClearSecretsForTesting();

}  // namespace fleetkeeper
