// The shared config and credentials files (~/.aws/config, ~/.aws/credentials): their profiles
// and their services sections of endpoints.
#include <algorithm>
#include <cctype>
#include <sstream>

#include "awsclient/credentials_detail.h"

namespace fleetkeeper::aws {

using namespace credentials_detail;

namespace {

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

std::string HomeAwsPath(const char* env_name, const char* file) {
  std::string explicit_path = Env(env_name);
  if (!explicit_path.empty()) {
    if (explicit_path.rfind("~/", 0) == 0) explicit_path = Env("HOME") + explicit_path.substr(1);
    return explicit_path;
  }
  return Env("HOME") + "/.aws/" + file;
}

}  // namespace

const Profile* SharedConfig::Find(const std::string& name) const {
  auto it = profiles.find(name);
  return it == profiles.end() ? nullptr : &it->second;
}

const Profile* SharedConfig::Selected() const { return Find(SelectedProfileName()); }

EndpointConfig SharedConfig::EndpointsFor(const Profile* profile) const {
  EndpointConfig out;
  if (profile == nullptr) return out;
  out.profile_endpoint_url = profile->Get("endpoint_url");
  out.profile_service_urls = profile->service_endpoints;
  return out;
}

std::string SelectedProfileName() {
  std::string name = Env("AWS_PROFILE");
  if (name.empty()) name = Env("AWS_DEFAULT_PROFILE");
  return name.empty() ? "default" : name;
}

Status ParseSharedConfigText(const std::string& text, bool config_file, const std::string& origin,
                             SharedConfig& into) {
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  std::map<std::string, std::string>* section = nullptr;
  std::map<std::string, std::string>* services = nullptr;
  Profile* profile = nullptr;
  std::string parent_key;  // a key with an empty value opens indented sub-keys
  while (std::getline(lines, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string trimmed = Trim(line);
    if (trimmed.empty() || trimmed[0] == '#' || trimmed[0] == ';') continue;
    const std::string where = origin + ":" + std::to_string(number);
    if (trimmed.front() == '[') {
      if (trimmed.back() != ']') return InvalidInput(where + ": unterminated section header");
      std::string name = Trim(trimmed.substr(1, trimmed.size() - 2));
      section = nullptr;
      services = nullptr;
      profile = nullptr;
      parent_key.clear();
      if (config_file) {
        if (name.rfind("profile ", 0) == 0) {
          name = Trim(name.substr(8));
        } else if (name.rfind("services ", 0) == 0) {
          services = &into.services[Trim(name.substr(9))];
          continue;
        } else if (name != "default") {
          continue;  // sso-session and other sections: not profiles
        }
      }
      profile = &into.profiles[name];
      profile->name = name;
      section = &profile->values;
      continue;
    }
    size_t eq = trimmed.find('=');
    if (eq == std::string::npos) return InvalidInput(where + ": expected 'key = value'");
    std::string key = Lower(Trim(trimmed.substr(0, eq)));
    std::string value = Trim(trimmed.substr(eq + 1));
    const bool indented = std::isspace(static_cast<unsigned char>(line[0])) != 0;
    if (indented && !parent_key.empty()) {
      // Sub-keys: "ec2 =\n  endpoint_url = ..." in a services section.
      if (services != nullptr && key == "endpoint_url") (*services)[Upper(parent_key)] = value;
      continue;
    }
    parent_key = value.empty() ? key : "";
    if (section != nullptr) (*section)[key] = value;
  }
  return Ok{};
}

Result<SharedConfig> LoadSharedConfig() {
  SharedConfig config;
  config.config_path = HomeAwsPath("AWS_CONFIG_FILE", "config");
  config.credentials_path = HomeAwsPath("AWS_SHARED_CREDENTIALS_FILE", "credentials");
  if (auto text = ReadWholeFile(config.config_path, "config file"); text.ok()) {
    if (auto st = ParseSharedConfigText(*text, true, config.config_path, config); !st) {
      return st.error();
    }
  }
  // Parsed second so that its keys win over the config file's for the same profile.
  if (auto text = ReadWholeFile(config.credentials_path, "credentials file"); text.ok()) {
    if (auto st = ParseSharedConfigText(*text, false, config.credentials_path, config); !st) {
      return st.error();
    }
  }
  for (auto& [name, profile] : config.profiles) {
    std::string services = profile.Get("services");
    auto it = config.services.find(services);
    if (!services.empty() && it != config.services.end()) profile.service_endpoints = it->second;
  }
  return config;
}

}  // namespace fleetkeeper::aws
