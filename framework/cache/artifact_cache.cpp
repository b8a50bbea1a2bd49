#include "framework/cache/artifact_cache.h"

#include <fcntl.h>
#include <hdf5.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>


#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/core/hash.h"
#include "framework/core/system_info.h"
#include "framework/cache/hdf5_io.h"

namespace frerec {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFormatVersion = "1";

// Silences HDF5's automatic error stack printing while probing possibly corrupt files.
class QuietHdf5 {
 public:
  QuietHdf5() {
    H5Eget_auto2(H5E_DEFAULT, &old_function_, &old_data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietHdf5() { H5Eset_auto2(H5E_DEFAULT, old_function_, old_data_); }

 private:
  H5E_auto2_t old_function_ = nullptr;
  void* old_data_ = nullptr;
};

// Why the artifact at `path` cannot be used for `key` ("" when it can).
// Opens an HDF5 file read-only without HDF5's error printing; null when it cannot be opened.
std::unique_ptr<h5::File> open_quietly(const fs::path& path) {
  QuietHdf5 quiet;
  try {
    return std::make_unique<h5::File>(path, "r");
  } catch (const RunError&) {
    return nullptr;
  }
}

// Why the artifact at `path` cannot be used for `key` ("" when it can).
std::string invalid_reason(const fs::path& path, const ArtifactKey& key) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return "missing";
  const auto file = open_quietly(path);
  if (!file) return "cannot be opened as HDF5 (truncated or corrupt)";
  if (h5::read_attribute(*file, "frerec_complete") != "1") return "incomplete (no frerec_complete attribute)";
  if (h5::read_attribute(*file, "frerec_key") != key.digest()) return "key mismatch";
  if (h5::read_attribute(*file, "frerec_format_version") != kFormatVersion) return "written by another format version";
  if (h5::read_attribute(*file, "frerec_code_version") != key.code_version) return "made by another code version";
  return "";
}

class FileLock {
 public:
  explicit FileLock(const fs::path& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
    if (fd_ < 0) throw RunError("cache: cannot open lock file '" + path.string() + "'");
    if (::flock(fd_, LOCK_EX) != 0) {
      ::close(fd_);
      throw RunError("cache: cannot lock '" + path.string() + "'");
    }
  }
  ~FileLock() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace

std::string ArtifactKey::digest() const {
  Hasher hasher;
  for (const std::string* field : {&kind, &inputs, &params, &code_version}) {
    const std::uint64_t size = field->size();
    hasher.update_pod(size).update(*field);
  }
  return hasher.hex().substr(0, 24);
}

ArtifactCache::ArtifactCache(fs::path dir) : dir_(std::move(dir)) {}

fs::path ArtifactCache::path_for(const ArtifactKey& key) const {
  if (key.kind.empty() || key.kind.find('/') != std::string::npos || key.kind.find("..") != std::string::npos)
    throw InternalError("cache: invalid artifact kind '" + key.kind + "'");
  return dir_ / key.kind / (key.digest() + ".h5");
}

bool ArtifactCache::is_valid(const ArtifactKey& key) const { return invalid_reason(path_for(key), key).empty(); }

fs::path ArtifactCache::get_or_build(const ArtifactKey& key, const std::function<void(const fs::path&)>& build) {
  const fs::path path = path_for(key);
  if (invalid_reason(path, key).empty()) {
    spdlog::debug("cache: hit {} {}", key.kind, path.string());
    return path;
  }
  fs::create_directories(path.parent_path());
  fs::path lock_path = path;
  lock_path.replace_extension(".lock");
  FileLock lock(lock_path);
  // Another writer may have finished while we waited for the lock.
  const std::string reason = invalid_reason(path, key);
  if (reason.empty()) return path;
  if (reason != "missing") {
    spdlog::warn("cache: artifact {} ({}) is {}; rebuilding it", path.string(), key.kind, reason);
    std::error_code ec;
    fs::remove(path, ec);
  }
  const fs::path temporary = temporary_path_for(path);
  try {
    build(temporary);
    if (!fs::exists(temporary)) throw InternalError("cache: builder for '" + key.kind + "' wrote no file");
    {
      const h5::File file(temporary, "a");  // RunError when the builder wrote no valid HDF5
      for (const auto& [name, value] : std::vector<std::pair<const char*, std::string>>{
               {"frerec_kind", key.kind}, {"frerec_key", key.digest()}, {"frerec_inputs", key.inputs},
               {"frerec_params", key.params}, {"frerec_code_version", key.code_version},
               {"frerec_format_version", kFormatVersion}, {"frerec_created", iso_time_utc()},
               {"frerec_complete", "1"}})  // complete last
        h5::write_attribute(file, name, value);
    }
    commit_atomic(temporary, path);
  } catch (...) {
    std::error_code ec;
    fs::remove(temporary, ec);
    throw;
  }
  return path;
}

std::vector<ArtifactEntry> ArtifactCache::list() const {
  std::vector<ArtifactEntry> entries;
  std::error_code ec;
  if (!fs::exists(dir_, ec)) return entries;
  for (const auto& item : fs::recursive_directory_iterator(dir_, ec)) {
    if (!item.is_regular_file() || item.path().extension() != ".h5") continue;
    ArtifactEntry entry;
    entry.path = item.path();
    entry.kind = item.path().parent_path().filename().string();
    entry.key = item.path().stem().string();
    entry.bytes = item.file_size();
    entry.modified = item.last_write_time();
    if (const auto file = open_quietly(item.path())) entry.complete = h5::read_attribute(*file, "frerec_complete") == "1";
    entries.push_back(entry);
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return entries;
}

std::size_t ArtifactCache::clear(std::chrono::seconds older_than) {
  std::size_t removed = 0;
  std::error_code ec;
  if (!fs::exists(dir_, ec)) return 0;
  const auto now = fs::file_time_type::clock::now();
  std::vector<fs::path> doomed;
  for (const auto& item : fs::recursive_directory_iterator(dir_, ec)) {
    if (!item.is_regular_file()) continue;
    const std::string name = item.path().filename().string();
    const bool artifact = item.path().extension() == ".h5" || name.find(".h5.tmp.") != std::string::npos;
    if (!artifact) continue;
    if (older_than.count() > 0 && now - item.last_write_time() < older_than) continue;
    doomed.push_back(item.path());
  }
  for (const auto& path : doomed)
    if (fs::remove(path, ec)) ++removed;
  return removed;
}

std::string read_h5_string_attribute(const fs::path& file_path, const std::string& name) {
  const auto file = open_quietly(file_path);
  return file ? h5::read_attribute(*file, name) : "";
}

}  // namespace frerec
