// Facts recorded with every run: library versions, git commit, host.
#pragma once

#include <map>
#include <string>

namespace frerec {

// Libraries that know their own version (e.g. the LibTorch-using libraries) add it here.
void register_library_version(const std::string& library, const std::string& version);
// LibTorch, OpenCV, FFTW, HDF5 (and whatever was registered).
std::map<std::string, std::string> library_versions();
// The checkout's commit now (git rev-parse HEAD in the source folder; "unknown" without git).
std::string git_commit();
// The commit this binary was built from and whether tracked files had uncommitted changes
// then (generated at build time by cmake/build_info.cmake; "unknown" without git).
std::string build_commit();
bool build_dirty();
std::string host_name();
std::string frerec_version();
std::string iso_time_utc();  // e.g. "2026-11-22T03:04:05Z"

}  // namespace frerec
