// Credential providers as the AWS CLI finds them, a chain that is itself a provider, and a cache
// that refreshes before expiry. Providers that call AWS (AssumeRole, AssumeRoleWithWebIdentity)
// make their own small STS query call, so that the chain works before any service client exists.
//
// Chain order: environment -> shared config/credentials profile (static keys, or role_arn with
// source_profile / credential_source / web_identity_token_file) -> web identity (EKS) -> ECS
// container endpoint -> EC2 IMDSv2. A provider that is not configured answers kNotFound and the
// chain moves on; a configured provider that fails stops the chain with its error, as the CLI does.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "awsclient/endpoints.h"
#include "awsclient/http.h"
#include "awsclient/sigv4.h"
#include "common/clock.h"
#include "common/error.h"

namespace fleetkeeper::aws {

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  // May do I/O. kNotFound means "not configured here"; any other error is a real failure.
  virtual Result<Credentials> Resolve() = 0;
  // A short, secret-free name for logs and `fleetkeeper doctor`.
  virtual std::string name() const = 0;
  // Drops cached credentials, so that the next Resolve() fetches fresh ones. Called by the
  // transport when AWS says the credentials expired earlier than they claimed. No-op for
  // providers that cache nothing.
  virtual void Invalidate() {}
};

using CredentialsProviderPtr = std::shared_ptr<CredentialsProvider>;

// What every provider that does I/O needs. The HTTP client is shared: its pooled connections
// serve IMDS, ECS and STS alike.
struct ProviderContext {
  std::shared_ptr<HttpClient> http;
  const Clock* clock = &SystemClock::Instance();
};
ProviderContext DefaultProviderContext();

// ---- Shared config and credentials files ---------------------------------------------------

struct Profile {
  std::string name;
  std::map<std::string, std::string> values;             // lower-case keys; credentials file wins
  std::map<std::string, std::string> service_endpoints;  // AUTO_SCALING -> url

  std::string Get(const std::string& key) const {
    auto it = values.find(key);
    return it == values.end() ? std::string() : it->second;
  }
};

struct SharedConfig {
  std::map<std::string, Profile> profiles;
  // [services name] sections: service id (AUTO_SCALING) -> endpoint_url.
  std::map<std::string, std::map<std::string, std::string>> services;
  std::string config_path;       // AWS_CONFIG_FILE or ~/.aws/config
  std::string credentials_path;  // AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials

  const Profile* Find(const std::string& name) const;
  // The profile AWS_PROFILE names (else "default"), or nullptr.
  const Profile* Selected() const;
  EndpointConfig EndpointsFor(const Profile* profile) const;
};

// The profile name in use: AWS_PROFILE, else AWS_DEFAULT_PROFILE, else "default".
std::string SelectedProfileName();
// Reads both files (missing files are empty). Fails with the file and line of a syntax error.
Result<SharedConfig> LoadSharedConfig();
// INI text of either file; `config_file` selects "[profile x]" section names.
Status ParseSharedConfigText(const std::string& text, bool config_file, const std::string& origin,
                             SharedConfig& into);

// ---- Providers ----------------------------------------------------------------------------

// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (AWS_SECURITY_TOKEN as fallback).
class EnvironmentProvider final : public CredentialsProvider {
 public:
  Result<Credentials> Resolve() override;
  std::string name() const override { return "environment"; }
};

// The selected profile: static keys, or an assumed role (role_arn with source_profile,
// credential_source or web_identity_token_file). credential_process and SSO profiles fail with
// kNotImplemented naming the key.
class ProfileProvider final : public CredentialsProvider {
 public:
  explicit ProfileProvider(ProviderContext context, std::string profile = "")
      : context_(std::move(context)), profile_(std::move(profile)) {}
  Result<Credentials> Resolve() override;
  std::string name() const override;

 private:
  Result<Credentials> ResolveProfile(const SharedConfig& config, const std::string& name,
                                     int depth);
  ProviderContext context_;
  std::string profile_;
};

// Where STS calls go: ResolveEndpoint("sts", region) with the same overrides as services.
struct StsOptions {
  std::string region;  // empty: AWS_REGION / AWS_DEFAULT_REGION / profile, else us-east-1
  EndpointConfig endpoints;
};

