#include "framework/core/system_info.h"

#include <fftw3.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <opencv2/core/version.hpp>

#include "framework/cache/hdf5_io.h"

namespace frerec {
namespace {
std::mutex& versions_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, std::string>& registered() {
  static std::map<std::string, std::string> versions;
  return versions;
}
}  // namespace

void register_library_version(const std::string& library, const std::string& version) {
  std::lock_guard<std::mutex> lock(versions_mutex());
  registered()[library] = version;
}

std::map<std::string, std::string> library_versions() {
  std::map<std::string, std::string> versions;
  versions["opencv"] = CV_VERSION;
  std::string fftw = fftw_version;
  const auto dash = fftw.find('-');
  versions["fftw"] = dash == std::string::npos ? fftw : fftw.substr(dash + 1);
  versions["hdf5"] = h5::library_version();
  std::lock_guard<std::mutex> lock(versions_mutex());
  for (const auto& [k, v] : registered()) versions[k] = v;
  return versions;
}

std::string git_commit() {
  static const std::string commit = [] {
    const std::string command = std::string("git -C '") + FREREC_SOURCE_DIR + "' rev-parse HEAD 2>/dev/null";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    if (pipe) {
      std::array<char, 128> buffer{};
      if (fgets(buffer.data(), buffer.size(), pipe.get()) != nullptr) {
        std::string text(buffer.data());
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
        if (text.size() >= 7) return text;
      }
    }
    return std::string("unknown");
  }();
  return commit;
}

std::string host_name() {
  char buffer[256] = {0};
  if (gethostname(buffer, sizeof(buffer) - 1) != 0) return "unknown";
  return buffer;
}

std::string frerec_version() { return FREREC_VERSION; }

std::string iso_time_utc() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

}  // namespace frerec
