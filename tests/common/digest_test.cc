#include "common/digest.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace fleetkeeper {
namespace {

// FIPS 180-4 test vectors (NIST "Example Algorithms", SHA-256): "abc", the empty string, and the
// 448-bit two-block message.
TEST(Sha256Hex, MatchesPublishedVectors) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(HexEncode, LowercasePairsPerByte) {
  EXPECT_EQ(HexEncode(std::string("\x00\x0f\xa5\xff", 4)), "000fa5ff");
  EXPECT_EQ(HexEncode(""), "");
}

TEST(Sha256Hex, TruncatesToTheBytesAsked) {
  EXPECT_EQ(Sha256Hex("abc", 8), "ba7816bf8f01cfea");
  EXPECT_EQ(Sha256Hex("abc", 0), "");
  EXPECT_EQ(Sha256Hex("abc", 64).size(), 64u);  // at most the whole digest
}

TEST(Sha256Hex, ContextReusedAcrossCallsAndThreads) {
  // The context is reused per thread: a call must not see the previous one's input.
  EXPECT_EQ(Sha256Hex("abc"), Sha256Hex("abc"));
  EXPECT_NE(Sha256Hex("abc"), Sha256Hex("abd"));
  std::vector<std::string> seen(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&seen, t] {
      for (int i = 0; i < 1000; ++i) seen[t] = Sha256Hex("abc");
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& s : seen) {
    EXPECT_EQ(s, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }
}

}  // namespace
}  // namespace fleetkeeper
