#include "consumers/results.h"

#include <google/protobuf/util/json_util.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace fleetkeeper::consumers {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Length of the valid UTF-8 sequence at s[i], 0 if it is not one (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
  }
  if (n == 2 && c < 0xc2) return 0;
  if (n == 3) {
    if (c == 0xe0 && b(i + 1) < 0xa0) return 0;
    if (c == 0xed && b(i + 1) >= 0xa0) return 0;
  }
  if (n == 4) {
    if (c == 0xf0 && b(i + 1) < 0x90) return 0;
    if (c > 0xf4 || (c == 0xf4 && b(i + 1) >= 0x90)) return 0;
  }
  return n;
}

// Bytes a JSON string holds as they are: printable ASCII but the quote and the backslash.
constexpr auto kPlainJson = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[c] = c != '"' && c != '\\';
  return plain;
}();

// Whether the 8 bytes at p are all plain, a word at a time: no byte has its top bit set, is below
// 0x20, or equals '"' or '\\' ("has a zero byte" and "has a byte less than n" are the classic
// bit tricks; each may also flag bytes above a real hit, never a word without one).
bool AllPlain8(const char* p) {
  constexpr uint64_t k01 = 0x0101010101010101ULL;
  constexpr uint64_t k80 = 0x8080808080808080ULL;
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  const auto has_zero = [](uint64_t v) { return (v - k01) & ~v & k80; };
  const uint64_t bad = (w & k80) | ((w - k01 * 0x20) & ~w & k80) | has_zero(w ^ (k01 * '"')) |
                       has_zero(w ^ (k01 * '\\'));
  return bad == 0;
}

// A JSON string literal. Bytes that are not valid UTF-8 become U+FFFD, so the output is always
// valid JSON even when a reason quotes broken input.
void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    size_t run = i;
    while (run + 8 <= s.size() && AllPlain8(s.data() + run)) run += 8;
    while (run < s.size() && kPlainJson[static_cast<unsigned char>(s[run])]) ++run;
    out.append(s.data() + i, run - i);
    i = run;
    if (i == s.size()) break;
    const unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        ++i;
        continue;
      case '\\':
        out += "\\\\";
        ++i;
        continue;
      case '\n':
        out += "\\n";
        ++i;
        continue;
      case '\r':
        out += "\\r";
        ++i;
        continue;
      case '\t':
        out += "\\t";
        ++i;
        continue;
      case '\b':
        out += "\\b";
        ++i;
        continue;
      case '\f':
        out += "\\f";
        ++i;
        continue;
      default:
        break;
    }
    if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
      ++i;
      continue;
    }
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  out += '"';
}

// `"name":"value"`; `name` is a literal that needs no escaping.
void AppendField(std::string& out, std::string_view name, std::string_view value) {
  out += '"';
  out.append(name);
  out.append("\":", 2);
  AppendJsonString(out, value);
}

// The proto3 JSON mapping of a Result as ToJson prints it (field names kept, defaults printed,
// int64 as a string), written directly: the generic converter cost more than everything else on
// the record path together (bench/README.md, "Pipeline vs kcat").
std::string ResultJson(const v1::Result& r) {
  std::string out;
  out.reserve(256 + r.reason().size() + r.actions_size() * 160);
  out += '{';
  AppendField(out, "id", r.id());
  out += ',';
  AppendField(out, "correlation_id", r.correlation_id());
  out += ',';
  AppendField(out, "dedup_key", r.dedup_key());
  out += ',';
  AppendField(out, "handler", r.handler());
  out += ',';
  AppendField(out, "workflow_id", r.workflow_id());
  out += ',';
  const std::string& status_name = v1::Result::Status_Name(r.status());
  if (status_name.empty()) {
    out += "\"status\":" + std::to_string(static_cast<int>(r.status()));
  } else {
    AppendField(out, "status", status_name);
  }
  out += ',';
  AppendField(out, "reason", r.reason());
  out += ",\"actions\":[";
  for (int i = 0; i < r.actions_size(); ++i) {
    const v1::Action& a = r.actions(i);
    if (i > 0) out += ',';
    out += '{';
    AppendField(out, "resource", a.resource());
    out += ',';
    AppendField(out, "action", a.action());
    out += ',';
    AppendField(out, "status", a.status());
    out += ',';
    AppendField(out, "detail", a.detail());
    out += ',';
    AppendField(out, "aws_request_id", a.aws_request_id());
    out += '}';
  }
  out += "],";
  AppendField(out, "started_at", r.started_at());
  out += ',';
  AppendField(out, "finished_at", r.finished_at());
  if (r.has_source()) {
    out += ",\"source\":{";
    AppendField(out, "topic", r.source().topic());
    char digits[24];
    out += ",\"partition\":";
    out.append(digits, std::to_chars(digits, digits + sizeof(digits), r.source().partition()).ptr);
    out += ",\"offset\":\"";
    out.append(digits, std::to_chars(digits, digits + sizeof(digits), r.source().offset()).ptr);
    out += "\"}";
  }
  out += '}';
  return out;
}

}  // namespace

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  // A stable schema for readers: partition 0, offset 0 and empty strings are printed too.
  options.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

