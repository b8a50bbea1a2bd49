#include "framework/core/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "framework/core/error.h"

namespace frerec {

FileLock::FileLock(const std::filesystem::path& path, bool wait, const std::string& component) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw RunError(fmt::format("{}: cannot open lock file '{}' ({})", component, path.string(), std::strerror(errno)));
  int result;
  do {
    result = ::flock(fd_, LOCK_EX | (wait ? 0 : LOCK_NB));
  } while (result != 0 && errno == EINTR);
  if (result != 0) {
    const int error = errno;
    ::close(fd_);
    fd_ = -1;
    if (wait || error != EWOULDBLOCK)
      throw RunError(fmt::format("{}: cannot lock '{}' ({})", component, path.string(), std::strerror(error)));
  }
}

FileLock::~FileLock() {
  if (fd_ < 0) return;
  // An owner line must not outlive the ownership (a reader would name a finished process).
  if (owner_written_) {
    [[maybe_unused]] const int truncated = ::ftruncate(fd_, 0);
  }
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

void FileLock::write_owner(const std::string& text) {
  if (fd_ < 0) return;
  if (::ftruncate(fd_, 0) != 0) return;  // the owner line is informative only
  owner_written_ = true;
  const std::string line = text + "\n";
  [[maybe_unused]] const auto written = ::pwrite(fd_, line.data(), line.size(), 0);
}

bool lock_is_held(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // releases the probe's shared lock, if it got one
  return held;
}

std::string lock_owner_text() {
  char host[256] = {0};
  if (::gethostname(host, sizeof(host) - 1) != 0) std::strcpy(host, "unknown");
  return fmt::format("pid {} on {}", ::getpid(), host);
}

}  // namespace frerec
