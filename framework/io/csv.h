// CSV files, RFC 4180 style: the one reader (dataset label files, manifests, predictions;
// plain or gzip via zlib) and the one writer (tables, runs.csv, manifests, per-image values)
// of the project, so what one part writes the others read back.
//  * Reading: fields in double quotes may hold commas, line breaks and "" for a quote; CRLF
//    line ends, a UTF-8 byte-order mark and blank lines are accepted.
//  * Writing quotes a field only when it must (a comma, a quote, CR or LF), so plain
//    outputs stay plain; spaces are kept as they are on both sides.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace frerec::io {

struct CsvTable {
  std::filesystem::path path;  // for messages; empty for a table about to be written
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // every row has header.size() cells

  // Column index of `name`; throws RunError naming the file and the columns it has.
  std::size_t column(const std::string& name) const;
  std::optional<std::size_t> find_column(const std::string& name) const;
};

// One record of CSV text and the line it starts on (1-based, counting line breaks inside
// quoted fields).
struct CsvRecord {
  std::size_t line = 0;
  std::vector<std::string> fields;
};

// Splits CSV text into its records, blank lines left out, the byte-order mark stripped.
// Throws RunError naming `path_for_messages` when the text ends inside a quoted field.
std::vector<CsvRecord> parse_csv_records(const std::string& text, const std::filesystem::path& path_for_messages);
// The first record is the header. Throws RunError on a row whose cell count differs from
// the header's (naming the line) and on text without a header.
CsvTable parse_csv(const std::string& text, const std::filesystem::path& path_for_messages);
// Reads `path` (".gz" → gunzip) with parse_csv. Throws RunError on a missing, unreadable or
// truncated file, naming it.
CsvTable read_csv(const std::filesystem::path& path);
// `root/name` or `root/name.gz`, whichever exists (plain first); nullopt when neither.
std::optional<std::filesystem::path> find_csv(const std::filesystem::path& root, const std::string& name);

// One field: in double quotes (inner quotes doubled) when it holds a comma, a quote, CR or LF.
std::string csv_field(const std::string& text);
// One record: the fields joined by commas, ending in "\n". A lone empty field is written ""
// so it is not read back as a blank line.
std::string csv_row(const std::vector<std::string>& fields);
// The header row and every row (each must have header.size() cells).
std::string csv_text(const CsvTable& table);
// csv_text written atomically (framework/core/atomic_file.h).
void write_csv(const std::filesystem::path& path, const CsvTable& table);

}  // namespace frerec::io
