#include <system_error>

#include "datasets/dataset.h"
#include "framework/core/hash.h"

namespace frerec::datasets {
namespace fs = std::filesystem;

const char* split_name(Split split) {
  switch (split) {
    case Split::kTrain: return "train";
    case Split::kVal: return "val";
    case Split::kTest: return "test";
    case Split::kUnassigned: return "unassigned";
  }
  return "unassigned";
}

io::DecodedImage DatasetSource::decode(const Record& record, const DecodeOptions& options) const {
  io::ReadOptions read;
  read.channels = options.channels;
  read.height = options.size;
  read.width = options.size;
  read.interpolation = options.interpolation;
  read.max_pixels = options.max_pixels;
  return io::read_image(record.path, read);
}

std::string DatasetSource::fingerprint(const std::vector<Record>& records) const {
  Hasher hasher;
  hasher.update(name());
  for (const Record& record : records) {
    hasher.update(record.id).update("\n").update(record.path.string()).update("\n");
    hasher.update_pod(record.label).update_pod(record.generator_index);
    std::error_code ec;
    const auto bytes = fs::file_size(record.path, ec);
    const std::int64_t size = ec ? -1 : static_cast<std::int64_t>(bytes);
    const auto time = fs::last_write_time(record.path, ec);
    const std::int64_t mtime = ec ? -1 : static_cast<std::int64_t>(time.time_since_epoch().count());
    hasher.update_pod(size).update_pod(mtime);
  }
  return hasher.hex();
}

DatasetRegistry& dataset_registry() {
  static DatasetRegistry registry("datasets");
  return registry;
}

}  // namespace frerec::datasets