// AssumeRoleWithWebIdentity with a token read from a file on every refresh (EKS rotates it):
// AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN, AWS_ROLE_SESSION_NAME from the environment unless
// given explicitly.
class WebIdentityProvider final : public CredentialsProvider {
 public:
  struct Params {
    std::string token_file;
    std::string role_arn;
    std::string session_name;
  };
  WebIdentityProvider(ProviderContext context, StsOptions sts,
                      std::optional<Params> params = std::nullopt)
      : context_(std::move(context)), sts_(std::move(sts)), params_(std::move(params)) {}
  Result<Credentials> Resolve() override;
  std::string name() const override { return "web-identity"; }

 private:
  ProviderContext context_;
  StsOptions sts_;
  std::optional<Params> params_;
};

// sts:AssumeRole with credentials from `source`. Wrap it in a CachedProvider: every Resolve()
// is an STS call.
class AssumeRoleProvider final : public CredentialsProvider {
 public:
  struct Params {
    std::string role_arn;
    std::string session_name = "fleetkeeper";
    std::string external_id;
    int duration_seconds = 3600;
  };
  AssumeRoleProvider(ProviderContext context, StsOptions sts, CredentialsProviderPtr source,
                     Params params)
      : context_(std::move(context)),
        sts_(std::move(sts)),
        source_(std::move(source)),
        params_(std::move(params)) {}
  Result<Credentials> Resolve() override;
  std::string name() const override;

 private:
  ProviderContext context_;
  StsOptions sts_;
  CredentialsProviderPtr source_;
  Params params_;
};

// ECS / EKS Pod Identity container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on
// 169.254.170.2) or _FULL_URI (https anywhere; http only to loopback or the ECS/EKS link-local
// hosts), with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or _TOKEN as the Authorization header.
class ContainerProvider final : public CredentialsProvider {
 public:
  explicit ContainerProvider(ProviderContext context) : context_(std::move(context)) {}
  Result<Credentials> Resolve() override;
  std::string name() const override { return "container"; }

 private:
  ProviderContext context_;
};

// EC2 instance metadata, IMDSv2 only: PUT a session token, then the role name and its
// credentials. AWS_EC2_METADATA_DISABLED=true turns it off; AWS_EC2_METADATA_SERVICE_ENDPOINT
// moves it. An instance without metadata answers kNotFound quickly (1 s connect timeout).
class ImdsProvider final : public CredentialsProvider {
 public:
  explicit ImdsProvider(ProviderContext context) : context_(std::move(context)) {}
  Result<Credentials> Resolve() override;
  std::string name() const override { return "imds"; }

 private:
  ProviderContext context_;
};

// IMDSv2 helpers shared with region resolution.
std::string ImdsEndpoint();
Result<std::string> ImdsGet(HttpClient& http, const std::string& path);

// Tries each provider in order; remembers the one that answered. When none is configured (each
// answered kNotFound) the chain answers kUnauthorized, naming what it tried: the caller has no
// identity to sign with.
class ChainProvider final : public CredentialsProvider {
 public:
  explicit ChainProvider(std::vector<CredentialsProviderPtr> providers)
      : providers_(std::move(providers)) {}
  Result<Credentials> Resolve() override;
  std::string name() const override { return "chain"; }
  // The name of the provider that answered last, empty before the first success.
  std::string source() const;

 private:
  std::vector<CredentialsProviderPtr> providers_;
  mutable std::mutex mu_;
  std::string source_;
};

// Serves cached credentials until `refresh_before_ms` before they expire, then refreshes once
// (concurrent callers wait for that one refresh). If a refresh fails while the cached
// credentials are still valid, they are served and the refresh is retried on the next call.
class CachedProvider final : public CredentialsProvider {
 public:
  CachedProvider(CredentialsProviderPtr inner, const Clock& clock,
                 int64_t refresh_before_ms = 5 * 60 * 1000)
      : inner_(std::move(inner)), clock_(clock), refresh_before_ms_(refresh_before_ms) {}
  Result<Credentials> Resolve() override;
  std::string name() const override { return inner_->name(); }
  void Invalidate() override;
  int refreshes() const;

 private:
  CredentialsProviderPtr inner_;
  const Clock& clock_;
  const int64_t refresh_before_ms_;
  mutable std::mutex mu_;
  std::optional<Credentials> cached_;
  int refreshes_ = 0;
};

// The CLI's chain, cached.
CredentialsProviderPtr DefaultCredentialsChain(const ProviderContext& context);

// For `fleetkeeper doctor`: resolves `provider` and names the source that answered, e.g.
// "environment" or "profile prod: assume-role arn:aws:iam::1:role/x via profile base". Never a
// secret. The error says why no source answered.
Result<std::string> DescribeCredentialSource(CredentialsProvider& provider);

}  // namespace fleetkeeper::aws
