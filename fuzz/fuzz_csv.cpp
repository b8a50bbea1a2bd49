// The CSV reader, plain and gzipped (every label file of the real datasets goes through
// it). The first byte picks the form: even = the bytes are the CSV text, parsed directly
// and read back from a .csv file; odd = the bytes are written as a .csv.gz file as they
// are (so truncated and damaged gzip streams are explored) and also gzip-compressed.
// Every table read is written with the CSV writer and must read back unchanged.
// Seeds: fuzz/corpus/csv.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <fstream>

#include "framework/io/csv.h"
#include "fuzz/fuzz_util.h"

namespace {

void check_table(const frerec::io::CsvTable& table) {
  if (table.header.empty()) std::abort();  // read_csv promises a header or an error
  // The writer's text of any table the reader accepts reads back as the same table; an
  // exception here is a finding too, not bad input.
  try {
    const auto again = frerec::io::parse_csv(frerec::io::csv_text(table), "again.csv");
    if (again.header != table.header || again.rows != table.rows) std::abort();
  } catch (...) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace frerec;
  if (size == 0) return 0;
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto dir = fuzz::fresh("csv");
  if (data[0] % 2 == 0) {
    fuzz::expect_clean([&] { check_table(io::parse_csv(bytes, "fuzz.csv")); });
    std::ofstream(dir / "plain.csv", std::ios::binary) << bytes;
    fuzz::expect_clean([&] { check_table(io::read_csv(dir / "plain.csv")); });
  } else {
    std::ofstream(dir / "raw.csv.gz", std::ios::binary) << bytes;
    fuzz::expect_clean([&] { check_table(io::read_csv(dir / "raw.csv.gz")); });
    gzFile file = gzopen((dir / "packed.csv.gz").c_str(), "wb");
    if (!bytes.empty()) gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(file);
    fuzz::expect_clean([&] {
      const auto table = io::read_csv(dir / "packed.csv.gz");
      check_table(table);
    });
  }
  return 0;
}
