#include "awsclient/json_protocol.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "awsclient/query_protocol.h"
#include "common/clock.h"

namespace fleetkeeper::aws {

using nlohmann::json;

ServiceRequest MakeJsonRequest(const std::string& service, const std::string& target_prefix,
                               const std::string& operation, std::string body) {
  ServiceRequest request;
  request.service = service;
  request.operation = operation;
  request.protocol = Protocol::kJson11;
  request.method = "POST";
  request.path = "/";
  request.headers.emplace_back("X-Amz-Target", target_prefix + "." + operation);
  request.headers.emplace_back("Content-Type", kJson11ContentType);
  request.body = std::move(body);
  return request;
}

Result<json> ParseJsonResponse(const std::string& operation, const std::string& body) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return json::object();
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return MalformedResponse(operation, "body is not JSON");
  if (!parsed.is_object()) return MalformedResponse(operation, "body is not a JSON object");
  return parsed;
}

Result<json> CallJson(Transport& transport, const std::string& service,
                      const std::string& target_prefix, const std::string& operation,
                      const json& body) {
  // An empty input is sent as "{}": the services reject an empty body.
  std::string payload = body.is_null() ? std::string("{}") : body.dump();
  Result<ServiceResponse> raw =
      transport.Call(MakeJsonRequest(service, target_prefix, operation, std::move(payload)));
  if (!raw.ok()) return std::move(raw).take_error();
  Result<json> parsed = ParseJsonResponse(operation, raw->body);
  if (!parsed.ok()) {
    Error error = std::move(parsed).take_error();
    error.request_id = raw->request_id;
    error.http_status = raw->status;
    return error;
  }
  return parsed;
}

const json* JsonReader::Field(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<std::string> JsonReader::OptStr(const json& obj, const char* key) {
  const json* v = Field(obj, key);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    Fail(std::string("field '") + key + "' is not a string");
    return std::nullopt;
  }
  return v->get<std::string>();
}

std::string JsonReader::Str(const json& obj, const char* key) {
  return OptStr(obj, key).value_or("");
}

std::optional<int64_t> JsonReader::OptInt(const json& obj, const char* key) {
  const json* v = Field(obj, key);
  if (!v) return std::nullopt;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_float()) {
    double d = v->get<double>();
    if (std::floor(d) == d && std::fabs(d) < 9.0e18) return static_cast<int64_t>(d);
  }
  Fail(std::string("field '") + key + "' is not an integer");
  return std::nullopt;
}

int64_t JsonReader::Int(const json& obj, const char* key, int64_t fallback) {
  return OptInt(obj, key).value_or(fallback);
}

double JsonReader::Num(const json& obj, const char* key, double fallback) {
  const json* v = Field(obj, key);
  if (!v) return fallback;
  if (!v->is_number()) {
    Fail(std::string("field '") + key + "' is not a number");
    return fallback;
  }
  return v->get<double>();
}

std::optional<bool> JsonReader::OptBool(const json& obj, const char* key) {
  const json* v = Field(obj, key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) {
    Fail(std::string("field '") + key + "' is not a boolean");
    return std::nullopt;
  }
  return v->get<bool>();
}

bool JsonReader::Bool(const json& obj, const char* key, bool fallback) {
  return OptBool(obj, key).value_or(fallback);
}

int64_t JsonReader::EpochMs(const json& obj, const char* key) {
  const json* v = Field(obj, key);
  if (!v) return 0;
  if (v->is_string()) {
    // Not what JSON 1.1 sends, but what documentation examples and some emulators write.
    int64_t ms = ParseRfc3339Ms(v->get<std::string>());
    if (ms >= 0) return ms;
  }
  if (!v->is_number()) {
    Fail(std::string("field '") + key + "' is not a timestamp");
    return 0;
  }
  return static_cast<int64_t>(std::llround(v->get<double>() * 1000.0));
}

std::vector<const json*> JsonReader::Objects(const json& obj, const char* key) {
  std::vector<const json*> out;
  const json* v = Field(obj, key);
  if (!v) return out;
  if (!v->is_array()) {
    Fail(std::string("field '") + key + "' is not an array");
    return out;
  }
  for (const json& element : *v) {
    if (element.is_object()) {
      out.push_back(&element);
    } else {
      Fail(std::string("field '") + key + "' holds a non-object element");
    }
  }
  return out;
}

std::vector<std::string> JsonReader::Strings(const json& obj, const char* key) {
  std::vector<std::string> out;
  const json* v = Field(obj, key);
  if (!v) return out;
  if (!v->is_array()) {
    Fail(std::string("field '") + key + "' is not an array");
    return out;
  }
  for (const json& element : *v) {
    if (element.is_string()) {
      out.push_back(element.get<std::string>());
    } else {
      Fail(std::string("field '") + key + "' holds a non-string element");
    }
  }
  return out;
}

const json* JsonReader::Object(const json& obj, const char* key) {
  const json* v = Field(obj, key);
  if (v && !v->is_object()) {
    Fail(std::string("field '") + key + "' is not an object");
    return nullptr;
  }
  return v;
}

void JsonReader::Require(const json& obj, const char* key) {
  if (!Field(obj, key)) Fail(std::string("missing field '") + key + "'");
}

void JsonReader::Fail(std::string what) {
  if (!error_) error_ = std::move(what);
}

Error JsonReader::error() const { return MalformedResponse(operation_, error_.value_or("")); }

}  // namespace fleetkeeper::aws
