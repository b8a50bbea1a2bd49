#include "framework/core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "framework/core/error.h"

namespace frerec {
namespace fs = std::filesystem;

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
