// Shared by the libFuzzer targets: a scratch folder per process and the rule every target
// checks. Bad input must end in frerec::ConfigError or RunError (one clear line, a clean
// exit code); anything else (another exception, InternalError, a sanitizer report, a hang
// or an out-of-memory) is a finding.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <typeinfo>

#include "framework/core/error.h"

namespace frerec::fuzz {

// <tmp>/frerec-fuzz-<target>-<pid>/, emptied for each input by fresh().
inline const std::filesystem::path& scratch(const char* target) {
  static const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / (std::string("frerec-fuzz-") + target + "-" + std::to_string(::getpid()));
  return dir;
}

inline std::filesystem::path fresh(const char* target) {
  const auto& dir = scratch(target);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir);
  return dir;
}

// Runs `body`; user-facing errors are the expected outcome of bad input, everything else
// aborts so that libFuzzer saves the input.
template <typename Body>
void expect_clean(Body&& body) {
  try {
    body();
  } catch (const InternalError& e) {
    std::fprintf(stderr, "finding: InternalError: %s\n", e.what());
    std::abort();
  } catch (const ConfigError& e) {
    if (std::string(e.what()).empty()) std::abort();
  } catch (const RunError& e) {
    if (std::string(e.what()).empty()) std::abort();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "finding: %s: %s\n", typeid(e).name(), e.what());
    std::abort();
  }
}

// Splits `data` at the first occurrence of `separator`: {before, after} (after empty if none).
inline std::pair<std::string, std::string> split_once(const std::string& data, const std::string& separator) {
  const auto at = data.find(separator);
  if (at == std::string::npos) return {data, ""};
  return {data.substr(0, at), data.substr(at + separator.size())};
}

}  // namespace frerec::fuzz
