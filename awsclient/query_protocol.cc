#include "awsclient/query_protocol.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

#include "common/clock.h"

namespace fleetkeeper::aws {

std::string FormEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::string NewIdempotencyToken() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  std::uniform_int_distribution<uint64_t> bits;
  uint64_t high = bits(engine);
  uint64_t low = bits(engine);
  high = (high & ~uint64_t{0xF000}) | uint64_t{0x4000};          // version 4
  low = (low & ~(uint64_t{0xC} << 60)) | (uint64_t{0x8} << 60);  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof(out), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(high >> 32),
                static_cast<unsigned>((high >> 16) & 0xFFFF), static_cast<unsigned>(high & 0xFFFF),
                static_cast<unsigned>(low >> 48),
                static_cast<unsigned long long>(low & 0xFFFFFFFFFFFFull));
  return out;
}

QueryParams::QueryParams(QueryFlavor flavor, std::string action, std::string version)
    : flavor_(flavor), action_(std::move(action)), version_(std::move(version)) {}

void QueryParams::Set(std::string key, std::string value) {
  params_.emplace_back(std::move(key), std::move(value));
}

void QueryParams::Set(std::string key, bool value) {
  Set(std::move(key), std::string(value ? "true" : "false"));
}

void QueryParams::Set(std::string key, int64_t value) {
  Set(std::move(key), std::to_string(value));
}

void QueryParams::Set(std::string key, double value) {
  // AWS accepts the JSON spellings of the special values (botocore's protocol tests).
  if (std::isnan(value)) return Set(std::move(key), std::string("NaN"));
  if (std::isinf(value)) {
    return Set(std::move(key), std::string(value > 0 ? "Infinity" : "-Infinity"));
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  Set(std::move(key), std::string(buf, ec == std::errc() ? end : buf));
}

std::string QueryParams::ListKey(std::string_view prefix, size_t index, bool flattened) const {
  std::string key(prefix);
  if (flavor_ == QueryFlavor::kQuery && !flattened) key += ".member";
  key += '.';
  key += std::to_string(index);
  return key;
}

void QueryParams::SetList(const std::string& prefix, const std::vector<std::string>& values,
                          bool flattened) {
  if (values.empty()) {
    if (flavor_ == QueryFlavor::kQuery) Set(prefix, std::string());
    return;
  }
  for (size_t i = 0; i < values.size(); ++i) Set(ListKey(prefix, i + 1, flattened), values[i]);
}

void QueryParams::SetListIfNotEmpty(const std::string& prefix,
                                    const std::vector<std::string>& values, bool flattened) {
  if (!values.empty()) SetList(prefix, values, flattened);
}

void QueryParams::SetFilters(const std::string& prefix,
                             const std::map<std::string, std::vector<std::string>>& filters,
                             const char* name_key, const char* values_key) {
  size_t i = 0;
  for (const auto& [name, values] : filters) {
    const std::string base = ListKey(prefix, ++i);
    Set(base + "." + name_key, name);
    SetList(base + "." + values_key, values);
  }
}

std::string QueryParams::Encode() const {
  std::string out = "Action=" + FormEncode(action_) + "&Version=" + FormEncode(version_);
  for (const auto& [key, value] : params_) {
    out += '&';
    out += FormEncode(key);
    out += '=';
    out += FormEncode(value);
  }
  return out;
}

ServiceRequest MakeQueryRequest(const std::string& service, const QueryParams& params) {
  ServiceRequest request;
  request.service = service;
  request.operation = params.action();
  request.protocol = params.flavor() == QueryFlavor::kEc2 ? Protocol::kEc2Query : Protocol::kQuery;
  request.method = "POST";
  request.path = "/";
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  request.body = params.Encode();
  return request;
}

Error MalformedResponse(const std::string& action, const std::string& detail) {
  return Error(ErrorCode::kAws, action + ": malformed response: " + detail);
}

Result<XmlResponse> ParseQueryResponse(QueryFlavor flavor, const std::string& action,
                                       const std::string& body) {
  XmlResponse response;
  pugi::xml_parse_result parsed = response.doc.load_buffer(body.data(), body.size());
  if (!parsed) {
    return MalformedResponse(action, std::string("not XML (") + parsed.description() +
                                         " at offset " + std::to_string(parsed.offset) + ")");
  }
  const std::string root_name = action + "Response";
  pugi::xml_node root = response.doc.document_element();
  if (root_name != root.name()) {
    return MalformedResponse(
        action, "root element is <" + std::string(root.name()) + ">, expected <" + root_name + ">");
  }
  if (flavor == QueryFlavor::kEc2) {
    response.result = root;
    response.request_id = root.child_value("requestId");
  } else {
    response.result = root.child((action + "Result").c_str());
    response.request_id = root.child("ResponseMetadata").child_value("RequestId");
    // Actions without output fields (SetDesiredCapacity, ...) have no result element; reading
    // from an empty node yields nothing, which is the right answer for them.
  }
  return response;
}

Result<XmlResponse> CallQuery(Transport& transport, const std::string& service,
                              const QueryParams& params) {
  Result<ServiceResponse> raw = transport.Call(MakeQueryRequest(service, params));
  if (!raw.ok()) return std::move(raw).take_error();
  Result<XmlResponse> parsed = ParseQueryResponse(params.flavor(), params.action(), raw->body);
  if (parsed.ok() && !raw->request_id.empty()) parsed->request_id = raw->request_id;
  if (!parsed.ok()) {
    Error error = std::move(parsed).take_error();
    error.request_id = raw->request_id;
    error.http_status = raw->status;
    return error;
  }
  return parsed;
}

Status CallNoOutput(Transport& transport, const std::string& service, const QueryParams& params) {
  Result<XmlResponse> response = CallQuery(transport, service, params);
  if (!response.ok()) return std::move(response).take_error();
  return Ok{};
}

Result<RequestReceipt> CallReceipt(Transport& transport, const std::string& service,
                                   const QueryParams& params) {
  Result<XmlResponse> response = CallQuery(transport, service, params);
  if (!response.ok()) return std::move(response).take_error();
  return RequestReceipt{std::move(response->request_id)};
}

std::string XmlReader::Text(pugi::xml_node parent, const char* name) const {
  return parent.child_value(name);
}

std::optional<std::string> XmlReader::OptText(pugi::xml_node parent, const char* name) const {
  pugi::xml_node node = parent.child(name);
  if (!node) return std::nullopt;
  return std::string(node.child_value());
}

namespace {

std::string_view Trimmed(const char* text) {
  std::string_view view(text);
  while (!view.empty() && std::strchr(" \t\r\n", view.front())) view.remove_prefix(1);
  while (!view.empty() && std::strchr(" \t\r\n", view.back())) view.remove_suffix(1);
  return view;
}

std::string Path(pugi::xml_node parent, const char* name) {
  std::string path = name;
  for (pugi::xml_node n = parent; n && n.type() == pugi::node_element; n = n.parent()) {
    path = std::string(n.name()) + "/" + path;
  }
  return path;
}

}  // namespace

std::optional<int64_t> XmlReader::OptInt(pugi::xml_node parent, const char* name) {
  pugi::xml_node node = parent.child(name);
  if (!node) return std::nullopt;
  std::string_view text = Trimmed(node.child_value());
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    Fail(Path(parent, name) + " is not an integer: '" + std::string(text) + "'");
    return std::nullopt;
  }
  return value;
}

