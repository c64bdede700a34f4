// libFuzzer harness: SNS message parsing and signature verification
// (consumers/http/sns_signature.h). The input is tried as a signed SNS message (parsed, its string
// to sign built, its signing URL checked, its signature verified against a real SNS certificate)
// and as a certificate PEM that a real signed message is verified against. Seeds:
// ../shared/testdata/sns and the SNS event fixtures.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "consumers/http/sns_signature.h"
#include "tests/fuzz/fuzz_support.h"

namespace fk = fleetkeeper::consumers::http;

namespace {

constexpr const char* kCertificate =
    "../shared/testdata/sns/aws-php-sns-message-validator/"
    "SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem";
constexpr const char* kSignedMessage =
    "../shared/testdata/sns/aws-php-sns-message-validator/notification-sigv1-with-subject.json";

struct Fixed {
  std::string certificate;
  fk::SnsSignedMessage message;
};

const Fixed& Fixtures() {
  static const Fixed fixed = [] {
    Fixed f;
    f.certificate = fleetkeeper::fuzz::ReadRepoFile(kCertificate);
    auto parsed = fk::ParseSnsSignedMessage(fleetkeeper::fuzz::ReadRepoFile(kSignedMessage));
    FK_FUZZ_CHECK(parsed.ok(), "the fixed signed SNS message does not parse");
    f.message = std::move(parsed).value();
    return f;
  }();
  return fixed;
}

}  // namespace

FK_FUZZ_QUIET_INIT

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Fixed& fixed = Fixtures();
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  auto parsed = fk::ParseSnsSignedMessage(input);
  if (parsed.ok()) {
    (void)fk::SnsStringToSign(*parsed);
    (void)fk::ValidateSigningCertUrl(parsed->signing_cert_url);
    (void)fk::VerifySnsSignature(*parsed, fixed.certificate);
  } else {
    FK_FUZZ_CHECK(!parsed.error().message.empty(), "a parse error without a message");
  }
  (void)fk::ValidateSigningCertUrl(input);
  // The real message verifies only against the certificate that signed it.
  const fleetkeeper::Status verified = fk::VerifySnsSignature(fixed.message, input);
  FK_FUZZ_CHECK(!verified.ok() || input == fixed.certificate ||
                    input.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos,
                "a signature verified against something that is not a certificate");
  return 0;
}
