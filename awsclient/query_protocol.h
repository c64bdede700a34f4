// The AWS query protocols (Auto Scaling, ELBv2, CloudWatch, SNS, STS, IAM: "query"; EC2: "ec2"):
// form-encoded request parameters and XML responses. Internal to the service clients; handlers
// never include this header.
//
// Serialization rules (botocore's protocol tests, tests/unit/protocols/input/{query,ec2}.json):
//  - structures flatten with dots: Nested.RecursiveArg.StringArg=baz
//  - query lists are "Name.member.N" (1-based); an empty list is sent as "Name=" so the service
//    sees an explicitly empty list; EC2 lists are "Name.N" and an empty list is omitted
//  - booleans are "true"/"false", numbers in their shortest round-trip form
//  - keys and values are percent-encoded per RFC 3986 (only A-Z a-z 0-9 - _ . ~ stay literal)
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <pugixml.hpp>

#include "awsclient/transport.h"
#include "common/error.h"

namespace fleetkeeper::aws {

enum class QueryFlavor { kQuery, kEc2 };

// application/x-www-form-urlencoded encoding of a form key or value, byte for byte as the AWS CLI
// writes query bodies: RFC 3986 unreserved characters stay literal, a space becomes '+', every
// other byte %XX. AWS accepts "%20" as well, but an emulator that re-encodes the parsed form to
// check the signature (moto) only matches the CLI's form.
std::string FormEncode(std::string_view text);

// A fresh idempotency token (a random UUID, as the SDKs generate for ClientToken members). A
// client fills it in once per logical call when the caller gave none; the transport resends the
// same body, so every retry carries the same token.
std::string NewIdempotencyToken();

// An ordered list of request parameters for one query-protocol call. Keys are the full flattened
// names; the caller builds them with ListKey() for list members.
class QueryParams {
 public:
  QueryParams(QueryFlavor flavor, std::string action, std::string version);

  QueryFlavor flavor() const { return flavor_; }
  const std::string& action() const { return action_; }

  void Set(std::string key, std::string value);
  void Set(std::string key, const char* value) { Set(std::move(key), std::string(value)); }
  void Set(std::string key, bool value);
  void Set(std::string key, int64_t value);
  void Set(std::string key, int value) { Set(std::move(key), static_cast<int64_t>(value)); }
  void Set(std::string key, double value);

  // Sets the parameter only when the optional holds a value / the string is non-empty.
  template <typename T>
  void SetIf(std::string key, const std::optional<T>& value) {
    if (value) Set(std::move(key), *value);
  }
  void SetIfNotEmpty(std::string key, const std::string& value) {
    if (!value.empty()) Set(std::move(key), value);
  }

  // The key of the 1-based index-th member of list `prefix`: "prefix.member.3" for query services,
  // "prefix.3" for EC2. Pass flattened=true for query lists the model marks as flattened.
  std::string ListKey(std::string_view prefix, size_t index, bool flattened = false) const;

  // A list of scalars under `prefix`. An empty list is sent as "prefix=" for query services (an
  // explicit empty list) and omitted for EC2, as the SDKs do.
  void SetList(const std::string& prefix, const std::vector<std::string>& values,
               bool flattened = false);
  // Like SetList, but an empty list is omitted for both flavors (for optional list parameters
  // where "absent" and "empty" mean the same).
  void SetListIfNotEmpty(const std::string& prefix, const std::vector<std::string>& values,
                         bool flattened = false);

  // "Filter.1.Name=x&Filter.1.Value.1=y" for EC2 (name_key "Name", values_key "Value"); for query
  // services "Filters.member.1.Name=x&Filters.member.1.Values.member.1=y".
  void SetFilters(const std::string& prefix,
                  const std::map<std::string, std::vector<std::string>>& filters,
                  const char* name_key, const char* values_key);

  const std::vector<std::pair<std::string, std::string>>& params() const { return params_; }

  // Action=...&Version=...&<params in insertion order>.
  std::string Encode() const;

 private:
  QueryFlavor flavor_;
  std::string action_;
  std::string version_;
  std::vector<std::pair<std::string, std::string>> params_;
};

// A ServiceRequest carrying the encoded form body with the protocol's Content-Type.
ServiceRequest MakeQueryRequest(const std::string& service, const QueryParams& params);

// A parsed XML response. The result node is <ActionResult> inside <ActionResponse> for query
// services and the <ActionResponse> root itself for EC2. Movable, not copyable.
struct XmlResponse {
  pugi::xml_document doc;
  pugi::xml_node result;
  std::string request_id;  // from the transport, else <RequestId>/<requestId> in the body
};

// Parses `body` as the response to `action`. Errors name the action and what was wrong (not XML,
// wrong root element, missing result element).
Result<XmlResponse> ParseQueryResponse(QueryFlavor flavor, const std::string& action,
                                       const std::string& body);

// Builds the request, calls the transport and parses the answer.
Result<XmlResponse> CallQuery(Transport& transport, const std::string& service,
                              const QueryParams& params);

// Reads typed values from XML nodes and remembers the first malformed one, so that a parse
// function reads every field straight through and checks once at the end. Missing elements are
// not errors (AWS omits empty fields); unreadable ones are.
class XmlReader {
 public:
  explicit XmlReader(std::string action) : action_(std::move(action)) {}

