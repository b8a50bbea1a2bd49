// Atomic writes (shared/DESIGN.md §3): write to "<path>.tmp.<pid>.<n>" in the same folder,
// fsync, rename over the target. A reader never sees a half-written file, and a killed
// process leaves at most a stray temporary (ignored and cleaned by the owners).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

namespace frerec {

void write_file_atomic(const std::filesystem::path& path, const std::string& content);
// A unique temporary path next to `path` (for writers that produce the file themselves,
// e.g. HDF5 or OpenCV); pair with commit_atomic.
std::filesystem::path temporary_path_for(const std::filesystem::path& path);
void commit_atomic(const std::filesystem::path& temporary, const std::filesystem::path& path);
std::string read_file(const std::filesystem::path& path);  // throws RunError naming the path

// Removes the temporaries "<name>.tmp.<pid>.<n>" in `dir` (and below it when `recursive`)
// that a process no longer running on this machine left behind (kill -9, power loss), and
// that are at least `min_age` old; files of live processes, including this one, stay. On a
// shared results folder another machine's live writer looks dead from here: give a min_age
// longer than any write takes where that can happen. Returns how many were removed.
std::size_t remove_stale_temporaries(const std::filesystem::path& dir, bool recursive = true,
                                     std::chrono::seconds min_age = std::chrono::seconds(0));

}  // namespace frerec
