#include "awsclient/credentials.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>
#include <sstream>
#include <thread>

#include "awsclient/credentials_detail.h"
#include "awsclient/redact.h"

namespace fleetkeeper::aws::credentials_detail {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

Result<std::string> ReadWholeFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::kNotFound, what + " '" + path + "': cannot be read");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Remember(const Credentials& c) {
  RegisterSecret(c.secret_access_key);
  RegisterSecret(c.session_token);
}

}  // namespace fleetkeeper::aws::credentials_detail

namespace fleetkeeper::aws {

using namespace credentials_detail;

namespace {

// Serves fixed credentials: the source of an assumed role once it has been resolved.
class FixedProvider final : public CredentialsProvider {
 public:
  explicit FixedProvider(Credentials credentials) : credentials_(std::move(credentials)) {}
  Result<Credentials> Resolve() override { return credentials_; }
  std::string name() const override { return credentials_.source; }

 private:
  Credentials credentials_;
};

Credentials FromContainerJson(const nlohmann::json& json, const std::string& source) {
  Credentials out;
  out.access_key_id = json.value("AccessKeyId", "");
  out.secret_access_key = json.value("SecretAccessKey", "");
  out.session_token = json.value("Token", "");
  out.expiration_ms = ParseRfc3339Ms(json.value("Expiration", ""));
  if (out.expiration_ms < 0) out.expiration_ms = 0;
  out.source = source;
  return out;
}

}  // namespace

ProviderContext DefaultProviderContext() {
  return ProviderContext{std::make_shared<HttpClient>(), &SystemClock::Instance()};
}

// ---- Environment --------------------------------------------------------------------------

Result<Credentials> EnvironmentProvider::Resolve() {
  Credentials c;
  c.access_key_id = Env("AWS_ACCESS_KEY_ID");
  c.secret_access_key = Env("AWS_SECRET_ACCESS_KEY");
  c.session_token = Env("AWS_SESSION_TOKEN");
  if (c.session_token.empty()) c.session_token = Env("AWS_SECURITY_TOKEN");
  c.source = "environment";
  if (c.access_key_id.empty() && c.secret_access_key.empty()) {
    return Error(ErrorCode::kNotFound, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set");
  }
  if (c.access_key_id.empty()) {
    return InvalidInput("AWS_ACCESS_KEY_ID: not set while AWS_SECRET_ACCESS_KEY is");
  }
  if (c.secret_access_key.empty()) {
    return InvalidInput("AWS_SECRET_ACCESS_KEY: not set while AWS_ACCESS_KEY_ID is");
  }
  Remember(c);
  return c;
}

// ---- Profile ------------------------------------------------------------------------------

std::string ProfileProvider::name() const {
  return "profile " + (profile_.empty() ? SelectedProfileName() : profile_);
}

Result<Credentials> ProfileProvider::Resolve() {
  auto config = LoadSharedConfig();
  if (!config.ok()) return config.error();
  const bool explicit_choice =
      !profile_.empty() || !Env("AWS_PROFILE").empty() || !Env("AWS_DEFAULT_PROFILE").empty();
  const std::string name = profile_.empty() ? SelectedProfileName() : profile_;
  if (config->Find(name) == nullptr) {
    std::string message = "profile '" + name + "' not found in " + config->config_path + " or " +
                          config->credentials_path;
    // A profile asked for by name must exist; the implicit "default" may be absent.
    return explicit_choice ? InvalidInput("AWS_PROFILE: " + message)
                           : Error(ErrorCode::kNotFound, message);
  }
  return ResolveProfile(*config, name, 0);
}

Result<Credentials> ProfileProvider::ResolveProfile(const SharedConfig& config,
                                                    const std::string& name, int depth) {
  const Profile* profile = config.Find(name);
  if (profile == nullptr) {
    return InvalidInput("source_profile: profile '" + name + "' not found");
  }
  if (depth > 5) return InvalidInput("profile '" + name + "': source_profile chain too deep");
  const std::string role_arn = profile->Get("role_arn");
  auto static_keys = [&]() -> Result<Credentials> {
    Credentials c;
    c.access_key_id = profile->Get("aws_access_key_id");
    c.secret_access_key = profile->Get("aws_secret_access_key");
    c.session_token = profile->Get("aws_session_token");
    c.source = "profile " + name;
    if (c.access_key_id.empty() || c.secret_access_key.empty()) {
      return Error(ErrorCode::kNotFound, "profile '" + name + "' has no static keys");
    }
    Remember(c);
    return c;
  };

  StsOptions sts{profile->Get("region"), config.EndpointsFor(profile)};
  if (!role_arn.empty()) {
    Credentials source;
    const std::string source_profile = profile->Get("source_profile");
    const std::string credential_source = profile->Get("credential_source");
    const std::string token_file = profile->Get("web_identity_token_file");
    if (!source_profile.empty()) {
      auto src = source_profile == name ? static_keys()
                                        : ResolveProfile(config, source_profile, depth + 1);
      if (!src.ok()) {
        Error e = src.error();
        if (e.code == ErrorCode::kNotFound) e.code = ErrorCode::kInvalidInput;
        e.message = "profile '" + name + "' source_profile '" + source_profile + "': " + e.message;
        return e;
      }
      source = *src;
    } else if (!credential_source.empty()) {
      Result<Credentials> src = Error(ErrorCode::kInternal, "");
      if (credential_source == "Environment") {
        src = EnvironmentProvider().Resolve();
      } else if (credential_source == "Ec2InstanceMetadata") {
        src = ImdsProvider(context_).Resolve();
      } else if (credential_source == "EcsContainer") {
        src = ContainerProvider(context_).Resolve();
      } else {
        return InvalidInput("profile '" + name + "' credential_source: '" + credential_source +
                            "' is not Environment, Ec2InstanceMetadata or EcsContainer");
      }
      if (!src.ok()) return src.error();
      source = *src;
    } else if (!token_file.empty()) {
      WebIdentityProvider web(
          context_, sts,
          WebIdentityProvider::Params{token_file, role_arn, profile->Get("role_session_name")});
      auto creds = web.Resolve();
      if (creds.ok()) creds->source = "profile " + name + ": " + creds->source;
      return creds;
    } else {
      return InvalidInput("profile '" + name +
                          "' role_arn: needs source_profile, credential_source or "
                          "web_identity_token_file");
    }
    AssumeRoleProvider::Params params;
    params.role_arn = role_arn;
    if (!profile->Get("role_session_name").empty()) {
      params.session_name = profile->Get("role_session_name");
    }
    params.external_id = profile->Get("external_id");
    if (std::string d = profile->Get("duration_seconds"); !d.empty()) {
      char* end = nullptr;
      long v = std::strtol(d.c_str(), &end, 10);
      if (*end != '\0' || v < 900 || v > 43200) {
        return InvalidInput("profile '" + name + "' duration_seconds: must be 900..43200");
      }
      params.duration_seconds = static_cast<int>(v);
    }
    AssumeRoleProvider assume(context_, sts, std::make_shared<FixedProvider>(source), params);
    auto creds = assume.Resolve();
    if (creds.ok()) creds->source = "profile " + name + ": " + creds->source;
    return creds;
  }
  auto keys = static_keys();
  if (keys.ok()) return keys;
  if (!profile->Get("credential_process").empty()) {
    return NotImplemented("profile '" + name +
                          "' credential_process: external credential processes are not "
                          "supported; use static keys, a role or the environment");
  }
  if (!profile->Get("sso_start_url").empty() || !profile->Get("sso_session").empty()) {
    return NotImplemented("profile '" + name +
                          "' sso_session/sso_start_url: IAM Identity Center profiles are not "
                          "supported; export credentials to the environment instead");
  }
  return keys;
}

// ---- Container ----------------------------------------------------------------------------

Result<Credentials> ContainerProvider::Resolve() {
  const std::string relative = Env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  const std::string full = Env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  std::string url;
  if (!relative.empty()) {
    url = "http://169.254.170.2" + (relative.front() == '/' ? relative : "/" + relative);
  } else if (!full.empty()) {
    auto parts = ParseUrl(full);
    if (!parts.ok()) {
      return InvalidInput("AWS_CONTAINER_CREDENTIALS_FULL_URI: " + parts.error().message);
    }
    std::string host = parts->authority.substr(0, parts->authority.rfind(':'));
    if (parts->authority.find(':') == std::string::npos) host = parts->authority;
    const bool allowed_http = host == "127.0.0.1" || host == "localhost" || host == "[::1]" ||
                              host == "169.254.170.2" || host == "169.254.170.23" ||
                              host == "[fd00:ec2::23]";
    if (parts->scheme == "http" && !allowed_http) {
      return InvalidInput(
          "AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http is allowed only to "
          "loopback or the ECS/EKS credential hosts, not '" +
          host + "'");
    }
    url = full;
  } else {
    return Error(ErrorCode::kNotFound, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/_FULL_URI not set");
  }
  HttpRequest request;
  request.url = url;
  request.bypass_proxy = true;
  std::string token;
  if (std::string file = Env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); !file.empty()) {
    auto text = ReadWholeFile(file, "container authorization token file");
    if (!text.ok()) {
      return InvalidInput("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: '" + file + "' cannot be read");
    }
    token = Trim(*text);
  } else {
    token = Env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  }
  if (token.find_first_of("\r\n") != std::string::npos) {
    return InvalidInput("container authorization token: contains a line break");
  }
  if (!token.empty()) {
    RegisterSecret(token);
    request.headers.emplace_back("Authorization", token);
  }
  auto response = context_.http->Send(request);
  if (!response.ok()) return response.error();
  if (response->status != 200) {
    return Error(ErrorCode::kUnavailable,
                 "container credentials endpoint answered HTTP " +
                     std::to_string(response->status) + ": " +
                     Redact(response->body.substr(0, 200)),
                 response->status >= 500);
  }
  auto json = nlohmann::json::parse(response->body, nullptr, false);
  if (!json.is_object()) {
    return Error(ErrorCode::kAws, "container credentials: answer is not JSON");
  }
  Credentials c = FromContainerJson(json, "container");
  if (c.empty()) {
    return Error(ErrorCode::kAws, "container credentials: AccessKeyId or SecretAccessKey missing");
  }
  Remember(c);
  return c;
}

// ---- IMDSv2 -------------------------------------------------------------------------------

std::string ImdsEndpoint() {
  std::string endpoint = Env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  if (endpoint.empty()) endpoint = "http://169.254.169.254";
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  return endpoint;
}

Result<std::string> ImdsGet(HttpClient& http, const std::string& path) {
  const std::string base = ImdsEndpoint();
  HttpRequest token_request;
  token_request.method = "PUT";
  token_request.url = base + "/latest/api/token";
  token_request.headers = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
  token_request.bypass_proxy = true;
  auto token = http.Send(token_request);
  if (!token.ok()) {
    return Error(ErrorCode::kNotFound,
                 "no EC2 instance metadata service at " + base + ": " + token.error().message);
  }
  if (token->status / 100 == 4) {
    // A definite no: 403 is what an instance with its metadata service turned off answers
    // (EC2 User Guide, "Turn off access to instance metadata"), and a network that answers for
    // 169.254.169.254 without being IMDS refuses the same way. No credentials from here; never a
    // failure to retry on every AWS call.
    return Error(ErrorCode::kNotFound, "no EC2 instance metadata service at " + base +
                                           ": the token request answered HTTP " +
                                           std::to_string(token->status));
  }
  if (token->status != 200) {
    return Error(ErrorCode::kUnavailable,
                 "IMDSv2 token request answered HTTP " + std::to_string(token->status));
  }
  RegisterSecret(token->body);
  HttpRequest get;
  get.url = base + path;
  get.headers = {{"X-aws-ec2-metadata-token", token->body}};
  get.bypass_proxy = true;
  auto response = http.Send(get);
  if (!response.ok()) return response.error();
  if (response->status == 404) {
    return Error(ErrorCode::kNotFound, "instance metadata " + path + ": not found");
  }
  if (response->status != 200) {
    return Error(ErrorCode::kUnavailable,
                 "instance metadata " + path + ": HTTP " + std::to_string(response->status));
  }
  return response->body;
}

Result<Credentials> ImdsProvider::Resolve() {
  std::string disabled = Lower(Env("AWS_EC2_METADATA_DISABLED"));
  if (disabled == "true" || disabled == "1") {
    return Error(ErrorCode::kNotFound, "AWS_EC2_METADATA_DISABLED is set");
  }
  // Short timeouts of its own: off EC2, nothing answers at the link-local address.
  static HttpOptions options = [] {
    HttpOptions o;
    o.connect_timeout_ms = 1000;
    o.request_timeout_ms = 3000;
    return o;
  }();
  HttpClient http(options);
  const std::string prefix = "/latest/meta-data/iam/security-credentials/";
  auto roles = ImdsGet(http, prefix);
  if (!roles.ok()) {
    Error e = roles.error();
    if (e.code == ErrorCode::kNotFound && e.message.find("not found") != std::string::npos) {
      e.message = "the instance has no IAM instance profile";
    }
    return e;
  }
  std::string role = Trim(roles->substr(0, roles->find('\n')));
  if (role.empty()) return Error(ErrorCode::kNotFound, "the instance has no IAM instance profile");
  auto body = ImdsGet(http, prefix + role);
  if (!body.ok()) return body.error();
  auto json = nlohmann::json::parse(*body, nullptr, false);
  if (!json.is_object()) return Error(ErrorCode::kAws, "IMDS credentials: answer is not JSON");
  if (json.value("Code", "Success") != "Success") {
    return Error(ErrorCode::kUnavailable, "IMDS credentials: Code " + json.value("Code", ""));
  }
  Credentials c = FromContainerJson(json, "imds (role " + role + ")");
  if (c.empty()) return Error(ErrorCode::kAws, "IMDS credentials: keys missing");
  Remember(c);
  return c;
}

// ---- Chain and cache ----------------------------------------------------------------------

Result<Credentials> ChainProvider::Resolve() {
  std::string tried;
  for (const auto& provider : providers_) {
    auto creds = provider->Resolve();
    if (creds.ok()) {
      std::lock_guard lock(mu_);
      source_ = creds->source.empty() ? provider->name() : creds->source;
      return creds;
    }
    if (creds.error().code != ErrorCode::kNotFound) {
      Error e = creds.error();
      e.message = provider->name() + ": " + e.message;
      return e;
    }
    tried += (tried.empty() ? "" : "; ") + provider->name() + ": " + creds.error().message;
  }
  // Not kNotFound: between providers it means "try the next one"; from the chain it would read
  // as "what the call named does not exist" to whoever called AWS with these credentials.
  return Error(ErrorCode::kUnauthorized, "no AWS credentials found (" + tried + ")");
}

std::string ChainProvider::source() const {
  std::lock_guard lock(mu_);
  return source_;
}

Result<Credentials> CachedProvider::Resolve() {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowMs();
  if (cached_ && (!cached_->expires() || now < cached_->expiration_ms - refresh_before_ms_)) {
    return *cached_;
  }
  auto fresh = inner_->Resolve();
  ++refreshes_;
  if (fresh.ok()) {
    cached_ = *fresh;
    return fresh;
  }
  if (cached_ && now < cached_->expiration_ms) {
    spdlog::warn("credentials refresh from {} failed, serving cached ones until expiry: {}",
                 inner_->name(), Redact(fresh.error().message));
    return *cached_;
  }
  return fresh;
}

void CachedProvider::Invalidate() {
  std::lock_guard lock(mu_);
  cached_.reset();
}

int CachedProvider::refreshes() const {
  std::lock_guard lock(mu_);
  return refreshes_;
}

CredentialsProviderPtr DefaultCredentialsChain(const ProviderContext& context) {
  auto chain = std::make_shared<ChainProvider>(std::vector<CredentialsProviderPtr>{
      std::make_shared<EnvironmentProvider>(),
      std::make_shared<ProfileProvider>(context),
      std::make_shared<WebIdentityProvider>(context, StsOptions{}),
      std::make_shared<ContainerProvider>(context),
      std::make_shared<ImdsProvider>(context),
  });
  return std::make_shared<CachedProvider>(chain, *context.clock);
}

Result<std::string> DescribeCredentialSource(CredentialsProvider& provider) {
  auto creds = provider.Resolve();
  if (!creds.ok()) return creds.error();
  return creds->source.empty() ? provider.name() : creds->source;
}

}  // namespace fleetkeeper::aws
