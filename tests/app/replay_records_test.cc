// Which records `fleetkeeper replay` sends for a set of paths, and that a bad path sends none.
#include "app/replay_records.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/common/temp_dir.h"

namespace fleetkeeper::app {
namespace {

class ReplayRecordsTest : public ::testing::Test {
 protected:
  testing::TempDir temp_;
  const std::string& dir_ = temp_.path();
};

TEST_F(ReplayRecordsTest, JsonLinesHoldOneRecordPerNonBlankLine) {
  // Written on Windows: CRLF line ends, a blank line, no newline at the end.
  const auto path = temp_.Write("events.jsonl", "{\"a\":1}\r\n\r\n  \n{\"b\":2}\r\n{\"c\":3}");
  auto files = ReadReplayFiles({path});
  ASSERT_TRUE(files.ok()) << files.error().message;
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].records, (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"}));
}

TEST_F(ReplayRecordsTest, DirectoryStandsForItsRecordFilesInPathOrder) {
  temp_.Write("b.json", "{\"b\":1}\n");
  temp_.Write("a/z.ndjson", "{\"z\":1}\n{\"z\":2}\n");
  temp_.Write("notes.txt", "not an event");
  auto files = ReadReplayFiles({dir_});
  ASSERT_TRUE(files.ok()) << files.error().message;
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0].path, dir_ + "/a/z.ndjson");
  EXPECT_EQ((*files)[0].records, (std::vector<std::string>{"{\"z\":1}", "{\"z\":2}"}));
  EXPECT_EQ((*files)[1].path, dir_ + "/b.json");
  // A .json file is one record, byte for byte.
  EXPECT_EQ((*files)[1].records, (std::vector<std::string>{"{\"b\":1}\n"}));
}

TEST_F(ReplayRecordsTest, DirectoryWithoutRecordFilesIsAnErrorNamingIt) {
  temp_.Write("empty/notes.txt", "nothing to replay");
  auto files = ReadReplayFiles({dir_ + "/empty"});
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.error().message,
            dir_ + "/empty: no .json, .jsonl or .ndjson files in this directory");
}

TEST_F(ReplayRecordsTest, AMissingPathAfterGoodOnesFailsTheWholeSet) {
  const auto good = temp_.Write("good.json", "{}");
  auto files = ReadReplayFiles({good, dir_ + "/absent.json"});
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.error().message,
            "cannot read " + dir_ + "/absent.json: No such file or directory");
}

}  // namespace
}  // namespace fleetkeeper::app
