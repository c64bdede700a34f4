// Environment isolation for tests of code that reads AWS_* variables: every AWS_ variable is
// cleared on construction, and the whole previous environment of those names restored after.
#pragma once

#include <cstdlib>
#include <map>
#include <optional>
#include <string>

extern char** environ;

namespace fleetkeeper::aws::testing {

class ScopedAwsEnv {
 public:
  ScopedAwsEnv() {
    for (char** e = environ; *e != nullptr; ++e) {
      std::string entry(*e);
      if (entry.rfind("AWS_", 0) != 0) continue;
      size_t eq = entry.find('=');
      saved_[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    for (const auto& [k, v] : saved_) unsetenv(k.c_str());
    // Keep the developer's ~/.aws out of the tests.
    Set("AWS_CONFIG_FILE", "/nonexistent/config");
    Set("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials");
    Set("AWS_EC2_METADATA_DISABLED", "true");
  }
  ~ScopedAwsEnv() {
    for (char** e = environ; *e != nullptr;) {
      std::string entry(*e);
      if (entry.rfind("AWS_", 0) == 0) {
        unsetenv(entry.substr(0, entry.find('=')).c_str());
        e = environ;  // the array changed under us
        continue;
      }
      ++e;
    }
    for (const auto& [k, v] : saved_) setenv(k.c_str(), v.c_str(), 1);
  }
  void Set(const std::string& name, const std::string& value) {
    setenv(name.c_str(), value.c_str(), 1);
  }
  void Unset(const std::string& name) { unsetenv(name.c_str()); }

 private:
  std::map<std::string, std::string> saved_;
};

}  // namespace fleetkeeper::aws::testing
