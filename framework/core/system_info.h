// Facts recorded with every run: library versions, git commit, host.
#pragma once

#include <map>
#include <string>

namespace frerec {

// Libraries that know their own version (e.g. the LibTorch-using libraries) add it here.
void register_library_version(const std::string& library, const std::string& version);
// LibTorch, OpenCV, FFTW, HDF5 (and whatever was registered).
std::map<std::string, std::string> library_versions();
std::string git_commit();  // "unknown" when neither git nor the build knows
std::string host_name();
std::string frerec_version();
std::string iso_time_utc();  // e.g. "2026-11-22T03:04:05Z"

}  // namespace frerec
