#include "framework/core/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "framework/core/error.h"

namespace frerec {
namespace fs = std::filesystem;

std::size_t remove_stale_temporaries(const fs::path& dir, bool recursive, std::chrono::seconds min_age) {
  std::size_t removed = 0;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  const auto now = fs::file_time_type::clock::now();
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!recursive && it.depth() == 0 && it->is_directory(ec)) it.disable_recursion_pending();
    if (!it->is_regular_file(ec)) continue;
    if (min_age.count() > 0 && now - it->last_write_time(ec) < min_age) continue;
    const std::string name = it->path().filename().string();
    // "<name>.tmp.<pid>.<n>" with both numbers all digits.
    const auto at = name.rfind(".tmp.");
    if (at == std::string::npos) continue;
    const std::string tail = name.substr(at + 5);
    const auto dot = tail.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == tail.size()) continue;
    const std::string pid_text = tail.substr(0, dot), counter = tail.substr(dot + 1);
    auto digits = [](const std::string& s) { return s.find_first_not_of("0123456789") == std::string::npos; };
    if (!digits(pid_text) || !digits(counter) || pid_text.size() > 9) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive (or not ours to judge)
    std::error_code remove_error;
    if (fs::remove(it->path(), remove_error)) ++removed;
  }
  return removed;
}

fs::path temporary_path_for(const fs::path& path) {
  static std::atomic<unsigned long> counter{0};
  return path.parent_path() /
         (path.filename().string() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++));
}

void commit_atomic(const fs::path& temporary, const fs::path& path) {
  // Flush file contents to disk before the rename makes them visible.
  const int fd = ::open(temporary.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  std::error_code ec;
  fs::rename(temporary, path, ec);
  if (ec) {
    fs::remove(temporary, ec);
    throw RunError("write: cannot move '" + temporary.string() + "' to '" + path.string() + "': " + ec.message());
  }
}

void write_file_atomic(const fs::path& path, const std::string& content) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  const fs::path temporary = temporary_path_for(path);
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw RunError("write: cannot create '" + temporary.string() + "': " + std::strerror(errno));
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(temporary, ec);
      throw RunError("write: failed writing '" + path.string() + "' (disk full?)");
    }
  }
  commit_atomic(temporary, path);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RunError("read: cannot open '" + path.string() + "'");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace frerec
