// libFuzzer harness: the SigV4 canonicalizer (awsclient/sigv4.h): URI path normalization and
// encoding, query canonicalization, header canonicalization, through SignRequest and
// PresignRequest. The input is an HTTP request in the form of the AWS SigV4 test suite's
// request.txt ("METHOD PATH?QUERY HTTP/1.1", header lines "Name:value", a line starting with
// whitespace continuing the previous value, an empty line, the body), so the suite seeds it.
// Seeds: ../shared/testdata/sigv4.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "awsclient/sigv4.h"
#include "tests/fuzz/fuzz_support.h"

namespace aws = fleetkeeper::aws;

namespace {

std::string_view NextLine(std::string_view& text) {
  const size_t end = text.find('\n');
  std::string_view line = text.substr(0, end);
  text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

aws::SignableRequest ReadRequest(std::string_view text) {
  aws::SignableRequest request;
  std::string_view line = NextLine(text);
  const size_t method_end = line.find(' ');
  request.method = std::string(line.substr(0, method_end));
  std::string_view target =
      method_end == std::string_view::npos ? std::string_view() : line.substr(method_end + 1);
  const size_t version = target.rfind(" HTTP/");
  if (version != std::string_view::npos) target = target.substr(0, version);
  const size_t question = target.find('?');
  request.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) request.query = std::string(target.substr(question + 1));
  while (!text.empty()) {
    line = NextLine(text);
    if (line.empty()) break;
    if ((line.front() == ' ' || line.front() == '\t') && !request.headers.empty()) {
      request.headers.back().second += "\n" + std::string(line);
      continue;
    }
    const size_t colon = line.find(':');
    request.headers.emplace_back(
        std::string(line.substr(0, colon)),
        colon == std::string_view::npos ? std::string() : std::string(line.substr(colon + 1)));
  }
  request.body = std::string(text);
  return request;
}

}  // namespace

FK_FUZZ_QUIET_INIT

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const aws::SignableRequest request = ReadRequest(input);

  aws::Credentials credentials;
  credentials.access_key_id = "AKIDEXAMPLE";
  credentials.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  credentials.session_token = size % 2 == 0 ? "" : "session-token";
  aws::SigningParams params;
  params.region = "us-east-1";
  params.service = "service";
  params.time_ms = 1440938160000;  // 2015-08-30T12:36:00Z, the suite's signing time
  for (bool normalize : {true, false}) {
    params.normalize_path = normalize;
    params.sign_body = !normalize;
    auto signed_request = aws::SignRequest(request, credentials, params);
    auto again = aws::SignRequest(request, credentials, params);
    FK_FUZZ_CHECK(signed_request.ok() == again.ok(), "signing is not deterministic");
    if (signed_request.ok()) {
      FK_FUZZ_CHECK(signed_request->signature.size() == 64, "a signature that is not 32 bytes hex");
      FK_FUZZ_CHECK(signed_request->signature == again->signature, "signing is not deterministic");
    } else {
      FK_FUZZ_CHECK(!signed_request.error().message.empty(), "a signing error without a message");
    }
    (void)aws::PresignRequest(request, credentials, params);
  }

  for (bool keep_slash : {false, true}) {
    const std::string encoded = aws::UriEncode(input, keep_slash);
    FK_FUZZ_CHECK(aws::UriDecode(encoded) == input, "UriDecode(UriEncode(x)) != x");
  }
  (void)aws::UriDecode(input);
  return 0;
}
