// Advisory whole-file locks between processes (flock(2)), for the per-cell lock of the
// runner and the entry locks of the artifact cache (shared/DESIGN.md §3).
//
// The lock belongs to the open file description: the kernel drops it when the holder exits
// for any reason, SIGKILL included, so a lock is never left behind by a dead process. The
// descriptor is opened close-on-exec, so programs the holder starts do not keep it alive.
// The lock file itself is never deleted (deleting it would let a second process lock a new
// file of the same name while the first still holds the old one).
#pragma once

#include <filesystem>
#include <string>

namespace frerec {

class FileLock {
 public:
  // Waits for the exclusive lock on `path` (created if missing), or with `wait` false gives
  // up at once when another process holds it (held() is then false). `component` names the
  // caller in the error thrown when the file cannot be opened or locked.
  FileLock(const std::filesystem::path& path, bool wait, const std::string& component);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  bool held() const { return fd_ >= 0; }
  // Replaces the lock file's content (the holder's pid and host, for people and `status`);
  // emptied again when the lock is released.
  void write_owner(const std::string& text);

 private:
  int fd_ = -1;
  bool owner_written_ = false;
};

// True if some process holds the lock on `path` now (false when the file does not exist).
// Probes with a shared non-blocking lock that is released at once.
bool lock_is_held(const std::filesystem::path& path);

// "pid <P> on <host>": the owner line FileLock::write_owner is given by the runner.
std::string lock_owner_text();

}  // namespace frerec
