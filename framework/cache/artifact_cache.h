// HDF5 artifact store (shared/DESIGN.md §1, §5).
//
// An artifact is one HDF5 file under <cache_dir>/<kind>/<digest>.h5, keyed by
// (kind, input fingerprint, parameters, code version). It is built into a temporary file
// in the same folder and renamed into place, while an exclusive flock on
// <cache_dir>/<kind>/<digest>.lock keeps a second writer out. Every artifact carries the
// root attributes frerec_kind, frerec_key (the digest), frerec_inputs, frerec_params,
// frerec_code_version, frerec_format_version, frerec_created (ISO time) and
// frerec_complete = 1 (written last). A file that fails to open, lacks
// frerec_complete, or whose attributes disagree with the key is stale or corrupt: it is
// reported as a warning and rebuilt, never trusted.
//
// Many processes (run_parallel.sh workers, Slurm array tasks on a shared file system) may
// ask for one entry at once: the first takes the entry's lock and builds, the others wait
// on the lock and then find the finished file. Readers of a valid entry take no lock: an
// entry only ever appears or changes by rename, so a reader opens a complete file, old or
// new, never a half-written one (tests/framework/test_cache.cpp, concurrent processes).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace frerec {

struct ArtifactKey {
  std::string kind;               // e.g. "images", "retrieval", "dae", "calibrated"
  std::string inputs;             // fingerprint of the inputs (use hash_hex / Hasher)
  std::string params;             // canonical text of the parameters that matter
  std::string code_version = "1"; // bump when the code that builds the artifact changes
  std::string digest() const;     // sha256 of the four fields, 24 hex characters
};

struct ArtifactEntry {
  std::filesystem::path path;
  std::string kind;
  std::string key;
  std::uintmax_t bytes = 0;
  std::filesystem::file_time_type modified;
  bool complete = false;
};

class ArtifactCache {
 public:
  explicit ArtifactCache(std::filesystem::path dir);

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path path_for(const ArtifactKey& key) const;

  // Returns the path of a valid artifact for `key`, building it first when it is missing,
  // stale or corrupt. `build` receives a temporary path and must write a complete HDF5
  // file there (through framework/cache/hdf5_io.h); the cache then stamps the
  // provenance attributes and renames it into place. Thread- and process-safe.
  std::filesystem::path get_or_build(const ArtifactKey& key,
                                     const std::function<void(const std::filesystem::path& tmp)>& build);

  // True if a complete artifact with matching attributes exists.
  bool is_valid(const ArtifactKey& key) const;

  // Artifacts only: files in the cache folder that the cache did not write (other names or
  // places, or HDF5 files without matching frerec_kind / frerec_key) are not listed.
  std::vector<ArtifactEntry> list() const;
  // Removes artifacts (and stray temporaries) older than `older_than` (all when zero);
  // other files are never removed. Each artifact is removed under its writer's lock; one
  // whose lock is held by a running build is kept and its files counted in *in_use.
  // Returns the number of files removed.
  std::size_t clear(std::chrono::seconds older_than = std::chrono::seconds(0), std::size_t* in_use = nullptr);

 private:
  std::filesystem::path dir_;
};

// Reads the root string attribute `name` of an HDF5 file; empty if absent.
std::string read_h5_string_attribute(const std::filesystem::path& file, const std::string& name);

}  // namespace frerec
