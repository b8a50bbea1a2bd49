// Errors in two tiers (shared/STYLE.md §5).
//  * User-facing problems (bad config, missing file, unreadable image, size mismatch,
//    NaN loss) throw frerec::ConfigError (exit code 2) or frerec::RunError (exit code 1)
//    with a message naming component, parameter, value and the fix. The CLI prints the
//    message as one line on stderr.
//  * Broken internal invariants use FREREC_ASSERT, which stays on in release builds and
//    throws frerec::InternalError. Never use it on user input.
#pragma once

#include <stdexcept>
#include <string>

namespace frerec {

class Error : public std::runtime_error {
 public:
  Error(const std::string& message, int exit_code) : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// Usage and configuration problems: exit code 2.
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& message) : Error(message, 2) {}
};

// Problems found while running (missing data, unreadable files, NaN loss): exit code 1.
class RunError : public Error {
 public:
  explicit RunError(const std::string& message) : Error(message, 1) {}
};

class InternalError : public Error {
 public:
  explicit InternalError(const std::string& message) : Error(message, 1) {}
};

[[noreturn]] void assertion_failed(const char* expression, const char* file, int line, const std::string& message);

}  // namespace frerec

#define FREREC_ASSERT(condition, message)                                              \
  do {                                                                                 \
    if (!(condition)) ::frerec::assertion_failed(#condition, __FILE__, __LINE__, (message)); \
  } while (0)
