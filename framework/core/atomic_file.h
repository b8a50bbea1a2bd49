// Atomic writes (shared/DESIGN.md §3): write to "<path>.tmp.<pid>.<n>" in the same folder,
// fsync, rename over the target. A reader never sees a half-written file, and a killed
// process leaves at most a stray temporary (ignored and cleaned by the owners).
#pragma once

#include <filesystem>
#include <string>

namespace frerec {

void write_file_atomic(const std::filesystem::path& path, const std::string& content);
// A unique temporary path next to `path` (for writers that produce the file themselves,
// e.g. HDF5 or OpenCV); pair with commit_atomic.
std::filesystem::path temporary_path_for(const std::filesystem::path& path);
void commit_atomic(const std::filesystem::path& temporary, const std::filesystem::path& path);
std::string read_file(const std::filesystem::path& path);  // throws RunError naming the path

}  // namespace frerec
