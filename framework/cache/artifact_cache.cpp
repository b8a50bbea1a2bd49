#include "framework/cache/artifact_cache.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/core/file_lock.h"
#include "framework/core/hash.h"
#include "framework/core/system_info.h"
#include "framework/cache/hdf5_io.h"

namespace frerec {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFormatVersion = "1";

// Why the artifact at `path` cannot be used for `key` ("" when it can).
// Opens an HDF5 file read-only without HDF5's error printing; null when it cannot be opened.
std::unique_ptr<h5::File> open_quietly(const fs::path& path) {
  h5::QuietErrors quiet;
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
  if (!file) return "unreadable as HDF5 (truncated or corrupt)";
  if (h5::read_attribute(*file, "frerec_complete") != "1") return "incomplete (no frerec_complete attribute)";
  if (h5::read_attribute(*file, "frerec_key") != key.digest()) return "key mismatch";
  if (h5::read_attribute(*file, "frerec_format_version") != kFormatVersion) return "written by another format version";
  if (h5::read_attribute(*file, "frerec_code_version") != key.code_version) return "made by another code version";
  return "";
}

// Checksums: the first use of an artifact in a process reads it in full,
// so that HDF5 checks each dataset's Fletcher-32 checksums (h5::verify_checksums); a file
// that fails is rebuilt like a corrupt one. Files verified (or written) by this process are
// remembered by path, size and modification time, so a suite's many cells pay once.
std::mutex& verified_mutex() {
  static std::mutex mutex;
  return mutex;
}
std::set<std::string>& verified_files() {
  static std::set<std::string> files;
  return files;
}
std::string file_identity(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  const auto time = fs::last_write_time(path, ec).time_since_epoch().count();
  return fmt::format("{}|{}|{}", path.string(), size, static_cast<long long>(time));
}
void mark_verified(const fs::path& path) {
  std::lock_guard<std::mutex> lock(verified_mutex());
  verified_files().insert(file_identity(path));
}
// "" when the artifact's checksums hold (or were checked before), else why not.
std::string checksum_failure(const fs::path& path) {
  const std::string identity = file_identity(path);
  {
    std::lock_guard<std::mutex> lock(verified_mutex());
    if (verified_files().count(identity)) return "";
  }
  const std::string failure = h5::verify_checksums(path);
  if (!failure.empty()) return "corrupt (" + failure + ")";
  std::lock_guard<std::mutex> lock(verified_mutex());
  verified_files().insert(identity);
  return "";
}

fs::path lock_path_for(const fs::path& artifact) {
  fs::path lock = artifact;
  return lock.replace_extension(".lock");
}

bool is_digest(const std::string& text) {
  return text.size() == 24 &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The artifact path <dir>/<kind>/<digest>.h5 that `file` is or was being built as; empty
// when `file` is not an artifact of this cache: other names, other depths, and HDF5 files
// whose frerec_kind / frerec_key attributes do not name that kind and digest (a user's
// own data placed in the cache folder) are never touched. A digest-named .h5 that does not
// open as HDF5 is a truncated artifact, and <digest>.h5.tmp.* a builder's temporary.
fs::path artifact_path_of(const fs::path& dir, const fs::path& file) {
  const fs::path relative = file.lexically_relative(dir);
  if (std::distance(relative.begin(), relative.end()) != 2) return {};
  const std::string kind = relative.begin()->string(), name = file.filename().string();
  const auto tmp = name.find(".h5.tmp.");
  if (tmp != std::string::npos)
    return is_digest(name.substr(0, tmp)) ? file.parent_path() / name.substr(0, tmp + 3) : fs::path();
  if (file.extension() != ".h5" || !is_digest(file.stem().string())) return {};
  const auto h5 = open_quietly(file);
  if (h5 && (h5::read_attribute(*h5, "frerec_kind") != kind ||
             h5::read_attribute(*h5, "frerec_key") != file.stem().string()))
    return {};
  return file;
}

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
  if (invalid_reason(path, key).empty() && checksum_failure(path).empty()) {
    spdlog::debug("cache: hit {} {}", key.kind, path.string());
    return path;
  }
  fs::create_directories(path.parent_path());
  FileLock lock(lock_path_for(path), true, "cache");
  // Another writer may have finished while we waited for the lock.
  std::string reason = invalid_reason(path, key);
  if (reason.empty()) reason = checksum_failure(path);
  if (reason.empty()) return path;
  // The bad file stays until the rename replaces it, so a reader of this path sees the old
  // file or the new one, never none (readers check validity and wait on the lock).
  if (reason != "missing") spdlog::warn("cache: artifact {} ({}) is {}; rebuilding it", path.string(), key.kind, reason);
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
    mark_verified(path);
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
    if (artifact_path_of(dir_, item.path()).empty()) continue;  // the user's file
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

std::size_t ArtifactCache::clear(std::chrono::seconds older_than, std::size_t* in_use) {
  std::size_t removed = 0;
  if (in_use) *in_use = 0;
  std::error_code ec;
  if (!fs::exists(dir_, ec)) return 0;
  const auto now = fs::file_time_type::clock::now();
  std::map<fs::path, std::vector<fs::path>> doomed;  // artifact path -> its files (artifact, temporaries)
  for (const auto& item : fs::recursive_directory_iterator(dir_, ec)) {
    if (!item.is_regular_file()) continue;
    const fs::path artifact = artifact_path_of(dir_, item.path());
    if (artifact.empty()) continue;
    if (older_than.count() > 0 && now - item.last_write_time() < older_than) continue;
    doomed[artifact].push_back(item.path());
  }
  // Under the writer's lock, so a build in progress (its temporary) and the artifact it is
  // about to commit are left alone; their count goes to *in_use.
  for (const auto& [artifact, files] : doomed) {
    const FileLock lock(lock_path_for(artifact), false, "cache");
    if (!lock.held()) {
      if (in_use) *in_use += files.size();
      continue;
    }
    for (const auto& path : files)
      if (fs::remove(path, ec)) ++removed;
  }
  return removed;
}

std::string read_h5_string_attribute(const fs::path& file_path, const std::string& name) {
  const auto file = open_quietly(file_path);
  return file ? h5::read_attribute(*file, name) : "";
}

}  // namespace frerec
