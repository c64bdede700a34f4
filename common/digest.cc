#include "common/digest.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace fleetkeeper {
namespace {

// OpenSSL 3 looks an algorithm up by name on every one-shot call (SHA256(), EVP_Digest with
// EVP_sha256()); fetched once, a digest costs its hashing alone. Results take several per event,
// SigV4 two per request.
const EVP_MD* Sha256Md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

struct CtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

}  // namespace

std::string HexEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * bytes.size(), '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kHex[c >> 4];
    out[2 * i + 1] = kHex[c & 0xf];
  }
  return out;
}

std::string Sha256Hex(std::string_view data, size_t bytes) {
  thread_local std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  const EVP_MD* md = Sha256Md();
  if (md == nullptr || ctx == nullptr || EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &length) != 1) {
    // Only a broken OpenSSL installation gets here; an id that is not derived from its content
    // would break deduplication silently, so stop instead, saying why.
    std::fputs("fleetkeeper: OpenSSL cannot compute SHA-256 (is the default provider loaded?)\n",
               stderr);
    std::abort();
  }
  return HexEncode(
      std::string_view(reinterpret_cast<const char*>(digest), std::min<size_t>(bytes, length)));
}

}  // namespace fleetkeeper
