// The providers that get credentials from STS: web identity (AssumeRoleWithWebIdentity) and an
// assumed role (AssumeRole), and the STS query call they share.
#include <pugixml.hpp>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "awsclient/aws_error.h"
#include "awsclient/credentials_detail.h"
#include "awsclient/redact.h"

namespace fleetkeeper::aws::credentials_detail {
namespace {

std::string StsRegion(const StsOptions& sts) {
  if (!sts.region.empty()) return sts.region;
  for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    std::string v = Env(name);
    if (!v.empty()) return v;
  }
  return "us-east-1";
}

// A form body as the AWS CLI writes it: percent-encoding with '+' for a space (see FormEncode in
// query_protocol.h for why the space matters).
std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& params) {
  auto encode = [](const std::string& text) {
    std::string encoded = UriEncode(text);
    for (size_t at = encoded.find("%20"); at != std::string::npos; at = encoded.find("%20", at)) {
      encoded.replace(at, 3, "+");
    }
    return encoded;
  };
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out.push_back('&');
    out += encode(k) + "=" + encode(v);
  }
  return out;
}

}  // namespace

// One STS query call returning a <Credentials> element. Signed when `signer` is given
// (AssumeRole), anonymous otherwise (AssumeRoleWithWebIdentity). Transient failures are retried
// twice with a short pause; STS calls happen at start-up and at refresh, not per request.
Result<Credentials> CallSts(const ProviderContext& context, const StsOptions& sts,
                            const std::vector<std::pair<std::string, std::string>>& params,
                            const Credentials* signer, const std::string& source) {
  auto endpoint = ResolveEndpoint("sts", StsRegion(sts), sts.endpoints);
  if (!endpoint.ok()) return endpoint.error();
  auto url = ParseUrl(endpoint->url);
  if (!url.ok()) return url.error();
  const std::string action = params.front().second;

  HttpRequest request;
  request.method = "POST";
  // ResolveEndpoint strips trailing slashes; a bare host gets the "/" that is signed.
  request.url = url->path == "/" ? endpoint->url + "/" : endpoint->url;
  request.body = FormEncode(params);

  Error last;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    request.headers = {{"Host", url->authority},
                       {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    if (signer != nullptr) {
      SignableRequest signable{"POST", url->path, url->query, request.headers, request.body};
      SigningParams sp{endpoint->signing_region, "sts", context.clock->NowMs()};
      auto signature = SignRequest(signable, *signer, sp);
      if (!signature.ok()) return signature.error();
      for (auto& h : signature->added_headers) request.headers.push_back(std::move(h));
    }
    auto response = context.http->Send(request);
    if (!response.ok()) {
      last = response.error();
    } else if (response->status / 100 != 2) {
      last = ParseAwsError(Protocol::kQuery, response->status, response->headers, response->body,
                           "sts " + action);
    } else {
      pugi::xml_document doc;
      if (!doc.load_buffer(response->body.data(), response->body.size())) {
        return Error(ErrorCode::kAws, "sts " + action + ": answer is not XML");
      }
      pugi::xml_node creds =
          doc.document_element().child((action + "Result").c_str()).child("Credentials");
      Credentials out;
      out.access_key_id = creds.child_value("AccessKeyId");
      out.secret_access_key = creds.child_value("SecretAccessKey");
      out.session_token = creds.child_value("SessionToken");
      out.expiration_ms = ParseRfc3339Ms(creds.child_value("Expiration"));
      out.source = source;
      if (out.empty()) {
        return Error(ErrorCode::kAws, "sts " + action + ": answer has no Credentials element");
      }
      if (out.expiration_ms < 0) out.expiration_ms = context.clock->NowMs() + 15 * 60 * 1000;
      Remember(out);
      return out;
    }
    if (!last.retriable) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
  }
  last.message = Redact(last.message);
  return last;
}

}  // namespace fleetkeeper::aws::credentials_detail

namespace fleetkeeper::aws {

using namespace credentials_detail;

Result<Credentials> WebIdentityProvider::Resolve() {
  Params params;
  if (params_) {
    params = *params_;
  } else {
    params.token_file = Env("AWS_WEB_IDENTITY_TOKEN_FILE");
    params.role_arn = Env("AWS_ROLE_ARN");
    params.session_name = Env("AWS_ROLE_SESSION_NAME");
    if (params.token_file.empty() && params.role_arn.empty()) {
      return Error(ErrorCode::kNotFound, "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN not set");
    }
    if (params.role_arn.empty()) {
      return InvalidInput("AWS_ROLE_ARN: not set while AWS_WEB_IDENTITY_TOKEN_FILE is");
    }
    if (params.token_file.empty()) {
      return InvalidInput("AWS_WEB_IDENTITY_TOKEN_FILE: not set while AWS_ROLE_ARN is");
    }
  }
  if (params.session_name.empty()) {
    params.session_name = "fleetkeeper-" + std::to_string(context_.clock->NowMs());
  }
  auto token = ReadWholeFile(params.token_file, "web identity token file");
  if (!token.ok()) {
    return InvalidInput("web_identity_token_file: '" + params.token_file + "' cannot be read");
  }
  std::string jwt = Trim(*token);
  if (jwt.empty()) {
    return InvalidInput("web_identity_token_file: '" + params.token_file + "' is empty");
  }
  RegisterSecret(jwt);
  return CallSts(context_, sts_,
                 {{"Action", "AssumeRoleWithWebIdentity"},
                  {"Version", "2011-06-15"},
                  {"RoleArn", params.role_arn},
                  {"RoleSessionName", params.session_name},
                  {"WebIdentityToken", jwt}},
                 nullptr, "web-identity " + params.role_arn);
}

std::string AssumeRoleProvider::name() const { return "assume-role " + params_.role_arn; }

Result<Credentials> AssumeRoleProvider::Resolve() {
  if (params_.role_arn.rfind("arn:", 0) != 0) {
    return InvalidInput("role_arn: '" + params_.role_arn + "' is not an ARN");
  }
  auto source = source_->Resolve();
  if (!source.ok()) {
    Error e = source.error();
    e.message = "assume-role " + params_.role_arn + ": source credentials: " + e.message;
    return e;
  }
  std::vector<std::pair<std::string, std::string>> params = {
      {"Action", "AssumeRole"},
      {"Version", "2011-06-15"},
      {"RoleArn", params_.role_arn},
      {"RoleSessionName", params_.session_name},
      {"DurationSeconds", std::to_string(params_.duration_seconds)},
  };
  if (!params_.external_id.empty()) params.emplace_back("ExternalId", params_.external_id);
  return CallSts(context_, sts_, params, &*source,
                 "assume-role " + params_.role_arn + " via " + source->source);
}

}  // namespace fleetkeeper::aws
