#include "common/file.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/common/temp_dir.h"

namespace fleetkeeper {
namespace {

class ReadFileContentsTest : public ::testing::Test {
 protected:
  testing::TempDir temp_;
  const std::string& dir_ = temp_.path();
};

TEST_F(ReadFileContentsTest, ReadsEveryByte) {
  const std::string bytes("a\0b\r\nc", 6);
  const std::string path = temp_.Write("data.bin", bytes);
  auto data = ReadFileContents(path);
  ASSERT_TRUE(data.ok()) << data.error().message;
  EXPECT_EQ(*data, bytes);
}

TEST_F(ReadFileContentsTest, DirectoryIsAnErrorNamingIt) {
  auto data = ReadFileContents(dir_);
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(data.error().message, dir_ + ": is a directory, not a file");
}

TEST_F(ReadFileContentsTest, MissingFileNamesThePathAndTheReason) {
  auto data = ReadFileContents(dir_ + "/absent.yaml");
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.error().message,
            "cannot read " + dir_ + "/absent.yaml: No such file or directory");
}

}  // namespace
}  // namespace fleetkeeper