std::string SerializeResult(const v1::Result& result, ResultFormat format) {
  if (format == ResultFormat::kProtobuf) return result.SerializeAsString();
  return ResultJson(result);
}

OutRecord ResultRecord(const v1::Result& result, const OutputTopics& topics) {
  OutRecord out;
  out.topic = topics.results;
  out.key = result.correlation_id();
  out.value = SerializeResult(result, topics.result_format);
  out.headers.reserve(2);
  if (topics.result_format == ResultFormat::kProtobuf) {
    out.headers.push_back({"content-type", "application/x-protobuf"});
    out.headers.push_back({"fk-type", "fleetkeeper.v1.Result"});
  } else {
    out.headers.push_back({"content-type", "application/json"});
  }
  out.source_topic = result.source().topic();
  out.source_partition = result.source().partition();
  out.source_offset = result.source().offset();
  return out;
}

OutRecord WorkRecord(const v1::Event& event, const OutputTopics& topics) {
  OutRecord out;
  out.topic = topics.work;
  out.key = CellOf(event);
  out.partition = Murmur2Partition(out.key, topics.work_partitions);
  out.value = event.SerializeAsString();
  // What the record is, for tools reading the topic; the event id is in the record already.
  out.headers.reserve(2);
  out.headers.push_back({"content-type", "application/x-protobuf"});
  out.headers.push_back({"fk-type", "fleetkeeper.v1.Event"});
  out.source_topic = event.source().topic();
  out.source_partition = event.source().partition();
  out.source_offset = event.source().offset();
  return out;
}

OutRecord DlqRecord(const InputRecord& input, const std::string& reason,
                    const OutputTopics& topics) {
  OutRecord out;
  out.topic = topics.dlq;
  out.key = std::string(input.key);
  for (const auto& h : input.headers) out.headers.push_back({h.key, h.value});
  out.headers.push_back({"fk-error", reason.substr(0, 4096)});
  out.headers.push_back({"fk-source-topic", input.topic});
  out.headers.push_back({"fk-source-partition", std::to_string(input.partition)});
  out.headers.push_back({"fk-source-offset", std::to_string(input.offset)});
  size_t overhead = out.key.size() + 1024;  // record framing and batch header
  for (const auto& h : out.headers) overhead += h.key.size() + h.value.size() + 16;
  size_t budget = topics.dlq_max_message_bytes > static_cast<int64_t>(overhead)
                      ? static_cast<size_t>(topics.dlq_max_message_bytes) - overhead
                      : 0;
  if (input.payload.size() > budget) {
    out.value = std::string(input.payload.substr(0, budget));
    out.headers.push_back({"fk-truncated", "true"});
    out.headers.push_back({"fk-original-size", std::to_string(input.payload.size())});
  } else {
    out.value = std::string(input.payload);
  }
  out.source_topic = input.topic;
  out.source_partition = input.partition;
  out.source_offset = input.offset;
  return out;
}

}  // namespace fleetkeeper::consumers
