// The CSV module (framework/io/csv.h): the reader's quoting, line numbers and messages, gzip
// input, and what the writer writes reading back unchanged.
#include <gtest/gtest.h>
#include <zlib.h>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/io/csv.h"
#include "tests/framework/test_util.h"

namespace frerec::io {
namespace {
using frerec::testing::error_of;
using frerec::testing::TempDir;
using frerec::testing::write_text;

void write_gz(const std::filesystem::path& path, const std::string& text) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  gzclose(file);
}

TEST(CsvReader, QuotesBomAndRaggedRows) {
  const CsvTable table = parse_csv("\xEF\xBB\xBFpath,label\n\"a,b\",1\r\n\"say \"\"hi\"\"\",0\n", "t.csv");
  EXPECT_EQ(table.header[0], "path");
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[0][0], "a,b");
  EXPECT_EQ(table.rows[1][0], "say \"hi\"");
  EXPECT_EQ(error_of<RunError>([] { parse_csv("a,b\n1,2,3\n", "r.csv"); }), "csv: 'r.csv' line 2 has 3 cells, the header has 2");
}

// Line numbers count the line breaks inside quoted fields; blank lines are left out.
TEST(CsvReader, RecordsKeepTheLineTheyStartOn) {
  const auto records = parse_csv_records("a,b\n\n\"x\ny\",1\r\n\r\nlast,\"\"", "l.csv");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[1].line, 3u);
  EXPECT_EQ(records[1].fields, (std::vector<std::string>{"x\ny", "1"}));
  EXPECT_EQ(records[2].line, 6u);
  EXPECT_EQ(records[2].fields, (std::vector<std::string>{"last", ""}));
  EXPECT_EQ(error_of<RunError>([] { parse_csv("a,b\n1,2\n3\n", "r.csv"); }), "csv: 'r.csv' line 3 has 1 cells, the header has 2");
}

TEST(CsvReader, MessagesNameTheFile) {
  EXPECT_EQ(error_of<RunError>([] { parse_csv("a,b\n\"open,1\n", "q.csv"); }), "csv: 'q.csv' ends inside a quoted cell");
  EXPECT_EQ(error_of<RunError>([] { parse_csv("\n\r\n", "e.csv"); }), "csv: 'e.csv' is empty (no header row)");
  EXPECT_EQ(error_of<RunError>([] { read_csv("/nonexistent/x.csv"); }), "csv: '/nonexistent/x.csv' does not exist");
  const CsvTable table = parse_csv("path,label\n", "c.csv");
  EXPECT_EQ(table.column("label"), 1u);
  EXPECT_FALSE(table.find_column("split"));
  EXPECT_EQ(error_of<RunError>([&] { table.column("split"); }), "csv: 'c.csv' has no column 'split' (columns: path, label)");
}

TEST(CsvReader, GzipAndFindCsv) {
  TempDir dir;
  EXPECT_FALSE(find_csv(dir.path(), "labels.csv"));
  write_gz(dir / "labels.csv.gz", "image,level\n\"a,1\",2\n");
  ASSERT_EQ(find_csv(dir.path(), "labels.csv"), dir / "labels.csv.gz");
  const CsvTable table = read_csv(dir / "labels.csv.gz");
  EXPECT_EQ(table.rows, (std::vector<std::vector<std::string>>{{"a,1", "2"}}));
  write_text(dir / "labels.csv", "image,level\n");
  EXPECT_EQ(find_csv(dir.path(), "labels.csv"), dir / "labels.csv");  // plain wins over .gz
}

// A gzipped CSV cut short (here: the trailer, and half the stream) is an
// error naming the file, never a shorter table.
TEST(CsvReader, TruncatedGzipIsAnErrorNamingTheFile) {
  TempDir dir;
  std::string text = "path,label\n";
  for (int i = 0; i < 45; ++i) text += "img" + std::to_string(i) + ".png," + std::to_string(i % 2) + "\n";
  write_gz(dir / "whole.csv.gz", text);
  EXPECT_EQ(read_csv(dir / "whole.csv.gz").rows.size(), 45u);
  const std::string bytes = read_file(dir / "whole.csv.gz");
  for (const std::size_t keep : {bytes.size() - 8, bytes.size() / 2}) {
    const auto cut = dir / ("cut" + std::to_string(keep) + ".csv.gz");
    write_file_atomic(cut, bytes.substr(0, keep));
    const std::string message = error_of<RunError>([&] { read_csv(cut); });
    EXPECT_NE(message.find(cut.string()), std::string::npos) << message;
    EXPECT_NE(message.find("truncated"), std::string::npos) << message;
  }
}

// Quoted only when needed, so plain outputs (tables, runs.csv, manifests) stay as they were.
TEST(CsvWriter, QuotesOnlyWhenNeeded) {
  EXPECT_EQ(csv_field("plain_name-1.png"), "plain_name-1.png");
  EXPECT_EQ(csv_field(" spaced "), " spaced ");
  EXPECT_EQ(csv_field(""), "");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_field("cr\r"), "\"cr\r\"");
  EXPECT_EQ(csv_row({"a", "b,c", ""}), "a,\"b,c\",\n");
  EXPECT_EQ(csv_row({"", ""}), ",\n");
  EXPECT_EQ(csv_row({""}), "\"\"\n");  // not a blank line
  EXPECT_EQ(csv_text({"", {"name", "value"}, {{"x", "1"}, {"y,z", "2"}}}), "name,value\nx,1\n\"y,z\",2\n");
}

TEST(CsvWriter, NastyFieldsReadBackUnchanged) {
  TempDir dir;
  CsvTable written;
  written.header = {"name", "value", "note"};
  written.rows = {
      {"a,b.png", "1", "comma"},
      {"say \"hi\".png", "2", "\""},
      {"two\nlines", "3", "crlf\r\nend"},
      {"r\xC3\xA9sum\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC.png", "4", "r\xe9sum\xe9 (Latin-1)"},
      {"", "", ""},
      {" leading space", "trailing space ", "  "},
      {"\xEF\xBB\xBF" "bom inside", "5", ",\",\n"},
  };
  write_csv(dir / "nasty.csv", written);
  const CsvTable back = read_csv(dir / "nasty.csv");
  EXPECT_EQ(back.header, written.header);
  EXPECT_EQ(back.rows, written.rows);
  // One column with an empty value keeps its row.
  CsvTable single{"", {"only"}, {{""}, {"x"}, {""}}};
  write_csv(dir / "single.csv", single);
  EXPECT_EQ(read_csv(dir / "single.csv").rows, single.rows);
}

}  // namespace
}  // namespace frerec::io

namespace frerec::io {
namespace {
// A field that itself starts with a byte-order mark (a fuzz_csv finding: "\xEF\xBB\xBF\xEF\xBB\xBFim,a"):
// the reader drops only the file's own mark, and the writer quotes such a field so that it
// reads back with its mark.
TEST(CsvWriter, AFieldStartingWithAByteOrderMarkReadsBack) {
  const std::string bom = "\xEF\xBB\xBF";
  const CsvTable table = parse_csv(bom + bom + "im\x01,leage,vell\n", "bom.csv");
  ASSERT_EQ(table.header.size(), 3u);
  EXPECT_EQ(table.header[0], bom + "im\x01");
  EXPECT_EQ(csv_field(bom + "x"), "\"" + bom + "x\"");
  const CsvTable again = parse_csv(csv_text(table), "again.csv");
  EXPECT_EQ(again.header, table.header);
}
}  // namespace
}  // namespace frerec::io
