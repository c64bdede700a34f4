#include "common/secrets.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <vector>

namespace fleetkeeper {
namespace {

constexpr size_t kMinSecretLength = 4;

struct Registry {
  std::mutex mu;
  std::vector<std::string> values;  // longest first, so that a secret containing another goes first
  std::atomic<bool> any{false};
};

Registry& R() {
  static Registry* registry = new Registry();  // never destroyed: logging may run at exit
  return *registry;
}

}  // namespace

void RegisterSecret(std::string_view value) {
  if (value.size() < kMinSecretLength) return;
  Registry& r = R();
  std::lock_guard lock(r.mu);
  if (std::find(r.values.begin(), r.values.end(), value) != r.values.end()) return;
  r.values.emplace_back(value);
  std::sort(r.values.begin(), r.values.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  r.any = true;
}

std::string ScrubSecrets(std::string_view text) {
  Registry& r = R();
  std::string out(text);
  if (!r.any.load(std::memory_order_acquire)) return out;
  std::lock_guard lock(r.mu);
  for (const std::string& secret : r.values) {
    for (size_t at = out.find(secret); at != std::string::npos;
         at = out.find(secret, at + kRedactedSecret.size())) {
      out.replace(at, secret.size(), kRedactedSecret);
    }
  }
  return out;
}

void ClearSecretsForTesting() {
  Registry& r = R();
  std::lock_guard lock(r.mu);
  r.values.clear();
  r.any = false;
}

}  // namespace fleetkeeper