  std::string Text(pugi::xml_node parent, const char* name) const;
  std::optional<std::string> OptText(pugi::xml_node parent, const char* name) const;
  int64_t Int(pugi::xml_node parent, const char* name, int64_t fallback = 0);
  std::optional<int64_t> OptInt(pugi::xml_node parent, const char* name);
  double Double(pugi::xml_node parent, const char* name, double fallback = 0);
  std::optional<double> OptDouble(pugi::xml_node parent, const char* name);
  bool Bool(pugi::xml_node parent, const char* name, bool fallback = false);
  std::optional<bool> OptBool(pugi::xml_node parent, const char* name);
  // RFC 3339 timestamp as epoch milliseconds; 0 when absent.
  int64_t TimeMs(pugi::xml_node parent, const char* name);

  // The element children of <name><item>...</item></name> (EC2) or <name><member>...</member>
  // </name> (query services).
  std::vector<pugi::xml_node> Items(pugi::xml_node parent, const char* name) const;
  std::vector<pugi::xml_node> Members(pugi::xml_node parent, const char* name) const;
  std::vector<std::string> ItemTexts(pugi::xml_node parent, const char* list, const char* field);
  std::vector<std::string> MemberTexts(pugi::xml_node parent, const char* name);

  // Records a malformed field (path and reason) unless an earlier one was recorded.
  void Fail(std::string what);
  // Marks a required element as missing.
  void Require(pugi::xml_node parent, const char* name);

  bool ok() const { return !error_.has_value(); }
  Error error() const;

 private:
  std::string action_;
  std::optional<std::string> error_;
};

// Error for a response that could not be understood: "<action>: malformed response: <detail>".
Error MalformedResponse(const std::string& action, const std::string& detail);

// Parses `xml` as the answer to the action and hands the result node to
// `read(XmlReader&, pugi::xml_node) -> T`; the first malformed field becomes the error.
template <typename T, typename Read>
Result<T> ParseAndRead(QueryFlavor flavor, const std::string& action, const std::string& xml,
                       Read&& read) {
  Result<XmlResponse> response = ParseQueryResponse(flavor, action, xml);
  if (!response.ok()) return std::move(response).take_error();
  XmlReader reader(action);
  T out = read(reader, response->result);
  if (!reader.ok()) return reader.error();
  return out;
}

// Calls the transport, then reads the result like ParseAndRead().
template <typename T, typename Read>
Result<T> CallAndRead(Transport& transport, const std::string& service, const QueryParams& params,
                      Read&& read) {
  Result<XmlResponse> response = CallQuery(transport, service, params);
  if (!response.ok()) return std::move(response).take_error();
  XmlReader reader(params.action());
  T out = read(reader, response->result);
  if (!reader.ok()) {
    Error error = reader.error();
    error.request_id = response->request_id;
    return error;
  }
  return out;
}

// Reads the answer of a mutating call and keeps its request id in `T::request_id`: workflows
// record it per action. The id is the transport's (x-amzn-RequestId) when it had one, else the
// body's <requestId>.
template <typename T, typename Read>
Result<T> ReadRecorded(const std::string& action, Result<XmlResponse> response, Read&& read) {
  if (!response.ok()) return std::move(response).take_error();
  XmlReader reader(action);
  T out = read(reader, response->result);
  if (!reader.ok()) {
    Error error = reader.error();
    error.request_id = response->request_id;
    return error;
  }
  out.request_id = std::move(response->request_id);
  return out;
}

template <typename T, typename Read>
Result<T> CallRecorded(Transport& transport, const std::string& service, const QueryParams& params,
                       Read&& read) {
  return ReadRecorded<T>(params.action(), CallQuery(transport, service, params),
                         std::forward<Read>(read));
}

// For actions whose response carries nothing but the request id: CallNoOutput() drops it,
// CallReceipt() returns it (for calls that change something, whose id goes into a result).
Status CallNoOutput(Transport& transport, const std::string& service, const QueryParams& params);
Result<RequestReceipt> CallReceipt(Transport& transport, const std::string& service,
                                   const QueryParams& params);

}  // namespace fleetkeeper::aws
