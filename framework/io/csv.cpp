#include "framework/io/csv.h"

#include <zlib.h>

#include <algorithm>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"

namespace frerec::io {
namespace fs = std::filesystem;

std::optional<std::size_t> CsvTable::find_column(const std::string& name) const {
  auto it = std::find(header.begin(), header.end(), name);
  if (it == header.end()) return std::nullopt;
  return static_cast<std::size_t>(it - header.begin());
}

std::size_t CsvTable::column(const std::string& name) const {
  if (auto index = find_column(name)) return *index;
  std::string have;
  for (const auto& h : header) have += (have.empty() ? "" : ", ") + h;
  throw RunError("csv: '" + path.string() + "' has no column '" + name + "' (columns: " + have + ")");
}

namespace {

// Calls on_record(line, fields) for each record as soon as it ends, so a caller's error
// about an early row comes before one about the end of the text.
template <class OnRecord>
void scan_records(const std::string& text, const fs::path& path_for_messages, OnRecord on_record) {
  std::vector<std::string> row;
  std::string cell;
  bool in_quotes = false;
  bool row_has_content = false;
  bool first = true;
  bool first_field_quoted = false;  // a quoted BOM is data, not an encoding mark
  std::size_t line = 1, row_line = 1;
  auto end_row = [&]() {
    row.push_back(cell);
    cell.clear();
    if (row_has_content || row.size() > 1) {
      if (first && !first_field_quoted && row[0].rfind("\xEF\xBB\xBF", 0) == 0) row[0].erase(0, 3);
      first = false;
      on_record(row_line, std::move(row));
    }
    row.clear();
    row_has_content = false;
    first_field_quoted = false;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (in_quotes) {
      if (ch == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          cell += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (ch == '\n') ++line;
        cell += ch;
      }
      continue;
    }
    if (ch == '"') {
      if (row.empty() && cell.empty()) first_field_quoted = true;
      in_quotes = true;
      row_has_content = true;
    } else if (ch == ',') {
      row.push_back(cell);
      cell.clear();
      row_has_content = true;
    } else if (ch == '\r') {
      continue;
    } else if (ch == '\n') {
      end_row();
      ++line;
      row_line = line;
    } else {
      cell += ch;
      row_has_content = true;
    }
  }
  if (in_quotes) throw RunError("csv: '" + path_for_messages.string() + "' ends inside a quoted cell");
  if (!cell.empty() || !row.empty() || row_has_content) end_row();
}

}  // namespace

std::vector<CsvRecord> parse_csv_records(const std::string& text, const fs::path& path_for_messages) {
  std::vector<CsvRecord> records;
  scan_records(text, path_for_messages, [&](std::size_t line, std::vector<std::string>&& fields) {
    records.push_back({line, std::move(fields)});
  });
  return records;
}

CsvTable parse_csv(const std::string& text, const fs::path& path_for_messages) {
  CsvTable table;
  table.path = path_for_messages;
  bool have_header = false;
  scan_records(text, path_for_messages, [&](std::size_t line, std::vector<std::string>&& row) {
    if (!have_header) {
      table.header = std::move(row);
      have_header = true;
    } else if (row.size() != table.header.size()) {
      throw RunError("csv: '" + path_for_messages.string() + "' line " + std::to_string(line) + " has " +
                     std::to_string(row.size()) + " cells, the header has " + std::to_string(table.header.size()));
    } else {
      table.rows.push_back(std::move(row));
    }
  });
  if (table.header.empty()) throw RunError("csv: '" + path_for_messages.string() + "' is empty (no header row)");
  return table;
}

namespace {

std::string gunzip_file(const fs::path& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) throw RunError("csv: cannot open '" + path.string() + "'");
  std::string text;
  char buffer[1 << 16];
  for (;;) {
    const int n = gzread(file, buffer, sizeof(buffer));
    if (n < 0) {
      int code = 0;
      const std::string message = gzerror(file, &code);
      gzclose(file);
      throw RunError("csv: '" + path.string() + "' is not a valid gzip file (" + message + ")");
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  // gzread returns 0 both at the stream's end and when the file stops early (a download cut
  // off at a row boundary parses as a shorter table); zlib reports the second as Z_BUF_ERROR
  // from gzerror and gzclose.
  int code = Z_OK;
  const std::string message = gzerror(file, &code);
  const int closed = gzclose(file);
  if (code != Z_OK || closed != Z_OK)
    throw RunError("csv: '" + path.string() + "' is a truncated or damaged gzip file (" +
                   (code != Z_OK ? message : std::string("unexpected end of file")) + ")");
  return text;
}

}  // namespace

CsvTable read_csv(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw RunError("csv: '" + path.string() + "' does not exist");
  const std::string text = path.extension() == ".gz" ? gunzip_file(path) : read_file(path);
  return parse_csv(text, path);
}

std::optional<fs::path> find_csv(const fs::path& root, const std::string& name) {
  std::error_code ec;
  if (fs::is_regular_file(root / name, ec)) return root / name;
  if (fs::is_regular_file(root / (name + ".gz"), ec)) return root / (name + ".gz");
  return std::nullopt;
}

std::string csv_field(const std::string& text) {
  // A field that starts with a byte-order mark is quoted: unquoted at the start of a file,
  // the reader takes it for the encoding mark and drops it.
  const bool leading_bom = text.rfind("\xEF\xBB\xBF", 0) == 0;
  if (!leading_bom && text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv_row(const std::vector<std::string>& fields) {
  if (fields.size() == 1 && fields[0].empty()) return "\"\"\n";
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    out += csv_field(fields[i]);
  }
  return out + "\n";
}

std::string csv_text(const CsvTable& table) {
  std::string out = csv_row(table.header);
  for (const auto& row : table.rows) {
    FREREC_ASSERT(row.size() == table.header.size(), "csv: a row of " + std::to_string(row.size()) +
                                                         " cells under a header of " +
                                                         std::to_string(table.header.size()));
    out += csv_row(row);
  }
  return out;
}

void write_csv(const fs::path& path, const CsvTable& table) { write_file_atomic(path, csv_text(table)); }

}  // namespace frerec::io