int64_t XmlReader::Int(pugi::xml_node parent, const char* name, int64_t fallback) {
  return OptInt(parent, name).value_or(fallback);
}

std::optional<double> XmlReader::OptDouble(pugi::xml_node parent, const char* name) {
  pugi::xml_node node = parent.child(name);
  if (!node) return std::nullopt;
  std::string text(Trimmed(node.child_value()));
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size()) {
    Fail(Path(parent, name) + " is not a number: '" + text + "'");
    return std::nullopt;
  }
  return value;
}

double XmlReader::Double(pugi::xml_node parent, const char* name, double fallback) {
  return OptDouble(parent, name).value_or(fallback);
}

std::optional<bool> XmlReader::OptBool(pugi::xml_node parent, const char* name) {
  pugi::xml_node node = parent.child(name);
  if (!node) return std::nullopt;
  std::string_view text = Trimmed(node.child_value());
  if (text == "true") return true;
  if (text == "false") return false;
  Fail(Path(parent, name) + " is not a boolean: '" + std::string(text) + "'");
  return std::nullopt;
}

bool XmlReader::Bool(pugi::xml_node parent, const char* name, bool fallback) {
  return OptBool(parent, name).value_or(fallback);
}

int64_t XmlReader::TimeMs(pugi::xml_node parent, const char* name) {
  pugi::xml_node node = parent.child(name);
  if (!node) return 0;
  std::string text(Trimmed(node.child_value()));
  if (text.empty()) return 0;
  int64_t ms = ParseRfc3339Ms(text);
  if (ms < 0) {
    Fail(Path(parent, name) + " is not a timestamp: '" + text + "'");
    return 0;
  }
  return ms;
}

namespace {

std::vector<pugi::xml_node> ListChildren(pugi::xml_node parent, const char* name,
                                         const char* entry) {
  std::vector<pugi::xml_node> out;
  for (pugi::xml_node n : parent.child(name).children(entry)) out.push_back(n);
  return out;
}

}  // namespace

std::vector<pugi::xml_node> XmlReader::Items(pugi::xml_node parent, const char* name) const {
  return ListChildren(parent, name, "item");
}

std::vector<pugi::xml_node> XmlReader::Members(pugi::xml_node parent, const char* name) const {
  return ListChildren(parent, name, "member");
}

std::vector<std::string> XmlReader::ItemTexts(pugi::xml_node parent, const char* list,
                                              const char* field) {
  std::vector<std::string> out;
  for (pugi::xml_node item : Items(parent, list)) out.emplace_back(item.child_value(field));
  return out;
}

std::vector<std::string> XmlReader::MemberTexts(pugi::xml_node parent, const char* name) {
  std::vector<std::string> out;
  for (pugi::xml_node member : Members(parent, name)) out.emplace_back(member.child_value());
  return out;
}

void XmlReader::Fail(std::string what) {
  if (!error_) error_ = std::move(what);
}

void XmlReader::Require(pugi::xml_node parent, const char* name) {
  if (!parent.child(name)) Fail("missing " + Path(parent, name));
}

Error XmlReader::error() const { return MalformedResponse(action_, error_.value_or("")); }

}  // namespace fleetkeeper::aws
