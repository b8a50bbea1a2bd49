#include "framework/cache/artifact_cache.h"

#include <fcntl.h>
#include <hdf5.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <ctime>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/core/hash.h"

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

std::string read_string_attribute(hid_t object, const std::string& name) {
  if (H5Aexists(object, name.c_str()) <= 0) return "";
  const hid_t attribute = H5Aopen(object, name.c_str(), H5P_DEFAULT);
  if (attribute < 0) return "";
  const hid_t type = H5Aget_type(attribute);
  std::string value;
  if (H5Tget_class(type) == H5T_STRING) {
    if (H5Tis_variable_str(type) > 0) {
      char* text = nullptr;
      const hid_t memtype = H5Tcopy(H5T_C_S1);
      H5Tset_size(memtype, H5T_VARIABLE);
      H5Tset_cset(memtype, H5Tget_cset(type));
      if (H5Aread(attribute, memtype, &text) >= 0 && text != nullptr) {
        value = text;
        H5free_memory(text);
      }
      H5Tclose(memtype);
    } else {
      const std::size_t size = H5Tget_size(type);
      std::string buffer(size, '\0');
      if (H5Aread(attribute, type, buffer.data()) >= 0) value = std::string(buffer.c_str());
    }
  }
  H5Tclose(type);
  H5Aclose(attribute);
  return value;
}

void write_string_attribute(hid_t object, const std::string& name, const std::string& value) {
  if (H5Aexists(object, name.c_str()) > 0) H5Adelete(object, name.c_str());
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t attribute = H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
  const char* text = value.c_str();
  const herr_t status = attribute >= 0 ? H5Awrite(attribute, type, &text) : -1;
  if (attribute >= 0) H5Aclose(attribute);
  H5Sclose(space);
  H5Tclose(type);
  if (status < 0) throw RunError("cache: cannot write attribute '" + name + "'");
}

std::string iso_time_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

// Why the artifact at `path` cannot be used for `key` ("" when it can).
std::string invalid_reason(const fs::path& path, const ArtifactKey& key) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return "missing";
  QuietHdf5 quiet;
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) return "cannot be opened as HDF5 (truncated or corrupt)";
  std::string reason;
  if (read_string_attribute(file, "frerec_complete") != "1")
    reason = "incomplete (no frerec_complete attribute)";
  else if (read_string_attribute(file, "frerec_key") != key.digest())
    reason = "key mismatch";
  else if (read_string_attribute(file, "frerec_format_version") != kFormatVersion)
    reason = "written by another format version";
  else if (read_string_attribute(file, "frerec_code_version") != key.code_version)
    reason = "made by another code version";
  H5Fclose(file);
  return reason;
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
    const hid_t file = H5Fopen(temporary.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    if (file < 0) throw RunError("cache: builder for '" + key.kind + "' wrote an unreadable HDF5 file");
    write_string_attribute(file, "frerec_kind", key.kind);
    write_string_attribute(file, "frerec_key", key.digest());
    write_string_attribute(file, "frerec_inputs", key.inputs);
    write_string_attribute(file, "frerec_params", key.params);
    write_string_attribute(file, "frerec_code_version", key.code_version);
    write_string_attribute(file, "frerec_format_version", kFormatVersion);
    write_string_attribute(file, "frerec_created", iso_time_now());
    write_string_attribute(file, "frerec_complete", "1");
    H5Fclose(file);
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
    {
      QuietHdf5 quiet;
      const hid_t file = H5Fopen(item.path().c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
      if (file >= 0) {
        entry.complete = read_string_attribute(file, "frerec_complete") == "1";
        H5Fclose(file);
      }
    }
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
  QuietHdf5 quiet;
  const hid_t file = H5Fopen(file_path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) return "";
  std::string value = read_string_attribute(file, name);
  H5Fclose(file);
  return value;
}

}  // namespace frerec
