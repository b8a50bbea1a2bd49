// Minimal CSV reading for dataset label files (RFC 4180 quoting; plain or gzip via zlib).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace frerec::datasets {

class CsvTable {
 public:
  std::filesystem::path path;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // every row has header.size() cells

  // Column index of `name`; throws RunError naming the file and the columns it has.
  std::size_t column(const std::string& name) const;
  std::optional<std::size_t> find_column(const std::string& name) const;
};

// Reads `path` (".gz" → gunzip). Throws RunError on a missing/unreadable file or a row
// whose cell count differs from the header's (naming the line).
CsvTable read_csv(const std::filesystem::path& path);
// `root/name` or `root/name.gz`, whichever exists (plain first); nullopt when neither.
std::optional<std::filesystem::path> find_csv(const std::filesystem::path& root, const std::string& name);
// Parses one CSV text (exposed for tests).
CsvTable parse_csv(const std::string& text, const std::filesystem::path& path_for_messages);

}  // namespace frerec::datasets
